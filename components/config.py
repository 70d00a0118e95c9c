"""The typed stack configuration: one pydantic model for the `llm-gateway:` namespace.

Every difference between stacks is a setting here (principle 2), every key is
validated before a single resource is registered (principle 4), and a bad stack
file is answered by one `ConfigError` that names every bad key path, what was
expected and what was found.

Pulumi hands structured config to the program as JSON strings, one per
top-level key (`llm-gateway:gcp`, `llm-gateway:postgres`, ...). `read_namespace`
collects them; `parse_config` validates them; `load_stack_config` does both for
the running program.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import pulumi
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)

NAMESPACE = "llm-gateway"

# Config keys that hold secrets are read with `require_secret` where they are
# used; they are never part of the validated model (and never in a stack file).
SECRET_KEYS = frozenset({"postgresAdminPassword"})

FLOATING_TAGS = frozenset({"latest", "main", "main-latest", "main-stable", "stable", "edge", "nightly", "dev"})

_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$"

DnsLabel = Annotated[str, StringConstraints(pattern=_DNS_LABEL, min_length=1, max_length=63)]
GsmSecretId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,255}$")]
Quantity = Annotated[str, StringConstraints(pattern=_QUANTITY)]
GcpRegion = Annotated[str, StringConstraints(pattern=r"^[a-z]+-[a-z]+[0-9]+$")]
GcpLocation = Annotated[str, StringConstraints(pattern=r"^[a-z]+-[a-z]+[0-9]+(-[a-z])?$")]
Duration = Annotated[str, StringConstraints(pattern=r"^([0-9]+(s|m|h))+$")]


class ConfigError(pulumi.RunError):
    """Invalid stack configuration; Pulumi prints a `RunError` without a traceback."""


def _pinned_tag(tag: str) -> str:
    if tag.lower() in FLOATING_TAGS or not re.fullmatch(r"v?[0-9]+(\.[0-9]+)+([-+][0-9A-Za-z.-]+)?", tag):
        raise ValueError(f"must be an exact version such as 1.2.3, not the floating tag {tag!r}")
    for word in ("latest", "nightly"):
        if word in tag.lower():
            raise ValueError(f"must be an exact version, not the floating tag {tag!r}")
    return tag


def _pinned_image(image: str) -> str:
    if "@sha256:" in image:
        return image
    repo, sep, tag = image.rpartition(":")
    if not sep or "/" in tag or not repo:
        raise ValueError(f"must name an exact tag (repository:1.2.3), got {image!r}")
    _pinned_tag(tag)
    return image


PinnedVersion = Annotated[str, AfterValidator(_pinned_tag)]
PinnedImage = Annotated[str, AfterValidator(_pinned_image)]


class Section(BaseModel):
    """Base for every config section: strict, closed, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ResourceAmounts(Section):
    cpu: Quantity
    memory: Quantity


class Resources(Section):
    requests: ResourceAmounts
    limits: ResourceAmounts


