"""The typed stack configuration: one pydantic model for the `llm-gateway:` namespace.

Every difference between stacks is a setting here ("Settings, not stack names" in
docs/design.md), every key is validated before a single resource is registered
("Refuse bad config early"), and a bad stack
file is answered by one `ConfigError` that names every bad key path, what was
expected and what was found.

Pulumi hands structured config to the program as JSON strings, one per
top-level key (`llm-gateway:gcp`, `llm-gateway:postgres`, ...). `read_namespace`
collects them; `parse_config` validates them; `load_stack_config` does both for
the running program.
"""

from __future__ import annotations

import ipaddress
import json
import re
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import pulumi
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

NAMESPACE = "llm-gateway"

# Config keys that hold secrets are read with `require_secret` where they are
# used; they are never part of the validated model (and never in a stack file).
SECRET_KEYS = frozenset({"postgresAdminPassword"})

FLOATING_TAGS = frozenset({"latest", "main", "main-latest", "main-stable", "stable", "edge", "nightly", "dev"})

_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"

DnsLabel = Annotated[str, StringConstraints(pattern=_DNS_LABEL, min_length=1, max_length=63)]
GsmSecretId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,255}$")]


def _number_as_quantity(value: Any) -> Any:
    """`pulumi config set --path capacity.cpu 2` stores a number: 2 means "2" (cores), 0.5 "0.5"."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format(value, "g") if isinstance(value, float) else str(value)
    return value


GcpRegion = Annotated[str, StringConstraints(pattern=r"^[a-z]+-[a-z]+[0-9]+$")]
GcpLocation = Annotated[str, StringConstraints(pattern=r"^[a-z]+-[a-z]+[0-9]+(-[a-z])?$")]


# --- shared value types checked with real parsers ----------------------
# Each type is defined once; a refusal names the rule and pydantic adds the key path.


def _duration(value: str) -> str:
    """Prometheus' duration grammar restricted to h/m/s (also what Go's time.ParseDuration,
    used by ESO and oauth2-proxy, accepts): units in descending order, each at most once."""
    if not re.fullmatch(r"(?=[0-9])([0-9]+h)?([0-9]+m)?([0-9]+s)?", value):
        raise ValueError("must be a duration such as 30s, 5m or 1h30m (units h, m, s, largest first, each once)")
    return value


def _positive_duration(value: str) -> str:
    if not re.search(r"[1-9]", _duration(value)):
        raise ValueError("must be longer than 0s")
    return value


def _rfc1123_host(value: str) -> str:
    """An RFC 1123 DNS name as Kubernetes checks Ingress hosts: lower case, labels of 1-63."""
    labels = value.split(".")
    if len(value) > 253 or not all(re.fullmatch(_DNS_LABEL, label) and len(label) <= 63 for label in labels):
        raise ValueError(
            "must be a lower-case DNS name (RFC 1123: dot-separated labels of 1-63 letters, digits "
            "and inner hyphens, 253 characters at most), such as llm.example.com"
        )
    return value


def _server_host(value: str) -> str:
    """A host name or an IP address."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return _rfc1123_host(value)
    return value


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"must be a network in CIDR notation such as 10.0.0.0/8 ({exc})") from None
    return value


def _five_field_cron(value: str) -> str:
    """A Kubernetes CronJob schedule: standard five-field cron (minute hour day month weekday)."""
    from croniter import croniter

    fields = value.split()
    if len(fields) != 5 or not all(re.fullmatch(r"[0-9*,/-]+", f) for f in fields) or not croniter.is_valid(value):
        raise ValueError("must be a five-field cron expression (minute hour day month weekday), such as '*/10 * * * *'")
    return value


def _six_field_cron(value: str) -> str:
    """CNPG's schedule: robfig/cron with a leading seconds field (exactly six fields)."""
    from croniter import croniter

    fields = value.split()
    if (
        len(fields) != 6
        or not all(re.fullmatch(r"[0-9*,/?-]+", f) for f in fields)
        or not croniter.is_valid(value, second_at_beginning=True)
    ):
        raise ValueError(
            "must be a six-field cron expression with seconds first (second minute hour day month weekday), "
            "such as '0 0 3 * * *' for 03:00 every day"
        )
    return value


