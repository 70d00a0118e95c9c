"""Pure builders for the shared Redis (no Pulumi calls): the names both sides use, what LiteLLM
needs to reach the server (`RedisWiring`), the in-cluster valkey chart's values and NetworkPolicies,
the Memorystore instance's arguments and its server CA bundle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.kit import (
    HelmChart,
    container_resources,
    deny_all,
    metadata,
    network_policy,
    restricted_container,
    restricted_pod,
    service_host,
    tcp_ports,
)
from config import InClusterRedisConfig, MemorystoreConfig
from config.assets import VALKEY_CHART

AUTH_SECRET = "litellm-redis-auth"
"""Secret (gateway namespace) with REDIS_PASSWORD: LiteLLM's env (environmentSecrets) and Valkey's auth."""
PASSWORD_KEY = "REDIS_PASSWORD"
CA_SECRET = "litellm-redis-ca"
"""Secret with the Memorystore server CA (`ca.crt`), mounted into the proxy pods."""
CA_KEY = "ca.crt"
CA_MOUNT_DIR = "/etc/litellm-redis"
VALKEY_PORT = 6379
MEMORYSTORE_TLS_PORT = 6378
"""Memorystore serves TLS (transit encryption SERVER_AUTHENTICATION) on 6378."""
VALKEY_UID = 1001
"""The Bitnami valkey image's non-root user."""


@dataclass(frozen=True)
class RedisWiring:
    """What the LiteLLM release needs to reach the shared Redis (one source for each name)."""

    host: pulumi.Input[str]
    port: int
    tls: bool
    auth_secret: str = AUTH_SECRET
    ca_secret: str | None = None
    pod_selector: dict[str, str] | None = None
    """Labels of the in-cluster Redis pods (the proxy's egress policy); None: Memorystore (an IP outside)."""
    cidrs: tuple[str, ...] = ()
    """Memorystore's reserved range: where the proxy's egress to Redis may go."""

    def egress_peers(self) -> list[dict[str, Any]]:
        """The NetworkPolicy peers of the Redis server: its pods, or Memorystore's range."""
        if self.pod_selector:
            return [{"podSelector": {"matchLabels": self.pod_selector}}]
        return [{"ipBlock": {"cidr": c}} for c in self.cidrs]

    @property
    def ca_file(self) -> str | None:
        return f"{CA_MOUNT_DIR}/{CA_KEY}" if self.ca_secret else None


def valkey_fullname(ic: InClusterRedisConfig) -> str:
    """The chart's fullname (fullnameOverride = the release name)."""
    return ic.release_name


def valkey_pod_labels(ic: InClusterRedisConfig) -> dict[str, str]:
    """The labels the valkey chart puts on its primary pod (common.labels.matchLabels + component)."""
    return {
        "app.kubernetes.io/name": "valkey",
        "app.kubernetes.io/instance": ic.release_name,
        "app.kubernetes.io/component": "primary",
    }


def in_cluster_wiring(ic: InClusterRedisConfig, namespace: str) -> RedisWiring:
    host = service_host(f"{valkey_fullname(ic)}-primary", namespace)
    return RedisWiring(host=host, port=VALKEY_PORT, tls=False, pod_selector=valkey_pod_labels(ic))


def memorystore_wiring(ms: MemorystoreConfig, host: pulumi.Input[str]) -> RedisWiring:
    assert ms.reserved_ip_range is not None  # RedisConfig enforces
    return RedisWiring(
        host=host, port=MEMORYSTORE_TLS_PORT, tls=True, ca_secret=CA_SECRET, cidrs=(ms.reserved_ip_range,)
    )


def valkey_chart(ic: InClusterRedisConfig) -> HelmChart:
    """The locked Bitnami `valkey` chart (assets.lock.json)."""
    return HelmChart(asset=VALKEY_CHART, timeout=600)


def valkey_values(ic: InClusterRedisConfig) -> dict[str, Any]:
    """Helm values of the in-cluster valkey chart: standalone, auth from the ESO Secret, restricted."""
    return {
        "fullnameOverride": valkey_fullname(ic),
        "architecture": "standalone",
        "auth": {
            "enabled": True,
            "sentinel": False,
            "existingSecret": AUTH_SECRET,
            "existingSecretPasswordKey": PASSWORD_KEY,
        },
        "primary": {
            # A cache and counters: evict the least recently used keys rather than refuse writes.
            "extraFlags": ["--maxmemory-policy allkeys-lru"],
            "resources": container_resources(ic.resources),
            "persistence": {"enabled": True, "size": ic.storage_size},
            "podSecurityContext": {"enabled": True, **restricted_pod(VALKEY_UID)},
            "containerSecurityContext": {
                "enabled": True,
                **restricted_container(runAsUser=VALKEY_UID, runAsGroup=VALKEY_UID, readOnlyRootFilesystem=True),
            },
        },
        # The program's own NetworkPolicy admits only LiteLLM; the chart's would admit everyone
        # (allowExternal) and NetworkPolicies are additive.
        "networkPolicy": {"enabled": False},
        "metrics": {"enabled": False},
        "volumePermissions": {"enabled": False},
    }


def valkey_network_policies(ic: InClusterRedisConfig, ns: str, litellm_pods: dict[str, str]) -> list[dict[str, Any]]:
    """Default-deny for the Valkey pod, then ingress from LiteLLM's pods on the Redis port only."""
    name = valkey_fullname(ic)
    pods = {"matchLabels": valkey_pod_labels(ic)}
    return [
        network_policy(f"{name}-default-deny", ns, "litellm-redis", deny_all(pods)),
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata(f"{name}-from-litellm", ns, app="litellm-redis"),
            "spec": {
                "podSelector": pods,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": litellm_pods}}],
                        "ports": tcp_ports(VALKEY_PORT),
                    }
                ],
            },
        },
    ]


def memorystore_args(ms: MemorystoreConfig, region: str) -> dict[str, Any]:
    """Arguments of `gcp.redis.Instance`: AUTH, TLS in transit, the cluster's VPC only."""
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
        "labels": {"app": "llm-gateway", "managed-by": "pulumi"},
    }


def server_ca_pem(certs: Any) -> str:
    """The PEM bundle of `server_ca_certs` (every CA Google lists, so a CA rotation keeps working)."""
    pems = [c["cert"] if isinstance(c, dict) else c.cert for c in certs or []]
    return "\n".join(p.strip() for p in pems if p) + "\n"
