"""`langfuse`: self-hosted Langfuse v3 (tracing) and its subcharts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from config.assets import LANGFUSE_CHART, matches_lock
from config.types import (
    BucketName,
    DatabaseName,
    DnsLabel,
    EmailAddress,
    GcsLocation,
    GsaAccountId,
    Hostname,
    MemoryQuantity,
    PinnedVersion,
    ReleaseName,
    ResourceAmounts,
    Resources,
    RoleName,
    Section,
    pattern,
)

# --- Langfuse v3 (tracing) -----------------------------------------------------


def _amounts(cpu: str, memory: str) -> ResourceAmounts:
    return ResourceAmounts(cpu=cpu, memory=memory)


def _same(cpu: str, memory: str) -> Resources:
    """Requests equal to limits (Guaranteed QoS): what Langfuse's sizing guide lists."""
    return Resources(requests=_amounts(cpu, memory), limits=_amounts(cpu, memory))


class LangfuseWorkload(Section):
    """A Langfuse Deployment (web or worker): replicas and per-pod resources."""

    replicas: Annotated[int, Field(ge=1, le=20)] = Field(default=1, description="Pods of the Deployment.")
    resources: Resources = Field(
        default=_same("2", "4Gi"),
        description="Requests and limits per pod (requests equal to limits: Langfuse's sizing guide).",
    )


class ZookeeperConfig(Section):
    """ClickHouse's coordination ensemble: only deployed with ClickHouse replicas > 1."""

    replicas: Literal[3, 5] = Field(default=3, description="ZooKeeper ensemble size.")
    resources: Resources = Field(default=_same("250m", "512Mi"), description="Requests and limits per ZooKeeper pod.")


class ClickHouseConfig(Section):
    """The chart's ClickHouse subchart (Bitnami). One replica runs with cluster mode off."""

    replicas: Annotated[int, Field(ge=1, le=9)] = Field(
        default=1, description="ClickHouse replicas; more than one turns cluster mode and ZooKeeper on."
    )
    resources: Resources = Field(default=_same("2", "8Gi"), description="Requests and limits per ClickHouse pod.")
    storage_size: MemoryQuantity = Field(default="20Gi", description="Volume size per ClickHouse pod.")
    zookeeper: ZookeeperConfig = Field(
        default=ZookeeperConfig(), description="ClickHouse's coordination ensemble (only deployed with replicas > 1)."
    )


class ValkeyConfig(Section):
    """The chart's Valkey subchart (alias redis), standalone, `maxmemory-policy noeviction`."""

    resources: Resources = Field(default=_same("1", "1536Mi"), description="Requests and limits of the Valkey pod.")
    storage_size: MemoryQuantity = Field(default="8Gi", description="Valkey's volume size.")


class MinioConfig(Section):
    """The chart's MinIO subchart (alias s3), standalone."""

    resources: Resources = Field(default=_same("2", "4Gi"), description="Requests and limits of the MinIO pod.")
    storage_size: MemoryQuantity = Field(default="20Gi", description="MinIO's volume size.")


class LangfuseGcsConfig(Section):
    """GCS instead of MinIO: a bucket, a service account with access to it only, HMAC credentials."""

    bucket: BucketName = Field(description="The bucket Langfuse stores events and media in.")
    location: GcsLocation = Field(default="EU", description="The bucket's location.")
    gsa_account_id: GsaAccountId = Field(
        default="langfuse-blob",
        description="Google service account with access to the bucket only (HMAC key for S3 interop).",
    )


DisplayName = Annotated[str, pattern(r"^[A-Za-z0-9 ._-]{1,60}$", "a display name, e.g. 'LLM Gateway'")]


class LangfuseInitConfig(Section):
    """Headless initialization (LANGFUSE_INIT_*): the organization and project LiteLLM writes to."""

    org_id: DnsLabel = Field(default="llm-gateway", description="The organization's id.")
    org_name: DisplayName = Field(default="LLM Gateway", description="The organization's display name.")
    project_id: DnsLabel = Field(default="litellm", description="The project's id (LiteLLM writes its traces there).")
    project_name: DisplayName = Field(default="LiteLLM", description="The project's display name.")
    admin_email: EmailAddress | None = Field(
        default=None,
        description="An initial admin user (password generated into GSM); none: create users by SSO or sign-up.",
    )


class LangfuseConfig(Section):
    """Self-hosted Langfuse v3: the chart with ClickHouse, Valkey and MinIO (or GCS) subcharts,
    its PostgreSQL database in the stack's database layer. Defaults are Langfuse's minimum sizing."""

    enabled: bool = Field(default=False, description="Deploy Langfuse and turn on LiteLLM's langfuse_otel callback.")
    release_name: ReleaseName = Field(default="langfuse", description="Helm release name.")
    chart_version: Annotated[PinnedVersion, AfterValidator(matches_lock(LANGFUSE_CHART))] | None = Field(
        default=None,
        description=(
            "Optional: restates the version of the chart the release installs, `chart/langfuse` in "
            "assets.lock.json (docs/versions.md); refused when it differs. Unset: the lock decides."
        ),
    )
    database: DatabaseName = Field(default="langfuse", description="Langfuse's database in the stack's PostgreSQL.")
    owner: RoleName = Field(default="langfuse", description="The role that owns Langfuse's database.")
    web: LangfuseWorkload = Field(default=LangfuseWorkload(), description="The web Deployment.")
    worker: LangfuseWorkload = Field(default=LangfuseWorkload(), description="The worker Deployment.")
    clickhouse: ClickHouseConfig = Field(default=ClickHouseConfig(), description="The ClickHouse subchart.")
    valkey: ValkeyConfig = Field(default=ValkeyConfig(), description="The Valkey subchart.")
    blob_storage: Literal["minio", "gcs"] = Field(
        default="minio", description="Where events and media go: the MinIO subchart, or a GCS bucket (gcs section)."
    )
    minio: MinioConfig = Field(default=MinioConfig(), description="The MinIO subchart (blob_storage minio).")
    gcs: LangfuseGcsConfig | None = Field(default=None, description="The GCS bucket (blob_storage gcs only).")
    init: LangfuseInitConfig = Field(
        default=LangfuseInitConfig(),
        description="Headless initialization: the organization and project LiteLLM writes to.",
    )
    ingress_host: Hostname | None = Field(
        default=None,
        description="The UI's host name (TLS, same class and cert-manager issuer as the gateway's ingress).",
    )
    sign_up_disabled: bool = Field(default=True, description="Refuse sign-ups on the UI.")
    database_connection_limit: Annotated[int, Field(ge=1, le=100)] = Field(
        default=5,
        description=(
            "Prisma `connection_limit` of each web and worker pod (DATABASE_ARGS); Prisma's default, 2 x the node's "
            "CPUs + 1, would follow the node size instead of the connection budget."
        ),
    )

    @model_validator(mode="after")
    def _blob(self) -> LangfuseConfig:
        if self.blob_storage == "gcs" and self.gcs is None:
            raise ValueError("blob_storage gcs needs the langfuse.gcs section (bucket)")
        if self.blob_storage == "minio" and self.gcs is not None:
            raise ValueError("langfuse.gcs is only for blob_storage gcs")
        return self