_CPU = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m?)$")
_MEMORY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_MEMORY_FACTORS = {
    None: 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}
MIB = 2**20


def millicores(quantity: str) -> int:
    """A CPU quantity ("250m", "2", "1.5") in millicores."""
    match = _CPU.match(quantity)
    if match is None:
        raise ValueError(f"not a CPU quantity: {quantity!r}")
    number, milli = match.groups()
    return round(float(number) * (1 if milli else 1000))


def memory_bytes(quantity: str) -> int:
    """A memory quantity ("512Mi", "4Gi", "1G") in bytes."""
    match = _MEMORY.match(quantity)
    if match is None:
        raise ValueError(f"not a memory quantity: {quantity!r}")
    number, unit = match.groups()
    return round(float(number) * _MEMORY_FACTORS[unit])


Duration = Annotated[str, AfterValidator(_duration)]
PositiveDuration = Annotated[str, AfterValidator(_positive_duration)]
Hostname = Annotated[str, AfterValidator(_rfc1123_host)]
ServerHost = Annotated[str, AfterValidator(_server_host)]
Cidr = Annotated[str, AfterValidator(_cidr)]
Cron6 = Annotated[str, AfterValidator(_six_field_cron)]
# Helm refuses release names over 53 characters; Services need a leading letter (RFC 1035).
ReleaseName = Annotated[str, StringConstraints(pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$", max_length=53)]
CpuQuantity = Annotated[str, BeforeValidator(_number_as_quantity), StringConstraints(pattern=_CPU.pattern)]
"""CPU: cores ("2", "0.5") or millicores ("250m")."""
MemoryQuantity = Annotated[str, BeforeValidator(_number_as_quantity), StringConstraints(pattern=_MEMORY.pattern)]
"""Memory and storage: bytes with a binary (Mi, Gi) or decimal (M, G) suffix; no CPU units such as m."""


class ConfigError(pulumi.RunError):
    """Invalid stack configuration; Pulumi prints a `RunError` without a traceback."""


class ConfigProblemError(ValueError):
    """Raised by a validator that found problems below the value it checks.

    Each problem is (relative path, message), e.g. ("[0].fallbacks[1]", "..."):
    the error report lists each under its own key path, beside the field errors.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))
        self.problems = problems


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

    # No .inf/.nan: a threshold of .inf is accepted by Prometheus and can never fire.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class ResourceAmounts(Section):
    cpu: CpuQuantity
    memory: MemoryQuantity


class Resources(Section):
    requests: ResourceAmounts
    limits: ResourceAmounts

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Resources:
        if millicores(self.requests.cpu) > millicores(self.limits.cpu):
            raise ValueError(f"requests.cpu {self.requests.cpu} exceeds limits.cpu {self.limits.cpu}")
        if memory_bytes(self.requests.memory) > memory_bytes(self.limits.memory):
            raise ValueError(f"requests.memory {self.requests.memory} exceeds limits.memory {self.limits.memory}")
        return self


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
    refresh_interval: PositiveDuration = "1h"
    """ESO refreshInterval; 0s would mean never refresh, so rotations would never arrive."""
    # Prefix for every GSM secret id (several deployments in one project).
    prefix: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{0,40}$")] = ""
    # Rotation generations: bump a number to replace that secret's value on purpose.
    rotation: dict[str, Annotated[int, Field(ge=0)]] = {}


class DataSafetyConfig(Section):
    """Resource options for stateful resources (database, buckets, GSM secrets)."""

    protect: bool
    retain_on_delete: bool


SqlIdentifier = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]{0,62}$")]
_RESERVED_DATABASES = frozenset({"postgres", "template0", "template1"})
_RESERVED_ROLES = frozenset({"postgres", "public", "grafana_ro", "streaming_replica", "cnpg_pooler_pgbouncer"})


def _database_name(name: str) -> str:
    if name in _RESERVED_DATABASES:
        raise ValueError(f"{name!r} is a database PostgreSQL creates itself; choose another name")
    return name


def _role_name(name: str) -> str:
    if name in _RESERVED_ROLES or name.startswith("pg_"):
        raise ValueError(f"{name!r} is reserved (PostgreSQL, CNPG or this program's grafana_ro); choose another role")
    return name


DatabaseName = Annotated[SqlIdentifier, AfterValidator(_database_name)]
RoleName = Annotated[SqlIdentifier, AfterValidator(_role_name)]
BucketName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][-a-z0-9_.]{1,61}[a-z0-9]$")]
GsaAccountId = Annotated[str, StringConstraints(pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")]
MIN_POSTGRES_MAJOR = 14


def _postgres_image(image: str) -> str:
    image = _pinned_image(image)
    # A digest alone hides the major version: require the tag too (repository:17.6@sha256:...).
    tag = image.split("@", 1)[0].rpartition(":")[2] if ":" in image.split("@", 1)[0] else ""
    major = re.match(r"v?([0-9]+)", tag)
    if major is None or int(major.group(1)) < MIN_POSTGRES_MAJOR:
        raise ValueError(
            f"PostgreSQL {MIN_POSTGRES_MAJOR}+ is required (the reporting role needs pg_read_all_data), got {tag!r}"
        )
    return image


class CnpgConfig(Section):
    """A CloudNativePG Cluster in the gateway namespace."""

    # CNPG names pods, jobs and their labels after the cluster (`<name>-<n>-initdb`): 50 at most,
    # and a leading letter for its Services (`<name>-rw`).
    name: Annotated[str, StringConstraints(pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$", max_length=50)] = "litellm-pg"
    instances: Annotated[int, Field(ge=1, le=9)]
    image: Annotated[str, AfterValidator(_postgres_image)]
    storage_size: MemoryQuantity
    storage_class: DnsLabel | None = None
    resources: Resources
    parameters: dict[str, str] = {}
    enable_pdb: bool
    anti_affinity: Literal["preferred", "required"] = "preferred"
    operator_namespace: DnsLabel = "cnpg-system"
    """Where the CNPG operator runs: the only source admitted to the instances' status port (8000)."""
    api_server_cidrs: Annotated[list[Cidr], Field(min_length=1)] = ["0.0.0.0/0"]
    """The Kubernetes API server's address(es) (TCP 443): the instance manager watches its Cluster.
    Narrow it to the control plane's endpoint (`kubectl get endpoints kubernetes`)."""


class ExternalPostgresConfig(Section):
    """An existing PostgreSQL server (e.g. a homelab one); the admin password is
    the stack secret `llm-gateway:postgresAdminPassword`."""

    host: ServerHost
    port: Annotated[int, Field(ge=1, le=65535)] = 5432
    server_cidrs: Annotated[list[Cidr], Field(min_length=1)]
    """The server's address(es) as CIDRs: the only destination of the database egress rules
    (a NetworkPolicy cannot name a host)."""
    admin_user: Annotated[str, StringConstraints(min_length=1, max_length=63)]
    admin_database: Annotated[str, StringConstraints(min_length=1, max_length=63)] = "postgres"
    sslmode: Literal["disable", "require", "verify-ca", "verify-full"] = "require"
    # The server's limits, for the connection and storage budgets (config/budget.py).
    max_connections: Annotated[int, Field(ge=10, le=100000)] = 100
    superuser_reserved_connections: Annotated[int, Field(ge=0, le=100)] = 3
    storage_size: MemoryQuantity | None = None
    """The server's data volume; unset: the storage budget is printed but not enforced."""


class DatabaseBudgetConfig(Section):
    """Margins of the connection and storage budgets (config/budget.py)."""

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
    schedule: Cron6 = "0 0 3 * * *"
    gsa_account_id: GsaAccountId = "litellm-pg-backup"

    @model_validator(mode="after")
    def _bucket(self) -> BackupConfig:
        if self.enabled and not self.bucket:
            raise ValueError("bucket is required when backups are enabled")
        return self


class PostgresConfig(Section):
    engine: Literal["cnpg", "external"]
    database: DatabaseName = "litellm"
    owner: RoleName = "litellm"
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


CronSchedule = Annotated[str, AfterValidator(_five_field_cron)]
DEFAULT_REPORTING_IMAGE = "ghcr.io/cloudnative-pg/postgresql:17.6-standard-trixie"
"""The reporting job's psql image for engine external (engine cnpg runs the cluster's own image)."""


class ReportingConfig(Section):
    """The CronJob that keeps the `reporting` schema's rollups fresh (components/reporting/component.py)."""

    schedule: CronSchedule = "*/10 * * * *"
    # Days re-aggregated per run (today included): LiteLLM still updates today's and, right
    # after midnight, yesterday's daily rows.
    window_days: Annotated[int, Field(ge=2, le=31)] = 3
    image: PinnedImage | None = None  # None: postgres.cnpg.image, or DEFAULT_REPORTING_IMAGE (external)


class MonitoringConfig(Section):
    """How kube-prometheus-stack finds our monitors, rules and dashboards."""

    prometheus_release: ReleaseName = "kube-prometheus-stack"
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
    _rfc1123_host(parts.hostname)
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


EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,62}$")]
ModelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")]
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
        "user_email",
    ]
    """Labels dropped from every LiteLLM metric: caller-supplied, unbounded values
    (BerriAI/litellm#12159, #35666), and `user_email` (personal data on an unauthenticated port:
    always excluded). LiteLLM refuses to start on a name it does not define."""
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