class GcpConfig(Section):
    project: Annotated[str, StringConstraints(pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")]
    region: GcpRegion


class GkeConfig(Section):
    """The GKE cluster: Workload Identity needs its name and location."""

    cluster_name: DnsLabel
    location: GcpLocation
    # kubeconfig context the Kubernetes provider uses; defaults to the name
    # `gcloud container clusters get-credentials` writes, so a stack can never
    # be applied to whatever cluster happens to be the current context.
    kube_context: str | None = None


class NamespacesConfig(Section):
    gateway: DnsLabel
    grafana: DnsLabel
    create_gateway: bool = True


class StoreConfig(Section):
    """The ESO ClusterSecretStore: created here, or an existing one by name."""

    create: bool = True
    name: DnsLabel = "gcp-secret-manager"
    # create: true -> a Google service account with this account id is made for ESO.
    gsa_account_id: Annotated[str, StringConstraints(pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")] | None = None
    # create: false -> the existing store's Google service account (for per-secret grants).
    gsa_email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[-a-z0-9.]+\.iam\.gserviceaccount\.com$")] | None = (
        None
    )

    @model_validator(mode="after")
    def _one_identity(self) -> StoreConfig:
        if self.create and not self.gsa_account_id:
            raise ValueError("gsa_account_id is required when create is true")
        if self.create and self.gsa_email:
            raise ValueError("gsa_email is only for an existing store (create: false)")
        if not self.create and not self.gsa_email:
            raise ValueError("gsa_email (the existing store's service account) is required when create is false")
        return self


class EsoConfig(Section):
    """Where External Secrets Operator runs, and the KSA its store authenticates as."""

    namespace: DnsLabel = "external-secrets"
    service_account: DnsLabel = "llm-gateway-gsm"


class ReplicationConfig(Section):
    mode: Literal["automatic", "user_managed"]
    locations: list[GcpRegion] = []

    @model_validator(mode="after")
    def _locations(self) -> ReplicationConfig:
        if self.mode == "user_managed" and not self.locations:
            raise ValueError("user_managed replication needs at least one location")
        if self.mode == "automatic" and self.locations:
            raise ValueError("locations are only allowed with mode user_managed")
        if len(set(self.locations)) != len(self.locations):
            raise ValueError("locations must not repeat")
        return self


class SecretsConfig(Section):
    store: StoreConfig
    eso: EsoConfig = EsoConfig()
    replication: ReplicationConfig
    # GSM deletion protection on every secret the program creates.
    deletion_protection: bool
    refresh_interval: Duration = "1h"
    # Prefix for every GSM secret id (several deployments in one project).
    prefix: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{0,40}$")] = ""
    # Rotation generations: bump a number to replace that secret's value on purpose.
    rotation: dict[str, Annotated[int, Field(ge=0)]] = {}


class DataSafetyConfig(Section):
    """Resource options for stateful resources (database, buckets, GSM secrets)."""

    protect: bool
    retain_on_delete: bool


SqlIdentifier = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]{0,62}$")]
Hostname = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$", max_length=253)]
BucketName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][-a-z0-9_.]{1,61}[a-z0-9]$")]
GsaAccountId = Annotated[str, StringConstraints(pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")]
MIN_POSTGRES_MAJOR = 14


def _postgres_image(image: str) -> str:
    image = _pinned_image(image)
    tag = image.rpartition(":")[2]
    major = re.match(r"v?([0-9]+)", tag)
    if "@sha256:" not in image and (major is None or int(major.group(1)) < MIN_POSTGRES_MAJOR):
        raise ValueError(
            f"PostgreSQL {MIN_POSTGRES_MAJOR}+ is required (grafana_ro relies on pg_read_all_data), got tag {tag!r}"
        )
    return image


class CnpgConfig(Section):
    """A CloudNativePG Cluster in the gateway namespace."""

    name: DnsLabel = "litellm-pg"
    instances: Annotated[int, Field(ge=1, le=9)]
    image: Annotated[str, AfterValidator(_postgres_image)]
    storage_size: Quantity
    storage_class: DnsLabel | None = None
    resources: Resources
    parameters: dict[str, str] = {}
    enable_pdb: bool
    anti_affinity: Literal["preferred", "required"] = "preferred"


class ExternalPostgresConfig(Section):
    """An existing PostgreSQL server (e.g. a homelab one); the admin password is
    the stack secret `llm-gateway:postgresAdminPassword`."""

    host: Hostname
    port: Annotated[int, Field(ge=1, le=65535)] = 5432
    admin_user: Annotated[str, StringConstraints(min_length=1, max_length=63)]
    admin_database: Annotated[str, StringConstraints(min_length=1, max_length=63)] = "postgres"
    sslmode: Literal["disable", "require", "verify-ca", "verify-full"] = "require"
    # The server's limits, for the connection and storage budgets (components/budget.py).
    max_connections: Annotated[int, Field(ge=10, le=100000)] = 100
    superuser_reserved_connections: Annotated[int, Field(ge=0, le=100)] = 3
    storage_size: Quantity | None = None
    """The server's data volume; unset: the storage budget is printed but not enforced."""


class DatabaseBudgetConfig(Section):
    """Margins of the connection and storage budgets (components/budget.py)."""

    headroom_connections: Annotated[int, Field(ge=0, le=1000)] = 10
    """Left free for pods starting up, psql sessions and anything not counted."""
    storage_fill_target: Annotated[float, Field(gt=0, le=0.95)] = 0.8
    """The expected data plus WAL must fit this fraction of the volume."""


class GrafanaRoConfig(Section):
    connection_limit: Annotated[int, Field(ge=1, le=100)] = 5


class BackupConfig(Section):
    """barman-cloud plugin backups of the CNPG cluster to a GCS bucket."""

    enabled: bool = False
    bucket: BucketName | None = None
    location: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]+$")] = "EU"
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 30
    noncurrent_version_days: Annotated[int, Field(ge=1, le=3650)] = 7
    schedule: Annotated[str, StringConstraints(pattern=r"^(\S+\s+){5}\S+$")] = "0 0 3 * * *"
    gsa_account_id: GsaAccountId = "litellm-pg-backup"

    @model_validator(mode="after")
    def _bucket(self) -> BackupConfig:
        if self.enabled and not self.bucket:
            raise ValueError("bucket is required when backups are enabled")
        return self


class PostgresConfig(Section):
    engine: Literal["cnpg", "external"]
    database: SqlIdentifier = "litellm"
    owner: SqlIdentifier = "litellm"
    cnpg: CnpgConfig | None = None
    external: ExternalPostgresConfig | None = None
    grafana_ro: GrafanaRoConfig = GrafanaRoConfig()
    backup: BackupConfig = BackupConfig()
    budget: DatabaseBudgetConfig = DatabaseBudgetConfig()

    @model_validator(mode="after")
    def _engine_section(self) -> PostgresConfig:
        if self.engine == "cnpg" and self.cnpg is None:
            raise ValueError("engine cnpg needs the postgres.cnpg section")
        if self.engine == "external":
            if self.external is None:
                raise ValueError("engine external needs postgres.external.host and postgres.external.admin_user")
            if self.cnpg is not None:
                raise ValueError("postgres.cnpg is only for engine cnpg")
            if self.backup.enabled:
                raise ValueError("postgres.backup is for the CNPG engine; back up an external server where it runs")
        if self.engine == "cnpg" and self.external is not None:
            raise ValueError("postgres.external is only for engine external")
        return self


class MonitoringConfig(Section):
    """How kube-prometheus-stack finds our monitors, rules and dashboards."""

    prometheus_release: DnsLabel = "kube-prometheus-stack"
    # Grafana folder for the dashboards (kube-prometheus-stack's dashboard
    # sidecar reads it from the `grafana_folder` annotation when
    # `sidecar.dashboards.folderAnnotation: grafana_folder` is set).
    dashboard_folder: Annotated[str, StringConstraints(min_length=1, max_length=100)] = "LLM Gateway"


# --- alerts and alert routing (PrometheusRule + AlertmanagerConfig) ----------

Ratio = Annotated[float, Field(gt=0, le=1)]
PositiveFloat = Annotated[float, Field(gt=0)]
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
    # A key's or team's remaining budget under this percentage of its max budget.
    remaining_percent: Annotated[float, Field(gt=0, lt=100)] = 10.0
    remaining_for: Duration = "15m"


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


class AlertsConfig(Section):
    """Prometheus alert rules: thresholds and `for` durations per group (defaults are sensible)."""

    enabled: bool = True
    # Each alert's runbook_url is `<runbook_base_url>#alert-<alertname lowercase>`.
    runbook_base_url: Annotated[str, StringConstraints(pattern=r"^https://[^\s#]+$")] = (
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

    name: DnsLabel
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


EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,62}$")]
ModelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")]
Cidr = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$")]
HttpsUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$")]


class ModelConfig(Section):
    """One entry of LiteLLM's `model_list`."""

    name: ModelName
    """`model_name` clients ask for."""
    model: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]+/[^\s]+$")]
    """Provider model, `provider/model` (e.g. `openai/gpt-4o`)."""
    api_key: EnvVarName | None = None
    """Name of an entry of `litellm.provider_keys` (the env var the key is mounted as)."""
    api_base: HttpsUrl | None = None
    rpm: Annotated[int, Field(ge=1)] | None = None
    tpm: Annotated[int, Field(ge=1)] | None = None
    fallbacks: list[ModelName] = []


class ProviderKeyConfig(Section):
    """A provider API key kept in GSM by the platform team (never generated here)."""

    env: EnvVarName
    gsm_secret: GsmSecretId


class LiteLLMSettingsConfig(Section):
    json_logs: bool = True
    turn_off_message_logging: bool = True
    """Never store prompts/responses in spend logs."""
    cache: bool = False
    store_audit_logs: bool = True
    drop_params: bool = True
    request_timeout_seconds: Annotated[int, Field(ge=1, le=3600)] = 600
    num_retries: Annotated[int, Field(ge=0, le=10)] = 2
    default_key_max_budget: Annotated[float, Field(gt=0)] | None = None
    """USD budget of keys generated without one."""
    default_key_budget_duration: Annotated[str, StringConstraints(pattern=r"^[0-9]+[smhd]$")] | None = None
    max_key_budget: Annotated[float, Field(gt=0)] | None = None
    """Upper bound a generated key's budget may have."""
    prometheus_exclude_labels: list[Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*$")]] = [
        "end_user",
        "client_ip",
        "user_agent",
    ]
    """Labels dropped from every LiteLLM metric: caller-supplied, unbounded values
    (BerriAI/litellm#12159, #35666). LiteLLM refuses to start on a name it does not define."""
    prometheus_max_series_per_metric: Annotated[int, Field(ge=1)] | None = 5000
    """LiteLLM's `prometheus_metrics_max_series_per_metric`: label sets beyond it share one
    series labelled `other` (counters, histograms) or are skipped (gauges). Bounds the series a
    flood of made-up bearer tokens creates (each is a new `hashed_api_key`); null: no cap."""
    default_key_rpm_limit: Annotated[int, Field(ge=1)] | None = None
    default_key_tpm_limit: Annotated[int, Field(ge=1)] | None = None
    public_api_docs: bool = True
    """Serve Swagger (/), ReDoc (/redoc) and /openapi.json; false sets NO_DOCS/NO_REDOC/NO_OPENAPI."""
    routing_strategy: Literal["usage-based-routing-v2", "simple-shuffle"] = "usage-based-routing-v2"
    """usage-based-routing-v2 enforces each model's rpm/tpm (counted in Redis across processes when
    `redis` is set); simple-shuffle uses them as load-balancing weights only and enforces nothing."""


def _at_least_a_day(period: str) -> str:
    if period_seconds(period) < 86400:
        raise ValueError(
            "must be at least 1d: the dashboards read today's spend logs, and the cleanup deletes every row "
            f"older than this, got {period!r}"
        )
    return period


_PERIOD_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def period_seconds(period: str) -> int:
    """A LiteLLM duration ("30d", "12h", "2w") in seconds (litellm_core_utils/duration_parser)."""
    return int(period[:-1]) * _PERIOD_UNITS[period[-1]]


Period = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,4}[mhdw]$")]


