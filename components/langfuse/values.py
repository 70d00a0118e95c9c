"""The Helm values of self-hosted Langfuse v3: the `langfuse` chart (1.5.x, the last v3 line) with
its MinIO subchart sized from config (or GCS), the stack's PostgreSQL as its database, the stack's shared
Redis (no Valkey subchart), the stack's ClickHouseCluster (components/langfuse/clickhouse.py) instead of
the chart's, headless initialization of its org, project and keys.

No Pulumi calls: plain data from typed config. Every credential reaches the chart as a
`secretKeyRef`/`existingSecret` to a Secret that ESO renders from GSM
(`components.langfuse.credentials`); no secret value is ever part of the values.
"""

from __future__ import annotations

from typing import Any

from components.database.endpoint import DatabaseEndpoint, endpoint
from components.gcp import private_bucket
from components.kit import (
    PART_OF,
    container_resources,
    restricted_container,
    restricted_pod,
)
from components.langfuse.clickhouse import HTTP_PORT, NATIVE_PORT, clickhouse_names
from components.langfuse.credentials import (
    ADMIN_PASSWORD_KEY,
    CLICKHOUSE_PASSWORD_KEY,
    CREDENTIALS_SECRET,
    DB_SECRET,
    OIDC_CLIENT_SECRET_KEY,
    S3_ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY,
)
from components.langfuse.database import database_host
from components.langfuse.names import ui_url
from components.redis.values import CA_MOUNT_DIR, RedisWiring
from components.scanner import PULL_POLICY, chart_image_pin_skips, scanner_skips
from config import LangfuseConfig, LangfuseGcsConfig, StackConfig
from config.inventory import GRAFANA_RO_PASSWORD, gsm_secret_id
from config.redis import LANGFUSE_REDIS_DB

GCS_ENDPOINT = "https://storage.googleapis.com"
EVENTS_PREFIX = "events/"
"""Where Langfuse writes raw ingestion events in the GCS bucket (LANGFUSE_S3_EVENT_UPLOAD_PREFIX)."""
EXPORTS_PREFIX = "exports/"
"""Where it writes batch exports (LANGFUSE_S3_BATCH_EXPORT_PREFIX). Media stay at the bucket's root."""
EXPIRING_PREFIXES = (EVENTS_PREFIX, EXPORTS_PREFIX)
MINIO_BUCKET = "langfuse"
LANGFUSE_UID = 1001
"""The images' own user, named in their Dockerfiles (`USER nextjs` in web/Dockerfile, `USER expressjs` in
worker/Dockerfile, both `adduser --uid 1001` with group 1001, v3.224.1 and v4.4.0 alike): a name the
kubelet cannot check against runAsNonRoot, so the pods set the number."""
SCRATCH_SIZE = "1Gi"
WRITABLE_PATHS: dict[str, str] = {
    # Node's os.tmpdir() and the tools the web entrypoint runs (prisma, golang-migrate).
    "tmp": "/tmp",  # noqa: S108 (a mount path in the pod, not a file this program writes)
    # Next.js's runtime cache of the standalone server (distDir web/.next below WORKDIR /app):
    # optimized images and the incremental cache are written there, everything else is read only.
    "next-cache": "/app/web/.next/cache",
}
"""The only paths the web and worker containers may write, each an emptyDir: the root filesystem is
read only. The chart's extraVolumes/extraVolumeMounts apply to both Deployments (the worker never
touches web/.next/cache; the mount is harmless there)."""


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
RESTRICTED_CONTAINER = restricted_container(
    readOnlyRootFilesystem=True, runAsUser=LANGFUSE_UID, runAsGroup=LANGFUSE_UID
)


SECRETS_AS_ENV_REASON = (
    "Langfuse reads its salt, encryption key, database, ClickHouse, Redis and S3 credentials from environment "
    "variables only, each from a Secret ESO renders"
)
IMAGE_UID_REASON = (
    f"uid {LANGFUSE_UID} is the image's own user (its Dockerfile's adduser, owner of /app); "
    "the image has not been run as another uid here"
)
WORKER_PROBE_REASON = (
    "the chart renders no readiness probe for the worker and has no value for one; no Service sends it "
    "traffic (it consumes queues), and its liveness probe checks /api/health"
)