LabelKey = Annotated[
    str, StringConstraints(pattern=r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
]
LabelValue = Annotated[str, StringConstraints(pattern=r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")]


class NetworkConfig(Section):
    """Who may talk to the gateway, and where it may talk to."""

    client_namespaces: list[DnsLabel]
    """Namespaces whose pods may call the API (port 4000)."""
    prometheus_namespace: DnsLabel = "monitoring"
    prometheus_pod_labels: Annotated[dict[LabelKey, LabelValue], Field(min_length=1)] = {
        "app.kubernetes.io/name": "prometheus"
    }
    """Labels of the Prometheus server pods (prometheus-operator sets this one): the only pods of
    prometheus_namespace that may reach the unauthenticated metrics ports (LiteLLM's, CNPG's)."""
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


def _not_the_api_port(port: int) -> int:
    from components.litellm.values import API_PORT

    if port == API_PORT:
        raise ValueError(f"{port} is the API port (authenticated); the metrics port must differ, e.g. 4001")
    return port


class LiteLLMConfig(Section):
    """The LiteLLM proxy Helm release."""

    release_name: ReleaseName = "litellm"
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
    metrics_port: Annotated[int, Field(ge=1024, le=65535), AfterValidator(_not_the_api_port)] = 4001
    models: Annotated[list[ModelConfig], Field(min_length=1)]
    provider_keys: list[ProviderKeyConfig] = []
    settings: LiteLLMSettingsConfig = LiteLLMSettingsConfig()
    database: LiteLLMDatabaseConfig = LiteLLMDatabaseConfig()
    network: NetworkConfig
    ingress: IngressConfig = IngressConfig()

    # Field validators, not one model validator: each runs as soon as the fields it
    # reads are valid, so a reference error is reported beside unrelated field errors.
    @field_validator("models")
    @classmethod
    def _model_names(cls, models: list[ModelConfig]) -> list[ModelConfig]:
        problems = []
        names = [m.name for m in models]
        for i, m in enumerate(models):
            if names.index(m.name) != i:
                problems.append(
                    (f"[{i}].name", f"model name {m.name!r} is already used by models[{names.index(m.name)}]")
                )
            for j, fb in enumerate(m.fallbacks):
                if fb not in names or fb == m.name:
                    others = sorted(set(names) - {m.name}) or "none"
                    problems.append((f"[{i}].fallbacks[{j}]", f"{fb!r} is not another model's name (others: {others})"))
        if problems:
            raise ConfigProblemError(problems)
        return models

    @field_validator("provider_keys")
    @classmethod
    def _key_references(cls, keys: list[ProviderKeyConfig]) -> list[ProviderKeyConfig]:
        problems = []
        envs = [k.env for k in keys]
        for i, env in enumerate(envs):
            if envs.index(env) != i:
                problems.append((f"[{i}].env", f"{env!r} is already used by provider_keys[{envs.index(env)}]"))
        if problems:
            raise ConfigProblemError(problems)
        return keys

    @model_validator(mode="after")
    def _api_keys_known(self) -> LiteLLMConfig:
        keys = [k.env for k in self.provider_keys]
        problems = [
            (f"models[{i}].api_key", f"{m.api_key!r} is not one of provider_keys[].env {keys}")
            for i, m in enumerate(self.models)
            if m.api_key is not None and m.api_key not in keys
        ]
        if problems:
            raise ConfigProblemError(problems)
        return self

    @field_validator("pdb_min_available")
    @classmethod
    def _pdb_below_floor(cls, pdb: int | None, info: ValidationInfo) -> int | None:
        replicas, autoscaling = info.data.get("replicas"), info.data.get("autoscaling")
        if pdb is None or replicas is None or autoscaling is None:
            return pdb
        floor = autoscaling.min_replicas if autoscaling.enabled else replicas
        if pdb >= floor:
            raise ValueError(f"must be below the replica floor ({floor}), or no node could ever be drained")
        return pdb


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
    storage_size: MemoryQuantity = "20Gi"
    zookeeper: ZookeeperConfig = ZookeeperConfig()


class ValkeyConfig(Section):
    """The chart's Valkey subchart (alias redis), standalone, `maxmemory-policy noeviction`."""

    resources: Resources = _same("1", "1536Mi")
    storage_size: MemoryQuantity = "8Gi"


class MinioConfig(Section):
    """The chart's MinIO subchart (alias s3), standalone."""

    resources: Resources = _same("2", "4Gi")
    storage_size: MemoryQuantity = "20Gi"


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
    release_name: ReleaseName = "langfuse"
    repository: HttpsUrl = "https://langfuse.github.io/langfuse-k8s"
    chart_version: PinnedVersion = "1.5.41"
    database: DatabaseName = "langfuse"
    owner: RoleName = "langfuse"
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
    # 51: its ExternalSecret `<release_name>-credentials` names a label value (63 at most).
    release_name: Annotated[ReleaseName, StringConstraints(max_length=51)] = "oauth2-proxy"
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
    reserved_ip_range: Cidr | None = None
    """The instance's internal range (DIRECT_PEERING: an unused /29, /28 for STANDARD_HA with
    replicas): the proxy's egress to Redis goes to this range only."""


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
    storage_size: MemoryQuantity = "1Gi"


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
        if self.mode == "memorystore" and self.memorystore.reserved_ip_range is None:
            raise ValueError(
                "mode memorystore needs redis.memorystore.reserved_ip_range (an unused CIDR of the VPC, e.g. "
                "10.200.0.0/28): the proxy's egress to Redis is limited to it"
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
    reporting: ReportingConfig = ReportingConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    grafana: GrafanaConfig = GrafanaConfig()
    alerts: AlertsConfig = AlertsConfig()
    alertmanager: AlertRoutingConfig = AlertRoutingConfig()
    litellm: LiteLLMConfig
    langfuse: LangfuseConfig = LangfuseConfig()
    sso: SsoConfig = SsoConfig()
    redis: RedisConfig = RedisConfig()
    # The cluster's allocatable CPU and memory for this program's workloads: the
    # stack's summed requests (config/footprint.py) must fit, or parse fails.
    capacity: ResourceAmounts

    @property
    def kube_context(self) -> str:
        return self.gke.kube_context or f"gke_{self.gcp.project}_{self.gke.location}_{self.gke.cluster_name}"

    @model_validator(mode="after")
    def _rotation_names_known(self) -> StackConfig:
        from config.inventory import secret_inventory

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
    def _no_collisions(self) -> StackConfig:
        """Names that must differ: Helm releases (one namespace), GSM ids (generated vs referenced),
        PostgreSQL roles and databases (one server)."""
        from config.inventory import gsm_secret_id, secret_inventory

        problems = []
        releases = {"litellm.release_name": self.litellm.release_name}
        if self.langfuse.enabled:
            releases["langfuse.release_name"] = self.langfuse.release_name
        if self.sso.enabled:
            releases["sso.release_name"] = self.sso.release_name
        problems += _same_values(releases, "Helm releases in one namespace need distinct names")
        generated = {gsm_secret_id(self, spec) for spec in secret_inventory(self)}
        referenced = {
            f"litellm.provider_keys[{i}].gsm_secret": k.gsm_secret for i, k in enumerate(self.litellm.provider_keys)
        }
        problems += _same_values(referenced, "a GSM secret can back one provider key only")
        referenced |= {
            f"alertmanager.receivers[{i}].gsm_secret": r.gsm_secret for i, r in enumerate(self.alertmanager.receivers)
        }
        if self.sso.enabled and self.sso.client_secret_gsm_secret:
            referenced["sso.client_secret_gsm_secret"] = self.sso.client_secret_gsm_secret
        problems += [
            f"{path}: {value!r} is a secret this program generates (secrets.prefix + inventory); "
            "name another GSM secret"
            for path, value in referenced.items()
            if value in generated
        ]
        pg, lf = self.postgres, self.langfuse
        if lf.enabled:
            if lf.owner == pg.owner:
                problems.append(f"langfuse.owner: {lf.owner!r} is also postgres.owner; Langfuse needs its own role")
            if lf.database == pg.database:
                problems.append(f"langfuse.database: {lf.database!r} is also postgres.database; use its own database")
        if pg.external is not None and pg.external.admin_user in {pg.owner, lf.owner if lf.enabled else pg.owner}:
            problems.append(
                f"postgres.external.admin_user: {pg.external.admin_user!r} must not be a role this program creates"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # Field validators reading the (already validated) litellm section: they run,
    # and are reported, even when an unrelated section has errors.
    @field_validator("langfuse")
    @classmethod
    def _langfuse_ingress(cls, lf: LangfuseConfig, info: ValidationInfo) -> LangfuseConfig:
        litellm = info.data.get("litellm")
        if litellm is not None and lf.enabled and lf.ingress_host and not litellm.ingress.cluster_issuer:
            raise ConfigProblemError(
                [("ingress_host", "needs litellm.ingress.cluster_issuer (the UI's TLS uses the gateway's issuer)")]
            )
        return lf

    @field_validator("redis")
    @classmethod
    def _shared_state(cls, redis: RedisConfig, info: ValidationInfo) -> RedisConfig:
        lit = info.data.get("litellm")
        if lit is None or redis.mode != "none":
            return redis
        pods = lit.autoscaling.max_replicas if lit.autoscaling.enabled else lit.replicas
        processes = pods * lit.num_workers
        if processes > 1:
            what = "autoscaling.max_replicas" if lit.autoscaling.enabled else "replicas"
            raise ConfigProblemError(
                [
                    (
                        "mode",
                        f"none with litellm.{what} ({pods}) x litellm.num_workers ({lit.num_workers}) = "
                        f"{processes} processes; set redis.mode memorystore or in_cluster. "
                        + REDIS_NEEDED.format(processes=processes),
                    )
                ]
            )
        return redis

    @field_validator("sso")
    @classmethod
    def _sso_behind_the_ingress(cls, sso: SsoConfig, info: ValidationInfo) -> SsoConfig:
        litellm = info.data.get("litellm")
        if litellm is None or not sso.enabled:
            return sso
        missing = []
        if not litellm.ingress.enabled:
            missing.append("litellm.ingress.enabled (the UI is served on the gateway's ingress host)")
        if not litellm.network.ingress_controller_namespace:
            missing.append("litellm.network.ingress_controller_namespace (the only client of oauth2-proxy)")
        if missing:
            raise ConfigProblemError([("enabled", "needs " + " and ".join(missing))])
        return sso


def _same_values(named: Mapping[str, str], rule: str) -> list[str]:
    """One problem per key path whose value an earlier key path already has."""
    seen: dict[str, str] = {}
    problems = []
    for path, value in named.items():
        if value in seen:
            problems.append(f"{path}: {value!r} is also {seen[value]} ({rule})")
        seen.setdefault(value, path)
    return problems


def _describe(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _key(part: str | int) -> str:
    """A path element, quoted when it would be ambiguous or unprintable."""
    text = str(part)
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else json.dumps(text)


def _path(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """`litellm.models[0].fallbacks[1]` from pydantic's location tuple."""
    out = ""
    for part in parts:
        if isinstance(part, str) and part.startswith("function-"):
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{_key(part)}" if out else _key(part))
    return out


def _join(path: str, relative: str) -> str:
    if not path:
        return relative
    return path + relative if relative.startswith("[") else f"{path}.{relative}"


# What a value failing each pattern should look like: an example, not the regex.
PATTERN_EXAMPLES: dict[str, str] = {
    _DNS_LABEL: "a DNS label: lowercase letters, digits and '-', e.g. llm-gateway",
    _CPU.pattern: "a CPU quantity, e.g. 500m or 2",
    r"^REDIS_[0-9]+_[0-9X]+$": "a Memorystore Redis version, e.g. REDIS_7_2",
    r"^projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/global/networks/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$": "a VPC network, "
    "e.g. projects/my-project/global/networks/my-vpc",
    r"^[a-z]([-a-z0-9]*[a-z0-9])?$": "a name starting with a letter: lowercase letters, digits and '-', e.g. litellm",
    r"^[1-9][0-9]{0,4}[mhdw]$": "a period with one unit (m, h, d, w), e.g. 30d or 4w",
    r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$": "a label value: up to 63 letters, digits, '-_.', e.g. web",
    _MEMORY.pattern: "a memory quantity, e.g. 512Mi or 2Gi (no CPU units such as m)",
    r"^([0-9]+(s|m|h))+$": "a duration, e.g. 30s, 5m, 1h or 1h30m",
    r"^(\S+\s+){5}\S+$": "a six-field cron schedule (seconds first), e.g. '0 0 3 * * *'",
    r"^[#@]?[A-Za-z0-9._-]{1,80}$": "a Slack channel, e.g. '#llm-alerts'",
    r"^[0-9]+[smhd]$": "a duration with one unit, e.g. 30d or 12h",
    r"^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$": "an IPv4 CIDR, e.g. 10.0.0.0/8",
    r"^[A-Z][A-Z0-9_]{0,62}$": "an environment variable name, e.g. OPENAI_API_KEY",
    r"^[A-Za-z0-9 ._()-]{1,100}$": "a display name, e.g. 'LiteLLM spend (PostgreSQL)'",
    r"^[A-Za-z0-9 ._-]{1,60}$": "a display name, e.g. 'LLM Gateway'",
    r"^[A-Za-z0-9-]+$": "a GCS location, e.g. EU or europe-west1",
    r"^[A-Za-z0-9.-]+:[0-9]{1,5}$": "host:port, e.g. smtp.example.com:587",
    r"^[A-Za-z0-9._:@/-]{1,255}$": "an OIDC client id, e.g. llm-gateway",
    r"^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$": "a host name, e.g. llm.example.com",
    r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$": "a model name, e.g. gpt-4o",
    r"^[A-Za-z0-9_-]{1,255}$": "a Secret Manager secret id, e.g. openai-api-key",
    r"^[A-Za-z0-9_-]{1,40}$": "a Grafana uid, e.g. llm-gateway-spend-pg",
    r"^[A-Za-z0-9_.:/-]{1,100}$": "an OIDC scope, e.g. groups",
    r"^[^,{}\s]([^,{}]{0,253}[^,{}\s])?$": "a group name without commas or braces, e.g. llm-admins",
    r"^[^@\s,]+@[^@\s,]+$": "an email address, e.g. ops@example.com",
    r"^[^@\s]+@[-a-z0-9.]+\.iam\.gserviceaccount\.com$": "a service account email, "
    "e.g. eso@my-project.iam.gserviceaccount.com",
    r"^[a-z0-9-]+(\.[a-z0-9-]+)+(:[0-9]+)?/[a-z0-9._/-]+:[A-Za-z0-9._+-]+$": "registry/repository:tag, "
    "e.g. quay.io/oauth2-proxy/oauth2-proxy:v7.15.3",
    r"^[a-z0-9-]{0,40}$": "lowercase letters, digits and '-' (up to 40), e.g. team-a",
    r"^[a-z0-9][-a-z0-9_.]{1,61}[a-z0-9]$": "a GCS bucket name, e.g. acme-llm-backups",
    r"^[a-z0-9_-]+/[^\s]+$": "provider/model, e.g. openai/gpt-4o",
    r"^[a-z]+-[a-z]+[0-9]+$": "a GCP region, e.g. europe-west1",
    r"^[a-z]+-[a-z]+[0-9]+(-[a-z])?$": "a GCP region or zone, e.g. europe-west1 or europe-west1-b",
    r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$": "a GCP project or service account id (6-30 characters), e.g. acme-llm-lab",
    r"^[a-z_][a-z0-9_]*$": "a lowercase identifier, e.g. end_user",
    r"^[a-z_][a-z0-9_]{0,62}$": "an SQL identifier, e.g. litellm",
    r"^https://[^\s#]+$": "an https URL without '#', e.g. https://runbooks.example.com/llm",
    r"^https://[^\s{}]+$": "an https URL, e.g. https://login.example.com/realms/acme",
    r"^https?://[^\s]+$": "a URL, e.g. https://api.example.com/v1",
    r"^oci://[^\s]+$": "an OCI chart reference, e.g. oci://ghcr.io/berriai/litellm-helm",
}


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The section model validated at `loc` (list indexes and optionals looked through)."""
    model: Any = StackConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return None
        candidates = [field.annotation, *typing.get_args(field.annotation)]
        candidates += [inner for c in candidates for inner in typing.get_args(c)]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _field_named_first(loc: tuple[str | int, ...], message: str) -> str | None:
    """A section rule's message that starts with one of the section's fields ("bucket is
    required when ...") is reported under that field's key path."""
    model = _model_at(tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-"))))
    first = message.split(" ", 1)[0]
    return first if model is not None and first in model.model_fields else None


def _problem_lines(err: Any) -> list[str]:
    path = _path(err["loc"])
    where = f"{NAMESPACE}:{path}" if path else NAMESPACE
    kind = err["type"]
    if kind == "extra_forbidden":
        return [f"  - {where}: unknown key (not part of the config schema)"]
    if kind == "missing":
        return [f"  - {where}: required key is missing"]
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, ConfigProblemError):
        return [f"  - {NAMESPACE}:{_join(path, rel)}: {message}" for rel, message in cause.problems]
    if kind == "string_pattern_mismatch":
        pattern = (err.get("ctx") or {}).get("pattern", "")
        expected = PATTERN_EXAMPLES.get(pattern, "a value of the documented form (see README, Config reference)")
        return [f"  - {where}: expected {expected} (got {_describe(err['input'])})"]
    msg = err["msg"].removeprefix("Value error, ")
    if isinstance(err["input"], dict | list):  # a whole section: never dump it
        field = _field_named_first(tuple(err["loc"]), msg)
        return [f"  - {NAMESPACE}:{_join(path, field)}: {msg}" if field else f"  - {where}: {msg}"]
    return [f"  - {where}: {msg} (got {_describe(err['input'])})"]


def _report(lines: list[str]) -> str:
    count = sum(1 for line in lines if line.startswith("  - "))
    return f"invalid stack config ({count} problem{'s' if count != 1 else ''}):\n" + "\n".join(lines)


def _format_errors(exc: ValidationError) -> str:
    return _report([line for err in exc.errors(include_url=False) for line in _problem_lines(err)])


def parse_config(raw: Mapping[str, Any], secrets_present: frozenset[str] = frozenset()) -> StackConfig:
    """Validate the decoded namespace; raise one ConfigError listing every problem.

    `secrets_present` names the stack secrets (SECRET_KEYS) that are set; their
    values are never read here. The capacity check needs a valid config, so it
    is reported only once every other problem is fixed.
    """
    lines: list[str] = []
    postgres = raw.get("postgres")
    if (
        isinstance(postgres, dict)
        and postgres.get("engine") == "external"
        and "postgresAdminPassword" not in secrets_present
    ):
        lines.append(
            f"  - {NAMESPACE}:postgresAdminPassword: required secret for postgres.engine external is not set "
            f"(pulumi config set --secret {NAMESPACE}:postgresAdminPassword)"
        )
    try:
        cfg = StackConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(_report([*_format_errors(exc).splitlines()[1:], *lines])) from None
    if lines:
        raise ConfigError(_report(lines))
    from config.footprint import capacity_problem

    problem = capacity_problem(cfg)
    if problem is not None:
        raise ConfigError(_report([f"  - {NAMESPACE}:capacity: {problem}"]))
    from config.budget import budget_problems

    problems = budget_problems(cfg)
    if problems:
        raise ConfigError(_report([f"  - {NAMESPACE}:{key}: {text}" for key, text in problems]))
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
