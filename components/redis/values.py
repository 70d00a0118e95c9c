"""Pure builders for the shared Redis (no Pulumi calls): the names both sides use, what its clients
need to reach the server (`RedisWiring`), the in-cluster Valkey chart's values and NetworkPolicies,
the Memorystore instance's arguments and its server CA bundle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components.kit import (
    HelmChart,
    container_resources,
    deny_all,
    dns_egress,
    network_policy,
    restricted_container,
    restricted_pod,
    service_host,
    tcp_ports,
)
from config import InClusterRedisConfig, MemorystoreConfig
from config.assets import VALKEY_CHART
from config.types import image_name_and_tag, memory_bytes

AUTH_SECRET = "litellm-redis-auth"
"""Secret (gateway namespace) with REDIS_PASSWORD: LiteLLM's env (environmentSecrets), Valkey's ACL
(`auth.usersExistingSecret`) and any other client's password (`RedisWiring.password_key`)."""
PASSWORD_KEY = "REDIS_PASSWORD"
USERNAME = "default"
"""The ACL user every client authenticates as (Valkey's `default` user; Memorystore's AUTH is its password)."""
CA_SECRET = "litellm-redis-ca"
"""Secret with the Memorystore server CA (`ca.crt`), mounted into the proxy pods."""
CA_KEY = "ca.crt"
CA_MOUNT_DIR = "/etc/litellm-redis"
VALKEY_PORT = 6379
MEMORYSTORE_TLS_PORT = 6378
"""Memorystore serves TLS (transit encryption SERVER_AUTHENTICATION) on 6378."""
VALKEY_UID = 1000
"""The uid and gid the official chart runs Valkey as (its values.yaml podSecurityContext); set here so the
kubelet can verify `runAsNonRoot` whatever the image's own user."""
MAXMEMORY_SHARE = (3, 4)
"""Valkey's `maxmemory` as a share of the container's memory limit: the rest is for its own buffers and the
fork that rewrites the append-only file. Beyond it, writes fail with OOM errors (nothing is evicted)."""


@dataclass(frozen=True)
class RedisWiring:
    """What a client of the shared Redis needs to reach it (one source for each name): LiteLLM's release,
    and Langfuse's when it shares it."""

    host: pulumi.Input[str]
    port: int
    tls: bool
    auth_secret: str = AUTH_SECRET
    password_key: str = PASSWORD_KEY
    """The key of `auth_secret` that holds the password."""
    username: str = USERNAME
    ca_secret: str | None = None
    pod_selector: dict[str, str] | None = None
    """Labels of the in-cluster Redis pods (the clients' egress policies); None: Memorystore (an IP outside)."""
    cidrs: tuple[str, ...] = ()
    """Memorystore's reserved range: where the clients' egress to Redis may go."""

    def egress_peers(self) -> list[dict[str, Any]]:
        """The NetworkPolicy peers of the Redis server: its pods, or Memorystore's range."""
        if self.pod_selector:
            return [{"podSelector": {"matchLabels": self.pod_selector}}]
        return [{"ipBlock": {"cidr": c}} for c in self.cidrs]

    @property
    def ca_file(self) -> str | None:
        return f"{CA_MOUNT_DIR}/{CA_KEY}" if self.ca_secret else None


def valkey_fullname(ic: InClusterRedisConfig) -> str:
    """The chart's fullname (fullnameOverride = the release name): its Service, workload and PVC."""
    return ic.release_name


def valkey_pod_labels(ic: InClusterRedisConfig) -> dict[str, str]:
    """The labels the chart puts on every Valkey pod, primary and replicas (`valkey.selectorLabels`)."""
    return {"app.kubernetes.io/name": "valkey", "app.kubernetes.io/instance": ic.release_name}


def in_cluster_wiring(ic: InClusterRedisConfig, namespace: str) -> RedisWiring:
    """The chart's Service `<fullname>` (with replicas it selects pod 0, the primary)."""
    host = service_host(valkey_fullname(ic), namespace)
    return RedisWiring(host=host, port=VALKEY_PORT, tls=False, pod_selector=valkey_pod_labels(ic))


def memorystore_wiring(ms: MemorystoreConfig, host: pulumi.Input[str]) -> RedisWiring:
    assert ms.reserved_ip_range is not None  # RedisConfig enforces
    return RedisWiring(
        host=host, port=MEMORYSTORE_TLS_PORT, tls=True, ca_secret=CA_SECRET, cidrs=(ms.reserved_ip_range,)
    )


def valkey_chart(ic: InClusterRedisConfig) -> HelmChart:
    """The locked official Valkey chart (`chart/valkey` in assets.lock.json)."""
    return HelmChart(asset=VALKEY_CHART, timeout=600)


def chart_image(image: str) -> dict[str, str]:
    """A pinned image as the chart's `image` values (it renders `registry/repository:tag`; the tag may
    carry the digest): the registry is the first path component when it names a host."""
    name, tag = image_name_and_tag(image)
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return {"registry": first, "repository": rest, "tag": tag}
    return {"registry": "", "repository": name, "tag": tag}


