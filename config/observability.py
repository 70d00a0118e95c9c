"""`monitoring`, `alerts`, `alertmanager` and `grafana`: how the stack is watched."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from config.durations import DurationRange, duration_seconds
from config.litellm_network import LabelKey, LabelValue
from config.types import (
    ConfigProblemError,
    DnsLabel,
    EmailAddress,
    GsmSecretId,
    Ratio,
    ReleaseName,
    Section,
    SslMode,
    pattern,
    refuse,
    rfc1123_host,
)


class MonitoringConfig(Section):
    """How kube-prometheus-stack finds our monitors, rules and dashboards."""

    prometheus_release: ReleaseName = Field(
        default="kube-prometheus-stack",
        description=(
            "kube-prometheus-stack's release: the `release` label its Prometheus selects monitors and rules by."
        ),
    )
    # Grafana folder for the dashboards (kube-prometheus-stack's dashboard
    # sidecar reads it from the `grafana_folder` annotation when
    # `sidecar.dashboards.folderAnnotation: grafana_folder` is set).
    dashboard_folder: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        default="LLM Gateway",
        description="Grafana folder of the dashboards (the `grafana_folder` annotation the dashboard sidecar reads).",
    )


# --- alerts and alert routing (PrometheusRule + AlertmanagerConfig) ----------


Severity = Literal["critical", "warning", "info"]

AlertFor = Annotated[
    str, DurationRange("0s", "24h", "a condition must not have to hold for more than a day before anyone is told")
]
"""An alert rule's `for` (Prometheus): how long its condition holds before it fires; 0s fires at once."""
GroupWait = Annotated[str, DurationRange("0s", "1h", "a new alert group's first notification waits this long")]
GroupInterval = Annotated[
    str, DurationRange("1s", "24h", "Alertmanager refuses 0s; a group's changes wait this long to be sent")
]
RepeatInterval = Annotated[
    str,
    DurationRange(
        "1s",
        "120h",
        "Alertmanager refuses 0s, and forgets what it sent after its data retention, 120h by default "
        "(--data.retention): a longer interval repeats sooner than set",
    ),
]
LabelName = Annotated[
    str,
    pattern(
        r"^([a-zA-Z_][a-zA-Z0-9_]*|\.\.\.)$",
        "a label name ([a-zA-Z_][a-zA-Z0-9_]*) or '...' (group by every label), e.g. alertname",
    ),
]
"""An Alertmanager `group_by` entry: a Prometheus label name, or `...` alone (Alertmanager's
config.go, Route.UnmarshalYAML: invalid label names, `...` beside other labels and repeats are refused)."""


class AvailabilityAlerts(Section):
    gateway_down_for: AlertFor = Field(
        default="2m", description="How long no proxy is up before LiteLLMGatewayDown fires."
    )
    readiness_for: AlertFor = Field(
        default="10m", description="How long replicas are unavailable before the readiness alert fires."
    )


class PerformanceAlerts(Section):
    latency_p95_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=30.0,
        description="p95 request latency above which the latency alert fires (at most an hour, the longest timeout).",
    )
    latency_for: AlertFor = Field(default="10m", description="How long the latency stays above the threshold first.")
    error_rate_warning: Ratio = Field(
        default=0.05, description="Failed / total requests over 5 minutes for the warning (below error_rate_critical)."
    )
    error_rate_critical: Ratio = Field(
        default=0.2, description="Failed / total requests over 5 minutes for the critical alert."
    )
    error_rate_for: AlertFor = Field(default="5m", description="How long the error rate stays above a threshold first.")

    @model_validator(mode="after")
    def _ordered(self) -> PerformanceAlerts:
        if self.error_rate_warning >= self.error_rate_critical:
            raise ValueError("error_rate_warning must be lower than error_rate_critical")
        return self


class UsageAlerts(Section):
    key_requests_per_second: Annotated[float, Field(gt=0, le=100_000)] = Field(
        default=10.0, description="Requests per second from a single API key (abuse or a runaway client)."
    )
    key_requests_for: AlertFor = Field(default="10m", description="How long a key stays above the request rate first.")
    key_tokens_per_hour: Annotated[int, Field(ge=1, le=10**12)] = Field(
        default=2_000_000, description="Tokens one API key consumes in a rolling hour."
    )
    key_tokens_for: AlertFor = Field(default="15m", description="How long a key stays above the token rate first.")


class CostAlerts(Section):
    daily_spend_usd: Annotated[float, Field(gt=0, le=10**9)] = Field(
        default=100.0, description="USD over a rolling 24 hours, all keys and models together."
    )
    daily_spend_for: AlertFor = Field(
        default="15m", description="How long the daily spend stays above the threshold first."
    )
    spike_factor: Annotated[float, Field(gt=1, le=1000)] = Field(
        default=3.0, description="A spike: the last hour's spend above this many times the hour before."
    )
    spike_min_usd_per_hour: Annotated[float, Field(gt=0, le=10**8)] = Field(
        default=5.0, description="Floor of the spike alert: hours spending less never count as a spike."
    )
    spike_for: AlertFor = Field(default="15m", description="How long a spike lasts before the alert fires.")


