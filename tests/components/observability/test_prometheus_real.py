"""Dashboards and alerts on a real Prometheus scraping a real LiteLLM proxy.

For each stack: the rendered litellm-helm values (proxy_config, envVars,
numWorkers: 2 workers on enterprise) start a real proxy on loopback
(`tests.harness.litellm.probe.proxy_session`: mock models, a fake OpenAI upstream that
also has a provider answering 503 and one answering 429). Debian's Prometheus
scrapes its separate metrics port every second, the target labelled as the
ServiceMonitor's discovery labels it (job = release name, namespace, service,
pod, container, endpoint), with the stack's PrometheusRule groups loaded and
evaluated every second. Bounded phases of traffic follow:

1. normal: successful completions (streaming, fallbacks, cache, a team key);
2. client mistakes: unknown models, bad keys, a few hundred made-up bearer tokens;
3. provider failures: a single-deployment model group whose provider answers 503,
   one that answers 429, a two-deployment group that fails over and fails;
4. proxy stopped.

After each phase the active alerts (pending, since `for:` timing is promtool's
business: tests/components/observability/test_alerting.py) are recorded; after phase 3 every dashboard
query (Grafana variables substituted), every rule expression and every value each
rule compares is evaluated through the HTTP API and classified error / empty / data,
and the proxy's metrics port is scraped once more by the test itself. One proxy run
per stack feeds every test below; the two stacks' runs go at the same time (two
threads, each with its own proxy and Prometheus), since they mostly wait for
scrapes and rule evaluations.

Rules, by family (a rule that evaluates to nothing must not pass for a quiet one):

- fired by the harness: the provider alerts and the server-side error rate (phase 3)
  and LiteLLMGatewayDown (phase 4) must go pending (MUST_FIRE), and nothing else may;
- quiet under the harness: the latency, per-key usage, cost and budget alerts keep
  production thresholds (a p95 of 30-60 s, 10 requests/s or 2M tokens/h from one key,
  $20-100 a day, 80 % of a budget the probe's team key has used 10 % of) that a few
  hundred mock requests never reach;
- unfed: rules on metrics of components the test does not run (CNPG, its barman-cloud
  plugin, kubelet volume stats, kube-state-metrics, LiteLLM's database-only spend-log
  cleanup): UNFED_RULES, with the reason.

Every fed rule (the first two families) must return data from each value it compares
(`tests.support.real_prometheus.value_expressions`: the sides of its threshold
comparisons, the operands of and/or, the argument of absent), so a renamed metric or
label, or a `by` clause that matches nothing on the other side, fails even while the
alert stays silent; the rules without data must be exactly UNFED_RULES, so a new rule
is classified here before it ships. There are no recording rules today; one would be
checked the same way (its expression is its value).

The scrape is compared with the committed captures tests/data/litellm_metrics.txt and
litellm_metric_labels.txt (tests.harness.litellm.probe): the same sample names, the
same declared-only families, the same label names per sample, and the version in their
headers equal to the running LiteLLM's.

The proxy comes from $LITELLM_BIN, else `.venv-litellm/bin/litellm`; Prometheus
from PATH (apt: prometheus). Without either the tests fail in strict mode, else skip
(tests/support/components.py).
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.litellm.names import scrape_job, service_name
from components.observability.dashboards import DashboardsArgs
from components.observability.rules import rule_groups
from config import StackConfig
from dashboards import all_dashboards
from dashboards.prometheus_panels import exprs
from tests.harness import timings
from tests.harness.litellm import probe as litellm_probe
from tests.harness.litellm.probe import (
    DOWN_MODEL,
    FAILING_MODEL,
    LIMITED_MODEL,
    MISSING_MODEL,
    UPSTREAM_MODEL,
    RunningProxy,
    chat,
    helm_probe_input,
)
from tests.support.components import require
from tests.support.config import stack_config
from tests.support.program import HELM_RELEASE, run_cached
from tests.support.promql import DATA
from tests.support.real_prometheus import QueryResult, RealPrometheus, ScrapeTarget, value_expressions

pytestmark = pytest.mark.real_proxy

STACKS = ("enterprise", "lab")
STARTUP_TIMEOUT_S = 180.0
SETTLE_TIMEOUT_S = 20.0
# Workers of a proxy starting on a busy CI machine answer uvicorn's supervisor late.
WORKER_HEALTHCHECK_S = 120
PING_ANSWER_S = 1.0
"""How long an idle worker may take to answer a ping already sent (see _restart_a_worker)."""
STOP_TIMEOUT_S = 10.0
RANDOM_TOKENS = 300
# The series cap the stacks render (litellm.settings.prometheus_max_series_per_metric),
# lowered for this run so that a few hundred made-up tokens can prove it holds.
SERIES_CAP = 100
CAP_OVERRIDE = f"llm-gateway:litellm.settings.prometheus_max_series_per_metric={SERIES_CAP}"
DIAGNOSTICS = {
    "deployment_state": "litellm_deployment_state",
    "failed_fallbacks": "litellm_deployment_failed_fallbacks_total",
    "cache": '{__name__=~"litellm_cache_(hits|misses)_metric_total"}',
}

# What Grafana substitutes; the windows cover the whole run (a few minutes at most).
RATE_INTERVAL = "2m"
RANGE = "10m"

# Queries that cannot have data here, and why.
NEEDS_ELSEWHERE = {
    "kube_deployment_status_replicas_unavailable": "kube-state-metrics (not part of this test)",
    "cnpg_": "a CloudNativePG cluster (its instance exporter)",
    "barman_cloud_": "the CNPG barman-cloud plugin",
    "kubelet_volume_stats_": "the kubelet's volume stats (kube-prometheus-stack)",
    "litellm_spend_log_cleanup_": "a database (LiteLLM's spend-log cleanup job runs only with one)",
}

# Rules the harness cannot feed (alert name -> where their metrics come from). Every other
# rule must return data from each value it compares; the rules without data must be exactly
# these (the ones each stack ships).
SPEND_LOG_CLEANUP = "litellm_spend_log_cleanup_*: LiteLLM's spend-log cleanup job, which runs only with a database"
UNFED_RULES = {
    "LiteLLMReadinessFailing": "kube_deployment_status_replicas_unavailable: kube-state-metrics",
    "CnpgInstanceDown": "cnpg_collector_up and the `up` of the CNPG pods: a CloudNativePG cluster",
    "CnpgReplicationLagHigh": "cnpg_pg_replication_lag: a CNPG cluster with replicas",
    "CnpgWalArchivingFailing": "cnpg_pg_stat_archiver_*: a CNPG cluster archiving WAL",
    "CnpgBackupFailed": "barman_cloud_cloudnative_pg_io_*: the CNPG barman-cloud plugin",
    "CnpgBackupTooOld": "barman_cloud_cloudnative_pg_io_*: the CNPG barman-cloud plugin",
    "CnpgVolumeFillingUp": "kubelet_volume_stats_*: the kubelet's stats of the CNPG volumes",
    "CnpgConnectionsNearMax": "cnpg_backends_total, cnpg_pg_settings_setting: a CNPG cluster",
    "LiteLLMSpendLogCleanupFailing": SPEND_LOG_CLEANUP,
    "LiteLLMSpendLogCleanupBehind": SPEND_LOG_CLEANUP,
}

# Alerts that must go pending in a phase; every other alert must stay silent there.
MUST_FIRE = {
    "normal": set(),
    "client_mistakes": set(),
    "provider_failures": {
        "LiteLLMHighErrorRate",
        "LiteLLMProviderFailureRatioHigh",
        "LiteLLMProviderRateLimited",
        "LiteLLMDeploymentOutage",
    },
    "proxy_stopped": {"LiteLLMGatewayDown"},
}
# Phases where an alert may stay active from the phase before (windows are 5m).
CARRIED_OVER = {"proxy_stopped": MUST_FIRE["provider_failures"]}


@dataclass
class StackRun:
    """Everything one proxy run recorded."""

    stack: str
    job: str
    namespace: str
    workers: int
    alerts: dict[str, set[str]] = field(default_factory=dict)
    """phase -> alert names active (pending or firing) at its end."""
    alert_labels: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, QueryResult]] = field(default_factory=dict)
    """dashboard file -> expression (as sent) -> result."""
    skipped_dashboards: dict[str, str] = field(default_factory=dict)
    rules: dict[str, QueryResult] = field(default_factory=dict)
    """alert name (severity) -> result of its expression after the failure phase."""
    rule_names: dict[str, str] = field(default_factory=dict)
    """alert name (severity) -> alert (or recording rule) name."""
    rule_values: dict[str, dict[str, QueryResult]] = field(default_factory=dict)
    """alert name (severity) -> each value its expression compares -> result, after the failure phase."""
    exposition: litellm_probe.Exposition | None = None
    """The proxy's metrics port scraped after the failure phase."""
    litellm_version: str = ""
    excluded_labels: frozenset[str] = frozenset()
    """The stack's litellm_settings.prometheus_exclude_labels."""
    rule_health: dict[str, str] = field(default_factory=dict)
    token_series: dict[str, int] = field(default_factory=dict)
    """metric -> distinct hashed_api_key values after the random-token burst."""
    series_total: int = 0
    queries: dict[str, QueryResult] = field(default_factory=dict)
    """Extra named queries the tests look at."""
    started: float = field(default_factory=time.monotonic)
    restarted_worker: int | None = None
    """The worker killed (and replaced by uvicorn) after the normal phase, with 2+ workers."""
    gauge_pids: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    """step -> seconds since the fixture started, when the step ended."""
    """Distinct pid labels on litellm_deployment_state at the end (dead workers' included)."""


