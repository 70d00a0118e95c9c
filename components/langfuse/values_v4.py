"""The Helm values of Langfuse v4: the langfuse 2.x chart (chart/langfuse-v4 in assets.lock.json) with
its PostgreSQL and SeaweedFS subcharts off, ClickHouse the stack's own ClickHouseCluster
(components/langfuse/clickhouse.py), Redis its official Valkey subchart (valkey-io/valkey-helm, no
Bitnami) with auth from GSM, blobs in the GCS bucket. The web and worker settings are v3's
(components/langfuse/values.py): both charts read them under the same keys.

No Pulumi calls; every credential is a secretKeyRef/existingSecret to a Secret ESO renders.
"""

from __future__ import annotations

from typing import Any

from components.kit import PART_OF, container_resources
from components.langfuse import values as v3
from components.langfuse.clickhouse import HTTP_PORT, NATIVE_PORT, clickhouse_names
from components.langfuse.credentials import CLICKHOUSE_PASSWORD_KEY, CREDENTIALS_SECRET, REDIS_PASSWORD_KEY
from components.scanner import PULL_POLICY
from config import StackConfig

VALKEY_IMAGE_TAG = "9.0.2"
"""docker.io/valkey/valkey at the valkey 0.9.4 subchart's appVersion (the langfuse 2.0.0 chart's own default,
`8.0`, is a floating tag)."""
VALKEY_UID = 1000
"""The Valkey subchart's pod user and group (its values' podSecurityContext)."""


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


def _redis(cfg: StackConfig) -> dict[str, Any]:
    """The official Valkey subchart: standalone, ACL user `default` with the password from the credentials
    Secret (the app reads the same key), `noeviction` (Langfuse's queues must never be evicted), a kept volume."""
    lf = cfg.langfuse
    return {
        "deploy": True,
        "auth": {
            "enabled": True,
            "username": "default",
            "existingSecret": CREDENTIALS_SECRET,
            "existingSecretPasswordKey": REDIS_PASSWORD_KEY,
            "usersExistingSecret": CREDENTIALS_SECRET,
            "aclUsers": {"default": {"permissions": "~* &* +@all", "passwordKey": REDIS_PASSWORD_KEY}},
        },
        "image": {"tag": VALKEY_IMAGE_TAG, "pullPolicy": PULL_POLICY},
        "valkeyConfig": "maxmemory-policy noeviction\n",
        "resources": container_resources(lf.valkey.resources),
        # The init container (it writes the config and the ACL file) gets the same.
        "initResources": container_resources(lf.valkey.resources),
        "dataStorage": {"enabled": True, "requestedSize": lf.valkey.storage_size, "keepPvc": True},
        # One ReadWriteOnce volume: the old pod must be gone before the new one mounts it.
        "deploymentStrategy": "Recreate",
        "podLabels": {"app.kubernetes.io/part-of": PART_OF},
    }


def _s3(cfg: StackConfig) -> dict[str, Any]:
    """GCS over its S3 interoperability API with the bucket writer's HMAC key, as for v3."""
    values = v3.s3_values(cfg.langfuse)
    values.pop("networkPolicy", None)  # a Bitnami MinIO key; the 2.x chart has no MinIO
    return values


def helm_values(cfg: StackConfig) -> dict[str, Any]:
    """Values of the langfuse 2.x chart (keys checked against the pinned chart: tests/support/chart_keys.py)."""
    values = v3.app_values(cfg)
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
        "redis": _redis(cfg),
        "s3": _s3(cfg),
    }
