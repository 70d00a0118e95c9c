"""Mutation check: plant named, realistic bugs one at a time and see whether the tests notice.

    python -m bench.mutations [--only NAME,...] [--family FAMILY] [--no-real] [--list]
                              [--timeout SECONDS] [--markdown]

Each mutation (`MUTATIONS`) replaces one exact piece of text (its anchor) in the program's
alert rules, reporting SQL, NetworkPolicy builders or ESO templates with a plausible bug,
and names the test modules that should catch it. The script copies the working tree
(tracked and untracked files, uncommitted changes included; never the checkout itself) to a
scratch folder, links the venvs and the asset cache into it, runs those modules once
unmutated (the baseline: a failing baseline means a "kill" would prove nothing), then for
each mutation in turn: apply it, run its modules (`pytest -x -m "not real_proxy"`, or with
the real-component tests for the mutations marked `real`, which start a real LiteLLM proxy
and Prometheus: about 2-3 minutes each), restore the file. It prints progress, then every
mutation as killed (with the first failing test) or SURVIVED, and the kill rate
(killed / (killed + survived)).

An anchor is found by its text among the files of a glob, exactly once: a module that is
split or moved keeps its mutations as long as the text survives. An anchor found zero or
several times is reported as stale (exit 2) and left out of the rate: update the mutation.

Snapshot-like checks are never the intended killer: the resource snapshots record names and
parents only, so a mutation here is caught by a test of behaviour or not at all.

Exit status: 0 every mutant killed, 1 some survived, 2 a stale anchor, a failing baseline or
bad arguments. Not run by the tests or CI (docs/numbers.md, "Mutation check").
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINKED = ("venv", ".venv-litellm", ".venv-checkov", ".cache", "node_modules")
"""Left out of the copy (git ignores them) and linked into it instead."""

ALERTS = "components/observability/**/*.py"
SQL = "components/reporting/**/*.py"
NETPOL = "components/**/*.py"
ESO = "components/secrets/**/*.py"

# The modules that render or run what a family builds (real-component ones only where a mutation asks).
ALERT_TESTS = (
    "tests/components/observability/test_alerting.py",
    "tests/components/observability/test_prometheus_rule.py",
    "tests/components/observability/test_rule_values.py",
    "tests/components/observability/test_alert_boundaries.py",
    "tests/config/test_stack_fuzz.py",
)
REAL_PROMETHEUS = ("tests/components/observability/test_prometheus_real.py",)
SQL_TESTS = (
    "tests/components/reporting",
    "tests/dashboards/test_spend_queries.py",
    "tests/dashboards/test_dashboards_spend.py",
)
NETPOL_TESTS = (
    "tests/components/litellm/test_litellm_network_policies.py",
    "tests/program/test_network_holes.py",
    "tests/program/test_rendered.py",
    "tests/components/test_kit.py",
    "tests/components/litellm/test_litellm.py",
    "tests/components/litellm/test_litellm_security.py",
    "tests/components/database/test_database.py",
    "tests/components/database/test_database_alone.py",
    "tests/components/reporting/test_reporting.py",
    "tests/components/reporting/test_reporting_manifests.py",
    "tests/components/redis",
    "tests/components/langfuse",
    "tests/components/sso",
)
ESO_TESTS = (
    "tests/components/secrets",
    "tests/components/observability/test_routing.py",
    "tests/components/observability/test_datasource_alone.py",
    "tests/components/observability/test_grafana_datasource.py",
    "tests/components/litellm/test_litellm.py",
    "tests/components/litellm/test_litellm_values.py",
    "tests/components/litellm/test_litellm_security.py",
    "tests/components/database/test_database.py",
    "tests/components/database/test_database_alone.py",
    "tests/components/redis/test_redis_values.py",
    "tests/components/langfuse/test_langfuse_values.py",
    "tests/components/sso",
    "tests/program/test_conformance.py",
    "tests/program/test_data_safety.py",
)


@dataclass(frozen=True)
class Mutation:
    name: str
    family: str
    bug: str
    """What the mutation means in production."""
    files: str
    """Glob (from the repository root) of the files the anchor is searched in."""
    old: str
    new: str
    tests: tuple[str, ...]
    real: bool = False
    """Run the real-component tests of `tests` too (a real LiteLLM proxy and Prometheus)."""


CHANGED_SINCE = "\"      WHERE u.updated_at > (mark - interval '{LATE_MARGIN}') AT TIME ZONE 'UTC'\\n\""
"""How refresh() finds the daily rows written since its last run, as refresh.py spells it."""
TODAY = "to_char(this_day, 'YYYY-MM-DD')"


MUTATIONS: tuple[Mutation, ...] = (
    # --- alert rules ---------------------------------------------------------------
    Mutation(
        "p95-becomes-p50",
        "alerts",
        "the latency alert watches the median: a slow tail never pages",
        ALERTS,
        "histogram_quantile(0.95, ",
        "histogram_quantile(0.50, ",
        ALERT_TESTS,
    ),
    Mutation(
        "error-rate-gt-becomes-ge",
        "alerts",
        "the error-rate alert fires at exactly the threshold",
        ALERTS,
        'expr=f"{failed} / {total} > {threshold(ratio)}"',
        'expr=f"{failed} / {total} >= {threshold(ratio)}"',
        ALERT_TESTS,
    ),
    Mutation(
        "for-duration-dropped",
        "alerts",
        "every alert fires on its first evaluation (no `for:`): pages on every blip",
        ALERTS,
        '"for": alert.for_,',
        '"for": "0m",',
        ALERT_TESTS,
    ),
    Mutation(
        "error-rate-counts-4xx",
        "alerts",
        "client mistakes (bad keys, unknown models) count as gateway errors",
        ALERTS,
        'exception_status_nre="4.."',
        'exception_status_nre="4xx"',
        ALERT_TESTS,
    ),
    Mutation(
        "gateway-down-absent-dropped",
        "alerts",
        "a gateway whose target vanished from discovery never pages",
        ALERTS,
        'expr=f"{up} == 0 or absent({up})"',
        'expr=f"{up} == 0"',
        ALERT_TESTS,
    ),
    Mutation(
        "gateway-down-wrong-job",
        "alerts",
        "LiteLLMGatewayDown selects the Deployment's name as job: the scrape job never matches",
        ALERTS,
        "selector(namespace=ns, job=scrape_job(cfg.litellm))",
        "selector(namespace=ns, job=deployment_name(cfg.litellm))",
        ALERT_TESTS,
    ),
    Mutation(
        "outage-minimum-per-minute",
        "alerts",
        "the outage alert's request floor counts a minute, not the 5-minute window",
        ALERTS,
        "({requests}) * 300 >= {p.outage_min_requests}",
        "({requests}) * 60 >= {p.outage_min_requests}",
        ALERT_TESTS,
    ),
    Mutation(
        "provider-alerts-without-provider",
        "alerts",
        "requests refused before routing (no provider) count in the provider failure ratio",
        ALERTS,
        'sel = selector(namespace=cfg.namespaces.gateway, api_provider_ne="")',
        "sel = selector(namespace=cfg.namespaces.gateway)",
        ALERT_TESTS,
    ),
    Mutation(
        "budget-tiers-overlap",
        "alerts",
        "a key past 100 % of its budget fires Notice, Low and Exhausted at once",
        ALERTS,
        '(f" < {threshold(upper)}" if upper is not None else "")',
        '""',
        ALERT_TESTS,
    ),
    Mutation(
        "daily-spend-window-1h",
        "alerts",
        "the daily budget alert sums one hour of spend",
        ALERTS,
        "(increase(litellm_spend_metric_total{{{ns}}}[24h]))",
        "(increase(litellm_spend_metric_total{{{ns}}}[1h]))",
        ALERT_TESTS,
    ),
    Mutation(
        "token-burn-metric-renamed",
        "alerts",
        "the token alert reads a metric LiteLLM does not export: it can never fire",
        ALERTS,
        "increase(litellm_total_tokens_metric_total{{{ns}}}[1h])",
        "increase(litellm_tokens_metric_total{{{ns}}}[1h])",
        ALERT_TESTS,
    ),
    Mutation(
        "cnpg-pods-regex-unanchored-number",
        "alerts",
        "the CNPG alerts select the cluster's name only: no instance pod ever matches",
        ALERTS,
        'pod_re=f"{names.cluster}-[0-9]+"',
        'pod_re=f"{names.cluster}"',
        ALERT_TESTS,
    ),
    Mutation(
        "replication-lag-comparison-flipped",
        "alerts",
        "the replication alert fires while replicas are in sync, and not when they lag",
        ALERTS,
        '(cnpg_pg_replication_lag{{{pods}}}) "\n                    f"> {threshold',
        '(cnpg_pg_replication_lag{{{pods}}}) "\n                    f"< {threshold',
        ALERT_TESTS,
    ),
    Mutation(
        "team-budget-label-dropped",
        "alerts",
        "team budget alerts sum every team together (by team_alias only)",
        ALERTS,
        '"namespace, team, team_alias",',
        '"namespace, team_alias",',
        ALERT_TESTS,
    ),
    Mutation(
        "rate-limited-status-label",
        "alerts",
        "the 429 alert matches an exception_status LiteLLM never writes (it writes the code)",
        ALERTS,
        'api_provider_ne="", exception_status="429")',
        'api_provider_ne="", exception_status="RateLimitError")',
        ALERT_TESTS,
    ),
    Mutation(
        "key-request-rate-by-alias-only",
        "alerts",
        "the per-key request alert sums every key that shares an alias (or has none)",
        ALERTS,
        'by_key = "namespace, hashed_api_key, api_key_alias"',
        'by_key = "namespace, api_key_alias"',
        ALERT_TESTS,
    ),
    Mutation(
        "token-burn-metric-renamed-real-only",
        "referee",
        "token-burn-metric-renamed, run against the real-Prometheus test alone: it must be a referee by itself "
        "(it once accepted a rule that selected nothing)",
        ALERTS,
        "increase(litellm_total_tokens_metric_total{{{ns}}}[1h])",
        "increase(litellm_tokens_metric_total{{{ns}}}[1h])",
        REAL_PROMETHEUS,
        real=True,
    ),
    # --- reporting SQL ---------------------------------------------------------------
    Mutation(
        "refresh-late-rows-dropped",
        "sql",
        "the incremental refresh reads today's changed rows only: rows LiteLLM writes late for earlier days are lost",
        SQL,
        CHANGED_SINCE,
        CHANGED_SINCE.replace(
            " AT TIME ZONE 'UTC'", " AT TIME ZONE 'UTC' AND u.date = to_char(this_day, 'YYYY-MM-DD')"
        ),
        SQL_TESTS,
    ),
    Mutation(
        "refresh-daily-check-skipped",
        "sql",
        "the first run of a day no longer re-aggregates the window: what the change tracking missed stays wrong",
        SQL,
        '"    IF new_day THEN\\n"\n        "      -- once a day',
        '"    IF false THEN\\n"\n        "      -- once a day',
        SQL_TESTS,
    ),
    Mutation(
        "refresh-other-users-dropped",
        "sql",
        "a changed (day, key, model) is rebuilt from its new rows only: the chargeback loses its other users' spend",
        SQL,
        "JOIN {WAS_DETAIL} t ON {in_charge_group('t')}",
        "JOIN {WAS_DETAIL} t ON false",
        SQL_TESTS,
    ),
    Mutation(
        "rebuild-keeps-vanished-groups",
        "sql",
        "a group whose LiteLLM rows are gone (or whose key moved team) keeps its old row: its spend is counted twice",
        SQL,
        "USING g WHERE x.ctid = g.at AND NOT g.kept)",
        "USING g WHERE x.ctid = g.at AND false)",
        SQL_TESTS,
    ),
    Mutation(
        "rebuild-difference-forgets-old",
        "sql",
        "a changed group passes on its new total as its difference: every coarser table adds it again",
        SQL,
        "COALESCE({m}, 0) - COALESCE(was_{m}, 0)",
        "COALESCE({m}, 0)",
        SQL_TESTS,
    ),
    Mutation(
        "rebuild-rewrites-unchanged",
        "sql",
        "every kept row of a changed charge group is written again, changed or not: writes that follow the groups read",
        SQL,
        "g.kept AND {differ})",
        "g.kept)",
        SQL_TESTS,
    ),
    Mutation(
        "refresh-null-groups-unread",
        "sql",
        "a group whose user or model is NULL finds no LiteLLM row: its spend vanishes from every rollup",
        SQL,
        ") r WHERE c.user_id IS NULL OR c.model IS NULL",
        ") r WHERE false",
        SQL_TESTS,
    ),
    Mutation(
        "refresh-no-margin",
        "sql",
        "a LiteLLM batch that commits just after a run began is never read: its spend is missing until the next day",
        SQL,
        'LATE_MARGIN = "2 minutes"',
        'LATE_MARGIN = "0 seconds"',
        SQL_TESTS,
    ),
    Mutation(
        "key-state-keeps-deleted-keys",
        "sql",
        "a key deleted in LiteLLM stays in the budget list",
        SQL,
        "WHERE c.key_id = s.key_id AND NOT c.present;",
        "WHERE c.key_id = s.key_id AND NOT c.present AND false;",
        SQL_TESTS,
    ),
    Mutation(
        "refresh-planner-switch-leaks",
        "sql",
        "the refresh's hash-join switch outlives it: the job's later statements plan without hashing",
        SQL,
        '"SET enable_hashjoin = on\\n"',
        '""',
        SQL_TESTS,
    ),
    Mutation(
        "grant-extra-column",
        "sql",
        "the reporting role may read the request payloads of the spend log",
        SQL,
        '_LOGS: ("startTime", "api_key", "model", "team_id", "metadata", "status"),',
        '_LOGS: ("startTime", "api_key", "model", "team_id", "metadata", "status", "messages"),',
        SQL_TESTS,
    ),
    Mutation(
        "source-revoke-dropped",
        "sql",
        "column grants only ever grow: a column this program stopped reading stays readable",
        SQL,
        'f"REVOKE ALL ON ALL TABLES IN SCHEMA {SOURCE_SCHEMA} FROM {who};",',
        "",
        SQL_TESTS,
    ),
    Mutation(
        "grafana-ro-reads-litellm-keys",
        "sql",
        "the dashboards' login may read LiteLLM's key table (hashed tokens) directly",
        SQL,
        "f\"GRANT SELECT ON {', '.join(READABLE)} TO {who};\\n\"",
        "f\"GRANT SELECT ON {', '.join(READABLE)}, {_SRC_TOKENS} TO {who};\\n\"",
        SQL_TESTS,
    ),
    Mutation(
        "keys-view-exposes-token",
        "sql",
        "the keys view shows LiteLLM's hashed token instead of its md5",
        SQL,
        "f\"SELECT {key_id('k.token')} AS key_id, k.key_alias",
        'f"SELECT k.token AS key_id, k.key_alias',
        SQL_TESTS,
    ),
    Mutation(
        "weekly-rollup-not-week-aligned",
        "sql",
        "a weekly or monthly group moves at the changed day, not its Monday or the 1st: the period splits",
        SQL,
        "else f\"date_trunc('{unit}', t.day::timestamp)::date\"",
        'else "t.day"',
        SQL_TESTS,
    ),
    Mutation(
        "failures-view-every-row",
        "sql",
        "the recent-failures panel lists successful requests too",
        SQL,
        "\"WHERE l.status = 'failure';\",",
        '"WHERE l.status IS NOT NULL;",',
        SQL_TESTS,
    ),
    # --- NetworkPolicies -----------------------------------------------------------------
    Mutation(
        "litellm-api-from-dropped",
        "netpol",
        "the proxy's API port admits every pod and every address (a rule without `from`)",
        NETPOL,
        'ingress_rules.insert(0, {"from": api_from, "ports": tcp_ports(API_PORT)})',
        'ingress_rules.insert(0, {"ports": tcp_ports(API_PORT)})',
        NETPOL_TESTS,
    ),
    Mutation(
        "litellm-metrics-rule-on-api-port",
        "netpol",
        "Prometheus is admitted on the API port instead of the metrics port (no scrape, API reachable)",
        NETPOL,
        '{"from": [prometheus_peer(net)], "ports": tcp_ports(lit.metrics_port)}',
        '{"from": [prometheus_peer(net)], "ports": tcp_ports(API_PORT)}',
        NETPOL_TESTS,
    ),
    Mutation(
        "prometheus-peer-whole-namespace",
        "netpol",
        "every pod of the monitoring namespace (Grafana too) reads the unauthenticated metrics",
        NETPOL,
        'return {**namespace_peer(net.prometheus_namespace), "podSelector": '
        '{"matchLabels": dict(net.prometheus_pod_labels)}}',
        "return namespace_peer(net.prometheus_namespace)",
        NETPOL_TESTS,
    ),
    Mutation(
        "dns-egress-tcp-only",
        "netpol",
        "DNS over UDP is blocked: every name lookup of a default-deny pod times out",
        NETPOL,
        '"ports": [{"protocol": "UDP", "port": DNS_PORT}, {"protocol": "TCP", "port": DNS_PORT}],',
        '"ports": [{"protocol": "TCP", "port": DNS_PORT}],',
        NETPOL_TESTS,
    ),
    Mutation(
        "default-deny-ingress-only",
        "netpol",
        "the default-deny policies leave egress open",
        NETPOL,
        'return {"podSelector": pods, "policyTypes": ["Ingress", "Egress"]}',
        'return {"podSelector": pods, "policyTypes": ["Ingress"]}',
        NETPOL_TESTS,
    ),
    Mutation(
        "model-egress-port-80",
        "netpol",
        "the proxy may reach model providers over plain HTTP too",
        NETPOL,
        '[{"ipBlock": {"cidr": c}} for c in net.egress_cidrs], "ports": tcp_ports(443)}',
        '[{"ipBlock": {"cidr": c}} for c in net.egress_cidrs], "ports": tcp_ports(443, 80)}',
        NETPOL_TESTS,
    ),
    Mutation(
        "database-egress-any-port",
        "netpol",
        "database clients may reach the CNPG pods on every port",
        NETPOL,
        '"to": [{"podSelector": {"matchLabels": dict(pod_selector)}}],\n'
        '            "ports": [{"protocol": "TCP", "port": port}],',
        '"to": [{"podSelector": {"matchLabels": dict(pod_selector)}}],',
        NETPOL_TESTS,
    ),
    Mutation(
        "cnpg-postgres-from-any-client",
        "netpol",
        "every pod of the namespace may connect to PostgreSQL (the clients list ignored)",
        NETPOL,
        '{"from": [own, *(dict(c) for c in clients)], "ports": tcp_ports(PORT)},',
        '{"from": [own, {"podSelector": {}}], "ports": tcp_ports(PORT)},',
        NETPOL_TESTS,
    ),
    Mutation(
        "cnpg-metrics-from-anyone",
        "netpol",
        "anyone may read the CNPG instances' metrics port",
        NETPOL,
        '{"from": [dict(prometheus)], "ports": tcp_ports(METRICS_PORT)},',
        '{"ports": tcp_ports(METRICS_PORT)},',
        NETPOL_TESTS,
    ),
    Mutation(
        "langfuse-web-from-dropped",
        "netpol",
        "Langfuse's web port admits every source",
        NETPOL,
        '"ingress": [{"from": web_from, "ports": tcp_ports(WEB_PORT)}],',
        '"ingress": [{"ports": tcp_ports(WEB_PORT)}],',
        NETPOL_TESTS,
    ),
    # --- ESO templates -------------------------------------------------------------------
    Mutation(
        "eso-template-key-renamed",
        "eso",
        "basic-auth Secrets render an empty password (the template reads a key that is not there)",
        ESO,
        '"password": "{{ .password }}"',
        '"password": "{{ .value }}"',
        ESO_TESTS,
    ),
    Mutation(
        "eso-refresh-interval-0s",
        "eso",
        "ESO never refreshes: a rotated secret never reaches the cluster",
        ESO,
        '"refreshInterval": refresh_interval,',
        '"refreshInterval": "0s",',
        ESO_TESTS,
    ),
    Mutation(
        "eso-deletion-policy-delete",
        "eso",
        "a GSM secret deleted or unreadable makes ESO delete the Kubernetes Secret the pods mount",
        ESO,
        '"deletionPolicy": "Retain",',
        '"deletionPolicy": "Delete",',
        ESO_TESTS,
    ),
    Mutation(
        "eso-creation-policy-orphan",
        "eso",
        "the rendered Secrets outlive their ExternalSecret (no owner): deleting a consumer leaves its credential",
        ESO,
        '"creationPolicy": "Owner",',
        '"creationPolicy": "Orphan",',
        ESO_TESTS,
    ),
    Mutation(
        "eso-remote-version-pinned",
        "eso",
        "ExternalSecrets read version 1 of each GSM secret: rotations never arrive",
        ESO,
        '"version": e.version,',
        '"version": "1",',
        ESO_TESTS,
    ),
    Mutation(
        "eso-template-engine-v1",
        "eso",
        "templates rendered by ESO's old engine (v1 syntax): `{{ .password }}` is not expanded the same way",
        ESO,
        '"engineVersion": "v2",',
        '"engineVersion": "v1",',
        ESO_TESTS,
    ),
    Mutation(
        "eso-store-namespace-unchecked",
        "eso",
        "an ExternalSecret may name another namespace's SecretStore (ESO refuses it at run time)",
        ESO,
        'if store.kind == "SecretStore" and store.namespace not in (None, target.namespace):',
        "if False:",
        ESO_TESTS,
    ),
    Mutation(
        "eso-entry-key-mismatch",
        "eso",
        "the entry is read under a key the consumer's template does not use",
        ESO,
        "entries=[RemoteEntry(secret_key=c.secret_key, gsm_secret_id=args.gsm_secret_id)],",
        'entries=[RemoteEntry(secret_key="value", gsm_secret_id=args.gsm_secret_id)],',
        ESO_TESTS,
    ),
)


@dataclass(frozen=True)
class Outcome:
    mutation: Mutation
    status: str
    """killed, SURVIVED, timeout (counted as killed), stale (anchor lost, or no test ran)."""
    seconds: float
    detail: str
    """The first failing test, the anchor problem, or the tail of pytest's output."""
    path: str = ""