class LiteLLMDatabaseConfig(Section):
    """How the proxy uses the stack's PostgreSQL: its connection pool and what it keeps
    (LiteLLM's general_settings; README "Scaling")."""

    connection_pool_limit: Annotated[int, Field(ge=1, le=100)] = 10
    """general_settings.database_connection_pool_limit: per worker process (LiteLLM's default 10)."""
    spend_logs_retention: Annotated[Period, AfterValidator(_at_least_a_day)] = "90d"
    """general_settings.maximum_spend_logs_retention_period: older LiteLLM_SpendLogs rows are deleted
    (the daily aggregate tables, which the dashboards read, keep their history)."""
    cleanup_interval: Period = "1d"
    """general_settings.maximum_spend_logs_retention_interval: how often the cleanup runs."""
    cleanup_batch_size: Annotated[int, Field(ge=100, le=100000)] = 1000
    """general_settings.maximum_spend_logs_cleanup_batch_size: rows per DELETE."""
    cleanup_max_batches: Annotated[int, Field(ge=1, le=100000)] = 500
    """general_settings.maximum_spend_logs_cleanup_max_batches: DELETEs per run."""
    expected_requests_per_day: Annotated[int, Field(ge=1)] = 10000
    """For the storage budget: requests (spend-log rows) a day at the busiest expected month."""
    daily_rows_per_day: Annotated[int, Field(ge=0)] = 2000
    """For the storage budget: rows a day in the daily aggregate tables (about one per
    active user x key x model, plus one per team x key x model)."""
    daily_history_days: Annotated[int, Field(ge=1, le=36500)] = 730
    """For the storage budget: how long the daily aggregate tables are planned to grow (never pruned)."""

    @model_validator(mode="after")
    def _interval_within_retention(self) -> LiteLLMDatabaseConfig:
        if period_seconds(self.cleanup_interval) > period_seconds(self.spend_logs_retention):
            raise ValueError("cleanup_interval must not be longer than spend_logs_retention")
        if period_seconds(self.cleanup_interval) < 3600:
            raise ValueError("cleanup_interval must be at least 1h (each run scans the spend logs)")
        return self