def substitute(expr: str, job: str) -> str:
    expr = expr.replace("$__rate_interval", RATE_INTERVAL).replace("$__range", RANGE).replace("$__interval", "5s")
    expr = expr.replace("$job", job).replace("${job}", job)
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\}?", ".*", expr)


def _needs_elsewhere(expr: str) -> str | None:
    for prefix, reason in NEEDS_ELSEWHERE.items():
        if prefix in expr:
            return reason
    return None


def wait_for(check: Callable[[], bool], timeout: float = SETTLE_TIMEOUT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return check()


def _value(result: QueryResult) -> float:
    if result.outcome != "data":
        return 0.0
    return sum(float(r["value"][1]) for r in result.result)


def _active(prom: RealPrometheus) -> set[str]:
    return {str(a["labels"]["alertname"]) for a in prom.alerts()}


def _counter_reaches(prom: RealPrometheus, expr: str, at_least: float) -> Callable[[], bool]:
    return lambda: _value(prom.query(expr)) >= at_least


def _record_phase(run: StackRun, prom: RealPrometheus, phase: str) -> None:
    # Rules are evaluated every second: give the last scrape two evaluations.
    time.sleep(2.5)
    wanted = MUST_FIRE[phase]
    if wanted:
        wait_for(lambda: wanted <= _active(prom))
    alerts = prom.alerts()
    run.timings[phase] = round(time.monotonic() - run.started, 1)
    run.alerts[phase] = {str(a["labels"]["alertname"]) for a in alerts}
    run.alert_labels[phase] = [dict(a["labels"]) for a in alerts]


def _worker_pids(parent: int) -> set[int]:
    """The uvicorn workers of the proxy: its children started by multiprocessing's spawn."""
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and b"spawn_main" in command:
            pids.add(int(stat.parent.name))
    return pids


def _restart_a_worker(proxy: RunningProxy, workers: int) -> int:
    """Kill one worker as an OOM kill would; uvicorn's supervisor starts a replacement.

    The supervisor (the proxy's main process) checks its workers every 0.5 s: a worker whose
    process has not exited gets a ping, and the supervisor waits for the answer up to
    --timeout_worker_healthcheck (WORKER_HEALTHCHECK_S, 120 s). It keeps the other end of
    that pipe open itself, so a worker that dies after the check (still dying, or killed
    while a ping is on its way) is noticed only when that wait ends: 120 s instead of at
    once, which made this test run out of time on a loaded machine. So the supervisor is
    frozen (SIGSTOP) around the kill: a pause lets a ping already sent be answered, the kill
    follows, and the supervisor is thawed only once the worker has exited (a zombie), so
    its next check finds a dead process and starts the replacement.
    """
    supervisor = proxy.process.pid
    before = _worker_pids(supervisor)
    assert len(before) == workers, before
    victim = min(before)
    os.kill(supervisor, signal.SIGSTOP)
    try:
        time.sleep(PING_ANSWER_S)
        os.kill(victim, signal.SIGKILL)
        assert wait_for(lambda: _exited(victim), timeout=STOP_TIMEOUT_S), f"worker {victim} survived SIGKILL"
    finally:
        os.kill(supervisor, signal.SIGCONT)
    # The margin past the healthcheck timeout covers the rare check that still pinged the
    # dying worker: slow, but the replacement is what this checks.
    assert wait_for(
        lambda: len(pids := _worker_pids(supervisor)) == workers and victim not in pids,
        timeout=WORKER_HEALTHCHECK_S + 30,
    ), _supervisor_diagnostics(proxy, victim)
    for model in proxy.models:  # both workers serve again
        _chat_ok(proxy, model)
    return victim


def _exited(pid: int) -> bool:
    """True once every thread of the process has exited: a zombie its parent can reap, or gone."""
    states = []
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
        except (OSError, IndexError):
            continue
    return all(state in ("Z", "X") for state in states)


def _supervisor_diagnostics(proxy: RunningProxy, victim: int) -> str:
    """What the supervisor's threads wait in, its children, and what uvicorn logged."""
    lines = [f"victim {victim}; workers now {sorted(_worker_pids(proxy.process.pid))}"]
    for task in sorted(Path(f"/proc/{proxy.process.pid}/task").glob("*")):
        try:
            syscall = (task / "syscall").read_text().split()[0]
            lines.append(f"supervisor thread {task.name}: syscall {syscall}, wchan {(task / 'wchan').read_text()}")
        except OSError as error:
            lines.append(f"supervisor thread {task.name}: {error}")
    log = proxy.log_path.read_text(errors="replace").splitlines() if proxy.log_path.exists() else []
    lines += [line[:300] for line in log if "uvicorn.error" in line or "Traceback" in line][-15:]
    return "\n".join(lines)


def _chat_ok(proxy: RunningProxy, model: str, **extra: Any) -> None:
    result = chat(proxy.base_url, proxy.master_key, model, **extra)
    assert result.status == 200, (model, result.status, result.body[:300])


def _normal_phase(proxy: RunningProxy, workers: int) -> int:
    sent = 0
    for model in proxy.models:
        for stream in (False, False, True):
            _chat_ok(proxy, model, stream=stream)
            sent += 1
    for model in proxy.fallbacks:
        _chat_ok(proxy, model, mock_testing_fallbacks=True)
        sent += 1
    for stream in (False, True):
        _chat_ok(proxy, UPSTREAM_MODEL, stream=stream)
        sent += 1
    # The same opt-in cached request, once more than there are workers (each has its own
    # in-memory cache): some worker answers it twice, a cache hit.
    for _ in range(workers + 1):
        _chat_ok(proxy, UPSTREAM_MODEL, cache={"use-cache": True})
        sent += 1
    for model in (proxy.models[0], UPSTREAM_MODEL):
        result = chat(proxy.base_url, proxy.team_key, model)
        assert result.status == 200, result.body[:300]
        sent += 1
    return sent


def _client_mistakes_phase(proxy: RunningProxy) -> int:
    sent = 0
    for _ in range(10):
        result = chat(proxy.base_url, proxy.master_key, MISSING_MODEL)
        assert 400 <= result.status < 500, result.status
        result = chat(proxy.base_url, f"sk-made-up-{secrets.token_hex(8)}", proxy.models[0])
        assert 400 <= result.status < 500, result.status
        sent += 2
    return sent


def _random_token_burst(proxy: RunningProxy) -> None:
    for _ in range(RANDOM_TOKENS):
        result = chat(proxy.base_url, f"sk-{secrets.token_urlsafe(24)}", proxy.models[0])
        assert 400 <= result.status < 500, result.status


def _provider_failures_phase(proxy: RunningProxy) -> None:
    for _ in range(40):
        result = chat(proxy.base_url, proxy.master_key, DOWN_MODEL, num_retries=0)
        assert result.status >= 500, result.status
        result = chat(proxy.base_url, proxy.master_key, LIMITED_MODEL, num_retries=0)
        assert result.status == 429, result.status
    for _ in range(3):
        result = chat(proxy.base_url, proxy.master_key, FAILING_MODEL, num_retries=0)
        assert result.status >= 400, result.status


def dashboard_queries(cfg: StackConfig) -> dict[str, list[str]]:
    """dashboard file -> its Prometheus expressions (empty for a dashboard of PostgreSQL panels)."""
    sources = DashboardsArgs.from_config(cfg).sources
    return {spec.filename: list(exprs(spec.build(sources))) for spec in all_dashboards()}


def _evaluate(run: StackRun, prom: RealPrometheus, queries: dict[str, list[str]]) -> None:
    for filename, exprs_of_dashboard in queries.items():
        if not exprs_of_dashboard:
            run.skipped_dashboards[filename] = "PostgreSQL queries on LiteLLM's tables (a database)"
            continue
        results: dict[str, QueryResult] = {}
        for expr in exprs_of_dashboard:
            results[expr] = prom.query(substitute(expr, run.job))
        run.dashboards[filename] = results
    for rule in prom.rules():
        name = f"{rule['name']} ({rule.get('labels', {}).get('severity', '?')})"
        run.rule_health[name] = f"{rule['health']} {rule.get('lastError', '')}".strip()
        run.rules[name] = prom.query(str(rule["query"]))
        run.rule_names[name] = str(rule["name"])
        run.rule_values[name] = {value: prom.query(value) for value in value_expressions(str(rule["query"]))}


def _scrape(port: int) -> litellm_probe.Exposition:
    """The metrics port as Prometheus scrapes it (no key)."""
    result = litellm_probe.http_call("GET", f"http://127.0.0.1:{port}/metrics/")
    assert result.status == 200, (result.status, result.body[:300])
    return litellm_probe.parse_exposition(result.body)


def _count_tokens(run: StackRun, prom: RealPrometheus) -> None:
    for metric in (
        "litellm_proxy_total_requests_metric_total",
        "litellm_proxy_failed_requests_metric_total",
        "litellm_deployment_total_requests_total",
        "litellm_deployment_failure_responses_total",
        "litellm_llm_api_failed_requests_metric_total",
    ):
        result = prom.query(f'count(count by (hashed_api_key) ({metric}{{job="{run.job}"}}))')
        run.token_series[metric] = int(_value(result))
    run.series_total = int(_value(prom.query(f'count({{job="{run.job}"}})')))


@dataclass(frozen=True)
class PreparedStack:
    """What a stack's run needs from the program, rendered beforehand in the main thread
    (the program's runs use Pulumi's process-wide mock engine)."""

    stack: str
    cfg: StackConfig
    probe_input: litellm_probe.ProbeInput
    rules_file: Path
    workdir: Path
    queries: dict[str, list[str]]


def prepare(stack: str, tmp_path_factory: pytest.TempPathFactory) -> PreparedStack:
    program = run_cached(stack, CAP_OVERRIDE)
    releases = [r for r in program.of_type(HELM_RELEASE) if "proxy_config" in r.plain_inputs["values"]]
    assert len(releases) == 1
    probe_input = helm_probe_input(releases[0].plain_inputs["values"])
    settings = probe_input.config["litellm_settings"]
    assert settings["prometheus_metrics_max_series_per_metric"] == SERIES_CAP
    tmp = tmp_path_factory.mktemp(f"prom-{stack}")
    rules_file = tmp / "rules.yaml"
    groups = program.custom_resources("PrometheusRule")[0]["spec"]["groups"]
    rules_file.write_text(yaml.safe_dump({"groups": groups}))
    cfg = stack_config(stack)
    return PreparedStack(stack, cfg, probe_input, rules_file, tmp, dashboard_queries(cfg))


def run_stack_phases(prepared: PreparedStack, litellm: Path, version: str) -> StackRun:
    """Start the stack's proxy and a Prometheus scraping it, drive the phases, record (thread-safe)."""
    cfg, probe_input = prepared.cfg, prepared.probe_input
    job = scrape_job(cfg.litellm)
    run = StackRun(prepared.stack, job, cfg.namespaces.gateway, probe_input.num_workers or 1)
    run.litellm_version = version
    run.excluded_labels = frozenset(probe_input.config["litellm_settings"]["prometheus_exclude_labels"])
    session = litellm_probe.proxy_session(
        litellm,
        probe_input.config,
        STARTUP_TIMEOUT_S,
        env_vars=probe_input.env_vars,
        num_workers=probe_input.num_workers,
        metrics_port=0,
        worker_healthcheck_timeout=WORKER_HEALTHCHECK_S,
    )
    with session as proxy:
        run.timings["proxy live"] = round(time.monotonic() - run.started, 1)
        assert proxy.metrics_port is not None
        target = ScrapeTarget(
            f"127.0.0.1:{proxy.metrics_port}",
            {
                # What the ServiceMonitor's discovery sets (jobLabel -> job).
                "job": job,
                "namespace": cfg.namespaces.gateway,
                "service": f"{cfg.litellm.release_name}-metrics",
                "pod": f"{service_name(cfg.litellm)}-5d8f7c9b4-x2k7q",
                "container": "litellm",
                "endpoint": "metrics",
            },
        )
        with RealPrometheus(prepared.workdir, [target], [prepared.rules_file]) as prom:
            total = f'sum(litellm_proxy_total_requests_metric_total{{job="{job}"}})'
            assert wait_for(lambda: prom.target_health() == ["up"]), prom.log_tail()
            sent = _normal_phase(proxy, run.workers)
            assert wait_for(_counter_reaches(prom, total, sent)), prom.query(total)
            _record_phase(run, prom, "normal")
            if run.workers > 1:
                run.restarted_worker = _restart_a_worker(proxy, run.workers)
                run.timings["worker replaced"] = round(time.monotonic() - run.started, 1)
                sent += len(proxy.models)
            sent += _client_mistakes_phase(proxy)
            assert wait_for(_counter_reaches(prom, total, sent)), prom.query(total)
            _record_phase(run, prom, "client_mistakes")
            _provider_failures_phase(proxy)
            failed = f'sum(litellm_deployment_failure_responses_total{{job="{job}", exception_status="503"}})'
            assert wait_for(_counter_reaches(prom, failed, 40)), prom.query(failed)
            _record_phase(run, prom, "provider_failures")
            run.exposition = _scrape(proxy.metrics_port)
            _evaluate(run, prom, prepared.queries)
            run.timings["queries evaluated"] = round(time.monotonic() - run.started, 1)
            run.queries = {name: prom.query(expr) for name, expr in DIAGNOSTICS.items()}
            pids = prom.query(f'count(count by (pid) (litellm_deployment_state{{job="{job}"}}))')
            run.gauge_pids = int(_value(pids))
            _random_token_burst(proxy)
            run.timings["token burst"] = round(time.monotonic() - run.started, 1)
            time.sleep(3)
            _count_tokens(run, prom)
            litellm_probe.stop_process(proxy.process)
            _record_phase(run, prom, "proxy_stopped")
    return run


@pytest.fixture(scope="module")
def stack_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, StackRun | Exception]:
    """Every stack's run, both at the same time; a run that failed holds its exception."""
    litellm = require("litellm")
    require("prometheus")
    version = litellm_probe.litellm_version(litellm, litellm_probe.proxy_env(os.environ))
    prepared = [prepare(stack, tmp_path_factory) for stack in STACKS]
    with ThreadPoolExecutor(max_workers=len(prepared), thread_name_prefix="prometheus-real") as pool:
        futures = {p.stack: pool.submit(run_stack_phases, p, litellm, version) for p in prepared}
    results: dict[str, StackRun | Exception] = {}
    for stack, future in futures.items():
        error = future.exception()
        if error is not None and not isinstance(error, Exception):
            raise error  # KeyboardInterrupt and the like end the session
        results[stack] = error if error is not None else future.result()
    for result in results.values():
        if isinstance(result, StackRun):
            print_report(result)
            timings.record(f"prometheus-real {result.stack}", f"s since start: {result.timings}")
    return results