class BudgetAlerts(Section):
    used_percent: Annotated[list[Annotated[float, Field(gt=0, le=100)]], Field(min_length=3, max_length=3)] = Field(
        default=[
            80.0,
            95.0,
            100.0,
        ],
        description=(
            "Tiers of spend as a percentage of a key's or team's max budget: info, warning, critical (three increasing "
            "numbers)."
        ),
    )
    used_for: AlertFor = Field(default="5m", description="How long a key or team stays in a tier first.")

    @model_validator(mode="after")
    def _increasing(self) -> BudgetAlerts:
        low, mid, high = self.used_percent
        if not low < mid < high:
            raise ValueError("used_percent must be three increasing percentages, e.g. [80, 95, 100]")
        return self


class ProviderAlerts(Section):
    failure_ratio: Ratio = Field(default=0.25, description="Share of failed requests to a provider deployment.")
    failure_for: AlertFor = Field(
        default="10m", description="How long the failure share stays above the threshold first."
    )
    rate_limited_per_minute: Annotated[float, Field(gt=0, le=10**6)] = Field(
        default=5.0, description="HTTP 429 answers from a provider deployment, per minute."
    )
    rate_limited_for: AlertFor = Field(
        default="10m", description="How long the 429 rate stays above the threshold first."
    )
    outage_failure_ratio: Ratio = Field(
        default=0.9,
        description=(
            "A deployment is in outage when this share of its requests failed over 5 minutes (fires for "
            "single-deployment model groups, which LiteLLM does not cool down)."
        ),
    )
    outage_min_requests: Annotated[int, Field(ge=1, le=10**6)] = Field(
        default=5, description="Requests over 5 minutes a deployment needs before it can be in outage."
    )
    outage_for: AlertFor = Field(default="5m", description="How long an outage lasts before the alert fires.")


class DatabaseAlerts(Section):
    instance_down_for: AlertFor = Field(
        default="5m", description="How long a CNPG instance is down before the alert fires."
    )
    replication_lag_seconds: Annotated[float, Field(gt=0, le=86400)] = Field(
        default=30.0, description="Replica lag above which the replication alert fires."
    )
    replication_lag_for: AlertFor = Field(default="5m", description="How long the lag stays above the threshold first.")
    wal_archiving_for: AlertFor = Field(
        default="10m", description="How long WAL archiving fails before the alert fires."
    )
    backup_failed_for: AlertFor = Field(
        default="5m", description="How long a failed backup is reported before the alert fires."
    )
    backup_max_age_hours: Annotated[int, Field(ge=1, le=8760)] = Field(
        default=26,
        description=(
            "Age of the last successful backup that fires the stale-backup alert (one daily schedule plus slack)."
        ),
    )
    connections_ratio: Ratio = Field(
        default=0.8, description="Used / max_connections above which the connections alert fires."
    )
    connections_for: AlertFor = Field(
        default="10m", description="How long the connections stay above the threshold first."
    )
    volume_fill_ratio: Ratio = Field(
        default=0.85, description="Used / capacity of a CNPG data or WAL volume (kubelet volume stats)."
    )
    volume_for: AlertFor = Field(default="15m", description="How long a volume stays above the threshold first.")


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

    enabled: bool = Field(default=True, description="Render the PrometheusRule.")
    runbook_base_url: Annotated[str, AfterValidator(_runbook_url)] = Field(
        default="https://github.com/acme/llm-gateway/blob/main/docs/alerts.md",
        description="Each alert's runbook_url is <runbook_base_url>#alert-<alertname lowercase> (docs/alerts.md).",
    )
    availability: AvailabilityAlerts = Field(default=AvailabilityAlerts(), description="Gateway availability alerts.")
    performance: PerformanceAlerts = Field(default=PerformanceAlerts(), description="Latency and error-rate alerts.")
    usage: UsageAlerts = Field(default=UsageAlerts(), description="Per-key request and token rate alerts.")
    cost: CostAlerts = Field(default=CostAlerts(), description="Spend alerts.")
    budgets: BudgetAlerts = Field(default=BudgetAlerts(), description="Key and team budget alerts.")
    providers: ProviderAlerts = Field(default=ProviderAlerts(), description="Provider deployment alerts.")
    database: DatabaseAlerts = Field(default=DatabaseAlerts(), description="CNPG alerts (none for an external server).")


