"""Pure builders of the gateway's Prometheus alert rules (no Pulumi calls).

One `PrometheusRule` (monitoring.coreos.com/v1) in the gateway namespace, labelled
`release: <monitoring.prometheus_release>` so kube-prometheus-stack's Prometheus loads it,
with the groups availability, performance, usage, cost, budgets, providers, (CNPG engine
only) database and retention; thresholds and `for` durations come from `alerts.*`. Every
alert carries `severity` and `namespace` (the gateway namespace, which the
AlertmanagerConfig's implicit namespace matcher needs) and the annotations summary,
description (naming the offending labels) and runbook_url (`docs/alerts.md#alert-<name>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.database.cnpg import CnpgNames
from components.kit import metadata
from components.litellm.names import deployment_name, scrape_job
from config import AlertsConfig, StackConfig, period_seconds

RULE_NAME = "llm-gateway-alerts"
APP = "llm-gateway-alerting"


@dataclass(frozen=True)
class Alert:
    """One alerting rule as authored here (rendered by `rule`)."""

    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str


def _sel(**matchers: str) -> str:
    """A label selector body; keys ending in `_re` are regex matchers (`=~`), `_nre` (`!~`), `_ne` (`!=`)."""
    parts = []
    for key, value in matchers.items():
        if key.endswith("_nre"):
            parts.append(f'{key[:-4]}!~"{value}"')
        elif key.endswith("_ne"):
            parts.append(f'{key[:-3]}!="{value}"')
        elif key.endswith("_re"):
            parts.append(f'{key[:-3]}=~"{value}"')
        else:
            parts.append(f'{key}="{value}"')
    return ", ".join(parts)


def runbook_url(alerts: AlertsConfig, name: str) -> str:
    return f"{alerts.runbook_base_url}#alert-{name.lower()}"


def _num(value: float) -> str:
    """A threshold as PromQL and humans read it (no trailing .0)."""
    return f"{value:g}"


def rule(alert: Alert, alerts: AlertsConfig, namespace: str) -> dict[str, Any]:
    return {
        "alert": alert.name,
        "expr": alert.expr,
        "for": alert.for_,
        "labels": {"severity": alert.severity, "namespace": namespace},
        "annotations": {
            "summary": alert.summary,
            "description": alert.description,
            "runbook_url": runbook_url(alerts, alert.name),
        },
    }


# --- the groups --------------------------------------------------------------


def availability_alerts(cfg: StackConfig) -> list[Alert]:
    a = cfg.alerts
    ns = cfg.namespaces.gateway
    up = f"up{{{_sel(namespace=ns, job=scrape_job(cfg.litellm))}}}"
    return [
        Alert(
            name="LiteLLMGatewayDown",
            expr=f"{up} == 0 or absent({up})",
            for_=a.availability.gateway_down_for,
            severity="critical",
            summary="LiteLLM gateway target is down or missing",
            description=(
                "Prometheus cannot scrape LiteLLM target {{ $labels.instance }} (job {{ $labels.job }}, "
                "namespace {{ $labels.namespace }}), or no such target exists, for "
                f"{a.availability.gateway_down_for}."
            ),
        ),
        Alert(
            name="LiteLLMReadinessFailing",
            expr=(
                "kube_deployment_status_replicas_unavailable"
                f"{{{_sel(namespace=ns, deployment=deployment_name(cfg.litellm))}}} > 0"
            ),
            for_=a.availability.readiness_for,
            severity="warning",
            summary="LiteLLM replicas are not ready",
            description=(
                "{{ $value }} replica(s) of deployment {{ $labels.deployment }} in {{ $labels.namespace }} "
                "fail their readiness probe (/health/readiness answers 503 when the database is unreachable)."
            ),
        ),
    ]


def performance_alerts(cfg: StackConfig) -> list[Alert]:
    p = cfg.alerts.performance
    ns = _sel(namespace=cfg.namespaces.gateway)
    # Client mistakes (4xx: unknown model, bad key, budget, the key's own rate limit) are not
    # the gateway's errors; provider 429s have LiteLLMProviderRateLimited.
    server = _sel(namespace=cfg.namespaces.gateway, exception_status_nre="4..")
    failed = f"sum by (namespace) (rate(litellm_proxy_failed_requests_metric_total{{{server}}}[5m]))"
    total = f"sum by (namespace) (rate(litellm_proxy_total_requests_metric_total{{{ns}}}[5m]))"
    error_description = (
        "{{ $value | humanizePercentage }} of LiteLLM requests in {{ $labels.namespace }} failed with a "
        "gateway or provider error (not 4xx) over the last 5 minutes (threshold {threshold}); see the "
        "error rate by exception class on the Operations dashboard."
    )
    return [
        Alert(
            name="LiteLLMHighLatencyP95",
            expr=(
                "histogram_quantile(0.95, sum by (le, namespace, requested_model) "
                f"(rate(litellm_request_total_latency_metric_bucket{{{ns}}}[5m]))) > {_num(p.latency_p95_seconds)}"
            ),
            for_=p.latency_for,
            severity="warning",
            summary="LiteLLM p95 request latency is high",
            description=(
                "p95 end-to-end latency of model {{ $labels.requested_model }} is {{ $value | humanize }}s "
                f"(threshold {_num(p.latency_p95_seconds)}s)."
            ),
        ),
        Alert(
            name="LiteLLMHighErrorRate",
            expr=f"{failed} / {total} > {_num(p.error_rate_warning)}",
            for_=p.error_rate_for,
            severity="warning",
            summary="LiteLLM error rate is elevated",
            description=error_description.replace("{threshold}", f"{_num(p.error_rate_warning * 100)}%"),
        ),
        Alert(
            name="LiteLLMHighErrorRate",
            expr=f"{failed} / {total} > {_num(p.error_rate_critical)}",
            for_=p.error_rate_for,
            severity="critical",
            summary="LiteLLM error rate is critical",
            description=error_description.replace("{threshold}", f"{_num(p.error_rate_critical * 100)}%"),
        ),
    ]


def usage_alerts(cfg: StackConfig) -> list[Alert]:
    u = cfg.alerts.usage
    ns = _sel(namespace=cfg.namespaces.gateway)
    by_key = "namespace, hashed_api_key, api_key_alias"
    return [
        Alert(
            name="LiteLLMKeyRequestRateHigh",
            expr=(
                f"sum by ({by_key}) (rate(litellm_proxy_total_requests_metric_total{{{ns}}}[5m])) "
                f"> {_num(u.key_requests_per_second)}"
            ),
            for_=u.key_requests_for,
            severity="warning",
            summary="An API key sends an unusual number of requests",
            description=(
                "API key {{ $labels.api_key_alias }} (hash {{ $labels.hashed_api_key }}) sends "
                "{{ $value | humanize }} requests/s "
                f"(threshold {_num(u.key_requests_per_second)}/s)."
            ),
        ),
        Alert(
            name="LiteLLMKeyTokenBurnHigh",
            expr=(
                f"sum by ({by_key}) (increase(litellm_total_tokens_metric_total{{{ns}}}[1h])) > {u.key_tokens_per_hour}"
            ),
            for_=u.key_tokens_for,
            severity="warning",
            summary="An API key burns tokens fast",
            description=(
                "API key {{ $labels.api_key_alias }} (hash {{ $labels.hashed_api_key }}) used "
                "{{ $value | humanize }} tokens in the last hour "
                f"(threshold {u.key_tokens_per_hour})."
            ),
        ),
    ]


def cost_alerts(cfg: StackConfig) -> list[Alert]:
    c = cfg.alerts.cost
    ns = _sel(namespace=cfg.namespaces.gateway)
    last_hour = f"sum by (namespace) (increase(litellm_spend_metric_total{{{ns}}}[1h]))"
    hour_before = f"sum by (namespace) (increase(litellm_spend_metric_total{{{ns}}}[1h] offset 1h))"
    return [
        Alert(
            name="LiteLLMDailySpendOverBudget",
            expr=(
                f"sum by (namespace) (increase(litellm_spend_metric_total{{{ns}}}[24h])) > {_num(c.daily_spend_usd)}"
            ),
            for_=c.daily_spend_for,
            severity="warning",
            summary="LLM spend over the last 24 hours exceeds the daily budget",
            description=(
                'The gateway in {{ $labels.namespace }} spent ${{ $value | printf "%.2f" }} in the last '
                f"24 hours (daily budget ${_num(c.daily_spend_usd)})."
            ),
        ),
        Alert(
            name="LiteLLMSpendSpike",
            # An hour with no spend before it compares against zero.
            expr=(
                f"{last_hour} > {_num(c.spike_factor)} * ({hour_before} or {last_hour} * 0) "
                f"and {last_hour} > {_num(c.spike_min_usd_per_hour)}"
            ),
            for_=c.spike_for,
            severity="warning",
            summary="LLM spend jumped compared with the previous hour",
            description=(
                'The gateway in {{ $labels.namespace }} spent ${{ $value | printf "%.2f" }} in the last hour, '
                f"more than {_num(c.spike_factor)}x the hour before "
                f"(and above ${_num(c.spike_min_usd_per_hour)}/h)."
            ),
        ),
    ]


BUDGET_TIERS = (("Notice", "info"), ("Low", "warning"), ("Exhausted", "critical"))


def budget_alerts(cfg: StackConfig) -> list[Alert]:
    """Spend crossing each tier of a key's or team's max budget (LiteLLM's budget gauges).

    Tiers are exclusive (>= this tier, < the next), so one key or team fires one alert.
    The gauges exist from the proxy's start for every key and team with a budget
    (`prometheus_initialize_budget_metrics`), not only after their first request.
    """
    b = cfg.alerts.budgets
    ns = _sel(namespace=cfg.namespaces.gateway)
    entities = (
        (
            "Key",
            "litellm_remaining_api_key_budget_metric",
            "litellm_api_key_max_budget_metric",
            "namespace, hashed_api_key, api_key_alias",
            "API key {{ $labels.api_key_alias }} (hash {{ $labels.hashed_api_key }})",
            "An API key",
            "/key/update",
        ),
        (
            "Team",
            "litellm_remaining_team_budget_metric",
            "litellm_team_max_budget_metric",
            "namespace, team, team_alias",
            "Team {{ $labels.team_alias }} ({{ $labels.team }})",
            "A team",
            "/team/update",
        ),
    )
    alerts = []
    for entity, remaining, maximum, by, who, subject, _update in entities:
        used = f"100 * (1 - min by ({by}) ({remaining}{{{ns}}}) / max by ({by}) ({maximum}{{{ns}}} > 0))"
        for tier, ((suffix, severity), low) in enumerate(zip(BUDGET_TIERS, b.used_percent, strict=True)):
            upper = b.used_percent[tier + 1] if tier + 1 < len(b.used_percent) else None
            expr = f"{used} >= {_num(low)}" + (f" < {_num(upper)}" if upper is not None else "")
            crossed = f"{_num(low)}%" if upper is None else f"{_num(low)}% (below {_num(upper)}%)"
            alerts.append(
                Alert(
                    name=f"LiteLLM{entity}Budget{suffix}",
                    expr=expr,
                    for_=b.used_for,
                    severity=severity,
                    summary=f"{subject} has used {_num(low)}% of its budget"
                    if upper is not None
                    else f"{subject} has used up its budget",
                    description=(
                        f'{who} has used {{{{ $value | printf "%.1f" }}}}% of its max budget (threshold {crossed}).'
                    ),
                )
            )
    return alerts


def provider_alerts(cfg: StackConfig) -> list[Alert]:
    p = cfg.alerts.providers
    # Only series that name a provider: requests refused before routing (unknown model, bad
    # key) are counted in the deployment counters without one.
    sel = _sel(namespace=cfg.namespaces.gateway, api_provider_ne="")
    limited_sel = _sel(namespace=cfg.namespaces.gateway, api_provider_ne="", exception_status="429")
    failures = f"rate(litellm_deployment_failure_responses_total{{{sel}}}[5m])"
    requests = f"rate(litellm_deployment_total_requests_total{{{sel}}}[5m])"
    limited = f"rate(litellm_deployment_failure_responses_total{{{limited_sel}}}[5m])"
    deployment = "namespace, api_provider, litellm_model_name, model_id"
    return [
        Alert(
            name="LiteLLMProviderFailureRatioHigh",
            expr=(
                f"sum by (namespace, api_provider) ({failures}) / sum by (namespace, api_provider) ({requests}) "
                f"> {_num(p.failure_ratio)}"
            ),
            for_=p.failure_for,
            severity="warning",
            summary="A provider fails many requests",
            description=(
                "{{ $value | humanizePercentage }} of requests to provider {{ $labels.api_provider }} failed "
                f"over 5 minutes (threshold {_num(p.failure_ratio * 100)}%)."
            ),
        ),
        Alert(
            name="LiteLLMProviderRateLimited",
            expr=(
                f"sum by (namespace, api_provider, litellm_model_name) ({limited}) * 60 "
                f"> {_num(p.rate_limited_per_minute)}"
            ),
            for_=p.rate_limited_for,
            severity="warning",
            summary="A provider is rate limiting the gateway (HTTP 429)",
            description=(
                "Provider {{ $labels.api_provider }} answers {{ $value | humanize }} HTTP 429/min for "
                "deployment {{ $labels.litellm_model_name }} "
                f"(threshold {_num(p.rate_limited_per_minute)}/min)."
            ),
        ),
        Alert(
            name="LiteLLMDeploymentOutage",
            # From the counters, not litellm_deployment_state: LiteLLM cools a single-deployment
            # group down only after 1000 requests in a minute all failed, and the state gauge is
            # per worker (a dead worker's value stays exported).
            expr=(
                f"sum by ({deployment}) ({failures}) / sum by ({deployment}) ({requests}) "
                f">= {_num(p.outage_failure_ratio)} "
                f"and sum by ({deployment}) ({requests}) * 300 >= {p.outage_min_requests}"
            ),
            for_=p.outage_for,
            severity="warning",
            summary="A model deployment is in outage",
            description=(
                "{{ $value | humanizePercentage }} of requests to deployment {{ $labels.litellm_model_name }} "
                "(model_id {{ $labels.model_id }}, provider {{ $labels.api_provider }}) failed over 5 minutes "
                f"(threshold {_num(p.outage_failure_ratio * 100)}%, at least {p.outage_min_requests} requests); "
                "requests use fallbacks if configured."
            ),
        ),
    ]


def database_alerts(cfg: StackConfig) -> list[Alert]:
    """CNPG alerts (none for an external server: it is monitored where it runs)."""
    pg = cfg.postgres
    if pg.engine != "cnpg":
        return []
    d = cfg.alerts.database
    names = CnpgNames(pg.cnpg.name, cfg.namespaces.gateway)
    pods = _sel(namespace=names.namespace, pod_re=f"{names.cluster}-[0-9]+")
    barman = "barman_cloud_cloudnative_pg_io"
    alerts = [
        Alert(
            name="CnpgInstanceDown",
            expr=(
                f"(max by (namespace, pod) (cnpg_collector_up{{{pods}}}) == 0) "
                f"or (max by (namespace, pod) (up{{{pods}}}) == 0)"
            ),
            for_=d.instance_down_for,
            severity="critical",
            summary="A CloudNativePG instance is down",
            description=(
                f"PostgreSQL instance {{{{ $labels.pod }}}} of cluster {names.cluster} in "
                "{{ $labels.namespace }} is down or its metrics endpoint is unreachable."
            ),
        ),
    ]
    if pg.cnpg.instances > 1:
        alerts.append(
            Alert(
                name="CnpgReplicationLagHigh",
                expr=f"max by (namespace, pod) (cnpg_pg_replication_lag{{{pods}}}) > {_num(d.replication_lag_seconds)}",
                for_=d.replication_lag_for,
                severity="warning",
                summary="A CloudNativePG replica lags behind the primary",
                description=(
                    "Replica {{ $labels.pod }} is {{ $value | humanizeDuration }} behind the primary "
                    f"(threshold {_num(d.replication_lag_seconds)}s)."
                ),
            )
        )
    if pg.backup.enabled:
        alerts += [
            Alert(
                name="CnpgWalArchivingFailing",
                expr=(
                    f"max by (namespace, pod) (cnpg_pg_stat_archiver_last_failed_time{{{pods}}}) "
                    f"> max by (namespace, pod) (cnpg_pg_stat_archiver_last_archived_time{{{pods}}})"
                ),
                for_=d.wal_archiving_for,
                severity="critical",
                summary="WAL archiving to the backup bucket is failing",
                description=(
                    "Instance {{ $labels.pod }} failed to archive WAL more recently than it succeeded; "
                    f"point-in-time recovery of {names.cluster} is at risk."
                ),
            ),
            Alert(
                name="CnpgBackupFailed",
                expr=(
                    f"max by (namespace) ({barman}_last_failed_backup_timestamp{{{pods}}}) "
                    f"> max by (namespace) ({barman}_last_available_backup_timestamp{{{pods}}})"
                ),
                for_=d.backup_failed_for,
                severity="warning",
                summary="The latest CloudNativePG backup failed",
                description=(
                    f"The latest base backup of cluster {names.cluster} in {{{{ $labels.namespace }}}} failed "
                    "after the last successful one."
                ),
            ),
            Alert(
                name="CnpgBackupTooOld",
                expr=(
                    f"time() - max by (namespace) ({barman}_last_available_backup_timestamp{{{pods}}}) "
                    f"> {d.backup_max_age_hours * 3600}"
                ),
                for_="10m",
                severity="warning",
                summary="No recent CloudNativePG backup",
                description=(
                    f"The last available base backup of cluster {names.cluster} in {{{{ $labels.namespace }}}} "
                    f"is {{{{ $value | humanizeDuration }}}} old (threshold {d.backup_max_age_hours}h)."
                ),
            ),
        ]
    pvcs = _sel(namespace=names.namespace, persistentvolumeclaim_re=f"{names.cluster}-[0-9]+(-wal)?")
    alerts.append(
        Alert(
            name="CnpgVolumeFillingUp",
            expr=(
                f"max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes{{{pvcs}}} "
                f"/ kubelet_volume_stats_capacity_bytes{{{pvcs}}}) > {_num(d.volume_fill_ratio)}"
            ),
            for_=d.volume_for,
            severity="warning",
            summary="A PostgreSQL volume is filling up",
            description=(
                "Volume {{ $labels.persistentvolumeclaim }} is {{ $value | humanizePercentage }} full "
                f"(threshold {_num(d.volume_fill_ratio * 100)}%); check the spend-log cleanup, WAL archiving "
                'and the storage budget (README "Scaling").'
            ),
        )
    )
    alerts.append(
        Alert(
            name="CnpgConnectionsNearMax",
            expr=(
                f"sum by (namespace, pod) (cnpg_backends_total{{{pods}}}) / max by (namespace, pod) "
                f"(cnpg_pg_settings_setting{{{_sel(name='max_connections')}, {pods}}}) "
                f"> {_num(d.connections_ratio)}"
            ),
            for_=d.connections_for,
            severity="warning",
            summary="PostgreSQL connections are close to max_connections",
            description=(
                "Instance {{ $labels.pod }} uses {{ $value | humanizePercentage }} of max_connections "
                f"(threshold {_num(d.connections_ratio * 100)}%)."
            ),
        )
    )
    return alerts


def _hours(period: str) -> int:
    """A LiteLLM period ("1d", "12h", "2w", "30m") in whole hours, at least one."""
    return max(1, period_seconds(period) // 3600)


def retention_alerts(cfg: StackConfig) -> list[Alert]:
    """The spend-log cleanup (LiteLLM 1.108's SpendLogCleanupMetrics, registered at its first run)."""
    db = cfg.litellm.database
    ns = cfg.namespaces.gateway
    window = f"{_hours(db.cleanup_interval) + 1}h"
    aborted = f"litellm_spend_log_cleanup_runs_total{{{_sel(namespace=ns, outcome='aborted')}}}"
    remaining = f"litellm_spend_log_cleanup_rows_remaining{{{_sel(namespace=ns, table='LiteLLM_SpendLogs')}}}"
    return [
        Alert(
            name="LiteLLMSpendLogCleanupFailing",
            # The counter appears with its first abort: a series absent one window ago counts from 0.
            expr=f"sum by (namespace) ({aborted} - ({aborted} offset {window} or {aborted} * 0)) > 0",
            for_="0m",
            severity="warning",
            summary="The spend-log retention cleanup aborted",
            description=(
                "{{ $value }} spend-log cleanup run(s) aborted in {{ $labels.namespace }} in the last "
                f"{window} (an error, or repeated failed delete batches); expired LiteLLM_SpendLogs rows "
                'stay and the volume keeps growing. See the proxy logs for "spend log cleanup".'
            ),
        ),
        Alert(
            name="LiteLLMSpendLogCleanupBehind",
            expr=f"max by (namespace) ({remaining}) > {db.cleanup_batch_size}",
            for_=window,
            severity="warning",
            summary="The spend-log retention cleanup is falling behind",
            description=(
                "{{ $value }} expired LiteLLM_SpendLogs rows in {{ $labels.namespace }} were still there after "
                f"the cleanup runs of the last {window} (the count stops at LiteLLM's cap of 100000); raise "
                "litellm.database.cleanup_max_batches or shorten cleanup_interval."
            ),
        ),
    ]


GROUPS = (
    ("availability", availability_alerts),
    ("performance", performance_alerts),
    ("usage", usage_alerts),
    ("cost", cost_alerts),
    ("budgets", budget_alerts),
    ("providers", provider_alerts),
    ("database", database_alerts),
    ("retention", retention_alerts),
)


def rule_groups(cfg: StackConfig) -> list[dict[str, Any]]:
    """The Prometheus rule groups (empty groups are left out)."""
    ns = cfg.namespaces.gateway
    groups = []
    for group, build in GROUPS:
        alerts = build(cfg)
        if alerts:
            groups.append({"name": f"llm-gateway.{group}", "rules": [rule(a, cfg.alerts, ns) for a in alerts]})
    return groups


def prometheus_rule(cfg: StackConfig) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata(
            RULE_NAME,
            cfg.namespaces.gateway,
            app=APP,
            extra_labels={"release": cfg.monitoring.prometheus_release},
        ),
        "spec": {"groups": rule_groups(cfg)},
    }
