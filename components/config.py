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
    gsa_email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[-a-z0-9.]+\.iam\.gserviceaccount\.com$")] | None = None

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


class StackConfig(Section):
    """The whole `llm-gateway:` namespace of a stack file."""

    gcp: GcpConfig
    gke: GkeConfig
    namespaces: NamespacesConfig
    secrets: SecretsConfig
    data_safety: DataSafetyConfig
    postgres: PostgresConfig
    monitoring: MonitoringConfig = MonitoringConfig()

    @property
    def kube_context(self) -> str:
        return self.gke.kube_context or f"gke_{self.gcp.project}_{self.gke.location}_{self.gke.cluster_name}"

    @model_validator(mode="after")
    def _rotation_names_known(self) -> StackConfig:
        from components.inventory import secret_inventory

        known = {spec.key for spec in secret_inventory(self)}
        unknown = sorted(set(self.secrets.rotation) - known)
        if unknown:
            raise ValueError(
                f"secrets.rotation names unknown secrets {unknown}; known: {sorted(known)}"
            )
        return self


def _describe(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _format_errors(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors(include_url=False):
        path = ".".join(str(part) for part in err["loc"] if not str(part).startswith("function-"))
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


def parse_config(raw: Mapping[str, Any]) -> StackConfig:
    """Validate the decoded namespace; raise one ConfigError listing every problem."""
    try:
        return StackConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc)) from None


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
        key = full_key[len(prefix):]
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
    return parse_config(read_namespace(values))