def deployment_annotations() -> tuple[dict[str, str], dict[str, str]]:
    """(web, worker) Deployments' Checkov skips: the chart renders `langfuse.<component>.deployment.annotations`
    on their top-level metadata."""
    common = chart_image_pin_skips("langfuse") | {"CKV_K8S_35": SECRETS_AS_ENV_REASON, "CKV_K8S_40": IMAGE_UID_REASON}
    return scanner_skips(common), scanner_skips(common | {"CKV_K8S_9": WORKER_PROBE_REASON})


def scratch_volumes() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(extraVolumes, extraVolumeMounts): one size-limited emptyDir per path in WRITABLE_PATHS."""
    volumes = [{"name": name, "emptyDir": {"sizeLimit": SCRATCH_SIZE}} for name in WRITABLE_PATHS]
    mounts = [{"name": name, "mountPath": path} for name, path in WRITABLE_PATHS.items()]
    return volumes, mounts


def postgresql_values(cfg: StackConfig) -> dict[str, Any]:
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
    # counted in the connection budget (config/budget.py), then the TLS parameters in Prisma's
    # own dialect (Langfuse hands the URL to Prisma untranslated): the server is verified
    # against the mounted CA wherever there is one.
    tls = database_endpoint(cfg).prisma_params()
    args = [f"connection_limit={lf.database_connection_limit}", *(f"{k}={v}" for k, v in tls.items())]
    values["args"] = "&".join(args)
    return values


def database_endpoint(cfg: StackConfig) -> DatabaseEndpoint:
    """The stack's database as its clients see it (host, TLS, the CA to mount)."""
    return endpoint(cfg, gsm_secret_id(cfg, GRAFANA_RO_PASSWORD))


def database_ca(cfg: StackConfig) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The CA certificate's volume and mount for web and worker (none without a CA)."""
    db = database_endpoint(cfg)
    volume = db.ca_volume()
    return ([volume], [db.ca_volume_mount()]) if volume is not None else ([], [])


# The Bitnami subcharts render allow-all NetworkPolicies by default (allowExternal,
# allowExternalEgress), which would void the default deny below: the program's policies only.
_NO_CHART_POLICY: dict[str, Any] = {"networkPolicy": {"enabled": False}}


def _clickhouse(cfg: StackConfig) -> dict[str, Any]:
    """The stack's own ClickHouseCluster (components/langfuse/clickhouse.py), not the chart's: replicated
    tables and ON CLUSTER migrations on the operator's cluster `default`, coordinated by its Keeper."""
    return {
        "deploy": False,
        "host": clickhouse_names(cfg).host,
        "httpPort": HTTP_PORT,
        "nativePort": NATIVE_PORT,
        "clusterEnabled": True,
        "auth": {
            "username": "default",
            "existingSecret": CREDENTIALS_SECRET,
            "existingSecretKey": CLICKHOUSE_PASSWORD_KEY,
        },
    }


def redis_values(redis: RedisWiring) -> dict[str, Any]:
    """The chart's `redis` (the same keys in the 1.5.x and 2.x charts): no Valkey of its own, the stack's shared
    Redis (in-cluster Valkey or Memorystore) in its own database, the password from that Redis's Secret (ESO,
    the gateway namespace), TLS with the mounted server CA where the server speaks it (Memorystore)."""
    return {
        "deploy": False,
        "host": redis.host,
        "port": redis.port,
        "auth": {
            "username": redis.username,
            "existingSecret": redis.auth_secret,
            "existingSecretPasswordKey": redis.password_key,
            "database": LANGFUSE_REDIS_DB,
        },
        "tls": {"enabled": redis.tls, "caPath": redis.ca_file or ""},
    }


def redis_ca(redis: RedisWiring) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The shared Redis's server CA (Memorystore): its volume and mount for web and worker, where LiteLLM has it."""
    if not redis.ca_secret:
        return [], []
    return (
        [{"name": "redis-ca", "secret": {"secretName": redis.ca_secret}}],
        [{"name": "redis-ca", "mountPath": CA_MOUNT_DIR, "readOnly": True}],
    )


def s3_values(lf: LangfuseConfig) -> dict[str, Any]:
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
            # Their own prefixes, so the bucket's lifecycle rule (blob_bucket) can expire them alone.
            "eventUpload": {"prefix": EVENTS_PREFIX},
            "batchExport": {"prefix": EXPORTS_PREFIX},
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


# PKCE (S256) and state, as oauth2-proxy's flow does (NextAuth `checks`, AUTH_CUSTOM_CHECKS).
OIDC_CHECKS = "pkce,state"