class ReceiverConfig(Section):
    """One Alertmanager receiver. Its credential lives in GSM (created by the on-call team)."""

    name: Annotated[DnsLabel, StringConstraints(max_length=50)] = Field(
        description="The receiver's name (50 at most: its ExternalSecret alertmanager-<name> is a label value)."
    )
    type: Literal["slack", "email", "webhook"] = Field(description="How alerts are delivered.")
    gsm_secret: GsmSecretId = Field(
        description=(
            "GSM secret holding the Slack webhook URL, the SMTP password or the webhook URL (created by the on-call "
            "team)."
        )
    )
    severities: Annotated[list[Severity], Field(min_length=1)] = Field(
        description="The severities routed to this receiver."
    )
    send_resolved: bool = Field(default=True, description="Also notify when an alert resolves.")
    channel: Annotated[str, pattern(r"^[#@]?[A-Za-z0-9._-]{1,80}$", "a Slack channel, e.g. '#llm-alerts'")] | None = (
        Field(default=None, description="slack: the channel.")
    )
    to: EmailAddress | None = Field(default=None, description="email: the recipient address.")
    from_address: EmailAddress | None = Field(default=None, description="email: the sender address.")
    smarthost: (
        Annotated[str, pattern(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$", "host:port, e.g. smtp.example.com:587")] | None
    ) = Field(default=None, description="email: the SMTP server, host:port.")
    auth_username: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="email: the SMTP user (its password is the GSM secret)."
    )

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

    receivers: list[ReceiverConfig] = Field(
        default=[], description="Alertmanager receivers (none: no AlertmanagerConfig)."
    )
    group_by: Annotated[list[LabelName], Field(min_length=1)] = Field(
        default=["alertname", "severity"],
        description="Labels alerts are grouped by: label names, each once, or `...` alone (every label).",
    )
    group_wait: GroupWait = Field(default="30s", description="Alertmanager group_wait.")
    group_interval: GroupInterval = Field(default="5m", description="Alertmanager group_interval.")
    repeat_interval: RepeatInterval = Field(
        default="4h", description="Alertmanager repeat_interval (not shorter than group_interval)."
    )

    @field_validator("group_by")
    @classmethod
    def _group_by(cls, labels: list[str]) -> list[str]:
        problems = [
            (f"[{i}]", f"{label!r} is already group_by[{labels.index(label)}] (Alertmanager refuses a repeated label)")
            for i, label in enumerate(labels)
            if labels.index(label) != i
        ]
        if "..." in labels and len(labels) > 1:
            problems.append(
                (
                    f"[{labels.index('...')}]",
                    "'...' (every label) must be the only entry: Alertmanager refuses it beside labels",
                )
            )
        refuse(problems)
        return labels

    @model_validator(mode="after")
    def _unique_names(self) -> AlertRoutingConfig:
        names = [r.name for r in self.receivers]
        if len(set(names)) != len(names):
            raise ValueError(f"receiver names must be unique, got {names}")
        return self

    @model_validator(mode="after")
    def _repeat_after_group(self) -> AlertRoutingConfig:
        if duration_seconds(self.repeat_interval) < duration_seconds(self.group_interval):
            raise ConfigProblemError(
                [
                    (
                        "repeat_interval",
                        f"{self.repeat_interval} is shorter than group_interval ({self.group_interval}): Alertmanager "
                        "repeats no sooner than the next group_interval",
                    )
                ]
            )
        return self


class GrafanaConfig(Section):
    """Grafana's PostgreSQL datasource on LiteLLM's spend tables (read as grafana_ro).

    The datasource is provisioned by an ESO-rendered Secret that Grafana's
    datasource sidecar imports; the spend dashboards reference it by `datasource_uid`.
    """

    datasource_uid: Annotated[str, pattern(r"^[A-Za-z0-9_-]{1,40}$", "a Grafana uid, e.g. llm-gateway-spend-pg")] = (
        Field(
            default="llm-gateway-spend-pg",
            description="uid of the provisioned PostgreSQL datasource (the spend dashboards reference it).",
        )
    )
    # No `$` (Grafana expands it in provisioning files) and no `{{` (ESO template).
    datasource_name: Annotated[
        str, pattern(r"^[A-Za-z0-9 ._()-]{1,100}$", "a display name, e.g. 'LiteLLM spend (PostgreSQL)'")
    ] = Field(
        default="LiteLLM spend (PostgreSQL)",
        description="Name of the datasource (no $ or {{: provisioning and ESO templates would expand them).",
    )
    sslmode: SslMode | None = Field(
        default=None,
        description=(
            "The datasource's sslmode (jsonData); unset: the database's (verify-full against the server's CA, "
            "which the datasource carries, whenever the CA is known)."
        ),
    )
    pod_labels: Annotated[dict[LabelKey, LabelValue], Field(min_length=1)] = Field(
        default={"app.kubernetes.io/name": "grafana"},
        description=(
            "Labels of Grafana's pods (kube-prometheus-stack's Grafana sets this one): the only pods of "
            "namespaces.grafana the CNPG instances admit on 5432."
        ),
    )
    postgres_version: Literal[903, 904, 905, 906, 1000, 1100, 1200, 1300, 1400, 1500] = Field(
        default=1500,
        description="Grafana's jsonData.postgresVersion: major x 100 (+ minor for 9.x), e.g. 1500 for 15+.",
    )
