"""`langfuse`: self-hosted Langfuse v3 (tracing) and its subcharts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from config.types import (
    BucketName,
    DatabaseName,
    DnsLabel,
    GsaAccountId,
    Hostname,
    HttpsUrl,
    MemoryQuantity,
    PinnedVersion,
    ReleaseName,
    ResourceAmounts,
    Resources,
    RoleName,
    Section,
)

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