class NetworkConfig(Section):
    """Who may talk to the gateway, and where it may talk to."""

    client_namespaces: list[DnsLabel]
    """Namespaces whose pods may call the API (port 4000)."""
    prometheus_namespace: DnsLabel = "monitoring"
    ingress_controller_namespace: DnsLabel | None = None
    egress_cidrs: list[Cidr] = []
    """Model endpoints by CIDR (HTTPS only)."""
    egress_namespaces: list[DnsLabel] = []
    """In-cluster model servers by namespace."""


class IngressConfig(Section):
    enabled: bool = False
    host: Hostname | None = None
    class_name: DnsLabel = "nginx"
    cluster_issuer: DnsLabel | None = None
    """cert-manager ClusterIssuer for the TLS certificate."""

    @model_validator(mode="after")
    def _complete(self) -> IngressConfig:
        if self.enabled and (not self.host or not self.cluster_issuer):
            raise ValueError("an enabled ingress needs host and cluster_issuer")
        return self


class AutoscalingConfig(Section):
    enabled: bool = False
    min_replicas: Annotated[int, Field(ge=1, le=100)] = 2
    max_replicas: Annotated[int, Field(ge=1, le=100)] = 10
    target_cpu_percent: Annotated[int, Field(ge=10, le=100)] = 60

    @model_validator(mode="after")
    def _bounds(self) -> AutoscalingConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas must not exceed max_replicas")
        return self


