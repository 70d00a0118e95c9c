"""Alert rules and routing, as the real program renders them (mock run of both stacks).

- `promtool check rules` on the rendered rules file of each stack;
- `promtool test rules`: for EVERY rendered alert a series that fires it (with
  its exact labels and annotations) and one that does not;
- every expression parses and only uses metric names that exist;
- the AlertmanagerConfig, its ExternalSecrets and the per-secret IAM grants.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.litellm.names import scrape_job
from components.observability import rules as alert_rules
from components.observability.alerts.alert import hours
from components.observability.alerts.spend import BUDGET_TIERS
from config import ConfigError, StackConfig, parse_config
from offline.run import ProgramRun
from tests.support import ROOT
from tests.support.components import require
from tests.support.config import cnpg_section, stack_config, with_value
from tests.support.program import EXTERNAL_ENGINE, STACKS, run_cached
from tests.support.promql import metric_names, parse, unknown_metrics
from tests.support.schemas import validation_errors
from tests.support.secret_reach import project_grants_beyond_the_tenants_reconciler

ALERTS_DOC = ROOT / "docs" / "alerts.md"


def rendered_rules(run: ProgramRun) -> list[dict[str, Any]]:
    rules = run.custom_resources("PrometheusRule")
    assert len(rules) == 1
    return [r for g in rules[0]["spec"]["groups"] for r in g["rules"]]


def write_rules(run: ProgramRun, directory: Path) -> Path:
    path = directory / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": run.custom_resources("PrometheusRule")[0]["spec"]["groups"]}))
    return path


# --- Go template helpers (what Prometheus renders for {{ $value | ... }}) ------


def humanize(v: float) -> str:
    prefixes = ["", "k", "M", "G", "T", "P"]
    i = 0
    while abs(v) >= 1000 and i < len(prefixes) - 1:
        v /= 1000
        i += 1
    return f"{v:.4g}{prefixes[i]}"


def humanize_duration(v: float) -> str:
    seconds = int(v)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes}m {secs}s"
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{v:.4g}s"


def render_annotation(template: str, labels: dict[str, str], value_text: str) -> str:
    text = re.sub(r"\{\{\s*\$labels\.(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template)
    return re.sub(r"\{\{\s*\$value[^}]*\}\}", value_text, text)


# --- the cases ------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    labels: dict[str, str]
    """The alert's labels from its expression (rule labels severity/namespace are added)."""
    severity: str
    value: str = ""
    """How `{{ $value | ... }}` renders."""


@dataclass(frozen=True)
class Case:
    eval_minutes: int
    firing: list[dict[str, str]]
    silent: list[dict[str, str]]
    expected: list[Expected]
    interval: str = "1m"
    extra: dict[str, Any] = field(default_factory=dict)
    evaluation_interval: str = "1m"
    """Rules are evaluated this often (one promtool file per value: day-long cases run coarser)."""


def series(metric: str, labels: dict[str, str], values: str) -> dict[str, str]:
    body = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{metric}{{{body}}}", "values": values}


def minutes(duration: str) -> int:
    total = 0.0
    for amount, unit in re.findall(r"([0-9]+)([smh])", duration):
        total += int(amount) * {"s": 1 / 60, "m": 1, "h": 60}[unit]
    return int(total + 0.999)