def locate(root: Path, mutation: Mutation) -> tuple[Path | None, str]:
    """The one file holding the anchor exactly once, or None and why not."""
    hits = [
        (path, path.read_text().count(mutation.old))
        for path in sorted(root.glob(mutation.files))
        if path.is_file() and mutation.old in path.read_text()
    ]
    total = sum(count for _, count in hits)
    if total == 1:
        return hits[0][0], ""
    where = ", ".join(f"{p.relative_to(root)} x{c}" for p, c in hits) or "nowhere"
    return None, f"anchor found {total} times in {mutation.files} ({where}): update the mutation"


def scratch_copy(source: Path, target: Path) -> None:
    """The working tree as it is (tracked and untracked, not ignored), plus links to the venvs and cache."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=source,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        relative = raw.decode()
        origin = source / relative
        if relative.split("/", 1)[0] in LINKED or not origin.exists() or origin.is_dir():
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(origin, destination, follow_symlinks=False)
    for name in LINKED:
        if (source / name).exists():
            (target / name).symlink_to((source / name).resolve())


FAILED_LINE = re.compile(r"^(?:FAILED|ERROR) (.+?)(?: - |$)", re.MULTILINE)


def run_pytest(root: Path, tests: Sequence[str], *, real: bool, timeout: float) -> tuple[str, float, str]:
    """(passed | failed | timeout | empty, seconds, the first failing test or the output's tail)."""
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-rfE", *tests]
    if not real:
        command[4:4] = ["-m", "not real_proxy"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - started, f"no result after {timeout:.0f} s"
    seconds = time.monotonic() - started
    if done.returncode == 0:
        return "passed", seconds, ""
    if done.returncode == 5:  # pytest: no test collected (or all deselected)
        return "empty", seconds, "no test ran: check the mutation's test paths"
    failed = FAILED_LINE.findall(done.stdout)
    tail = " | ".join(done.stdout.strip().splitlines()[-3:])
    return "failed", seconds, failed[0] if failed else f"exit {done.returncode}: {tail}"


def baseline(root: Path, chosen: Sequence[Mutation], timeout: float) -> list[str]:
    """Problems of the unmutated copy: each distinct test set (offline, real) must pass."""
    problems = []
    offline = sorted({t for m in chosen if not m.real for t in m.tests})
    real = sorted({t for m in chosen if m.real for t in m.tests})
    for tests, is_real in ((offline, False), (real, True)):
        if not tests:
            continue
        print(f"baseline ({'with' if is_real else 'without'} real components): {len(tests)} paths ...", flush=True)
        status, seconds, detail = run_pytest(root, tests, real=is_real, timeout=timeout)
        print(f"  {status} in {seconds:.0f} s {detail}", flush=True)
        if status != "passed":
            problems.append(f"baseline {'real' if is_real else 'offline'}: {status} {detail}")
    return problems


def mutate(root: Path, mutation: Mutation, timeout: float) -> Outcome:
    path, problem = locate(root, mutation)
    if path is None:
        return Outcome(mutation, "stale", 0.0, problem)
    original = path.read_text()
    path.write_text(original.replace(mutation.old, mutation.new, 1))
    try:
        status, seconds, detail = run_pytest(root, mutation.tests, real=mutation.real, timeout=timeout)
    finally:
        path.write_text(original)
    relative = str(path.relative_to(root))
    verdict = {"passed": "SURVIVED", "failed": "killed", "timeout": "timeout", "empty": "stale"}[status]
    return Outcome(mutation, verdict, seconds, detail, relative)


def report(outcomes: Sequence[Outcome], *, markdown: bool) -> str:
    killed = sum(1 for o in outcomes if o.status in ("killed", "timeout"))
    survived = [o for o in outcomes if o.status == "SURVIVED"]
    stale = [o for o in outcomes if o.status == "stale"]
    counted = killed + len(survived)
    rate = f"{killed}/{counted} = {100 * killed / counted:.0f} %" if counted else "n/a"
    lines = []
    if markdown:
        lines += ["| mutation | family | file | result | s | caught by / why it matters |", "|---|---|---|---|---|---|"]
        for o in outcomes:
            why = o.detail if o.status != "SURVIVED" else o.mutation.bug
            cells = (f"`{o.mutation.name}`", o.mutation.family, o.path or "-", o.status, f"{o.seconds:.0f}", why)
            lines.append(f"| {' | '.join(cells)} |")
    else:
        width = max(len(o.mutation.name) for o in outcomes)
        for o in outcomes:
            lines.append(f"{o.mutation.name:<{width}}  {o.status:<8} {o.seconds:6.0f} s  {o.detail}")
    lines.append("")
    lines.append(f"kill rate: {rate} (stale anchors: {len(stale)})")
    for o in survived:
        lines.append(f"SURVIVED {o.mutation.name} ({o.path}): {o.mutation.bug}")
    for o in stale:
        lines.append(f"STALE {o.mutation.name}: {o.detail}")
    return "\n".join(lines)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.mutations", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated mutation names")
    parser.add_argument("--family", choices=sorted({m.family for m in MUTATIONS}), help="one family only")
    parser.add_argument("--no-real", action="store_true", help="skip the mutations that need real components")
    parser.add_argument("--list", action="store_true", help="list the mutations and where each anchor is, and exit")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per pytest run (default 900)")
    parser.add_argument("--markdown", action="store_true", help="print the result as a Markdown table")
    parser.add_argument("--skip-baseline", action="store_true", help="trust that the unmutated tests pass")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy (its path is printed)")
    parser.add_argument(
        "--source",
        type=Path,
        default=ROOT,
        help="the checkout to copy and mutate (default: this one), e.g. another worktree to compare",
    )
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    if not (args.source / ".git").exists():
        parser.error(f"--source {args.source}: not a git checkout")
    return args


def select(args: argparse.Namespace) -> list[Mutation]:
    chosen = list(MUTATIONS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(names) - {m.name for m in MUTATIONS})
        if unknown:
            raise SystemExit(f"error: --only: unknown mutations {unknown}; see --list")
        chosen = [m for m in chosen if m.name in names]
    if args.family:
        chosen = [m for m in chosen if m.family == args.family]
    if args.no_real:
        chosen = [m for m in chosen if not m.real]
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        chosen = select(args)
    except SystemExit as error:
        print(error, file=sys.stderr)
        return 2
    if args.list:
        stale = 0
        for m in chosen:
            path, problem = locate(args.source, m)
            stale += path is None
            where = str(path.relative_to(args.source)) if path else f"STALE: {problem}"
            print(f"{m.name:<36} {m.family:<7} {'real ' if m.real else ''}{where}\n    {m.bug}")
        return 2 if stale else 0
    if not chosen:
        print("error: no mutation selected", file=sys.stderr)
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="llm-gateway-mutations-"))
    try:
        scratch_copy(args.source.resolve(), scratch)
        print(f"scratch copy: {scratch}", flush=True)
        problems = [] if args.skip_baseline else baseline(scratch, chosen, args.timeout)
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 2
        outcomes = []
        for index, mutation in enumerate(chosen, 1):
            print(
                f"[{index:2}/{len(chosen)}] {mutation.name} ({'real, ' if mutation.real else ''}"
                f"{len(mutation.tests)} paths) ...",
                end=" ",
                flush=True,
            )
            outcome = mutate(scratch, mutation, args.timeout)
            print(f"{outcome.status} in {outcome.seconds:.0f} s {outcome.detail}", flush=True)
            outcomes.append(outcome)
    finally:
        if args.keep:
            print(f"kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print()
    print(report(outcomes, markdown=args.markdown))
    if any(o.status == "stale" for o in outcomes):
        return 2
    return 1 if any(o.status == "SURVIVED" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
