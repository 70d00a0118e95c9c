"""`postgres` (the database: a CNPG cluster or an external server, its backups,
the grafana_ro role and the budget margins) and `reporting` (the rollup job)."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from config.image_reference import image_reference
from config.types import (
    BucketName,
    Cidr,
    ConfigProblemError,
    Cron6,
    CronSchedule,
    DatabaseName,
    DnsLabel,
    GcsLocation,
    GsaAccountId,
    LeadingLetterName,
    MemoryQuantity,
    PinnedImage,
    Resources,
    RoleName,
    Section,
    ServerHost,
    SslMode,
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
            f"PostgreSQL {MIN_POSTGRES_MAJOR}+ is required (CNPG's password logins are md5 before 14), got {tag!r}"
        )
    return image


def _not_everywhere(cidr: str) -> str:
    """The instances' egress is a NetworkPolicy: a /0 would open HTTPS to every address."""
    if cidr.endswith("/0"):
        raise ValueError(
            f"{cidr} opens HTTPS from the database pods to every address; give the API server's address "
            "(kubectl get endpoints kubernetes), e.g. 172.16.0.2/32"
        )
    return cidr


class CnpgConfig(Section):
    """A CloudNativePG Cluster in the gateway namespace."""

    name: Annotated[LeadingLetterName, StringConstraints(max_length=50)] = Field(
        default="litellm-pg",
        description=(
            "Cluster name (Services <name>-rw/-ro, Secret <name>-app): a leading letter, 50 characters at most (CNPG "
            "names pods and jobs after it)."
        ),
    )
    instances: Annotated[int, Field(ge=1, le=9)] = Field(
        description="PostgreSQL instances (1 in lab, 3 in enterprise)."
    )
    image: Annotated[str, AfterValidator(image_reference), AfterValidator(_postgres_image)] = Field(
        description=(
            "PostgreSQL image, an exact tag of major 14 or later (a digest needs the tag too: "
            "repository:17.6@sha256:...)."
        )
    )
    storage_size: MemoryQuantity = Field(description="Size of each instance's volume.")
    storage_class: DnsLabel | None = Field(
        default=None, description="StorageClass of the volumes; unset: the cluster's default."
    )
    resources: Resources = Field(description="Requests and limits per instance.")
    parameters: dict[str, str] = Field(
        default={},
        description="PostgreSQL parameters (`postgresql.parameters`); max_connections feeds the connection budget.",
    )
    enable_pdb: bool = Field(
        description=(
            "CNPG's PodDisruptionBudgets (the primary's keeps it at minAvailable 1): refused with one instance, where "
            "it would block every drain of that instance's node."
        )
    )
    anti_affinity: Literal["preferred", "required"] = Field(
        default="preferred", description="Pod anti-affinity of the instances on kubernetes.io/hostname."
    )
    operator_namespace: DnsLabel = Field(
        default="cnpg-system",
        description="Where the CNPG operator runs: the only source admitted to the instances' status port (8000).",
    )
    api_server_cidrs: Annotated[list[Annotated[Cidr, AfterValidator(_not_everywhere)]], Field(min_length=1)] = Field(
        description=(
            "The Kubernetes API server's address(es) (TCP 443): the instance manager watches its Cluster, the only "
            "HTTPS its pods open without backups. Required, no default: the control plane's endpoint "
            "(`kubectl get endpoints kubernetes -o jsonpath='{.subsets[*].addresses[*].ip}'`, as /32); 0.0.0.0/0 is "
            "refused."
        ),
    )

    @model_validator(mode="after")
    def _drainable(self) -> CnpgConfig:
        """CNPG's primary PDB has minAvailable 1 whatever the instance count (pkg/specs/poddisruptionbudget.go,
        BuildPrimaryPodDisruptionBudget): with one instance no eviction is ever allowed, and `kubectl drain`
        (node upgrades, autoscaler scale-down) waits forever on that node."""
        if self.enable_pdb and self.instances == 1:
            raise ConfigProblemError(
                [
                    (
                        "enable_pdb",
                        "true with instances 1: CNPG's PodDisruptionBudget keeps the only instance (the primary) at "
                        "minAvailable 1, so its node can never be drained; set enable_pdb false, or run 2 or more "
                        "instances (accepted: enable_pdb true needs instances 2-9)",
                    )
                ]
            )
        return self


_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----")


