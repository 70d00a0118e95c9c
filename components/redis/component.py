"""SharedState: the Redis that LiteLLM's processes share (`redis.mode`).

LiteLLM keeps its router's rpm/tpm counters and cooldowns, its response cache
and its spend transaction buffer per process unless they live in Redis; with
more than one process (replicas x workers) every limit then lets through a
multiple of its value. This module provides that Redis:

- `memorystore`: a Google Memorystore for Redis instance (AUTH on, TLS with
  server authentication, reachable only from the configured VPC). Google
  generates the AUTH string; it goes into GSM from the instance's
  `auth_string` output (a secret Output, never plaintext) and reaches the pods
  through ESO, like every credential. The TLS server CA takes the same path
  and is mounted as a file, so LiteLLM verifies the server.
- `in_cluster`: Bitnami's valkey chart (standalone) in the gateway namespace,
  `restricted` pod security, the password generated into GSM and synced by
  ESO (`auth.existingSecret`), a NetworkPolicy that admits only LiteLLM's pods
  on the Redis port, the chart's own NetworkPolicy off.

Pure builders first (no Pulumi calls), then the thin component.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.kit import (
    HelmChart,
    container_resources,
    helm_release_args,
    metadata,
    network_policies,
    restricted_container,
    restricted_pod,
    service_host,
    stateful_options,
)
from components.secrets.eso import TargetSecret
from components.secrets.managed import ManagedSecret, SecretConsumer, managed_secret_args
from components.secrets.store import StoreAccess
from config import StackConfig
from config.inventory import MEMORYSTORE_AUTH, MEMORYSTORE_CA, REDIS_PASSWORD

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


def valkey_fullname(cfg: StackConfig) -> str:
    """The chart's fullname (fullnameOverride = the release name)."""
    return cfg.redis.in_cluster.release_name


def valkey_pod_labels(cfg: StackConfig) -> dict[str, str]:
    """The labels the valkey chart puts on its primary pod (common.labels.matchLabels + component)."""
    return {
        "app.kubernetes.io/name": "valkey",
        "app.kubernetes.io/instance": cfg.redis.in_cluster.release_name,
        "app.kubernetes.io/component": "primary",
    }


def in_cluster_wiring(cfg: StackConfig) -> RedisWiring:
    host = service_host(f"{valkey_fullname(cfg)}-primary", cfg.namespaces.gateway)
    return RedisWiring(host=host, port=VALKEY_PORT, tls=False, pod_selector=valkey_pod_labels(cfg))


def memorystore_wiring(cfg: StackConfig, host: pulumi.Input[str]) -> RedisWiring:
    ms = cfg.redis.memorystore
    assert ms.reserved_ip_range is not None  # RedisConfig enforces
    return RedisWiring(
        host=host, port=MEMORYSTORE_TLS_PORT, tls=True, ca_secret=CA_SECRET, cidrs=(ms.reserved_ip_range,)
    )


def valkey_chart(cfg: StackConfig) -> HelmChart:
    ic = cfg.redis.in_cluster
    return HelmChart(chart=ic.chart, version=ic.chart_version, timeout=600)


def valkey_values(cfg: StackConfig) -> dict[str, Any]:
    """Helm values of the in-cluster valkey chart: standalone, auth from the ESO Secret, restricted."""
    ic = cfg.redis.in_cluster
    return {
        "fullnameOverride": valkey_fullname(cfg),
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


def valkey_network_policies(cfg: StackConfig, litellm_pods: dict[str, str]) -> list[dict[str, Any]]:
    """Default-deny for the Valkey pod, then ingress from LiteLLM's pods on the Redis port only."""
    ns = cfg.namespaces.gateway
    name = valkey_fullname(cfg)
    pods = {"matchLabels": valkey_pod_labels(cfg)}
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata(f"{name}-default-deny", ns, app="litellm-redis"),
            "spec": {"podSelector": pods, "policyTypes": ["Ingress", "Egress"]},
        },
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
                        "ports": [{"protocol": "TCP", "port": VALKEY_PORT}],
                    }
                ],
            },
        },
    ]