class LiteLLMConfig(Section):
    """The LiteLLM proxy Helm release."""

    release_name: DnsLabel = "litellm"
    chart: Annotated[str, StringConstraints(pattern=r"^oci://[^\s]+$")] = "oci://ghcr.io/berriai/litellm-helm"
    chart_version: PinnedVersion
    image: PinnedImage
    replicas: Annotated[int, Field(ge=1, le=100)]
    num_workers: Annotated[int, Field(ge=1, le=32)] = 1
    resources: Resources
    migration_resources: Resources
    autoscaling: AutoscalingConfig = AutoscalingConfig()
    pdb_min_available: Annotated[int, Field(ge=1)] | None = None
    spread_across_nodes: bool = False
    metrics_port: Annotated[int, Field(ge=1024, le=65535)] = 4001
    models: Annotated[list[ModelConfig], Field(min_length=1)]
    provider_keys: list[ProviderKeyConfig] = []
    settings: LiteLLMSettingsConfig = LiteLLMSettingsConfig()
    database: LiteLLMDatabaseConfig = LiteLLMDatabaseConfig()
    network: NetworkConfig
    ingress: IngressConfig = IngressConfig()

    @model_validator(mode="after")
    def _references(self) -> LiteLLMConfig:
        problems = []
        names = [m.name for m in self.models]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            problems.append(f"models: model name used twice: {twice}")
        keys = [k.env for k in self.provider_keys]
        if len(set(keys)) != len(keys):
            problems.append("provider_keys: env names must be unique")
        for i, m in enumerate(self.models):
            for fb in m.fallbacks:
                if fb not in names or fb == m.name:
                    problems.append(f"models[{i}].fallbacks: {fb!r} is not another model of models[].name")
            if m.api_key is not None and m.api_key not in keys:
                problems.append(f"models[{i}].api_key: {m.api_key!r} is not in provider_keys[].env {keys}")
        if self.pdb_min_available is not None:
            floor = self.autoscaling.min_replicas if self.autoscaling.enabled else self.replicas
            if self.pdb_min_available >= floor:
                problems.append(
                    f"pdb_min_available ({self.pdb_min_available}) must be below the replica floor ({floor}), "
                    "or no node could ever be drained"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self


# --- Langfuse v3 (tracing) -----------------------------------------------------


def _amounts(cpu: str, memory: str) -> ResourceAmounts:
    return ResourceAmounts(cpu=cpu, memory=memory)


def _same(cpu: str, memory: str) -> Resources:
    """Requests equal to limits (Guaranteed QoS): what Langfuse's sizing guide lists."""
    return Resources(requests=_amounts(cpu, memory), limits=_amounts(cpu, memory))


class LangfuseWorkload(Section):
    """A Langfuse Deployment (web or worker): replicas and per-pod resources."""

    replicas: Annotated[int, Field(ge=1, le=20)] = 1
    resources: Resources = _same("2", "4Gi")


class ZookeeperConfig(Section):
    """ClickHouse's coordination ensemble: only deployed with ClickHouse replicas > 1."""

    replicas: Literal[3, 5] = 3
    resources: Resources = _same("250m", "512Mi")


class ClickHouseConfig(Section):
    """The chart's ClickHouse subchart (Bitnami). One replica runs with cluster mode off."""

    replicas: Annotated[int, Field(ge=1, le=9)] = 1
    resources: Resources = _same("2", "8Gi")
    storage_size: Quantity = "20Gi"
    zookeeper: ZookeeperConfig = ZookeeperConfig()


class ValkeyConfig(Section):
    """The chart's Valkey subchart (alias redis), standalone, `maxmemory-policy noeviction`."""

    resources: Resources = _same("1", "1536Mi")
    storage_size: Quantity = "8Gi"


class MinioConfig(Section):
    """The chart's MinIO subchart (alias s3), standalone."""

    resources: Resources = _same("2", "4Gi")
    storage_size: Quantity = "20Gi"


class LangfuseGcsConfig(Section):
    """GCS instead of MinIO: a bucket, a service account with access to it only, HMAC credentials."""

    bucket: BucketName
    location: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]+$")] = "EU"
    gsa_account_id: GsaAccountId = "langfuse-blob"


class LangfuseInitConfig(Section):
    """Headless initialization (LANGFUSE_INIT_*): the organization and project LiteLLM writes to."""

    org_id: DnsLabel = "llm-gateway"
    org_name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 ._-]{1,60}$")] = "LLM Gateway"
    project_id: DnsLabel = "litellm"
    project_name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 ._-]{1,60}$")] = "LiteLLM"
    admin_email: Annotated[str, StringConstraints(pattern=r"^[^@\s,]+@[^@\s,]+$")] | None = None
    """An initial admin user (password generated into GSM); none: create users by SSO or sign-up."""


