"""Benchmark `python -m tools.verify lab` against a healthy lab stack stood in for on loopback.

    python -m bench.verify [--runs N] [--broken]

The stand (tests/support/verify_stand.py, verify_records.py): an HTTPS Kubernetes API server
answering from the lab's rendered objects as their controllers leave them (schema-validated) and
proxying to the servers below; a throwaway PostgreSQL with LiteLLM's schema, grafana_ro and the
reporting schema after its first refresh; one real LiteLLM proxy (the lab's values, two pods);
a real Prometheus scraping it with the lab's rules; Grafana's HTTP API as recorded answers. The
components start first (not timed); then `verify lab` runs `--runs` times, every check that
applies to the lab (completion, langfuse and ingress are skipped: no --completion, Langfuse
off, no Ingress), through the same code as the command (verify/cli.py), in this process.

Prints the last run's output and the median and slowest run (target: under 10 s). With
`--broken`, also one run after breaking one thing per check, and its output.
Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from psycopg import sql

from bench import positive_int
from config.inventory import GRAFANA_RO_PASSWORD, MASTER_KEY, gsm_secret_id
from dashboards.reporting_schema import STATE
from tests.harness.litellm import probe
from tests.harness.pglab.server import apply_litellm_schema, start_postgres_server
from tests.harness.pglab.spend_seed import install_reporting
from tests.support.components import require
from tests.support.config import cnpg_section, stack_config
from tests.support.program import HELM_RELEASE, run_cached
from tests.support.reporting_db import REPORTING_PASSWORD, as_superuser, create_grafana_ro, database_copy
from tests.support.verify_records import (
    cnpg,
    cronjob,
    dashboards,
    iam_policies,
    of_kind,
    prometheus,
    reach_cluster,
    serve_pods,
    settled,
    synced,
)
from tests.support.verify_stand import ApiServer, StandGoogle, live, loaded, ready, recorded_http, run_verify

PASSWORD = "bench grafana_ro pw"
GRAFANA_TOKEN = "glsa_bench_token"
PODS = ("litellm-7d9c5b8f6-2xkqp", "litellm-7d9c5b8f6-9mhzt")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.verify", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=positive_int, default=5, help="verify runs to time (default 5)")
    parser.add_argument("--broken", action="store_true", help="also one run with one thing broken per check")
    args = parser.parse_args(argv)
    lab = loaded(run_cached("lab"), stack_config("lab"))
    cfg = lab[0]
    (release,) = [r for r in run_cached("lab").of_type(HELM_RELEASE) if "proxy_config" in r.plain_inputs["values"]]
    given = probe.helm_probe_input(release.plain_inputs["values"])
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-verify-")))
        server = start_postgres_server()
        stack.callback(server.stop)
        database = apply_litellm_schema(server)
        stack.enter_context(database_copy(database, "verify"))
        create_grafana_ro(database, "verify", PASSWORD)
        as_superuser(server, "postgres", [f"ALTER ROLE grafana_ro PASSWORD {sql.Literal(PASSWORD).as_string()}"])
        install_reporting(server, "verify", REPORTING_PASSWORD, "grafana_ro")
        litellm = require("litellm")
        session = probe.proxy_session(
            litellm, given.config, 300, env_vars=given.env_vars, num_workers=1, metrics_port=0
        )
        proxy = stack.enter_context(session)
        prom = stack.enter_context(prometheus(tmp, lab, lambda _kind: f"127.0.0.1:{proxy.metrics_port}"))
        settled(prom, ["up"] * len(of_kind(lab, "ServiceMonitor") + of_kind(lab, "PodMonitor")))
        uid = cfg.grafana.datasource_uid
        grafana = stack.enter_context(
            recorded_http(
                {"/api/search": (200, dashboards(lab)),
                 f"/api/datasources/uid/{uid}": (200, {"uid": uid}),
                 f"/api/datasources/uid/{uid}/health": (200, {"status": "OK", "message": "Database Connection OK"})},
                {"Authorization": f"Bearer {GRAFANA_TOKEN}"},
            )
        )  # fmt: skip
        api = stack.enter_context(ApiServer(tmp / "api"))
        reach_cluster(api, lab)
        api.put(cnpg(lab, cnpg_section(cfg).instances, "Cluster in healthy state"))
        api.put(cronjob(lab, datetime.now(UTC) - timedelta(minutes=4)))
        serve_pods(api, lab, dict.fromkeys(PODS, proxy.base_url.removeprefix("http://")))
        api.backends[(cfg.litellm.network.prometheus_namespace, "services", "prometheus-operated", 9090)] = (
            prom.url.removeprefix("http://")
        )
        google = StandGoogle(
            secrets={
                gsm_secret_id(cfg, GRAFANA_RO_PASSWORD): PASSWORD,
                gsm_secret_id(cfg, MASTER_KEY): proxy.master_key,
            },
            policies=iam_policies(run_cached("lab")),
        )
        os.environ["GRAFANA_TOKEN"] = GRAFANA_TOKEN
        dsn = f"host={server.host} port={server.port} dbname=verify"
        argv_ = ["lab", "--database-dsn", dsn, "--grafana", f"http://127.0.0.1:{grafana.port}"]
        print(f"stand ready in {time.perf_counter() - started:.1f} s (not timed)", file=sys.stderr)
        seconds, out, code = [], "", 0
        for _ in range(args.runs):
            begun = time.perf_counter()
            code, out = run_verify(api, lab, argv_, google)
            seconds.append(time.perf_counter() - begun)
        print(f"$ python -m tools.verify {shlex.join(argv_)}\n{out}(exit {code})\n")
        print(f"verify lab, {args.runs} runs: median {statistics.median(seconds):.2f} s, slowest {max(seconds):.2f} s "
              f"(target < 10 s); load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        if args.broken:
            es = next(e for e in of_kind(lab, "ExternalSecret") if e["metadata"]["name"] == "litellm-provider-keys")
            message = "could not get secret data from provider"
            api.put(
                live(es, {"conditions": [ready("SecretSyncedError", datetime.now(UTC), ok=False, message=message)]})
            )
            master = next(e for e in of_kind(lab, "ExternalSecret") if e["metadata"]["name"] == "litellm-master-key")
            api.put(synced(master, minutes_ago=150))
            api.put(cnpg(lab, 0, "Setting up primary"))
            api.put(cronjob(lab, datetime.now(UTC) - timedelta(hours=3)))
            api.backends[(cfg.namespaces.gateway, "pods", PODS[1], 4000)] = f"127.0.0.1:{probe.free_loopback_port()}"
            as_superuser(server, "verify", ['GRANT SELECT ON public."LiteLLM_VerificationToken" TO grafana_ro'])
            as_superuser(server, "verify", [f"UPDATE {STATE} SET refreshed_at = refreshed_at - interval '1 hour'"])
            code, out = run_verify(api, lab, argv_, google)
            print(f"$ python -m tools.verify {shlex.join(argv_)}   # broken\n{out}(exit {code})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
