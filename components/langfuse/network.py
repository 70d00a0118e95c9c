"""How traffic reaches Langfuse and leaves it: NetworkPolicies for every pod of the release and,
with `langfuse.ingress_host`, the UI's TLS Ingress (the public and admin APIs to a Service without
endpoints unless a setting opens the public one). Pure builders from the stack config.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from components.database.network import database_egress
from components.kit import (
    deny_all,
    dns_egress,
    metadata,
    namespace_peer,
    network_policy,
    tcp_ports,
    tls_ingress,
)
from components.langfuse import clickhouse
from components.langfuse.database import database_host
from components.langfuse.names import WEB_PORT, app_pods, names
from components.litellm.names import selector_labels
from components.redis.values import RedisWiring
from config import StackConfig


def network_policies(cfg: StackConfig, redis: RedisWiring) -> list[dict[str, Any]]:
    """Default-deny for every pod of the release, then: the release's own traffic, LiteLLM
    (and the ingress controller) to the web UI/API, DNS, PostgreSQL, web and worker to ClickHouse and to the
    shared Redis (`redis`: its pods or Memorystore's range, on its port) and, with GCS, HTTPS; the ClickHouse
    and Keeper pods' own policies (components/langfuse/clickhouse.py)."""
    n = names(cfg)
    pods = {"matchLabels": n.instance_labels}
    ns = n.namespace
    own = {"podSelector": pods}
    web_from: list[dict[str, Any]] = [{"podSelector": {"matchLabels": selector_labels(cfg.litellm)}}]
    controller = cfg.litellm.network.ingress_controller_namespace
    if cfg.langfuse.ingress_host and controller:
        web_from.append(namespace_peer(controller))
    pg = cfg.postgres
    _, db_port = database_host(cfg)
    cnpg_pods = {"cnpg.io/cluster": pg.cnpg.name} if pg.engine == "cnpg" else None
    egress: list[dict[str, Any]] = [
        dns_egress(),
        {"to": [own]},
        database_egress(cfg.postgres, cnpg_pods, db_port),
    ]

    def policy(suffix: str, spec: dict[str, Any]) -> dict[str, Any]:
        return network_policy(f"{n.release}-{suffix}", ns, "langfuse", spec)

    return (
        [
            policy("default-deny", deny_all(pods)),
            policy("internal", {"podSelector": pods, "policyTypes": ["Ingress"], "ingress": [{"from": [own]}]}),
            policy(
                "web",
                {
                    "podSelector": {"matchLabels": n.web_labels},
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": web_from, "ports": tcp_ports(WEB_PORT)}],
                },
            ),
            policy("egress", {"podSelector": pods, "policyTypes": ["Egress"], "egress": egress}),
            # ClickHouse is the operator's (its pods are not the release's): web and worker only.
            policy(
                "clickhouse-egress",
                {"podSelector": app_pods(n), "policyTypes": ["Egress"], "egress": [clickhouse.langfuse_egress(cfg)]},
            ),
            *clickhouse.network_policies(cfg, app_pods(n)),
            # The stack's shared Redis (its own policy admits them: SharedStateArgs.other_clients): web and worker.
            policy(
                "redis-egress",
                {
                    "podSelector": app_pods(n),
                    "policyTypes": ["Egress"],
                    "egress": [{"to": redis.egress_peers(), "ports": tcp_ports(redis.port)}],
                },
            ),
        ]
        + (
            # GCS (no stable address ranges) over HTTPS: only the web and worker pods read and write blobs.
            [
                policy(
                    "gcs-egress",
                    {
                        "podSelector": app_pods(n),
                        "policyTypes": ["Egress"],
                        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": tcp_ports(443)}],
                    },
                )
            ]
            if cfg.langfuse.blob_storage == "gcs"
            else []
        )
        + _idp_egress(cfg, policy)
    )


def _idp_egress(cfg: StackConfig, policy: Callable[[str, dict[str, Any]], dict[str, Any]]) -> list[dict[str, Any]]:
    """With langfuse.sso, the web pods (NextAuth's server side: discovery, token exchange, keys) reach
    the identity provider over HTTPS; no other Langfuse pod does."""
    sso = cfg.langfuse.sso
    if sso is None:
        return []
    spec = {
        "podSelector": {"matchLabels": names(cfg).web_labels},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": cidr}} for cidr in sso.idp_egress_cidrs], "ports": tcp_ports(443)}],
    }
    return [policy("idp-egress", spec)]


PUBLIC_API_PATH = "/api/public"
"""Langfuse's public API (SDK and OTLP ingestion, prompts, scores...): project keys alone authenticate it."""
ADMIN_API_PATH = "/api/admin"
"""Langfuse's instance admin API (ADMIN_API_KEY, Enterprise): never on the public host."""
BLOCKED_PORT = 80


def blocked_service(cfg: StackConfig) -> dict[str, Any] | None:
    """A Service without selector (so without endpoints), LiteLLM's `<release>-blocked` pattern: the UI
    Ingress's backend for paths that must not be served publicly; ingress-nginx answers them 503.
    None without a UI host."""
    if not cfg.langfuse.ingress_host:
        return None
    n = names(cfg)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(f"{n.release}-blocked", n.namespace, app="langfuse"),
        "spec": {"type": "ClusterIP", "ports": [{"name": "http", "port": BLOCKED_PORT, "protocol": "TCP"}]},
    }


def blocked_paths(cfg: StackConfig) -> tuple[str, ...]:
    """Paths of the UI host sent to the blocked Service: the admin API always, the public API unless
    `public_api_on_ingress` (LiteLLM reaches /api/public inside the cluster, the kubelet probes
    /api/public/health and /ready on the pod: neither goes through the Ingress)."""
    if cfg.langfuse.public_api_on_ingress:
        return (ADMIN_API_PATH,)
    return (ADMIN_API_PATH, PUBLIC_API_PATH)


def ingress(cfg: StackConfig) -> dict[str, Any] | None:
    """The UI's TLS Ingress (same class and cert-manager issuer as the gateway's); None without a host.
    `blocked_paths` go to the Service without endpoints (a longer Prefix wins over `/`), the rest to the
    web Service, where Langfuse's own sign-in (langfuse.sso) guards the UI."""
    lf = cfg.langfuse
    blocked = blocked_service(cfg)
    if not lf.ingress_host or blocked is None:
        return None
    issuer = cfg.litellm.ingress.cluster_issuer
    assert issuer is not None  # StackConfig enforces
    n = names(cfg)
    web = {"service": {"name": n.web_service, "port": {"number": WEB_PORT}}}
    nowhere = {"service": {"name": blocked["metadata"]["name"], "port": {"number": BLOCKED_PORT}}}
    paths = [{"path": path, "pathType": "Prefix", "backend": nowhere} for path in blocked_paths(cfg)]
    return tls_ingress(
        n.release,
        n.namespace,
        app="langfuse",
        host=lf.ingress_host,
        class_name=cfg.litellm.ingress.class_name,
        cluster_issuer=issuer,
        paths=[*paths, {"path": "/", "pathType": "Prefix", "backend": web}],
    )