@pytest.fixture(scope="module", params=STACKS)
def stack_run(request: pytest.FixtureRequest, stack_runs: dict[str, StackRun | Exception]) -> StackRun:
    result = stack_runs[request.param]
    if isinstance(result, Exception):
        raise result
    return result


def print_report(run: StackRun) -> None:
    lines = [f"== {run.stack} ({run.workers} worker(s))"]
    for name, results in run.dashboards.items():
        counts = {o: sum(1 for r in results.values() if r.outcome == o) for o in ("data", "empty", "error")}
        lines.append(f"dashboard {name}: {counts}")
    for name, reason in run.skipped_dashboards.items():
        lines.append(f"dashboard {name}: not Prometheus ({reason})")
    counts = {o: sum(1 for r in run.rules.values() if r.outcome == o) for o in ("data", "empty", "error")}
    lines.append(f"rules (expressions after the failure phase): {counts}")
    for name, result in sorted(run.rules.items()):
        values = run.rule_values.get(name, {})
        fed = sum(1 for r in values.values() if r.outcome == "data")
        reason = UNFED_RULES.get(run.rule_names.get(name, ""), "below its threshold")
        detail = f" ({reason}; values with data: {fed}/{len(values)})" if result.outcome == "empty" else ""
        lines.append(f"  {result.outcome:5} {name}{detail}")
    for phase, labels in run.alert_labels.items():
        active = sorted({f"{a['alertname']}/{a.get('severity', '?')}" for a in labels})
        lines.append(f"phase {phase}: active {active}")
    lines.append(f"after {RANDOM_TOKENS} random tokens: hashed_api_key values {run.token_series}")
    lines.append(f"series of job {run.job}: {run.series_total}")
    lines.append(f"timings (s since start): {run.timings}")
    lines.append(f"worker restarted: {run.restarted_worker}; pids on litellm_deployment_state: {run.gauge_pids}")
    for name, result in run.queries.items():
        lines.append(f"diagnostic {name}: {result.outcome}, {result.series} series")
    print("\n".join(lines))


