"""`python -m tools.verify STACK`'s command line: the arguments, the output, the exit status.

    python -m tools.verify STACK [--context CTX] [--json] [--timeout S] [--only CHECK,...]
        [--prometheus URL] [--grafana URL --grafana-token-env VAR] [--completion MODEL] [--database-dsn DSN]

The stack comes from `load` (tools/verify.py: Pulumi.STACK.yaml, and the program run offline for what
the stack should have); the checks compare the live cluster (the kubeconfig's `--context`, default the
stack's `gke.kube_context`), GSM and IAM (as `gcloud` is signed in), the database, Prometheus, Grafana
and the Ingress hosts with it. Each prints ✓ with what it proved, ✗ with the reason and the next step,
or `-` skipped with why. Exit 1 when a check failed, 2 on bad input. Secrets are never printed.
docs/verify.md: what each check does, and what a healthy and a broken stack print.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from config import StackConfig
from verify.checks import Options
from verify.google import GoogleApis
from verify.kube import KubeApi
from verify.run import CHECKS, Resource, as_json, render, run_checks, verify_run
from verify.sources import CheckError, Cluster, Deadline, Google

Loaded = tuple[StackConfig, list[dict[str, Any]], Iterable[Resource]]
"""The stack's config, the Kubernetes objects its program renders, and the program's resources."""


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.verify",
        description="Verify a deployed stack after `pulumi up`: one line per check (docs/verify.md).",
        epilog="Example: python -m tools.verify lab --only secrets,litellm --completion gpt-4o-mini",
    )
    parser.add_argument("stack", help="stack name: reads Pulumi.STACK.yaml")
    parser.add_argument("--context", help="kube context (default: the stack's gke.kube_context)")
    parser.add_argument("--only", metavar="CHECK,...", help=f"run these checks only: {', '.join(CHECKS)}")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds for the whole run (default 60)")
    parser.add_argument("--completion", metavar="MODEL", help="send one chat completion to MODEL (billed)")
    parser.add_argument("--prometheus", metavar="URL", help="Prometheus' URL (default: its Service, via the API)")
    parser.add_argument("--grafana", metavar="URL", help="Grafana's URL (with --grafana-token-env)")
    parser.add_argument("--grafana-token-env", metavar="VAR", default="GRAFANA_TOKEN", help="env var with its token")
    parser.add_argument("--database-dsn", metavar="DSN", help="libpq conninfo without user or password")
    args = parser.parse_args(argv)
    problems = []
    if args.only is not None:
        args.only = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in args.only if n not in CHECKS]
        if unknown or not args.only:
            problems.append(f"--only: unknown check {', '.join(unknown) or '(none)'} (checks: {', '.join(CHECKS)})")
    if args.timeout <= 0:
        problems.append(f"--timeout {args.timeout}: must be more than 0 seconds")
    if args.grafana and not os.environ.get(args.grafana_token_env):
        problems.append(f"--grafana {args.grafana}: ${args.grafana_token_env} is not set (a Grafana token, Viewer)")
    if problems:
        parser.error("; ".join(problems))
    return args


def command(
    argv: Sequence[str] | None,
    load: Callable[[str], Loaded],
    cluster: Callable[[str, Deadline], Cluster] = KubeApi.from_kubeconfig,
    google: Callable[[str, Deadline], Google] = GoogleApis,
    **sources: Any,
) -> int:
    """The command; `cluster` and `google` build the live sources from the context and the project
    (the tests give loopback ones, and `sources` may set `network` and `database`)."""
    args = parse(argv)
    started = time.perf_counter()
    cfg, rendered, resources = load(args.stack)
    deadline = Deadline(args.timeout - (time.perf_counter() - started))
    try:
        live = cluster(args.context or cfg.kube_context, deadline)
    except CheckError as problem:
        print(f"✗ kube context: {problem.detail}\n  next: {problem.next_step}")
        return 1
    token = os.environ.get(args.grafana_token_env) if args.grafana else None
    options = Options(args.completion, args.prometheus, args.grafana, token, args.database_dsn)
    v = verify_run(
        cfg, rendered, resources, cluster=live, google=google(cfg.gcp.project, deadline), deadline=deadline,
        options=options, **sources,
    )  # fmt: skip
    try:
        results = run_checks(v, args.only or list(CHECKS))
    finally:
        v.close()
    seconds = time.perf_counter() - started
    print(
        json.dumps(as_json(results, args.stack, seconds), indent=2)
        if args.json
        else render(results, args.stack, seconds)
    )
    return 1 if any(r.status == "failed" for r in results) else 0
