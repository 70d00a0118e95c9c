"""`postgres` (the database: a CNPG cluster or an external server, its backups,
the grafana_ro role and the budget margins) and `reporting` (the rollup job)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from config.types import (
    BucketName,
    Cidr,
    Cron6,
    CronSchedule,
    DatabaseName,
    DnsLabel,
    GsaAccountId,
    MemoryQuantity,
    PinnedImage,
    Resources,
    RoleName,
    Section,
    ServerHost,
    pinned_image,
)

MIN_POSTGRES_MAJOR = 14


def _postgres_image(image: str) -> str:
    image = pinned_image(image)
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


class _PostgresCommon(Section):
    """The keys of `postgres` both engines share."""

    engine: Literal["cnpg", "external"]
    database: DatabaseName = "litellm"
    owner: RoleName = "litellm"
    grafana_ro: GrafanaRoConfig = GrafanaRoConfig()
    backup: BackupConfig = BackupConfig()
    budget: DatabaseBudgetConfig = DatabaseBudgetConfig()


def _engine_sections(data: Any, own: str, other: str, needs: str) -> Any:
    """The engine's own section is required, the other engine's refused (null means absent)."""
    if not isinstance(data, dict):
        return data
    if data.get(other) is not None:
        raise ValueError(f"postgres.{other} is only for engine {other}")
    if data.get(own) is None:
        raise ValueError(needs)
    return {key: value for key, value in data.items() if key != other}


class CnpgPostgres(_PostgresCommon):
    """`postgres` with engine cnpg: a CloudNativePG cluster in the gateway namespace."""

    engine: Literal["cnpg"]
    cnpg: CnpgConfig

    @model_validator(mode="before")
    @classmethod
    def _sections(cls, data: Any) -> Any:
        return _engine_sections(data, "cnpg", "external", "engine cnpg needs the postgres.cnpg section")


class ExternalPostgres(_PostgresCommon):
    """`postgres` with engine external: an existing server this program only creates roles and databases on."""

    engine: Literal["external"]
    external: ExternalPostgresConfig

    @model_validator(mode="before")
    @classmethod
    def _sections(cls, data: Any) -> Any:
        return _engine_sections(
            data, "external", "cnpg", "engine external needs postgres.external.host and postgres.external.admin_user"
        )

    @model_validator(mode="after")
    def _no_backup(self) -> ExternalPostgres:
        if self.backup.enabled:
            raise ValueError("postgres.backup is for the CNPG engine; back up an external server where it runs")
        return self


PostgresConfig = Annotated[CnpgPostgres | ExternalPostgres, Field(discriminator="engine")]
"""`postgres`: one variant per `engine` (the YAML keys are the same as a flat section's)."""


DEFAULT_REPORTING_IMAGE = "ghcr.io/cloudnative-pg/postgresql:17.6-standard-trixie"
"""The reporting job's psql image for engine external (engine cnpg runs the cluster's own image)."""


class ReportingConfig(Section):
    """The CronJob that keeps the `reporting` schema's rollups fresh (components/reporting/component.py)."""

    schedule: CronSchedule = "*/10 * * * *"
    # Days re-aggregated per run (today included): LiteLLM still updates today's and, right
    # after midnight, yesterday's daily rows.
    window_days: Annotated[int, Field(ge=2, le=31)] = 3
    image: PinnedImage | None = None  # None: postgres.cnpg.image, or DEFAULT_REPORTING_IMAGE (external)
