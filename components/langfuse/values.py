"""The Helm values of self-hosted Langfuse v3: the `langfuse` chart (1.5.x, the last v3 line) with
its ClickHouse, Valkey and MinIO subcharts sized from config, the stack's PostgreSQL as its
database, headless initialization of its org, project and keys.

No Pulumi calls: plain data from typed config. Every credential reaches the chart as a
`secretKeyRef`/`existingSecret` to a Secret that ESO renders from GSM
(`components.langfuse.credentials`); no secret value is ever part of the values.
"""

from __future__ import annotations

from typing import Any

from components.kit import PART_OF, HelmChart, container_resources, restricted_container, restricted_pod
from components.langfuse.credentials import (
    ADMIN_PASSWORD_KEY,
    CREDENTIALS_SECRET,
    DB_SECRET,
    S3_ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY,
)
from components.langfuse.database import database_host
from components.langfuse.names import ui_url
from config import LangfuseConfig, StackConfig
from config.assets import LANGFUSE_CHART

GCS_ENDPOINT = "https://storage.googleapis.com"
MINIO_BUCKET = "langfuse"
LANGFUSE_UID = 1001
"""The langfuse images run as user `nextjs` (uid 1001); a numeric uid lets runAsNonRoot be verified."""


def _ref(secret: str, key: str) -> dict[str, Any]:
    return {"secretKeyRef": {"name": secret, "key": key}}