class LangfuseConfig(Section):
    """Self-hosted Langfuse v3: the chart with ClickHouse, Valkey and MinIO (or GCS) subcharts,
    its PostgreSQL database in the stack's database layer. Defaults are Langfuse's minimum sizing."""

    enabled: bool = False
    release_name: DnsLabel = "langfuse"
    repository: HttpsUrl = "https://langfuse.github.io/langfuse-k8s"
    chart_version: PinnedVersion = "1.5.41"
    database: SqlIdentifier = "langfuse"
    owner: SqlIdentifier = "langfuse"
    web: LangfuseWorkload = LangfuseWorkload()
    worker: LangfuseWorkload = LangfuseWorkload()
    clickhouse: ClickHouseConfig = ClickHouseConfig()
    valkey: ValkeyConfig = ValkeyConfig()
    blob_storage: Literal["minio", "gcs"] = "minio"
    minio: MinioConfig = MinioConfig()
    gcs: LangfuseGcsConfig | None = None
    init: LangfuseInitConfig = LangfuseInitConfig()
    ingress_host: Hostname | None = None
    """The UI's host name (TLS, same class and cert-manager issuer as the gateway's ingress)."""
    sign_up_disabled: bool = True
    database_connection_limit: Annotated[int, Field(ge=1, le=100)] = 5
    """Prisma `connection_limit` of each web and worker pod (DATABASE_ARGS); Prisma's default,
    2 x the node's CPUs + 1, would follow the node size instead of the connection budget."""

    @model_validator(mode="after")
    def _blob(self) -> LangfuseConfig:
        if self.blob_storage == "gcs" and self.gcs is None:
            raise ValueError("blob_storage gcs needs the langfuse.gcs section (bucket)")
        if self.blob_storage == "minio" and self.gcs is not None:
            raise ValueError("langfuse.gcs is only for blob_storage gcs")
        return self


# --- single sign-on for the admin UI (oauth2-proxy) ----------------------------

OidcClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:@/-]{1,255}$")]
# No comma (oauth2-proxy splits list flags on commas) and no braces (ESO templates).
OidcGroup = Annotated[str, StringConstraints(pattern=r"^[^,{}\s]([^,{}]{0,253}[^,{}\s])?$")]
IssuerUrl = Annotated[str, StringConstraints(pattern=r"^https://[^\s{}]+$")]
OidcScope = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:/-]{1,100}$")]
# The chart takes image.registry, image.repository and image.tag: a registry host and a tag, no digest.
RegistryImage = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9-]+(\.[a-z0-9-]+)+(:[0-9]+)?/[a-z0-9._/-]+:[A-Za-z0-9._+-]+$"),
    AfterValidator(_pinned_image),
]


def _required_when_enabled(value: Any, info: ValidationInfo) -> Any:
    if value is None and info.data.get("enabled"):
        raise ValueError("required when sso.enabled is true")
    return value


class SsoConfig(Section):
    """oauth2-proxy in front of LiteLLM's admin UI (/ui and /oauth2 on the gateway's ingress host),
    against the company's OIDC identity provider. API clients keep using virtual keys."""

    enabled: bool = False
    provider: Literal["oidc", "keycloak-oidc"] = "oidc"
    issuer_url: Annotated[IssuerUrl | None, AfterValidator(_required_when_enabled)] = Field(
        default=None, validate_default=True
    )
    """The OIDC issuer (`<issuer>/.well-known/openid-configuration` must answer)."""
    client_id: Annotated[OidcClientId | None, AfterValidator(_required_when_enabled)] = Field(
        default=None, validate_default=True
    )
    client_secret_gsm_secret: Annotated[GsmSecretId | None, AfterValidator(_required_when_enabled)] = Field(
        default=None, validate_default=True
    )
    """GSM secret id of the OIDC client secret (created by the identity team; never a value here)."""
    allowed_email_domains: list[Hostname] = []
    allowed_groups: list[OidcGroup] = []
    """Values of the ID token's `groups` claim; any one of them admits a user."""
    scopes: Annotated[list[OidcScope], Field(min_length=1)] = ["openid", "email", "profile"]
    """OIDC scopes requested (add `groups` where the provider only sends the claim when asked)."""
    release_name: DnsLabel = "oauth2-proxy"
    repository: HttpsUrl = "https://oauth2-proxy.github.io/manifests"
    chart_version: PinnedVersion = "10.8.0"
    image: RegistryImage = "quay.io/oauth2-proxy/oauth2-proxy:v7.15.3"
    replicas: Annotated[int, Field(ge=1, le=10)] = 1
    resources: Resources = Resources(
        requests=ResourceAmounts(cpu="50m", memory="64Mi"), limits=ResourceAmounts(cpu="200m", memory="128Mi")
    )
    cookie_expire: Duration = "12h"
    idp_egress_cidrs: Annotated[list[Cidr], Field(min_length=1)] = ["0.0.0.0/0"]
    """Where oauth2-proxy may reach the identity provider (TCP 443 only)."""

    @model_validator(mode="after")
    def _who_may_log_in(self) -> SsoConfig:
        if self.enabled and not self.allowed_email_domains and not self.allowed_groups:
            raise ValueError(
                "an enabled sso needs allowed_email_domains or allowed_groups "
                "(with neither, every account of the identity provider could administer the gateway)"
            )
        return self


# --- shared state for many proxy processes (Redis) -----------------------------