# --- the checks ---------------------------------------------------------------


def test_every_dashboard_query_runs_and_has_data(stack_run: StackRun) -> None:
    problems = []
    for name, results in stack_run.dashboards.items():
        for expr, result in results.items():
            reason = _needs_elsewhere(expr)
            if result.outcome == "error":
                problems.append(f"{name}: ERROR {result.error}: {expr}")
            elif result.outcome == "empty" and reason is None:
                problems.append(f"{name}: EMPTY: {expr}")
    assert not problems, "\n".join(problems)
    assert len(stack_run.dashboards) == 3


def test_every_rule_is_healthy_and_evaluates(stack_run: StackRun) -> None:
    assert stack_run.rules
    bad = {n: h for n, h in stack_run.rule_health.items() if not h.startswith("ok")}
    assert not bad
    errors = {n: r.error for n, r in stack_run.rules.items() if r.outcome == "error"}
    assert not errors
    value_errors = {f"{n}: {v}": r.error for n, vs in stack_run.rule_values.items() for v, r in vs.items() if r.error}
    assert not value_errors


def test_every_fed_rule_has_data_in_each_value_it_compares(stack_run: StackRun) -> None:
    assert stack_run.rule_values.keys() == stack_run.rules.keys()
    problems = []
    for rule, values in sorted(stack_run.rule_values.items()):
        if stack_run.rule_names[rule] in UNFED_RULES:
            continue
        assert values, rule
        problems += [f"{rule}: EMPTY: {value}" for value, result in values.items() if result.outcome != "data"]
    assert not problems, (
        "rules whose inputs the harness produces select nothing (a renamed metric or label, a `by` that matches "
        "nothing?); a rule on a component this test does not run belongs in UNFED_RULES, with the reason:\n"
        + "\n".join(problems)
    )