def _env_from_secret(name: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": _ref(CREDENTIALS_SECRET, key)}


def init_env(lf: LangfuseConfig) -> list[dict[str, Any]]:
    """Headless initialization: the org, project and its API keys (from secrets), an optional admin."""
    init = lf.init
    env: list[dict[str, Any]] = [
        {"name": "LANGFUSE_INIT_ORG_ID", "value": init.org_id},
        {"name": "LANGFUSE_INIT_ORG_NAME", "value": init.org_name},
        {"name": "LANGFUSE_INIT_PROJECT_ID", "value": init.project_id},
        {"name": "LANGFUSE_INIT_PROJECT_NAME", "value": init.project_name},
        _env_from_secret("LANGFUSE_INIT_PROJECT_PUBLIC_KEY", "public-key"),
        _env_from_secret("LANGFUSE_INIT_PROJECT_SECRET_KEY", "secret-key"),
    ]
    if init.admin_email:
        env += [
            {"name": "LANGFUSE_INIT_USER_EMAIL", "value": init.admin_email},
            {"name": "LANGFUSE_INIT_USER_NAME", "value": "admin"},
            _env_from_secret("LANGFUSE_INIT_USER_PASSWORD", ADMIN_PASSWORD_KEY),
        ]
    return env


RESTRICTED_POD = restricted_pod(LANGFUSE_UID)
RESTRICTED_CONTAINER = restricted_container()


def _postgresql(cfg: StackConfig) -> dict[str, Any]:
    lf = cfg.langfuse
    host, port = database_host(cfg)
    values: dict[str, Any] = {
        "deploy": False,
        # Not deployed (the stack's database is used); should it ever be, no allow-all policies.
        "primary": _NO_CHART_POLICY,
        "readReplicas": _NO_CHART_POLICY,
        "host": host,
        "port": port,
        "auth": {
            "username": lf.owner,
            "existingSecret": DB_SECRET,
            "secretKeys": {"userPasswordKey": "password"},
            "database": lf.database,
        },
    }
    # Appended to DATABASE_URL after `?` by the image's entrypoint: Prisma's pool per pod,
    # counted in the connection budget (config/budget.py).
    args = [f"connection_limit={lf.database_connection_limit}"]
    pg = cfg.postgres
    if pg.engine == "external":
        args.append(f"sslmode={pg.external.sslmode}")
    values["args"] = "&".join(args)
    return values


# The Bitnami subcharts render allow-all NetworkPolicies by default (allowExternal,
# allowExternalEgress), which would void the default deny below: the program's policies only.
_NO_CHART_POLICY: dict[str, Any] = {"networkPolicy": {"enabled": False}}


def _clickhouse(lf: LangfuseConfig) -> dict[str, Any]:
    ch = lf.clickhouse
    replicated = ch.replicas > 1
    zookeeper: dict[str, Any] = {"enabled": replicated}
    if replicated:
        zookeeper |= {"replicaCount": ch.zookeeper.replicas, "resources": container_resources(ch.zookeeper.resources)}
    return {
        "deploy": True,
        "shards": 1,
        "replicaCount": ch.replicas,
        # ON CLUSTER statements need the replicated setup; a single replica runs without.
        "clusterEnabled": replicated,
        "auth": {
            "username": "default",
            "existingSecret": CREDENTIALS_SECRET,
            "existingSecretKey": "clickhouse-password",
        },
        "resources": container_resources(ch.resources),
        "persistence": {"size": ch.storage_size},
        "zookeeper": zookeeper | _NO_CHART_POLICY,
        **_NO_CHART_POLICY,
    }


def _redis(lf: LangfuseConfig) -> dict[str, Any]:
    return {
        "deploy": True,
        "architecture": "standalone",
        "auth": {"existingSecret": CREDENTIALS_SECRET, "existingSecretPasswordKey": "redis-password"},
        "primary": {
            # Langfuse's queues must never be evicted.
            "extraFlags": ["--maxmemory-policy noeviction"],
            "resources": container_resources(lf.valkey.resources),
            "persistence": {"size": lf.valkey.storage_size},
        },
        **_NO_CHART_POLICY,
    }


def _s3(lf: LangfuseConfig) -> dict[str, Any]:
    credentials = {
        "accessKeyId": _ref(CREDENTIALS_SECRET, S3_ACCESS_KEY_ID),
        "secretAccessKey": _ref(CREDENTIALS_SECRET, S3_SECRET_ACCESS_KEY),
    }
    if lf.blob_storage == "gcs":
        assert lf.gcs is not None
        return {
            "deploy": False,
            "storageProvider": "s3",
            "bucket": lf.gcs.bucket,
            "region": "auto",
            "endpoint": GCS_ENDPOINT,
            "forcePathStyle": False,
            **_NO_CHART_POLICY,
            **credentials,
        }
    return {
        "deploy": True,
        "bucket": MINIO_BUCKET,
        "defaultBuckets": MINIO_BUCKET,
        "auth": {
            "existingSecret": CREDENTIALS_SECRET,
            "rootUserSecretKey": S3_ACCESS_KEY_ID,
            "rootPasswordSecretKey": S3_SECRET_ACCESS_KEY,
        },
        "resources": container_resources(lf.minio.resources),
        "persistence": {"size": lf.minio.storage_size},
        **_NO_CHART_POLICY,
        **credentials,
    }


def helm_chart(lf: LangfuseConfig) -> HelmChart:
    """The locked `langfuse` chart; ClickHouse and its schema migration need up to 20 minutes."""
    return HelmChart(asset=LANGFUSE_CHART, timeout=1200)


def helm_values(cfg: StackConfig) -> dict[str, Any]:
    """Values of the `langfuse` chart (keys checked against tests/data/langfuse_values_keys.txt)."""
    lf = cfg.langfuse
    return {
        "langfuse": {
            "salt": _ref(CREDENTIALS_SECRET, "salt"),
            "encryptionKey": _ref(CREDENTIALS_SECRET, "encryption-key"),
            "nextauth": {"url": ui_url(cfg), "secret": _ref(CREDENTIALS_SECRET, "nextauth-secret")},
            "features": {"telemetryEnabled": False, "signUpDisabled": lf.sign_up_disabled},
            "logging": {"format": "json"},
            "podSecurityContext": RESTRICTED_POD,
            "securityContext": RESTRICTED_CONTAINER,
            "pod": {"labels": {"app.kubernetes.io/part-of": PART_OF}},
            "web": {"replicas": lf.web.replicas, "resources": container_resources(lf.web.resources)},
            "worker": {"replicas": lf.worker.replicas, "resources": container_resources(lf.worker.resources)},
            "additionalEnv": init_env(lf),
            # The UI's Ingress is ours (components/langfuse/component.py), like the gateway's.
            "ingress": {"enabled": False},
        },
        "postgresql": _postgresql(cfg),
        "clickhouse": _clickhouse(lf),
        "redis": _redis(lf),
        "s3": _s3(lf),
    }
