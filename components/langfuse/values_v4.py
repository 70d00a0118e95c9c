"""The Helm values of Langfuse v4: the langfuse 2.x chart (chart/langfuse-v4 in assets.lock.json) with
its PostgreSQL and SeaweedFS subcharts off, ClickHouse the stack's own ClickHouseCluster
(components/langfuse/clickhouse.py), Redis the stack's shared Redis (its Valkey subchart off), blobs in
the GCS bucket. The web and worker settings are v3's
(components/langfuse/values.py): both charts read them under the same keys.

No Pulumi calls; every credential is a secretKeyRef/existingSecret to a Secret ESO renders.
"""

from __future__ import annotations

from typing import Any

from components.langfuse import values as v3
from components.langfuse.clickhouse import HTTP_PORT, NATIVE_PORT, clickhouse_names
from components.langfuse.credentials import CLICKHOUSE_PASSWORD_KEY, CREDENTIALS_SECRET
from components.redis.values import RedisWiring
from config import StackConfig


def _clickhouse(cfg: StackConfig) -> dict[str, Any]:
    """The operator's ClickHouse, not the chart's CRs (which could be neither restricted nor labelled)."""
    return {
        "deploy": False,
        "host": clickhouse_names(cfg).host,
        "httpPort": HTTP_PORT,
        "nativePort": NATIVE_PORT,
        # CLICKHOUSE_CLUSTER_ENABLED: replicated tables, ON CLUSTER on the operator's cluster `default`.
        "cluster": {"enabled": True},
        "auth": {
            "username": "default",
            "existingSecret": CREDENTIALS_SECRET,
            "existingSecretKey": CLICKHOUSE_PASSWORD_KEY,
        },
    }


def _s3(cfg: StackConfig) -> dict[str, Any]:
    """GCS over its S3 interoperability API with the bucket writer's HMAC key, as for v3."""
    values = v3.s3_values(cfg.langfuse)
    values.pop("networkPolicy", None)  # a Bitnami MinIO key; the 2.x chart has no MinIO
    return values


def helm_values(cfg: StackConfig, redis: RedisWiring) -> dict[str, Any]:
    """Values of the langfuse 2.x chart (keys checked against the pinned chart: tests/support/chart_keys.py)."""
    values = v3.app_values(cfg, redis)
    values["langfuse"]["additionalEnv"] += [
        {"name": name, "value": value} for name, value in cfg.langfuse.v4_migration.env().items()
    ]
    postgresql = v3.postgresql_values(cfg)
    for bitnami_only in ("primary", "readReplicas"):
        postgresql.pop(bitnami_only)
    return {
        **values,
        "postgresql": postgresql,
        "clickhouse": _clickhouse(cfg),
        "redis": v3.redis_values(redis),
        "s3": _s3(cfg),
    }