def memorystore_args(cfg: StackConfig) -> dict[str, Any]:
    """Arguments of `gcp.redis.Instance`: AUTH, TLS in transit, the cluster's VPC only."""
    ms = cfg.redis.memorystore
    assert ms.authorized_network is not None  # RedisConfig enforces
    return {
        "name": ms.name,
        "tier": ms.tier,
        "memory_size_gb": ms.memory_size_gb,
        "region": cfg.gcp.region,
        "redis_version": ms.redis_version,
        "authorized_network": ms.authorized_network,
        "connect_mode": ms.connect_mode,
        "reserved_ip_range": ms.reserved_ip_range,
        "auth_enabled": True,
        "transit_encryption_mode": "SERVER_AUTHENTICATION",
        "labels": {"app": "llm-gateway", "managed-by": "pulumi"},
    }


def _consumer(name: str, key: str, ns: str) -> SecretConsumer:
    return SecretConsumer(resource_name=name, secret_key=key, target=TargetSecret(name=name, namespace=ns))


def server_ca_pem(certs: Any) -> str:
    """The PEM bundle of `server_ca_certs` (every CA Google lists, so a CA rotation keeps working)."""
    pems = [c["cert"] if isinstance(c, dict) else c.cert for c in certs or []]
    return "\n".join(p.strip() for p in pems if p) + "\n"


@dataclass(frozen=True)
class SharedStateArgs:
    config: StackConfig
    """The builders read redis, namespaces, gcp (region), data_safety and secrets."""
    store: StoreAccess
    """The credentials' GSM secrets are synced through it and grant its accessor."""
    litellm_pods: Mapping[str, str]
    """LiteLLM's pod selector labels: the only clients the in-cluster Redis admits."""


class SharedState(pulumi.ComponentResource):
    """The stack's Redis (memorystore or in-cluster) and its credentials in GSM -> ESO."""

    wiring: RedisWiring

    def __init__(self, name: str, args: SharedStateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-gateway:redis:SharedState", name, None, opts)
        cfg, litellm_pods = args.config, dict(args.litellm_pods)
        store, accessor_email = args.store.ref, args.store.accessor_email
        child = pulumi.ResourceOptions(parent=self)
        ns = cfg.namespaces.gateway
        auth_consumer = (_consumer(AUTH_SECRET, PASSWORD_KEY, ns),)
        if cfg.redis.mode == "memorystore":
            instance = gcp.redis.Instance(
                f"{name}-memorystore",
                **memorystore_args(cfg),
                opts=pulumi.ResourceOptions.merge(child, stateful_options(cfg.data_safety)),
            )
            # Google generates the AUTH string: GSM gets it from the instance (a secret Output).
            ManagedSecret(
                f"{name}-auth",
                managed_secret_args(cfg, MEMORYSTORE_AUTH, store, auth_consumer),
                accessor_email,
                child,
                value=pulumi.Output.secret(instance.auth_string),
            )
            ManagedSecret(
                f"{name}-server-ca",
                managed_secret_args(cfg, MEMORYSTORE_CA, store, (_consumer(CA_SECRET, CA_KEY, ns),)),
                accessor_email,
                child,
                value=instance.server_ca_certs.apply(server_ca_pem),
            )
            self.wiring = memorystore_wiring(cfg, instance.host)
        else:
            password = ManagedSecret(
                f"{name}-password",
                managed_secret_args(cfg, REDIS_PASSWORD, store, auth_consumer),
                accessor_email,
                child,
            )
            ic = cfg.redis.in_cluster
            k8s.helm.v3.Release(
                f"{name}-valkey",
                **helm_release_args(ic.release_name, ns, valkey_chart(cfg), valkey_values(cfg)),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[password]),
            )
            network_policies(name, valkey_network_policies(cfg, litellm_pods), child)
            self.wiring = in_cluster_wiring(cfg)
        self.register_outputs({"mode": cfg.redis.mode})
