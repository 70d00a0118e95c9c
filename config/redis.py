"""`redis`: shared state for many proxy processes (Memorystore or in-cluster Valkey)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from config.types import Cidr, DnsLabel, MemoryQuantity, PinnedVersion, ResourceAmounts, Resources, Section

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
