"""A small evaluator of Kubernetes NetworkPolicy semantics, for tests.

Rules followed (Kubernetes docs, "Network Policies"): a pod is isolated for a
direction when some policy of its namespace selects it with that policy type;
an isolated pod admits a connection when any selecting policy has a rule whose
ports include the port (no `ports`: every port) and whose peers include the
other side (no `from`/`to`, or an empty list: every peer). A peer with
`namespaceSelector` and `podSelector` means both; `podSelector` alone means the
policy's namespace; `ipBlock` matches addresses (here: a pod's `ip`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ip: str = "10.8.0.10"

    @property
    def namespace_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace}


@dataclass(frozen=True)
class Address:
    """Something outside the cluster (an IP)."""

    ip: str


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        present = expr["key"] in labels
        value = labels.get(expr["key"])
        op = expr["operator"]
        if (op == "In" and value not in expr["values"]) or (op == "NotIn" and value in expr["values"]):
            return False
        if (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return True


def _peer_matches(peer: Mapping[str, Any], policy_ns: str, other: Pod | Address) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        ip = ipaddress.ip_address(other.ip)
        inside = ip in ipaddress.ip_network(block["cidr"])
        return inside and not any(ip in ipaddress.ip_network(c) for c in block.get("except", []))
    if isinstance(other, Address):
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], other.namespace_labels):
            return False
    elif other.namespace != policy_ns:
        return False
    return "podSelector" not in peer or selects(peer["podSelector"], other.labels)


def _port_matches(rule: Mapping[str, Any], port: int, protocol: str) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    return any(p.get("protocol", "TCP") == protocol and p.get("port") in (None, port) for p in ports)


def _allowed(
    policies: Iterable[Mapping[str, Any]], pod: Pod, other: Pod | Address, port: int, protocol: str, direction: str
) -> bool:
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    selecting = [
        p
        for p in policies
        if p["kind"] == "NetworkPolicy"
        and p["metadata"]["namespace"] == pod.namespace
        and selects(p["spec"]["podSelector"], pod.labels)
        and direction in p["spec"].get("policyTypes", ["Ingress"])
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get(key) or []:
            peers = rule.get(peers_key)
            if _port_matches(rule, port, protocol) and (
                not peers or any(_peer_matches(peer, pod.namespace, other) for peer in peers)
            ):
                return True
    return False


def can_connect(
    policies: Sequence[Mapping[str, Any]],
    source: Pod | Address,
    target: Pod | Address,
    port: int,
    protocol: str = "TCP",
) -> bool:
    """Whether `source` may open a connection to `target:port` (egress of one, ingress of the other)."""
    out = not isinstance(source, Pod) or _allowed(policies, source, target, port, protocol, "Egress")
    into = not isinstance(target, Pod) or _allowed(policies, target, source, port, protocol, "Ingress")
    return out and into