GcpNetwork = Annotated[
    str,
    StringConstraints(
        pattern=r"^projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/global/networks/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
    ),
]
REDIS_NEEDED = (
    "LiteLLM keeps rpm/tpm counters, cooldowns, cache hits and key revocations per process without Redis: "
    "with {processes} processes a limit lets up to {processes} times its value through"
)


class MemorystoreConfig(Section):
    """Google Memorystore for Redis (`gcp.redis.Instance`): AUTH on, TLS in transit (server
    authentication), reachable only from `authorized_network`. The AUTH string is Google's."""

    name: DnsLabel = "litellm-redis"
    tier: Literal["BASIC", "STANDARD_HA"] = "STANDARD_HA"
    """STANDARD_HA: a replica in another zone with automatic failover; BASIC: one node, no SLA."""
    memory_size_gb: Annotated[int, Field(ge=1, le=300)] = 1
    redis_version: Annotated[str, StringConstraints(pattern=r"^REDIS_[0-9]+_[0-9X]+$")] = "REDIS_7_2"
    authorized_network: GcpNetwork | None = None
    """The GKE cluster's VPC (`projects/<project>/global/networks/<name>`): the only network that reaches it."""
    connect_mode: Literal["DIRECT_PEERING", "PRIVATE_SERVICE_ACCESS"] = "DIRECT_PEERING"
    """PRIVATE_SERVICE_ACCESS needs private services access set up on the VPC (Shared VPC)."""


class InClusterRedisConfig(Section):
    """Valkey (Bitnami chart, standalone) in the gateway namespace; password from GSM through ESO."""

    release_name: DnsLabel = "litellm-redis"
    chart: Annotated[str, StringConstraints(pattern=r"^oci://[^\s]+$")] = (
        "oci://registry-1.docker.io/bitnamicharts/valkey"
    )
    chart_version: PinnedVersion = "2.2.4"
    """The Bitnami valkey chart version Langfuse's chart 1.5.41 vendors (app Valkey 8.0.2)."""
    auth: bool = True
    """Must stay true: refused otherwise (anything in the namespace could read or poison the state)."""
    resources: Resources = Resources(
        requests=ResourceAmounts(cpu="100m", memory="256Mi"), limits=ResourceAmounts(cpu="500m", memory="512Mi")
    )
    storage_size: Quantity = "1Gi"


class RedisConfig(Section):
    """Shared state for LiteLLM's processes: router rpm/tpm counters and cooldowns, the response
    cache, and the spend transaction buffer. Required as soon as replicas (or the HPA maximum)
    x num_workers exceeds 1."""

    mode: Literal["none", "memorystore", "in_cluster"] = "none"
    memorystore: MemorystoreConfig = MemorystoreConfig()
    in_cluster: InClusterRedisConfig = InClusterRedisConfig()

    @model_validator(mode="after")
    def _complete(self) -> RedisConfig:
        if self.mode == "memorystore" and self.memorystore.authorized_network is None:
            raise ValueError(
                "mode memorystore needs redis.memorystore.authorized_network (the GKE cluster's VPC, "
                "projects/<project>/global/networks/<name>): without it the instance is on no network the pods reach"
            )
        if self.mode == "in_cluster" and not self.in_cluster.auth:
            raise ValueError(
                "redis.in_cluster.auth must be true: an in-cluster Redis without a password lets any pod that "
                "reaches it read cached responses and reset rate limits"
            )
        return self