def _ca_certificates(value: str) -> str:
    """One or more PEM certificates and nothing else (public: a CA, never a key)."""
    blocks = _PEM_CERT.findall(value)
    rest = _PEM_CERT.sub("", value).strip()
    if not blocks or rest:
        raise ValueError("must be PEM certificates only (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)")
    for block in blocks:
        try:
            base64.b64decode("".join(block.split()), validate=True)
        except binascii.Error:
            raise ValueError("a PEM certificate's body is not base64") from None
    return value.strip() + "\n"


class ExternalPostgresConfig(Section):
    """An existing PostgreSQL server (e.g. a homelab one); the admin password is
    the stack secret `llm-gateway:postgresAdminPassword`."""

    MULTILINE_FIELDS = frozenset({"ca_cert"})

    host: ServerHost = Field(description="The server's host name or IP address.")
    port: Annotated[int, Field(ge=1, le=65535)] = Field(default=5432, description="The server's port.")
    server_cidrs: Annotated[list[Cidr], Field(min_length=1)] = Field(
        description=(
            "The server's address(es) as CIDRs: the only destination of the database egress rules (a NetworkPolicy "
            "cannot name a host)."
        )
    )
    admin_user: Annotated[str, StringConstraints(min_length=1, max_length=63)] = Field(
        description=(
            "The role this program connects as to create its roles and databases (password: the stack secret "
            "`llm-gateway:postgresAdminPassword`)."
        )
    )
    admin_database: Annotated[str, StringConstraints(min_length=1, max_length=63)] = Field(
        default="postgres", description="The database the admin connection opens."
    )
    ca_cert: Annotated[str, AfterValidator(_ca_certificates)] | None = Field(
        default=None,
        description=(
            "PEM of the CA that signed the server's certificate (public): the clients (LiteLLM, the reporting job, "
            "Grafana, Langfuse) verify the server against it. Given, sslmode defaults to verify-full."
        ),
    )
    sslmode: SslMode = Field(
        default="require",
        description=(
            "libpq sslmode of every connection to the server; verify-full when ca_cert is given and this is not. "
            "The program's own admin connection reads the CA from PGSSLROOTCERT on the machine that runs it."
        ),
    )
    # The server's limits, for the connection and storage budgets (config/budget.py).
    max_connections: Annotated[int, Field(ge=10, le=100000)] = Field(
        default=100, description="The server's max_connections, for the connection budget."
    )

    @model_validator(mode="before")
    @classmethod
    def _verify_with_a_ca(cls, data: Any) -> Any:
        """A CA given and no sslmode: verify the server (verify-full)."""
        if isinstance(data, dict) and data.get("ca_cert") and "sslmode" not in data:
            return {**data, "sslmode": "verify-full"}
        return data

    superuser_reserved_connections: Annotated[int, Field(ge=0, le=100)] = Field(
        default=3, description="The server's superuser_reserved_connections, for the connection budget."
    )
    storage_size: MemoryQuantity | None = Field(
        default=None, description="The server's data volume; unset: the storage budget is printed but not enforced."
    )


class DatabaseBudgetConfig(Section):
    """Margins of the connection and storage budgets (config/budget.py)."""

    headroom_connections: Annotated[int, Field(ge=0, le=1000)] = Field(
        default=10, description="Left free for pods starting up, psql sessions and anything not counted."
    )
    storage_fill_target: Annotated[float, Field(gt=0, le=0.95)] = Field(
        default=0.8, description="The expected data plus WAL must fit this fraction of the volume."
    )


class GrafanaRoConfig(Section):
    connection_limit: Annotated[int, Field(ge=1, le=100)] = Field(
        default=5, description="grafana_ro's CONNECTION LIMIT (also Grafana's max_open_conns)."
    )


class BackupConfig(Section):
    """barman-cloud plugin backups of the CNPG cluster to a GCS bucket."""

    enabled: bool = Field(
        default=False, description="barman-cloud plugin backups of the CNPG cluster (engine cnpg only)."
    )
    bucket: BucketName | None = Field(default=None, description="GCS bucket of the backups (required when enabled).")
    location: GcsLocation = Field(default="EU", description="The bucket's location.")
    retention_days: Annotated[int, Field(ge=1, le=3650)] = Field(
        default=30,
        description=(
            "barman retentionPolicy, and the bucket's soft-delete window, so objects the backup account deletes stay "
            "restorable."
        ),
    )
    noncurrent_version_days: Annotated[int, Field(ge=1, le=3650)] = Field(
        default=7, description="GCS lifecycle: noncurrent object versions are deleted after this many days."
    )
    schedule: Cron6 = Field(
        default="0 0 3 * * *", description="ScheduledBackup time (six-field cron, seconds first, UTC)."
    )
    gsa_account_id: GsaAccountId = Field(
        default="litellm-pg-backup",
        description="Google service account of the backups, with access to the bucket only.",
    )

    @model_validator(mode="after")
    def _bucket(self) -> BackupConfig:
        if self.enabled and not self.bucket:
            raise ValueError("bucket is required when backups are enabled")
        return self


