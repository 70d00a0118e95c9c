"""Who may reach the database: the egress rule every client of it (LiteLLM, the reporting job,
Langfuse) adds to its NetworkPolicies. Pure; imports only the config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from config import PostgresConfig


def database_egress(pg: PostgresConfig, pod_selector: Mapping[str, str] | None, port: int) -> dict[str, Any]:
    """Egress to the database: the CNPG pods, or the external server's CIDRs (never anywhere)."""
    if pod_selector is not None:
        return {
            "to": [{"podSelector": {"matchLabels": dict(pod_selector)}}],
            "ports": [{"protocol": "TCP", "port": port}],
        }
    cidrs = pg.external.server_cidrs if pg.engine == "external" else []
    return {"to": [{"ipBlock": {"cidr": c}} for c in cidrs], "ports": [{"protocol": "TCP", "port": port}]}