class StackConfig(Section):
    """The whole `llm-gateway:` namespace of a stack file."""

    gcp: GcpConfig
    gke: GkeConfig
    namespaces: NamespacesConfig
    secrets: SecretsConfig
    data_safety: DataSafetyConfig
    postgres: PostgresConfig
    monitoring: MonitoringConfig = MonitoringConfig()
    grafana: GrafanaConfig = GrafanaConfig()
    alerts: AlertsConfig = AlertsConfig()
    alertmanager: AlertRoutingConfig = AlertRoutingConfig()
    litellm: LiteLLMConfig
    langfuse: LangfuseConfig = LangfuseConfig()
    sso: SsoConfig = SsoConfig()
    redis: RedisConfig = RedisConfig()
    # The cluster's allocatable CPU and memory for this program's workloads: the
    # stack's summed requests (components/footprint.py) must fit, or parse fails.
    capacity: ResourceAmounts

    @property
    def kube_context(self) -> str:
        return self.gke.kube_context or f"gke_{self.gcp.project}_{self.gke.location}_{self.gke.cluster_name}"

    @model_validator(mode="after")
    def _rotation_names_known(self) -> StackConfig:
        from components.inventory import secret_inventory

        specs = {spec.key: spec for spec in secret_inventory(self)}
        unknown = sorted(set(self.secrets.rotation) - set(specs))
        if unknown:
            raise ValueError(f"secrets.rotation names unknown secrets {unknown}; known: {sorted(specs)}")
        fixed = sorted(k for k in self.secrets.rotation if specs[k].rotation != "generation")
        if fixed:
            raise ValueError(
                f"secrets.rotation must not name {fixed}: stored data depends on them or they rotate outside "
                "the program (README, Secrets inventory)"
            )
        return self

    @model_validator(mode="after")
    def _shared_state(self) -> StackConfig:
        lit = self.litellm
        pods = lit.autoscaling.max_replicas if lit.autoscaling.enabled else lit.replicas
        processes = pods * lit.num_workers
        if processes > 1 and self.redis.mode == "none":
            what = "autoscaling.max_replicas" if lit.autoscaling.enabled else "replicas"
            raise ValueError(
                f"redis.mode none with litellm.{what} ({pods}) x litellm.num_workers ({lit.num_workers}) = "
                f"{processes} processes; set redis.mode memorystore or in_cluster. "
                + REDIS_NEEDED.format(processes=processes)
            )
        return self

    @model_validator(mode="after")
    def _langfuse_ingress(self) -> StackConfig:
        lf = self.langfuse
        if lf.enabled and lf.ingress_host and not self.litellm.ingress.cluster_issuer:
            raise ValueError(
                "langfuse.ingress_host needs litellm.ingress.cluster_issuer (the UI's TLS uses the gateway's issuer)"
            )
        return self

    @model_validator(mode="after")
    def _sso_behind_the_ingress(self) -> StackConfig:
        if not self.sso.enabled:
            return self
        missing = []
        if not self.litellm.ingress.enabled:
            missing.append("litellm.ingress.enabled (the UI is served on the gateway's ingress host)")
        if not self.litellm.network.ingress_controller_namespace:
            missing.append("litellm.network.ingress_controller_namespace (the only client of oauth2-proxy)")
        if missing:
            raise ValueError("sso.enabled needs " + " and ".join(missing))
        return self


def _describe(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _key(part: str | int) -> str:
    """A path element, quoted when it would be ambiguous or unprintable."""
    text = str(part)
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else json.dumps(text)


def _format_errors(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors(include_url=False):
        path = ".".join(_key(part) for part in err["loc"] if not str(part).startswith("function-"))
        where = f"{NAMESPACE}:{path}" if path else NAMESPACE
        kind = err["type"]
        if kind == "extra_forbidden":
            lines.append(f"  - {where}: unknown key (not part of the config schema)")
        elif kind == "missing":
            lines.append(f"  - {where}: required key is missing")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"  - {where}: {msg} (got {_describe(err['input'])})")
    return f"invalid stack config ({len(lines)} problem{'s' if len(lines) != 1 else ''}):\n" + "\n".join(lines)


def parse_config(raw: Mapping[str, Any], secrets_present: frozenset[str] = frozenset()) -> StackConfig:
    """Validate the decoded namespace; raise one ConfigError listing every problem.

    `secrets_present` names the stack secrets (SECRET_KEYS) that are set; their
    values are never read here.
    """
    try:
        cfg = StackConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc)) from None
    if cfg.postgres.engine == "external" and "postgresAdminPassword" not in secrets_present:
        raise ConfigError(
            "invalid stack config (1 problem):\n"
            f"  - {NAMESPACE}:postgresAdminPassword: required secret for postgres.engine external is not set "
            f"(pulumi config set --secret {NAMESPACE}:postgresAdminPassword)"
        )
    from components.footprint import capacity_problem

    problem = capacity_problem(cfg)
    if problem is not None:
        raise ConfigError(f"invalid stack config (1 problem):\n  - {NAMESPACE}:capacity: {problem}")
    from components.budget import budget_problems

    problems = budget_problems(cfg)
    if problems:
        lines = "\n".join(f"  - {NAMESPACE}:{key}: {text}" for key, text in problems)
        raise ConfigError(
            f"invalid stack config ({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n{lines}"
        )
    return cfg


def read_namespace(values: Mapping[str, Any]) -> dict[str, Any]:
    """Decode the `llm-gateway:*` entries of Pulumi's flat config map.

    Each top-level key is a section; Pulumi passes it as a JSON string.
    """
    out: dict[str, Any] = {}
    problems = []
    prefix = f"{NAMESPACE}:"
    for full_key, value in sorted(values.items()):
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        if key in SECRET_KEYS:
            continue
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                problems.append(f"  - {full_key}: expected a mapping (a config section), got {_describe(value)}")
                continue
        out[key] = value
    if problems:
        raise ConfigError("invalid stack config:\n" + "\n".join(problems))
    return out


def load_stack_config() -> StackConfig:
    """The running program's config: Pulumi's config map, validated."""
    from pulumi.runtime import config as runtime_config

    values: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    present = frozenset(key for key in SECRET_KEYS if values.get(f"{NAMESPACE}:{key}"))
    return parse_config(read_namespace(values), present)
