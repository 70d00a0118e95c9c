"""What LiteLLM's release is wired to: names from the other components (the database, its keys,
Langfuse's tracing, the shared Redis, SSO in front of the admin surface), one source each.

Pure; the root component builds a `GatewayWiring` and hands it to the chart values and the
NetworkPolicies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.database.endpoint import DatabaseEndpoint
from components.redis.values import RedisWiring
from config import StackConfig


@dataclass(frozen=True)
class TracingWiring:
    """LiteLLM -> Langfuse (`langfuse_otel`): what the proxy needs, from components.langfuse."""

    otel_host: str
    """LANGFUSE_OTEL_HOST: the Langfuse web Service URL (in-cluster)."""
    keys_secret: str
    """Secret (gateway namespace) holding LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY."""
    web_pod_selector: dict[str, str]
    web_port: int


@dataclass(frozen=True)
class AdminFrontDoor:
    """Single sign-on in front of the admin surface (from components.sso.values, wired by the root)."""

    paths: tuple[Mapping[str, Any], ...]
    """The Ingress paths that go through it: everything but LiteLLM's API client routes."""
    annotations: Mapping[str, str]
    """Ingress annotations its sessions need (e.g. a larger proxy buffer for the cookies)."""


@dataclass(frozen=True)
class GatewayWiring:
    """Names from other components the release is wired to (one source each)."""

    namespace: str
    master_key_secret: str
    master_key_key: str
    salt_key_secret: str
    """Secret holding `LITELLM_SALT_KEY` (mounted with environmentSecrets)."""
    database_secret: str
    database_host: str
    database_port: int
    database_name: str
    database_pod_selector: dict[str, str] | None
    """Labels of the database pods (CNPG) for the egress policy; None for an external server."""
    database_uri_query: str = ""
    """Appended to the owner's `uri` (TLS: `?sslmode=verify-full&sslrootcert=...`; LiteLLM turns libpq's
    parameters into Prisma's); empty where the Secret's URI carries its parameters already."""
    database_ca_volume: dict[str, Any] | None = None
    """The pod volume of the database server's CA certificate (None: no CA to mount)."""
    tracing: TracingWiring | None = None
    """Langfuse tracing (langfuse.enabled); None: nothing of Langfuse in the release."""
    redis: RedisWiring | None = None
    """The shared Redis (redis.mode); None: every process keeps its own state."""
    admin: AdminFrontDoor | None = None
    """Single sign-on (sso.enabled); None: the Ingress sends everything to LiteLLM."""
    api_clients: tuple[Mapping[str, str], ...] = ()
    """Labels of the program's own pods in the gateway namespace that call the API (the tenants reconciler)."""


def gateway_wiring(
    cfg: StackConfig,
    endpoint: DatabaseEndpoint,
    master_key_secret: str,
    master_key_key: str,
    salt_key_secret: str,
    tracing: TracingWiring | None,
) -> GatewayWiring:
    """What the release is wired to; `tracing` from Langfuse's builders (None: tracing off)."""
    return GatewayWiring(
        namespace=cfg.namespaces.gateway,
        master_key_secret=master_key_secret,
        master_key_key=master_key_key,
        salt_key_secret=salt_key_secret,
        database_secret=endpoint.app_secret,
        database_host=endpoint.host,
        database_port=endpoint.port,
        database_name=endpoint.database,
        database_pod_selector=dict(endpoint.pod_labels) if endpoint.pod_labels else None,
        database_uri_query=endpoint.uri_query,
        database_ca_volume=endpoint.ca_volume(),
        tracing=tracing,
    )
