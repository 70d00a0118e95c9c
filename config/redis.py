"""`redis`: shared state for many proxy processes (Memorystore or in-cluster Valkey)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from config.assets import VALKEY_CHART, matches_lock, restated_chart_version
from config.types import (
    Cidr,
    DnsLabel,
    MemoryQuantity,
    PinnedImage,
    PinnedVersion,
    ResourceAmounts,
    Resources,
    Section,
    pattern,
    refuse,
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


MaxmemoryPolicy = Literal[
    "noeviction",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
]
"""The maxmemory policies Memorystore accepts: every one but `noeviction` drops keys when memory is full."""
LANGFUSE_REDIS_DB = 1
"""The database index Langfuse uses in the shared Redis (LiteLLM uses 0, Redis's default): its queue and cache
keys never meet LiteLLM's. Memorystore (basic and standard tiers) and standalone Valkey have 16 databases."""


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
    maxmemory_policy: MaxmemoryPolicy = Field(
        default="noeviction",
        description=(
            "The instance's `maxmemory-policy` (redis_configs): noeviction refuses writes when memory is full "
            "instead of dropping keys. An evicting policy is refused with langfuse.enabled (Langfuse's queues must "
            "not lose jobs); LiteLLM's spend transaction buffer is safe from it only under noeviction too."
        ),
    )


VALKEY_IMAGE = "docker.io/valkey/valkey:9.0.2"
"""The image of the official Valkey chart's appVersion (chart/valkey in assets.lock.json)."""
DATA_MUST_SURVIVE = (
    "the in-cluster Redis holds data that must survive a restart: LiteLLM's spend transaction buffer (spend not "
    "yet written to PostgreSQL) and, when Langfuse shares it, Langfuse's queued events"
)
"""The rule behind `persistence` and `replicas` (docs/configuration.md): the data in the shared Redis must
survive a restart whenever a record lives in it that is not yet anywhere else. LiteLLM's spend transaction
buffer is such a record whenever LiteLLM uses the shared Redis (always), Langfuse's ingestion queue whenever
Langfuse uses it; the response cache and the rate-limit counters alone could be lost."""


class InClusterRedisConfig(Section):
    """Valkey from the official Valkey chart (valkey-io/valkey-helm) in the gateway namespace: ACL auth with
    the password from GSM through ESO, `restricted` pods, a NetworkPolicy that admits only its clients.
    What it holds must survive a restart (`DATA_MUST_SURVIVE`): nothing is evicted
    (`maxmemory-policy noeviction`), and with `persistence` every write reaches an append-only file."""

    release_name: DnsLabel = Field(default="litellm-redis", description="Helm release name.")
    chart_version: Annotated[PinnedVersion, AfterValidator(matches_lock(VALKEY_CHART))] | None = restated_chart_version(
        VALKEY_CHART
    )
    image: PinnedImage = Field(
        default=VALKEY_IMAGE,
        description=(
            "Valkey image, an exact tag (registry/repository:tag, optionally @sha256:<digest>); the default is the "
            "locked chart's appVersion. Bitnami repositories are refused."
        ),
    )
    auth: bool = Field(
        default=True,
        description="Must stay true: refused otherwise (anything in the namespace could read or poison the state).",
    )
    resources: Resources = Field(
        default=Resources(
            requests=ResourceAmounts(cpu="100m", memory="256Mi"), limits=ResourceAmounts(cpu="500m", memory="512Mi")
        ),
        description=(
            "Requests and limits of each Valkey pod; Valkey refuses writes (it evicts nothing) beyond 3/4 of the "
            "memory limit."
        ),
    )
    persistence: bool = Field(
        default=True,
        description=(
            "Valkey appends every write to a file on its volume (fsync every second) and reloads it after a "
            "restart: its data must survive one (LiteLLM's spend transaction buffer, Langfuse's queued events when "
            "Langfuse shares it). false: nothing on disk, a restart starts empty; refused with replicas."
        ),
    )
    storage_size: MemoryQuantity = Field(
        default="2Gi",
        description=(
            "Size of each Valkey pod's volume: the append-only file grows to about twice the data set (at most "
            "3/4 of the memory limit) before Valkey rewrites it."
        ),
    )
    storage_class: DnsLabel | None = Field(
        default=None, description="StorageClass of the volumes; unset: the cluster's default."
    )
    replicas: Annotated[int, Field(ge=0, le=4)] = Field(
        default=0,
        description=(
            "Replicas of the primary (a StatefulSet: pod 0 is the primary, each replica copies it; no automatic "
            "failover, clients use the primary). 0: one pod (a Deployment, replaced with Recreate). Replicas need "
            "persistence: a primary that restarts empty would empty its replicas too."
        ),
    )

    @property
    def pods(self) -> int:
        """The Valkey pods the release runs: the primary and its replicas."""
        return 1 + self.replicas


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
        ic = self.in_cluster
        if self.mode == "in_cluster" and ic.replicas and not ic.persistence:
            refuse(
                [
                    (
                        "in_cluster.persistence",
                        f"must be true with redis.in_cluster.replicas ({ic.replicas}): {DATA_MUST_SURVIVE}, and "
                        "without persistence a primary that restarts comes back empty and its replicas copy the "
                        "empty data set; turn persistence on, or set replicas to 0",
                    )
                ]
            )
        return self


def langfuse_redis_problems(redis: RedisConfig) -> list[tuple[str, str]]:
    """With langfuse.enabled: Langfuse keeps its queues and cache in the shared Redis, which must exist and
    must never evict (a dropped queue key is a lost trace or a stuck job). Key paths relative to `redis`."""
    if redis.mode == "none":
        return [
            (
                "mode",
                "none with langfuse.enabled: Langfuse keeps its queues in the stack's shared Redis; set redis.mode "
                "in_cluster or memorystore",
            )
        ]
    policy = redis.memorystore.maxmemory_policy
    if redis.mode == "memorystore" and policy != "noeviction":
        return [
            (
                "memorystore.maxmemory_policy",
                f"{policy} with langfuse.enabled: Langfuse's queues must not be evicted; set noeviction",
            )
        ]
    return []
