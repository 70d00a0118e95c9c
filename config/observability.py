"""`monitoring`, `alerts`, `alertmanager` and `grafana`: how the stack is watched."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from config.types import (
    DnsLabel,
    Duration,
    GsmSecretId,
    PositiveFloat,
    Ratio,
    ReleaseName,
    Section,
    rfc1123_host,
)


class MonitoringConfig(Section):
    """How kube-prometheus-stack finds our monitors, rules and dashboards."""

    prometheus_release: ReleaseName = "kube-prometheus-stack"
    # Grafana folder for the dashboards (kube-prometheus-stack's dashboard
    # sidecar reads it from the `grafana_folder` annotation when
    # `sidecar.dashboards.folderAnnotation: grafana_folder` is set).
    dashboard_folder: Annotated[str, StringConstraints(min_length=1, max_length=100)] = "LLM Gateway"


# --- alerts and alert routing (PrometheusRule + AlertmanagerConfig) ----------


Severity = Literal["critical", "warning", "info"]


class AvailabilityAlerts(Section):
    gateway_down_for: Duration = "2m"
    readiness_for: Duration = "10m"


class PerformanceAlerts(Section):
    latency_p95_seconds: PositiveFloat = 30.0
    latency_for: Duration = "10m"
    # Failed / total requests over 5 minutes.
    error_rate_warning: Ratio = 0.05
    error_rate_critical: Ratio = 0.2
    error_rate_for: Duration = "5m"

    @model_validator(mode="after")
    def _ordered(self) -> PerformanceAlerts:
        if self.error_rate_warning >= self.error_rate_critical:
            raise ValueError("error_rate_warning must be lower than error_rate_critical")
        return self


class UsageAlerts(Section):
    # Requests per second from a single API key (abuse or a runaway client).
    key_requests_per_second: PositiveFloat = 10.0
    key_requests_for: Duration = "10m"
    # Tokens one API key consumes in a rolling hour.
    key_tokens_per_hour: Annotated[int, Field(gt=0)] = 2_000_000
    key_tokens_for: Duration = "15m"


class CostAlerts(Section):
    # USD over a rolling 24 hours, all keys and models together.
    daily_spend_usd: PositiveFloat = 100.0
    daily_spend_for: Duration = "15m"
    # Last hour's spend above `spike_factor` x the hour before (and above the floor).
    spike_factor: Annotated[float, Field(gt=1)] = 3.0
    spike_min_usd_per_hour: PositiveFloat = 5.0
    spike_for: Duration = "15m"


class BudgetAlerts(Section):
    # Tiers of spend as a percentage of a key's / team's max budget: info, warning, critical
    # (each key or team is in at most one tier at a time).
    used_percent: Annotated[list[Annotated[float, Field(gt=0, le=100)]], Field(min_length=3, max_length=3)] = [
        80.0,
        95.0,
        100.0,
    ]
    used_for: Duration = "5m"

    @model_validator(mode="after")
    def _increasing(self) -> BudgetAlerts:
        low, mid, high = self.used_percent
        if not low < mid < high:
            raise ValueError("used_percent must be three increasing percentages, e.g. [80, 95, 100]")
        return self


class ProviderAlerts(Section):
    failure_ratio: Ratio = 0.25
    failure_for: Duration = "10m"
    # HTTP 429 answers from a provider deployment, per minute.
    rate_limited_per_minute: PositiveFloat = 5.0
    rate_limited_for: Duration = "10m"
    # A deployment is in outage when this share of its requests failed over 5 minutes
    # (and it had at least `outage_min_requests`): fires for single-deployment model
    # groups, which LiteLLM does not cool down on 429s or a few failures.
    outage_failure_ratio: Ratio = 0.9
    outage_min_requests: Annotated[int, Field(ge=1)] = 5
    outage_for: Duration = "5m"


class DatabaseAlerts(Section):
    instance_down_for: Duration = "5m"
    replication_lag_seconds: PositiveFloat = 30.0
    replication_lag_for: Duration = "5m"
    wal_archiving_for: Duration = "10m"
    backup_failed_for: Duration = "5m"
    # Older than one daily schedule plus slack.
    backup_max_age_hours: Annotated[int, Field(ge=1)] = 26
    connections_ratio: Ratio = 0.8
    connections_for: Duration = "10m"
    # Used / capacity of a CNPG data or WAL volume (kubelet volume stats).
    volume_fill_ratio: Ratio = 0.85
    volume_for: Duration = "15m"


def _runbook_url(url: str) -> str:
    """An https URL that survives the alert annotation (a Go template) and `#alert-<name>` after it."""
    parts = urlsplit(url)
    if (
        parts.scheme != "https"
        or not parts.hostname
        or parts.fragment
        or "#" in url
        or re.search(r"[\s{}$\"'<>\\`|^]", url)
    ):
        raise ValueError(
            "must be an https URL without a fragment, spaces, quotes, braces or $ (alert annotations are templates), "
            "such as https://github.com/acme/llm-gateway/blob/main/docs/alerts.md"
        )
    rfc1123_host(parts.hostname)
    return url


class AlertsConfig(Section):
    """Prometheus alert rules: thresholds and `for` durations per group (defaults are sensible)."""

    enabled: bool = True
    # Each alert's runbook_url is `<runbook_base_url>#alert-<alertname lowercase>`.
    runbook_base_url: Annotated[str, AfterValidator(_runbook_url)] = (
        "https://github.com/acme/llm-gateway/blob/main/docs/alerts.md"
    )
    availability: AvailabilityAlerts = AvailabilityAlerts()
    performance: PerformanceAlerts = PerformanceAlerts()
    usage: UsageAlerts = UsageAlerts()
    cost: CostAlerts = CostAlerts()
    budgets: BudgetAlerts = BudgetAlerts()
    providers: ProviderAlerts = ProviderAlerts()
    database: DatabaseAlerts = DatabaseAlerts()


class ReceiverConfig(Section):
    """One Alertmanager receiver. Its credential lives in GSM (created by the on-call team)."""

    # 50: its ExternalSecret `alertmanager-<name>` names a label value (63 at most).
    name: Annotated[DnsLabel, StringConstraints(max_length=50)]
    type: Literal["slack", "email", "webhook"]
    # GSM secret id holding the Slack webhook URL / SMTP password (for auth_username) / webhook URL.
    gsm_secret: GsmSecretId
    severities: Annotated[list[Severity], Field(min_length=1)]
    send_resolved: bool = True
    channel: Annotated[str, StringConstraints(pattern=r"^[#@]?[A-Za-z0-9._-]{1,80}$")] | None = None
    to: Annotated[str, StringConstraints(pattern=r"^[^@\s,]+@[^@\s,]+$")] | None = None
    from_address: Annotated[str, StringConstraints(pattern=r"^[^@\s,]+@[^@\s,]+$")] | None = None
    smarthost: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")] | None = None
    auth_username: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None

    @model_validator(mode="after")
    def _fields_for_type(self) -> ReceiverConfig:
        email_fields = {
            "to": self.to,
            "from_address": self.from_address,
            "smarthost": self.smarthost,
            "auth_username": self.auth_username,
        }
        if self.type == "slack" and not self.channel:
            raise ValueError("a slack receiver needs channel")
        if self.type == "email":
            missing = [k for k, v in email_fields.items() if not v]
            if missing:
                raise ValueError(f"an email receiver needs {', '.join(missing)}")
        if self.type != "slack" and self.channel:
            raise ValueError("channel is only for slack receivers")
        if self.type != "email" and any(email_fields.values()):
            raise ValueError("to, from_address, smarthost and auth_username are only for email receivers")
        if len(set(self.severities)) != len(self.severities):
            raise ValueError("severities must not repeat")
        return self


class AlertRoutingConfig(Section):
    """The AlertmanagerConfig: route alerts by severity to receivers (none: no routing object)."""

    receivers: list[ReceiverConfig] = []
    group_by: Annotated[list[str], Field(min_length=1)] = ["alertname", "severity"]
    group_wait: Duration = "30s"
    group_interval: Duration = "5m"
    repeat_interval: Duration = "4h"

    @model_validator(mode="after")
    def _unique_names(self) -> AlertRoutingConfig:
        names = [r.name for r in self.receivers]
        if len(set(names)) != len(names):
            raise ValueError(f"receiver names must be unique, got {names}")
        return self


class GrafanaConfig(Section):
    """Grafana's PostgreSQL datasource on LiteLLM's spend tables (read as grafana_ro).

    The datasource is provisioned by an ESO-rendered Secret that Grafana's
    datasource sidecar imports; the spend dashboards reference it by `datasource_uid`.
    """

    datasource_uid: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")] = "llm-gateway-spend-pg"
    # No `$` (Grafana expands it in provisioning files) and no `{{` (ESO template).
    datasource_name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 ._()-]{1,100}$")] = (
        "LiteLLM spend (PostgreSQL)"
    )
    sslmode: Literal["disable", "require", "verify-ca", "verify-full"] = "require"
    # Grafana's jsonData.postgresVersion: major*100 (+ minor for 9.x), e.g. 1500 for 15+.
    postgres_version: Literal[903, 904, 905, 906, 1000, 1100, 1200, 1300, 1400, 1500] = 1500