def test_the_rules_without_data_are_exactly_the_unfed_table(stack_run: StackRun) -> None:
    shipped = set(stack_run.rule_names.values())
    without_data = {
        stack_run.rule_names[rule]
        for rule, values in stack_run.rule_values.items()
        if not any(result.outcome == "data" for result in values.values())
    }
    assert without_data == UNFED_RULES.keys() & shipped, {
        "without data, not in UNFED_RULES": sorted(without_data - UNFED_RULES.keys()),
        "in UNFED_RULES but fed here (move it out)": sorted((UNFED_RULES.keys() & shipped) - without_data),
    }


def test_every_unfed_rule_is_a_shipped_rule() -> None:
    """No stale row: each name of UNFED_RULES is an alert of a stack this test runs."""
    shipped = {
        rule["alert"] for stack in STACKS for group in rule_groups(stack_config(stack)) for rule in group["rules"]
    }
    assert UNFED_RULES.keys() <= shipped, sorted(UNFED_RULES.keys() - shipped)


def _committed(filename: str) -> list[str]:
    return (DATA / filename).read_text().splitlines()


def test_the_live_scrape_is_the_committed_capture(stack_run: StackRun) -> None:
    """tests/data/litellm_metrics.txt and litellm_metric_labels.txt are this LiteLLM's exposition.

    The captures come from the probe's own config (tests/harness/litellm/probe_config.yaml),
    which may keep a label the stack excludes (user_email): the stack's exclusions are taken
    out of the committed label sets, and must be absent from the scrape. Recapture with the
    command on line 2 of either file (tests.harness.litellm.probe)."""
    live = stack_run.exposition
    assert live is not None
    names, labels = _committed("litellm_metrics.txt"), _committed("litellm_metric_labels.txt")
    header = f"# litellm=={stack_run.litellm_version}"
    assert (names[0], labels[0]) == (header, header), "the captures are of another LiteLLM than the one running"
    committed_names = {line for line in names if line and not line.startswith("#")}
    live_names = set(litellm_probe.listed_metric_names(live))
    assert live_names == committed_names, {
        "scraped, not committed": sorted(live_names - committed_names),
        "committed, not scraped": sorted(committed_names - live_names),
    }
    declared = {line.removeprefix("# declared-only ") for line in names if line.startswith("# declared-only ")}
    assert {f"{kind} {name}" for name, kind in litellm_probe.declared_only_families(live)} == declared
    committed_labels = {}
    for line in labels:
        if line and not line.startswith("#"):
            name, _, label_list = line.partition(" ")
            listed = set(filter(None, label_list.strip().split(","))) - stack_run.excluded_labels
            committed_labels[name] = sorted(listed)
    live_labels = litellm_probe.metric_labels(live)
    differ = [
        f"{name}: scraped, not committed {sorted(set(scraped) - set(kept))}; "
        f"committed, not scraped {sorted(set(kept) - set(scraped))}"
        for name in sorted(live_labels.keys() | committed_labels.keys())
        if (scraped := live_labels.get(name, [])) != (kept := committed_labels.get(name, []))
    ]
    assert not differ, "\n".join(differ)