def cases(cfg: StackConfig) -> dict[str, Case]:
    a = cfg.alerts
    ns = cfg.namespaces.gateway
    NS = {"namespace": ns}  # noqa: N806
    job = scrape_job(cfg.litellm)
    pod = {"pod": "litellm-7d9f-abcde", "instance": "10.0.0.7:4000"}
    out: dict[str, Case] = {}

    # availability
    up = {**NS, "job": job, **pod}
    out["LiteLLMGatewayDown"] = Case(
        minutes(a.availability.gateway_down_for) + 3,
        [series("up", up, "0x30")],
        [series("up", up, "1x30")],
        [Expected(up, "critical", "0")],
    )
    ksm = {**NS, "deployment": job, "job": "kube-state-metrics"}
    out["LiteLLMReadinessFailing"] = Case(
        minutes(a.availability.readiness_for) + 3,
        [series("kube_deployment_status_replicas_unavailable", ksm, "1x40")],
        [series("kube_deployment_status_replicas_unavailable", ksm, "0x40")],
        [Expected(ksm, "warning", "1")],
    )

    # performance: every request lands between T and 3T seconds (firing) or under T/2 (silent)
    p = a.performance
    t = p.latency_p95_seconds
    model = {**NS, "requested_model": "gpt-4o", **pod}

    def buckets(bounds: list[tuple[str, str]]) -> list[dict[str, str]]:
        return [series("litellm_request_total_latency_metric_bucket", {**model, "le": le}, v) for le, v in bounds]

    late = minutes(p.latency_for) + 10
    out["LiteLLMHighLatencyP95"] = Case(
        late,
        buckets([(f"{t:g}", f"0x{late + 10}"), (f"{3 * t:g}", f"0+60x{late + 10}"), ("+Inf", f"0+60x{late + 10}")]),
        buckets(
            [(f"{t / 2:g}", f"0+60x{late + 10}"), (f"{3 * t:g}", f"0+60x{late + 10}"), ("+Inf", f"0+60x{late + 10}")]
        ),
        [Expected({"namespace": ns, "requested_model": "gpt-4o"}, "warning", humanize(t + 2 * t * 0.95))],
    )
    ratio = (p.error_rate_critical + 1) / 2
    failed_per_min = round(100 * ratio, 6)
    req = {**NS, "requested_model": "gpt-4o", **pod}
    err_at = minutes(p.error_rate_for) + 8
    out["LiteLLMHighErrorRate"] = Case(
        err_at,
        [
            series("litellm_proxy_total_requests_metric_total", {**req, "status_code": "200"}, f"0+100x{err_at + 5}"),
            series(
                "litellm_proxy_failed_requests_metric_total",
                {**req, "exception_class": "ServiceUnavailableError", "exception_status": "503"},
                f"0+{failed_per_min:g}x{err_at + 5}",
            ),
        ],
        # The same share of client mistakes (unknown model, bad key) is not the gateway's error.
        [
            series("litellm_proxy_total_requests_metric_total", {**req, "status_code": "200"}, f"0+100x{err_at + 5}"),
            series(
                "litellm_proxy_failed_requests_metric_total",
                {**req, "exception_class": "BadRequestError", "exception_status": "400"},
                f"0+{failed_per_min:g}x{err_at + 5}",
            ),
            series(
                "litellm_proxy_failed_requests_metric_total",
                {**req, "exception_class": "AuthenticationError", "exception_status": "401"},
                f"0+{failed_per_min:g}x{err_at + 5}",
            ),
        ],
        [
            Expected(NS, "warning", f"{failed_per_min:.4g}%"),
            Expected(NS, "critical", f"{failed_per_min:.4g}%"),
        ],
    )

    # usage
    u = a.usage
    key = {
        **NS,
        "hashed_api_key": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
        "api_key_alias": "ci-bot",
        **pod,
    }
    key_labels = {k: key[k] for k in ("namespace", "hashed_api_key", "api_key_alias")}
    at = minutes(u.key_requests_for) + 8
    out["LiteLLMKeyRequestRateHigh"] = Case(
        at,
        [series("litellm_proxy_total_requests_metric_total", key, f"0+{u.key_requests_per_second * 120:g}x{at + 5}")],
        [series("litellm_proxy_total_requests_metric_total", key, f"0+{u.key_requests_per_second * 30:g}x{at + 5}")],
        [Expected(key_labels, "warning", humanize(u.key_requests_per_second * 2))],
    )
    at = 60 + minutes(u.key_tokens_for) + 10
    out["LiteLLMKeyTokenBurnHigh"] = Case(
        at,
        [series("litellm_total_tokens_metric_total", key, f"0+{u.key_tokens_per_hour * 2 / 60:g}x{at + 5}")],
        [series("litellm_total_tokens_metric_total", key, f"0+{u.key_tokens_per_hour / 120:g}x{at + 5}")],
        [Expected(key_labels, "warning", humanize(u.key_tokens_per_hour * 2))],
    )

    # cost (10-minute samples: a rolling day is 144 of them)
    c = a.cost
    spend = {**NS, "model": "gpt-4o", "requested_model": "gpt-4o", **pod}
    at = 24 * 60 + minutes(c.daily_spend_for) + 30
    n = at // 10 + 5
    out["LiteLLMDailySpendOverBudget"] = Case(
        at,
        [series("litellm_spend_metric_total", spend, f"0+{c.daily_spend_usd * 2 / 144:g}x{n}")],
        [series("litellm_spend_metric_total", spend, f"0+{c.daily_spend_usd / 288:g}x{n}")],
        [Expected(NS, "warning", f"{c.daily_spend_usd * 2:.2f}")],
        interval="10m",
        evaluation_interval="5m",
    )
    # No spend for two hours, then `spike_min_usd_per_hour` per minute: a spike.
    # Steady spend at that rate for hours: no spike.
    q = c.spike_min_usd_per_hour
    out["LiteLLMSpendSpike"] = Case(
        150,
        [series("litellm_spend_metric_total", spend, f"0x120 {q:g}+{q:g}x60")],
        [series("litellm_spend_metric_total", spend, f"0+{q:g}x200")],
        [Expected(NS, "warning", f"{30 * q:.2f}")],
    )

    # budgets: for each tier, spend in the middle of the tier fires; spend just below
    # the tier (in the previous one) stays silent, so tiers never fire together.
    b = a.budgets
    at = minutes(b.used_for) + 5
    team = {**NS, "team": "7f1c0a3e-team", "team_alias": "search", **pod}
    team_labels = {k: team[k] for k in ("namespace", "team", "team_alias")}
    entities = (
        ("Key", "litellm_remaining_api_key_budget_metric", "litellm_api_key_max_budget_metric", key, key_labels),
        ("Team", "litellm_remaining_team_budget_metric", "litellm_team_max_budget_metric", team, team_labels),
    )
    bounds = (*b.used_percent, b.used_percent[-1] + 20)
    for entity, remaining, maximum, labels, expected in entities:
        for tier, (suffix, severity) in enumerate(BUDGET_TIERS):
            used = (bounds[tier] + bounds[tier + 1]) / 2
            below = bounds[tier] - 0.5

            def budget(
                used_percent: float, labels: dict[str, str] = labels, remaining: str = remaining, maximum: str = maximum
            ) -> list[dict[str, str]]:
                return [
                    series(remaining, labels, f"{1000 - 10 * used_percent:g}x{at + 5}"),
                    series(maximum, labels, f"1000x{at + 5}"),
                ]

            out[f"LiteLLM{entity}Budget{suffix}"] = Case(
                at, budget(used), budget(below), [Expected(expected, severity, f"{used:.1f}")]
            )

    # providers
    pr = a.providers
    dep = {
        **NS,
        "api_provider": "openai",
        "litellm_model_name": "openai/gpt-4o",
        "model_id": "m-1",
        "api_base": "https://api.openai.com/v1",
        "requested_model": "gpt-4o",
        **pod,
    }
    at = minutes(pr.failure_for) + 8
    fail_per_min = round(100 * (pr.failure_ratio + 1) / 2, 6)
    total = series("litellm_deployment_total_requests_total", dep, f"0+100x{at + 5}")
    out["LiteLLMProviderFailureRatioHigh"] = Case(
        at,
        [
            total,
            series(
                "litellm_deployment_failure_responses_total",
                {**dep, "exception_status": "500"},
                f"0+{fail_per_min:g}x{at + 5}",
            ),
        ],
        # Requests refused before routing are counted without a provider: not a provider's failure.
        [
            total,
            series("litellm_deployment_failure_responses_total", {**dep, "exception_status": "500"}, f"0x{at + 5}"),
            series(
                "litellm_deployment_total_requests_total", {**dep, "api_provider": ""}, f"0+{fail_per_min:g}x{at + 5}"
            ),
            series(
                "litellm_deployment_failure_responses_total",
                {**dep, "api_provider": "", "exception_status": "400"},
                f"0+{fail_per_min:g}x{at + 5}",
            ),
        ],
        [Expected({"namespace": ns, "api_provider": "openai"}, "warning", f"{fail_per_min:.4g}%")],
    )
    at = minutes(pr.rate_limited_for) + 8
    per_min = pr.rate_limited_per_minute * 2
    out["LiteLLMProviderRateLimited"] = Case(
        at,
        [
            series(
                "litellm_deployment_failure_responses_total",
                {**dep, "exception_status": "429"},
                f"0+{per_min:g}x{at + 5}",
            )
        ],
        # The same failure rate with another status is not rate limiting.
        [
            series(
                "litellm_deployment_failure_responses_total",
                {**dep, "exception_status": "500"},
                f"0+{per_min:g}x{at + 5}",
            )
        ],
        [
            Expected(
                {"namespace": ns, "api_provider": "openai", "litellm_model_name": "openai/gpt-4o"},
                "warning",
                humanize(per_min),
            )
        ],
    )
    at = minutes(pr.outage_for) + 8
    dep_id = {k: dep[k] for k in ("namespace", "api_provider", "litellm_model_name", "model_id")}
    # A single-deployment group whose provider fails every request (LiteLLM never cools it down).
    out["LiteLLMDeploymentOutage"] = Case(
        at,
        [
            total,
            series("litellm_deployment_failure_responses_total", {**dep, "exception_status": "503"}, f"0+100x{at + 5}"),
        ],
        # Half the requests failing is the provider ratio alert's business, not an outage.
        [
            total,
            series("litellm_deployment_failure_responses_total", {**dep, "exception_status": "503"}, f"0+50x{at + 5}"),
        ],
        [Expected(dep_id, "warning", "100%")],
    )

    # spend-log retention: windows of one cleanup interval + 1h, in 5-minute steps
    window = minutes(f"{hours(cfg.litellm.database.cleanup_interval) + 1}h")
    steps = window // 5
    proxy = {**NS, "job": job, **pod}
    aborted = {**proxy, "outcome": "aborted"}
    out["LiteLLMSpendLogCleanupFailing"] = Case(
        window + 30,
        # The counter is born with its first abort (LiteLLM registers it lazily); aborts
        # older than the window are history (the silent case: the counter did not move).
        [series("litellm_spend_log_cleanup_runs_total", aborted, f"_x{steps + 2} 1x10")],
        [series("litellm_spend_log_cleanup_runs_total", aborted, f"3x{steps + 10}")],
        [Expected(NS, "warning", "1")],
        interval="5m",
        evaluation_interval="5m",
    )
    behind = {**proxy, "table": "LiteLLM_SpendLogs"}
    out["LiteLLMSpendLogCleanupBehind"] = Case(
        window + 10,
        [series("litellm_spend_log_cleanup_rows_remaining", behind, f"5000x{steps + 4}")],
        [series("litellm_spend_log_cleanup_rows_remaining", behind, f"0x{steps + 4}")],
        [Expected(NS, "warning", "5000")],
        interval="5m",
        evaluation_interval="5m",
    )

    # database (CNPG pods are <cluster>-<n>)
    if cfg.postgres.engine != "cnpg":
        return out
    d = a.database
    cluster = cnpg_section(cfg).name
    pg1 = {**NS, "pod": f"{cluster}-1", "instance": "10.0.1.4:9187", "job": f"{ns}/{cluster}"}
    pg2 = {**pg1, "pod": f"{cluster}-2", "instance": "10.0.1.5:9187"}
    at = minutes(d.instance_down_for) + 5
    out["CnpgInstanceDown"] = Case(
        at,
        [series("cnpg_collector_up", {**pg1, "cluster": cluster}, f"0x{at + 5}"), series("up", pg1, f"1x{at + 5}")],
        [series("cnpg_collector_up", {**pg1, "cluster": cluster}, f"1x{at + 5}"), series("up", pg1, f"1x{at + 5}")],
        [Expected({"namespace": ns, "pod": f"{cluster}-1"}, "critical", "0")],
    )
    at = minutes(d.replication_lag_for) + 5
    out["CnpgReplicationLagHigh"] = Case(
        at,
        [series("cnpg_pg_replication_lag", pg2, f"{d.replication_lag_seconds * 2:g}x{at + 5}")],
        [series("cnpg_pg_replication_lag", pg2, f"0x{at + 5}")],
        [
            Expected(
                {"namespace": ns, "pod": f"{cluster}-2"}, "warning", humanize_duration(d.replication_lag_seconds * 2)
            )
        ],
    )
    at = minutes(d.wal_archiving_for) + 5
    out["CnpgWalArchivingFailing"] = Case(
        at,
        [
            series("cnpg_pg_stat_archiver_last_failed_time", pg1, f"2000x{at + 5}"),
            series("cnpg_pg_stat_archiver_last_archived_time", pg1, f"1000x{at + 5}"),
        ],
        [
            series("cnpg_pg_stat_archiver_last_failed_time", pg1, f"1000x{at + 5}"),
            series("cnpg_pg_stat_archiver_last_archived_time", pg1, f"2000x{at + 5}"),
        ],
        [Expected({"namespace": ns, "pod": f"{cluster}-1"}, "critical", "2000")],
    )
    barman = "barman_cloud_cloudnative_pg_io"
    at = minutes(d.backup_failed_for) + 5
    out["CnpgBackupFailed"] = Case(
        at,
        [
            series(f"{barman}_last_failed_backup_timestamp", pg1, f"2000x{at + 5}"),
            series(f"{barman}_last_available_backup_timestamp", pg1, f"1000x{at + 5}"),
        ],
        [
            series(f"{barman}_last_failed_backup_timestamp", pg1, f"0x{at + 5}"),
            series(f"{barman}_last_available_backup_timestamp", pg1, f"1000x{at + 5}"),
        ],
        [Expected(NS, "warning", "2000")],
    )
    # Never a successful backup by (max age + 1h); a fresh backup every 5 minutes is silent.
    at = (d.backup_max_age_hours + 1) * 60
    out["CnpgBackupTooOld"] = Case(
        at,
        [series(f"{barman}_last_available_backup_timestamp", pg1, f"0x{at // 5 + 2}")],
        [series(f"{barman}_last_available_backup_timestamp", pg1, f"0+300x{at // 5 + 2}")],
        [Expected(NS, "warning", humanize_duration(at * 60))],
        interval="5m",
        evaluation_interval="5m",
    )
    at = minutes(d.volume_for) + 5
    pvc = {**NS, "persistentvolumeclaim": f"{cluster}-1", "job": "kubelet", "node": "gke-pool-1-abcd"}
    capacity = series("kubelet_volume_stats_capacity_bytes", pvc, f"1000x{at + 5}")
    out["CnpgVolumeFillingUp"] = Case(
        at,
        [series("kubelet_volume_stats_used_bytes", pvc, f"900x{at + 5}"), capacity],
        [series("kubelet_volume_stats_used_bytes", pvc, f"500x{at + 5}"), capacity],
        [Expected({"namespace": ns, "persistentvolumeclaim": f"{cluster}-1"}, "warning", "90%")],
    )
    at = minutes(d.connections_for) + 5
    used = round(1000 * (d.connections_ratio + 1) / 2)
    backends = {**pg1, "datname": cfg.postgres.database, "usename": cfg.postgres.owner, "application_name": ""}
    setting = series("cnpg_pg_settings_setting", {**pg1, "name": "max_connections"}, f"1000x{at + 5}")
    out["CnpgConnectionsNearMax"] = Case(
        at,
        [
            series("cnpg_backends_total", {**backends, "state": "active"}, f"{used}x{at + 5}"),
            series("cnpg_backends_total", {**backends, "state": "idle"}, f"0x{at + 5}"),
            setting,
        ],
        [series("cnpg_backends_total", {**backends, "state": "active"}, f"10x{at + 5}"), setting],
        [Expected({"namespace": ns, "pod": f"{cluster}-1"}, "warning", f"{used / 10:.4g}%")],
    )
    return out


