"""`redis`: shared state for many proxy processes (Memorystore or in-cluster Valkey)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from config.assets import VALKEY_CHART, matches_lock, restated_chart_version
from config.types import (
    Cidr,
    DnsLabel,
    MemoryQuantity,
    PinnedVersion,
    ResourceAmounts,
    Resources,
    Section,
    pattern,
)

# --- shared state for many proxy processes (Redis) -----------------------------

GcpNetwork = Annotated[
    str,
    pattern(
        r"^projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/global/networks/[a-z]([-a-z0-9]{0,61}[a-z0-9])?$",
        "a VPC network, e.g. projects/my-project/global/networks/my-vpc",
    ),
]
REDIS_NEEDED = (
    "LiteLLM keeps rpm/tpm counters, cooldowns, cache hits and key revocations per process without Redis: "
    "with {processes} processes a limit lets up to {processes} times its value through"
)


class MemorystoreConfig(Section):
    """Google Memorystore for Redis (`gcp.redis.Instance`): AUTH on, TLS in transit (server
    authentication), reachable only from `authorized_network`. The AUTH string is Google's."""

    name: DnsLabel = Field(default="litellm-redis", description="The instance's name.")
    tier: Literal["BASIC", "STANDARD_HA"] = Field(
        default="STANDARD_HA",
        description="STANDARD_HA: a replica in another zone with automatic failover; BASIC: one node, no SLA.",
    )
    memory_size_gb: Annotated[int, Field(ge=1, le=300)] = Field(default=1, description="The instance's memory.")
    redis_version: Annotated[str, pattern(r"^REDIS_[0-9]+_[0-9X]+$", "a Memorystore Redis version, e.g. REDIS_7_2")] = (
        Field(default="REDIS_7_2", description="Memorystore Redis version.")
    )
    authorized_network: GcpNetwork | None = Field(
        default=None,
        description=(
            "The GKE cluster's VPC (`projects/<project>/global/networks/<name>`): the only network that reaches it."
        ),
    )
    connect_mode: Literal["DIRECT_PEERING", "PRIVATE_SERVICE_ACCESS"] = Field(
        default="DIRECT_PEERING",
        description="PRIVATE_SERVICE_ACCESS needs private services access set up on the VPC (Shared VPC).",
    )
    reserved_ip_range: Cidr | None = Field(
        default=None,
        description=(
            "The instance's internal range (DIRECT_PEERING: an unused /29, /28 for STANDARD_HA with replicas): the "
            "proxy's egress to Redis goes to this range only."
        ),
    )


class InClusterRedisConfig(Section):
    """Valkey (Bitnami chart, standalone) in the gateway namespace; password from GSM through ESO."""

    release_name: DnsLabel = Field(default="litellm-redis", description="Helm release name.")
    chart_version: Annotated[PinnedVersion, AfterValidator(matches_lock(VALKEY_CHART))] | None = restated_chart_version(
        VALKEY_CHART
    )
    auth: bool = Field(
        default=True,
        description="Must stay true: refused otherwise (anything in the namespace could read or poison the state).",
    )
    resources: Resources = Field(
        default=Resources(
            requests=ResourceAmounts(cpu="100m", memory="256Mi"), limits=ResourceAmounts(cpu="500m", memory="512Mi")
        ),
        description="Requests and limits of the Valkey pod.",
    )
    storage_size: MemoryQuantity = Field(default="1Gi", description="Valkey's volume size.")


class RedisConfig(Section):
    """Shared state for LiteLLM's processes: router rpm/tpm counters and cooldowns, the response
    cache, and the spend transaction buffer. Required as soon as replicas (or the HPA maximum)
    x num_workers exceeds 1."""

    mode: Literal["none", "memorystore", "in_cluster"] = Field(
        default="none",
        description=(
            "Where the shared state lives; none is refused when litellm replicas (or the HPA maximum) x num_workers > "
            "1 (docs/scaling.md)."
        ),
    )
    memorystore: MemorystoreConfig = Field(
        default=MemorystoreConfig(), description="Google Memorystore (mode memorystore)."
    )
    in_cluster: InClusterRedisConfig = Field(
        default=InClusterRedisConfig(), description="Valkey in the gateway namespace (mode in_cluster)."
    )

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