def test_normal_traffic_and_client_mistakes_page_nobody(stack_run: StackRun) -> None:
    assert stack_run.alerts["normal"] == set(), stack_run.alert_labels["normal"]
    assert stack_run.alerts["client_mistakes"] == set(), stack_run.alert_labels["client_mistakes"]


def test_provider_failures_put_the_provider_alerts_in_pending(stack_run: StackRun) -> None:
    active = stack_run.alerts["provider_failures"]
    assert MUST_FIRE["provider_failures"] <= active, stack_run.alert_labels["provider_failures"]
    assert active <= MUST_FIRE["provider_failures"], stack_run.alert_labels["provider_failures"]


def test_provider_alerts_name_a_provider(stack_run: StackRun) -> None:
    provider_alerts = [
        labels
        for labels in stack_run.alert_labels["provider_failures"]
        if labels["alertname"].startswith("LiteLLMProvider") or labels["alertname"] == "LiteLLMDeploymentOutage"
    ]
    assert provider_alerts
    assert all(labels.get("api_provider") for labels in provider_alerts), provider_alerts


def test_single_deployment_outage_is_detected(stack_run: StackRun) -> None:
    outages = [
        labels
        for labels in stack_run.alert_labels["provider_failures"]
        if labels["alertname"] == "LiteLLMDeploymentOutage"
    ]
    names = {labels.get("litellm_model_name", "") for labels in outages}
    assert any(DOWN_MODEL in name for name in names), outages