def promtool_tests(run: ProgramRun, cfg: StackConfig, rules_file: str) -> dict[str, dict[str, Any]]:
    """promtool unit-test files by evaluation interval: per alert, one firing and one silent test group."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for r in rendered_rules(run):
        by_name.setdefault(r["alert"], []).append(r)
    table = cases(cfg)
    groups: dict[str, list[dict[str, Any]]] = {}
    for name in sorted(by_name):
        case = table[name]
        exp_alerts = []
        for expected in case.expected:
            (rule,) = [r for r in by_name[name] if r["labels"]["severity"] == expected.severity]
            labels = {**expected.labels, **rule["labels"]}
            exp_alerts.append(
                {
                    "exp_labels": labels,
                    "exp_annotations": {
                        k: render_annotation(v, expected.labels, expected.value) for k, v in rule["annotations"].items()
                    },
                }
            )
        for input_series, expect in ((case.firing, exp_alerts), (case.silent, [])):
            groups.setdefault(case.evaluation_interval, []).append(
                {
                    "interval": case.interval,
                    "input_series": input_series,
                    "alert_rule_test": [
                        {"eval_time": f"{case.eval_minutes}m", "alertname": name, "exp_alerts": expect}
                    ],
                }
            )
    return {
        every: {"rule_files": [rules_file], "evaluation_interval": every, "tests": tests}
        for every, tests in groups.items()
    }


# --- promtool -------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_promtool_check_rules(stack: str, tmp_path: Path) -> None:
    promtool = require("promtool")
    path = write_rules(run_cached(stack), tmp_path)
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rendered_rules(run_cached(stack)))} rules found" in result.stdout


@pytest.mark.parametrize("stack", STACKS)
def test_promtool_unit_tests_every_alert(stack: str, tmp_path: Path) -> None:
    promtool = require("promtool")
    run = run_cached(stack)
    write_rules(run, tmp_path)
    specs = promtool_tests(run, stack_config(stack), "rules.yaml")
    all_tests = [t for spec in specs.values() for t in spec["tests"]]
    names = {r["alert"] for r in rendered_rules(run)}
    tested = {t["alert_rule_test"][0]["alertname"] for t in all_tests}
    firing = {t["alert_rule_test"][0]["alertname"] for t in all_tests if t["alert_rule_test"][0]["exp_alerts"]}
    silent = {t["alert_rule_test"][0]["alertname"] for t in all_tests if not t["alert_rule_test"][0]["exp_alerts"]}
    assert tested == firing == silent == names
    for every, spec in specs.items():
        test_file = tmp_path / f"tests-{every}.yaml"
        test_file.write_text(yaml.safe_dump(spec, sort_keys=False))
        result = subprocess.run(
            [promtool, "test", "rules", str(test_file)],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
        )
        assert result.returncode == 0, every + "\n" + result.stdout + result.stderr


def test_the_test_table_covers_every_alert_either_stack_can_render() -> None:
    """Alerts that only exist with other settings (e.g. replicas, backups) still have cases."""
    all_on = stack_config("enterprise")
    assert all_on.postgres.backup.enabled
    assert cnpg_section(all_on).instances > 1
    names = {a.name for _, build in alert_rules.GROUPS for a in build(all_on)}
    assert names == set(cases(all_on))


# --- the rules as data ------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_alert_is_documented_and_annotated(stack: str) -> None:
    doc = ALERTS_DOC.read_text()
    anchors = set(re.findall(r'<a id="(alert-[a-z0-9]+)"></a>', doc))
    for r in rendered_rules(run_cached(stack)):
        assert r["labels"]["severity"] in ("critical", "warning", "info")
        assert r["labels"]["namespace"] == "llm-gateway"
        assert r["annotations"]["summary"]
        assert "{{ $labels." in r["annotations"]["description"] or r["alert"] == "CnpgBackupTooOld"
        url = r["annotations"]["runbook_url"]
        assert url == f"https://github.com/acme/llm-gateway/blob/main/docs/alerts.md#alert-{r['alert'].lower()}"
        assert url.rsplit("#", 1)[1] in anchors, f"docs/alerts.md has no section for {r['alert']}"
        assert re.fullmatch(r"([0-9]+[smh])+", r["for"])


@pytest.mark.parametrize("stack", STACKS)
def test_rule_expressions_parse_and_use_real_metrics(stack: str) -> None:
    used: set[str] = set()
    for r in rendered_rules(run_cached(stack)):
        parse(r["expr"])
        used |= metric_names(r["expr"])
    assert unknown_metrics(used) == set()
    assert not any(re.search(r'\ble="', r["expr"]) for r in rendered_rules(run_cached(stack)))


def test_groups_and_release_label() -> None:
    lab = run_cached("lab").custom_resources("PrometheusRule")[0]
    ent = run_cached("enterprise").custom_resources("PrometheusRule")[0]
    assert lab["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert lab["metadata"]["namespace"] == "llm-gateway"
    groups = [g["name"] for g in ent["spec"]["groups"]]
    assert groups == [
        f"llm-gateway.{g}"
        for g in ("availability", "performance", "usage", "cost", "budgets", "providers", "database", "retention")
    ]
    lab_db = {r["alert"] for g in lab["spec"]["groups"] if g["name"] == "llm-gateway.database" for r in g["rules"]}
    # One instance and no backups: no replication or backup alerts in the lab.
    assert lab_db == {"CnpgInstanceDown", "CnpgVolumeFillingUp", "CnpgConnectionsNearMax"}


def test_thresholds_come_from_config() -> None:
    run = run_cached(
        "lab", "llm-gateway:alerts.cost.daily_spend_usd=42.5", "llm-gateway:alerts.performance.latency_for=7m"
    )
    rules = {(r["alert"], r["labels"]["severity"]): r for r in rendered_rules(run)}
    assert rules[("LiteLLMDailySpendOverBudget", "warning")]["expr"].endswith("> 42.5")
    assert rules[("LiteLLMHighLatencyP95", "warning")]["for"] == "7m"


def test_external_engine_has_no_database_alerts() -> None:
    groups = run_cached("lab", *EXTERNAL_ENGINE).custom_resources("PrometheusRule")[0]["spec"]["groups"]
    assert "llm-gateway.database" not in [g["name"] for g in groups]


def test_alerts_can_be_disabled() -> None:
    run = run_cached("lab", "llm-gateway:alerts.enabled=false")
    assert run.custom_resources("PrometheusRule") == []


# --- routing ----------------------------------------------------------------------


def test_enterprise_routing_by_severity() -> None:
    run = run_cached("enterprise")
    (amc,) = run.custom_resources("AlertmanagerConfig")
    assert validation_errors(amc) == []
    spec = amc["spec"]
    routes = {r["receiver"]: r for r in spec["route"]["routes"]}
    assert routes["slack-oncall"]["matchers"] == [{"name": "severity", "matchType": "=~", "value": "critical|warning"}]
    assert routes["email-oncall"]["matchers"] == [{"name": "severity", "matchType": "=", "value": "critical"}]
    assert all(r["continue"] for r in routes.values())
    receivers = {r["name"]: r for r in spec["receivers"]}
    assert receivers["slack-oncall"]["slackConfigs"][0]["apiURL"] == {"name": "alertmanager-slack-oncall", "key": "url"}
    assert receivers["slack-oncall"]["slackConfigs"][0]["channel"] == "#llm-gateway-alerts"
    email = receivers["email-oncall"]["emailConfigs"][0]
    assert email["authPassword"] == {"name": "alertmanager-email-oncall", "key": "password"}
    assert email["to"] == "llm-oncall@acme.example"
    assert spec["route"]["receiver"] == "null" and receivers["null"] == {"name": "null"}


def test_receiver_credentials_come_from_gsm_via_eso() -> None:
    run = run_cached("enterprise")
    secrets = {e["metadata"]["name"]: e for e in run.custom_resources("ExternalSecret")}
    slack = secrets["alertmanager-slack-oncall"]
    assert slack["metadata"]["namespace"] == "llm-gateway"
    assert slack["spec"]["data"] == [
        {"secretKey": "url", "remoteRef": {"key": "oncall-slack-webhook-url", "version": "latest"}}
    ]
    assert secrets["alertmanager-email-oncall"]["spec"]["data"][0]["remoteRef"]["key"] == "oncall-smtp-password"
    assert validation_errors(slack) == []


def test_store_account_gets_accessor_on_each_referenced_secret_only() -> None:
    run = run_cached("enterprise")
    grants = [
        r.plain_inputs
        for r in run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
        if r.parent == "llm-gateway-alerting"
    ]
    assert sorted(g["secretId"] for g in grants) == [
        "projects/acme-llm-prod/secrets/oncall-slack-webhook-url",
        "projects/acme-llm-prod/secrets/oncall-smtp-password",
    ]
    for g in grants:
        assert g["role"] == "roles/secretmanager.secretAccessor"
        assert g["member"] == "serviceAccount:llm-gw-eso@acme-llm-prod.iam.gserviceaccount.com"
    # Referenced, never created: the program makes no GSM secret or version for a receiver.
    created = {r.plain_inputs.get("secretId") for r in run.of_type("gcp:secretmanager/secret:Secret")}
    assert not created & {"oncall-slack-webhook-url", "oncall-smtp-password"}
    assert project_grants_beyond_the_tenants_reconciler(run) == []


def test_no_receivers_no_routing() -> None:
    run = run_cached("lab", "llm-gateway:alertmanager.receivers=[]")
    assert run.custom_resources("AlertmanagerConfig") == []
    assert not [r for r in run.resources if r.parent == "llm-gateway-alerting" and "IamMember" in r.type]


def test_component_shape() -> None:
    run = run_cached("lab")
    comp = run.named("llm-gateway-alerting")
    assert comp.type == "llm-gateway:alerting:Alerting"
    children = [r for r in run.resources if r.parent == "llm-gateway-alerting"]
    assert {r.type.rsplit(":", 1)[1] for r in children} == {
        "PrometheusRule",
        "SecretIamMember",
        "ExternalSecret",
        "AlertmanagerConfig",
    }


# --- config errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("receiver", "message"),
    [
        ({"name": "s", "type": "slack", "gsm_secret": "x", "severities": ["critical"]}, "needs channel"),
        (
            {"name": "e", "type": "email", "gsm_secret": "x", "severities": ["critical"], "to": "a@b.c"},
            "needs from_address, smarthost, auth_username",
        ),
        (
            {"name": "w", "type": "webhook", "gsm_secret": "x", "severities": ["critical"], "channel": "#c"},
            "channel is only for slack",
        ),
        (
            {"name": "w", "type": "pager", "gsm_secret": "x", "severities": ["critical"]},
            "alertmanager.receivers[0].type",
        ),
        ({"name": "w", "type": "webhook", "gsm_secret": "x", "severities": []}, "severities"),
        (
            {"name": "w", "type": "webhook", "gsm_secret": "x", "severities": ["critical"], "url": "https://h"},
            "alertmanager.receivers[0].url: unknown key",
        ),
    ],
)
def test_bad_receivers_are_config_errors(receiver: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config(with_value("lab", "alertmanager", {"receivers": [receiver]}))


def test_bad_thresholds_are_config_errors() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(
            with_value(
                "lab",
                "alerts",
                {
                    "performance": {"error_rate_warning": 0.5, "error_rate_critical": 0.1},
                    "budgets": {"used_percent": [95, 80, 100]},
                    "cost": {"spike_for": "soon"},
                },
            )
        )
    text = str(err.value)
    assert "error_rate_warning must be lower than error_rate_critical" in text
    assert "llm-gateway:alerts.budgets" in text and "three increasing percentages" in text
    assert "llm-gateway:alerts.cost.spike_for" in text


def test_stack_files_hold_no_receiver_credentials() -> None:
    for stack in STACKS:
        text = (ROOT / f"Pulumi.{stack}.yaml").read_text()
        assert "hooks.slack.com" not in text
        assert not re.search(r"https://[^\s]*(webhook|hooks)[^\s]*", text)