def auth(lf: LangfuseConfig) -> dict[str, Any]:
    """The chart's `langfuse.auth` (identical in the 1.x and 2.x charts, AUTH_* env of Langfuse v3 and v4):
    email/password sign-in off unless it is the only way in or accepted with a reason; with `sso` the
    generic OIDC provider (`custom`) against the stack's identity provider, its secret from the
    credentials Secret. The chart renders a false option as an empty variable, which Langfuse
    refuses: every flag is a "true"/"false" string."""
    values: dict[str, Any] = {"disableUsernamePassword": not lf.password_sign_in}
    if lf.sso is not None:
        values["providers"] = {
            "custom": {
                "name": lf.sso.display_name,
                "issuer": lf.sso.issuer_url,
                "clientId": lf.sso.client_id,
                "clientSecret": _ref(CREDENTIALS_SECRET, OIDC_CLIENT_SECRET_KEY),
                "scope": " ".join(lf.sso.scopes),
                "checks": OIDC_CHECKS,
                "allowAccountLinking": "true" if lf.sso.link_existing_accounts else "false",
            }
        }
    return values


def blob_bucket(gcs: LangfuseGcsConfig) -> dict[str, Any]:
    """The GCS bucket's arguments: private, raw events and batch exports deleted at `retention_days`
    (an age rule on their prefixes), media kept. Langfuse Cloud keeps events 30 days; Langfuse asks for
    a lifecycle rule on the event bucket (self-hosting docs, Blob Storage, "Bucket Lifecycle Policies")."""
    return private_bucket(
        gcs.bucket,
        gcs.location,
        lifecycle_rules=[
            {
                "action": {"type": "Delete"},
                "condition": {"age": gcs.retention_days, "matches_prefixes": list(EXPIRING_PREFIXES)},
            }
        ],
    )


def app_values(cfg: StackConfig, redis: RedisWiring) -> dict[str, Any]:
    """The chart's `langfuse` section: web and worker, their credentials, sign-in, security and scratch
    space, the CAs they verify servers with (the 1.5.x and 2.x charts read it under the same keys)."""
    lf = cfg.langfuse
    volumes, mounts = scratch_volumes()
    ca_volumes, ca_mounts = database_ca(cfg)
    redis_volumes, redis_mounts = redis_ca(redis)
    web_annotations, worker_annotations = deployment_annotations()
    return {
        "langfuse": {
            "salt": _ref(CREDENTIALS_SECRET, "salt"),
            "encryptionKey": _ref(CREDENTIALS_SECRET, "encryption-key"),
            "nextauth": {"url": ui_url(cfg), "secret": _ref(CREDENTIALS_SECRET, "nextauth-secret")},
            "features": {"telemetryEnabled": False, "signUpDisabled": lf.sign_up_refused},
            "auth": auth(lf),
            "logging": {"format": "json"},
            "podSecurityContext": RESTRICTED_POD,
            "securityContext": RESTRICTED_CONTAINER,
            "extraVolumes": [*volumes, *ca_volumes, *redis_volumes],
            "extraVolumeMounts": [*mounts, *ca_mounts, *redis_mounts],
            # Neither web nor worker calls the Kubernetes API, and GCS is reached with an HMAC key
            # (no Google identity from the pod): the ServiceAccount's token is mounted nowhere.
            "serviceAccount": {"automountServiceAccountToken": False},
            "pod": {"labels": {"app.kubernetes.io/part-of": PART_OF}},
            "image": {"pullPolicy": PULL_POLICY},
            "web": {
                "replicas": lf.web.replicas,
                "resources": container_resources(lf.web.resources),
                "deployment": {"annotations": web_annotations},
            },
            "worker": {
                "replicas": lf.worker.replicas,
                "resources": container_resources(lf.worker.resources),
                "deployment": {"annotations": worker_annotations},
            },
            "additionalEnv": init_env(lf),
            # The UI's Ingress is ours (components/langfuse/component.py), like the gateway's.
            "ingress": {"enabled": False},
        }
    }


def helm_values(cfg: StackConfig, redis: RedisWiring) -> dict[str, Any]:
    """Values of the langfuse 1.5.x chart (Langfuse v3; keys checked against it: tests/support/chart_keys.py)."""
    lf = cfg.langfuse
    return {
        **app_values(cfg, redis),
        "postgresql": postgresql_values(cfg),
        "clickhouse": _clickhouse(cfg),
        "redis": redis_values(redis),
        "s3": s3_values(lf),
    }
