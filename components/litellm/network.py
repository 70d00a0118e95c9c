"""How traffic reaches the proxy and leaves it: its NetworkPolicies (default deny, then the allowed
flows) and the public TLS Ingress (`/metrics` and the closed provider pass-through prefixes blocked,
the API client routes to LiteLLM, the admin surface through oauth2-proxy when SSO is on; the split is
`components.litellm.ingress_paths`, the pass-through prefixes `components.litellm.passthrough`).

Pure builders from typed config and the release's wiring.
"""

from __future__ import annotations

from typing import Any

from components.database.network import database_egress
from components.kit import (
    deny_all,
    dns_egress,
    metadata,
    namespace_peer,
    network_policy,
    prometheus_peer,
    tcp_ports,
    tls_ingress,
)
from components.litellm import passthrough
from components.litellm.ingress_paths import BLOCKED, path_table, prefix_type
from components.litellm.names import selector_labels, service_name
from components.litellm.wiring import AdminFrontDoor, GatewayWiring
from config import API_PORT, LiteLLMConfig, PostgresConfig


def network_policies(lit: LiteLLMConfig, pg: PostgresConfig, wiring: GatewayWiring) -> list[dict[str, Any]]:
    """Default-deny for the proxy pods (and its migration Job), then the allowed flows (`pg`: an
    external server's CIDRs)."""
    net = lit.network
    pods = {"matchLabels": selector_labels(lit)}
    api_from = [namespace_peer(ns) for ns in net.client_namespaces]
    if net.ingress_controller_namespace:
        api_from.append(namespace_peer(net.ingress_controller_namespace))
    # Callers inside the gateway namespace by their labels (a podSelector peer: this namespace only).
    api_from += [
        {"podSelector": {"matchLabels": dict(labels)}} for labels in (*net.gateway_client_pods, *wiring.api_clients)
    ]
    ingress_rules = [{"from": [prometheus_peer(net)], "ports": tcp_ports(lit.metrics_port)}]
    if api_from:  # `from: []` would admit every source: no peers, no rule
        ingress_rules.insert(0, {"from": api_from, "ports": tcp_ports(API_PORT)})
    egress_rules: list[dict[str, Any]] = [
        dns_egress(),
        database_egress(pg, wiring.database_pod_selector, wiring.database_port),
    ]
    if net.egress_cidrs:
        egress_rules.append({"to": [{"ipBlock": {"cidr": c}} for c in net.egress_cidrs], "ports": tcp_ports(443)})
    if net.egress_namespaces:
        egress_rules.append({"to": [namespace_peer(ns) for ns in net.egress_namespaces]})
    if wiring.redis is not None:
        # The in-cluster pods, or Memorystore's reserved range (never anywhere: a rule without `to` admits all).
        egress_rules.append({"to": wiring.redis.egress_peers(), "ports": tcp_ports(wiring.redis.port)})
    if wiring.tracing is not None:
        egress_rules.append(
            {
                "to": [{"podSelector": {"matchLabels": wiring.tracing.web_pod_selector}}],
                "ports": tcp_ports(wiring.tracing.web_port),
            }
        )
    ns = wiring.namespace
    return [
        network_policy(
            f"{lit.release_name}-default-deny",
            ns,
            "litellm",
            deny_all(pods),
        ),
        network_policy(
            f"{lit.release_name}-ingress",
            ns,
            "litellm",
            {"podSelector": pods, "policyTypes": ["Ingress"], "ingress": ingress_rules},
        ),
        network_policy(
            f"{lit.release_name}-egress",
            ns,
            "litellm",
            {"podSelector": pods, "policyTypes": ["Egress"], "egress": egress_rules},
        ),
    ]


def blocked_service(lit: LiteLLMConfig, namespace: str) -> dict[str, Any] | None:
    """A Service without selector (so without endpoints): the Ingress's backend for paths that
    must never be served publicly (`/metrics`); ingress-nginx answers them 503."""
    if not lit.ingress.enabled:
        return None
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(f"{lit.release_name}-blocked", namespace, app="litellm"),
        "spec": {"type": "ClusterIP", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
    }


def ingress_paths(lit: LiteLLMConfig, namespace: str, admin: AdminFrontDoor | None) -> list[dict[str, Any]]:
    """/metrics and the closed pass-through prefixes blocked (LiteLLM's client routes below them carved
    back out); with SSO the API client routes to LiteLLM and the rest through oauth2-proxy
    (components.litellm.ingress_paths), without SSO everything else to LiteLLM."""
    blocked = blocked_service(lit, namespace)
    assert blocked is not None
    blocked_backend = {"service": {"name": blocked["metadata"]["name"], "port": {"number": 80}}}
    litellm = {"service": {"name": service_name(lit), "port": {"number": API_PORT}}}
    pt = passthrough.ingress_paths(lit)
    closed = (*BLOCKED, *pt.blocked)
    paths = [{"path": path, "pathType": prefix_type(path), "backend": blocked_backend} for path in closed]
    direct = list(path_table().direct if admin else (("Prefix", "/"),))
    # The SSO table sends a pass-through prefix that has client routes below it (`/openai`) to LiteLLM:
    # the blocked path replaces it, the carved-back client routes follow.
    direct = [(t, p) for t, p in direct if not (t == "Prefix" and p in closed)]
    direct += [item for item in (*pt.clients, *(("Prefix", p) for p in pt.opened)) if item not in direct]
    paths += [{"path": path, "pathType": path_type, "backend": litellm} for path_type, path in direct]
    return paths + [dict(p) for p in (admin.paths if admin else ())]


def ingress(lit: LiteLLMConfig, namespace: str, admin: AdminFrontDoor | None) -> dict[str, Any] | None:
    ing = lit.ingress
    if not ing.enabled:
        return None
    assert ing.host is not None and ing.cluster_issuer is not None  # IngressConfig enforces
    return tls_ingress(
        lit.release_name,
        namespace,
        app="litellm",
        host=ing.host,
        class_name=ing.class_name,
        cluster_issuer=ing.cluster_issuer,
        paths=ingress_paths(lit, namespace, admin),
        annotations=admin.annotations if admin else None,
    )