def test_a_stopped_proxy_pages(stack_run: StackRun) -> None:
    assert "LiteLLMGatewayDown" in stack_run.alerts["proxy_stopped"]
    assert stack_run.alerts["proxy_stopped"] <= MUST_FIRE["proxy_stopped"] | CARRIED_OVER["proxy_stopped"]


def test_one_row_per_deployment_and_no_worker_rows(stack_run: StackRun) -> None:
    """Tables list each deployment once; no panel splits by worker (pid): with 2 workers on
    enterprise, one of them killed and replaced (its gauges stay exported under its pid)."""
    if stack_run.workers > 1:
        assert stack_run.restarted_worker is not None
    for name, results in stack_run.dashboards.items():
        for expr, result in results.items():
            rows = [r.get("metric", {}) for r in result.result]
            assert not any("pid" in row for row in rows), (name, expr)
            if "litellm_deployment_state" in expr:
                ids = [row.get("model_id") for row in rows]
                assert len(ids) == len(set(ids)), (name, expr, rows)


def test_made_up_tokens_cannot_grow_the_series(stack_run: StackRun) -> None:
    # Each made-up bearer token is a new hashed_api_key; the cap folds what is beyond it into `other`.
    assert stack_run.token_series
    for metric, keys in stack_run.token_series.items():
        assert keys <= SERIES_CAP + 1, (metric, keys)