class _PostgresCommon(Section):
    """The keys of `postgres` both engines share."""

    engine: Literal["cnpg", "external"] = Field(
        description=(
            "Where LiteLLM's database lives: a CNPG cluster (`cnpg` section) or an existing server (`external` "
            "section)."
        )
    )
    database: DatabaseName = Field(default="litellm", description="LiteLLM's database.")
    owner: RoleName = Field(
        default="litellm", description="The role that owns LiteLLM's database (LiteLLM connects as it)."
    )
    grafana_ro: GrafanaRoConfig = Field(
        default=GrafanaRoConfig(), description="The read-only role Grafana's datasource connects as."
    )
    backup: BackupConfig = Field(default=BackupConfig(), description="Backups of the CNPG cluster to GCS.")
    budget: DatabaseBudgetConfig = Field(
        default=DatabaseBudgetConfig(), description="Margins of the connection and storage budgets (docs/scaling.md)."
    )

    SECTION: ClassVar[str]
    """The engine's own section: its key is the engine's name."""
    MISSING: ClassVar[str]
    """What a stack without that section is told."""

    @model_validator(mode="before")
    @classmethod
    def _engine_sections(cls, data: Any) -> Any:
        """The engine's own section is required, the other engine's refused (null means absent)."""
        if not isinstance(data, dict):
            return data
        own = cls.SECTION
        other = "external" if own == "cnpg" else "cnpg"
        if data.get(other) is not None:
            raise ValueError(f"postgres.{other} is only for engine {other}")
        if data.get(own) is None:
            raise ValueError(cls.MISSING)
        return {key: value for key, value in data.items() if key != other}


class CnpgPostgres(_PostgresCommon):
    """`postgres` with engine cnpg: a CloudNativePG cluster in the gateway namespace."""

    SECTION = "cnpg"
    MISSING = "engine cnpg needs the postgres.cnpg section"

    engine: Literal["cnpg"] = Field(description="cnpg: a CloudNativePG cluster in the gateway namespace.")
    cnpg: CnpgConfig = Field(description="The CloudNativePG cluster (engine cnpg only).")


class ExternalPostgres(_PostgresCommon):
    """`postgres` with engine external: an existing server this program only creates roles and databases on."""

    SECTION = "external"
    MISSING = "engine external needs postgres.external.host and postgres.external.admin_user"

    engine: Literal["external"] = Field(description="external: an existing PostgreSQL server.")
    external: ExternalPostgresConfig = Field(description="The existing server (engine external only).")

    @model_validator(mode="after")
    def _no_backup(self) -> ExternalPostgres:
        if self.backup.enabled:
            raise ValueError("postgres.backup is for the CNPG engine; back up an external server where it runs")
        return self


PostgresConfig = Annotated[CnpgPostgres | ExternalPostgres, Field(discriminator="engine")]
"""`postgres`: one variant per `engine` (the YAML keys are the same as a flat section's)."""


DEFAULT_REPORTING_IMAGE = "ghcr.io/cloudnative-pg/postgresql:17.11-standard-trixie"
"""The reporting job's psql image for engine external (engine cnpg runs the cluster's own image)."""


WINDOW_DAYS = (2, 31)
"""`reporting.window_days`' accepted range (and no longer than the spend-log retention: config/checks.py)."""


class ReportingConfig(Section):
    """The CronJob that keeps the `reporting` schema's rollups fresh (components/reporting/component.py)."""

    schedule: CronSchedule = Field(
        default="*/10 * * * *",
        description=(
            "The reporting CronJob's schedule (five-field cron, UTC): dashboards lag by at most this plus LiteLLM's "
            "batch writes."
        ),
    )
    window_days: Annotated[int, Field(ge=WINDOW_DAYS[0], le=WINDOW_DAYS[1])] = Field(
        default=3,
        description=(
            "Days the first run of each UTC day rebuilds whole, today included: a daily check on the change "
            "tracking (every run carries the rows LiteLLM wrote since the last one, whatever their day)."
        ),
    )
    image: PinnedImage | None = Field(
        default=None,
        description=(
            "psql image of the job; unset: the CNPG cluster's image, or DEFAULT_REPORTING_IMAGE with engine external."
        ),
    )