def valkey_config(ic: InClusterRedisConfig) -> str:
    """valkey.conf lines the chart appends to its own (port, ACL file, `dir /data`, replication):
    nothing evicted, writes refused beyond `maxmemory`, every write in the append-only file."""
    share, whole = MAXMEMORY_SHARE
    lines = [
        f"maxmemory {memory_bytes(ic.resources.limits.memory) * share // whole}",
        # The spend buffer and Langfuse's queues must not be evicted (config.redis.DATA_MUST_SURVIVE).
        "maxmemory-policy noeviction",
        'save ""',
    ]
    lines += ["appendonly yes", "appendfsync everysec"] if ic.persistence else ["appendonly no"]
    return "\n".join(lines) + "\n"


def valkey_values(ic: InClusterRedisConfig) -> dict[str, Any]:
    """Helm values of the official Valkey chart: ACL auth from the ESO Secret, `restricted` pods with a
    read-only root filesystem, no chart NetworkPolicy, no metrics sidecar; one pod (Deployment, Recreate,
    its volume when `persistence`) or a primary with replicas (StatefulSet, a volume each)."""
    storage_class = ic.storage_class or ""
    values: dict[str, Any] = {
        "fullnameOverride": valkey_fullname(ic),
        "image": {**chart_image(ic.image), "pullPolicy": "IfNotPresent"},
        "auth": {
            "enabled": True,
            "usersExistingSecret": AUTH_SECRET,
            "aclUsers": {USERNAME: {"permissions": "~* &* +@all", "passwordKey": PASSWORD_KEY}},
        },
        "valkeyConfig": valkey_config(ic),
        "resources": container_resources(ic.resources),
        "initResources": container_resources(ic.resources),
        "podSecurityContext": restricted_pod(VALKEY_UID),
        "securityContext": restricted_container(
            runAsUser=VALKEY_UID, runAsGroup=VALKEY_UID, readOnlyRootFilesystem=True
        ),
        "serviceAccount": {"create": True, "automount": False},
        # The program's own policies admit only the clients; the chart renders none with an empty map.
        "networkPolicy": {},
        "metrics": {"enabled": False},
    }
    if ic.replicas:
        values["replica"] = {
            "enabled": True,
            "replicas": ic.replicas,
            "replicationUser": USERNAME,
            "persistence": {"size": ic.storage_size, "storageClass": storage_class},
            "service": {"enabled": False},  # clients use the primary
        }
        values["podDisruptionBudget"] = {"enabled": True, "maxUnavailable": 1}
    else:
        values["dataStorage"] = {
            "enabled": ic.persistence,
            "requestedSize": ic.storage_size if ic.persistence else "",
            "className": storage_class,
            "keepPvc": True,
        }
        # One pod: never two side by side (a volume attaches to one node; two servers would split the state).
        values["deploymentStrategy"] = "Recreate"
    return values


def valkey_network_policies(
    ic: InClusterRedisConfig, ns: str, clients: Mapping[str, Mapping[str, str]]
) -> list[dict[str, Any]]:
    """Default-deny for the Valkey pods, then ingress on the Redis port from each client's pods (`clients`:
    name -> pod labels) only; with replicas, the replicas' connections to the primary (and their DNS)."""
    name = valkey_fullname(ic)
    pods = {"matchLabels": valkey_pod_labels(ic)}
    policies = [network_policy(f"{name}-default-deny", ns, "litellm-redis", deny_all(pods))]
    for client, labels in clients.items():
        policies.append(
            network_policy(
                f"{name}-from-{client}",
                ns,
                "litellm-redis",
                {
                    "podSelector": pods,
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {"from": [{"podSelector": {"matchLabels": dict(labels)}}], "ports": tcp_ports(VALKEY_PORT)}
                    ],
                },
            )
        )
    if ic.replicas:
        peers = [{"podSelector": pods}]
        policies.append(
            network_policy(
                f"{name}-replication",
                ns,
                "litellm-redis",
                {
                    "podSelector": pods,
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [{"from": peers, "ports": tcp_ports(VALKEY_PORT)}],
                    "egress": [{"to": peers, "ports": tcp_ports(VALKEY_PORT)}, dns_egress()],
                },
            )
        )
    return policies


def memorystore_args(ms: MemorystoreConfig, region: str) -> dict[str, Any]:
    """Arguments of `gcp.redis.Instance`: AUTH, TLS in transit, the cluster's VPC only, its maxmemory policy."""
    assert ms.authorized_network is not None  # RedisConfig enforces
    return {
        "name": ms.name,
        "tier": ms.tier,
        "memory_size_gb": ms.memory_size_gb,
        "region": region,
        "redis_version": ms.redis_version,
        "authorized_network": ms.authorized_network,
        "connect_mode": ms.connect_mode,
        "reserved_ip_range": ms.reserved_ip_range,
        "auth_enabled": True,
        "transit_encryption_mode": "SERVER_AUTHENTICATION",
        # Nothing evicted by default (the spend buffer, Langfuse's queues): config.redis.langfuse_redis_problems.
        "redis_configs": {"maxmemory-policy": ms.maxmemory_policy},
        "labels": {"app": "llm-gateway", "managed-by": "pulumi"},
    }


def server_ca_pem(certs: Any) -> str:
    """The PEM bundle of `server_ca_certs` (every CA Google lists, so a CA rotation keeps working)."""
    pems = [c["cert"] if isinstance(c, dict) else c.cert for c in certs or []]
    return "\n".join(p.strip() for p in pems if p) + "\n"
