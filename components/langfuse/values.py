"""Pure builders for self-hosted Langfuse v3: the Helm values of the `langfuse`
chart (1.5.x, the last v3 line), the ExternalSecrets that carry its credentials,
its PostgreSQL database and role in the CNPG cluster, NetworkPolicies, the UI
Ingress, and what LiteLLM needs to send traces (`langfuse_otel`).

No Pulumi calls: plain data from typed config. Every credential reaches the
chart as a `secretKeyRef`/`existingSecret` to a Secret that ESO renders from
GSM; no secret value is ever part of the values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.database import cnpg
from components.database.network import database_egress
from components.kit import (
    PART_OF,
    HelmChart,
    container_resources,
    deny_all,
    dns_egress,
    helm_fullname,
    namespace_peer,
    network_policy,
    restricted_container,
    restricted_pod,
    service_host,
    tcp_ports,
    tls_ingress,
)
from components.litellm.names import selector_labels
from components.litellm.wiring import TracingWiring
from components.secrets.eso import RemoteEntry, StoreRef, TargetSecret, external_secret
from config import LangfuseConfig, StackConfig
from config.inventory import (
    LANGFUSE_ADMIN_PASSWORD,
    LANGFUSE_CLICKHOUSE_PASSWORD,
    LANGFUSE_ENCRYPTION_KEY,
    LANGFUSE_GCS_HMAC,
    LANGFUSE_MINIO_PASSWORD,
    LANGFUSE_NEXTAUTH_SECRET,
    LANGFUSE_PUBLIC_KEY,
    LANGFUSE_SALT,
    LANGFUSE_SECRET_KEY,
    LANGFUSE_VALKEY_PASSWORD,
    SecretSpec,
    gsm_secret_id,
)

CHART = "langfuse"
WEB_PORT = 3000
CREDENTIALS_SECRET = "langfuse-credentials"
"""Opaque Secret (ESO) with every Langfuse credential except the database password."""
DB_SECRET = "langfuse-db"
"""basic-auth Secret (ESO) of the `langfuse` role: CNPG managed role and the chart's Postgres auth."""
LITELLM_KEYS_SECRET = "litellm-langfuse"
"""Secret (ESO) LiteLLM mounts with environmentSecrets: LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY."""
GCS_ENDPOINT = "https://storage.googleapis.com"
MINIO_BUCKET = "langfuse"
MINIO_ROOT_USER = "langfuse"
LANGFUSE_UID = 1001
"""The langfuse images run as user `nextjs` (uid 1001); a numeric uid lets runAsNonRoot be verified."""

# Keys of CREDENTIALS_SECRET: (template variable, Secret data key, inventory entry).
_CREDENTIALS: tuple[tuple[str, str, SecretSpec], ...] = (
    ("salt", "salt", LANGFUSE_SALT),
    ("nextauth_secret", "nextauth-secret", LANGFUSE_NEXTAUTH_SECRET),
    ("encryption_key", "encryption-key", LANGFUSE_ENCRYPTION_KEY),
    ("clickhouse_password", "clickhouse-password", LANGFUSE_CLICKHOUSE_PASSWORD),
    ("redis_password", "redis-password", LANGFUSE_VALKEY_PASSWORD),
    ("public_key", "public-key", LANGFUSE_PUBLIC_KEY),
    ("secret_key", "secret-key", LANGFUSE_SECRET_KEY),
)
S3_ACCESS_KEY_ID = "s3-access-key-id"
S3_SECRET_ACCESS_KEY = "s3-secret-access-key"
ADMIN_PASSWORD_KEY = "admin-password"


@dataclass(frozen=True)
class LangfuseNames:
    """Names the chart derives from the release name, computed once."""

    release: str
    namespace: str

    @property
    def fullname(self) -> str:
        """The chart's `langfuse.fullname`."""
        return helm_fullname(self.release, CHART)

    @property
    def web_service(self) -> str:
        return f"{self.fullname}-web"

    @property
    def web_url(self) -> str:
        return f"http://{service_host(self.web_service, self.namespace)}:{WEB_PORT}"

    @property
    def instance_labels(self) -> dict[str, str]:
        """Every pod of the release, subcharts included, carries the instance label."""
        return {"app.kubernetes.io/instance": self.release}

    @property
    def web_labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": CHART, "app.kubernetes.io/instance": self.release, "app": "web"}


def names(cfg: StackConfig) -> LangfuseNames:
    return LangfuseNames(cfg.langfuse.release_name, cfg.namespaces.gateway)


def ui_url(cfg: StackConfig) -> str:
    """NEXTAUTH_URL: the UI's public URL with an ingress, else the in-cluster one."""
    lf = cfg.langfuse
    return f"https://{lf.ingress_host}" if lf.ingress_host else names(cfg).web_url


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


def database_host(cfg: StackConfig) -> tuple[str, int]:
    """The read-write host and port of the stack's PostgreSQL (the CNPG cluster or the external server)."""
    pg = cfg.postgres
    if pg.engine == "external":
        return pg.external.host, pg.external.port
    return cnpg.CnpgNames(pg.cnpg.name, cfg.namespaces.gateway).rw_host, cnpg.PORT


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
    """The pinned `langfuse` chart; ClickHouse and its schema migration need up to 20 minutes."""
    return HelmChart(chart=CHART, version=lf.chart_version, timeout=1200, repository=lf.repository)


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


def credentials_secret(cfg: StackConfig, store: StoreRef) -> dict[str, Any]:
    """One ExternalSecret rendering every chart credential (but the database's) into CREDENTIALS_SECRET."""
    lf = cfg.langfuse
    entries = [RemoteEntry(secret_key=var, gsm_secret_id=gsm_secret_id(cfg, spec)) for var, _, spec in _CREDENTIALS]
    template = {key: f"{{{{ .{var} }}}}" for var, key, _ in _CREDENTIALS}
    if lf.blob_storage == "gcs":
        entries.append(RemoteEntry(secret_key="hmac", gsm_secret_id=gsm_secret_id(cfg, LANGFUSE_GCS_HMAC)))
        template[S3_ACCESS_KEY_ID] = "{{ (.hmac | fromJson).access_id }}"
        template[S3_SECRET_ACCESS_KEY] = "{{ (.hmac | fromJson).secret }}"
    else:
        entries.append(RemoteEntry(secret_key="minio", gsm_secret_id=gsm_secret_id(cfg, LANGFUSE_MINIO_PASSWORD)))
        template[S3_ACCESS_KEY_ID] = MINIO_ROOT_USER
        template[S3_SECRET_ACCESS_KEY] = "{{ .minio }}"
    if lf.init.admin_email:
        entries.append(RemoteEntry(secret_key="admin", gsm_secret_id=gsm_secret_id(cfg, LANGFUSE_ADMIN_PASSWORD)))
        template[ADMIN_PASSWORD_KEY] = "{{ .admin }}"
    return external_secret(
        name=CREDENTIALS_SECRET,
        store=store,
        entries=entries,
        target=TargetSecret(name=CREDENTIALS_SECRET, namespace=cfg.namespaces.gateway, template_data=template),
        refresh_interval=cfg.secrets.refresh_interval,
    )


def litellm_keys_secret(cfg: StackConfig, store: StoreRef) -> dict[str, Any]:
    """The project's keys for LiteLLM (environmentSecrets): the same GSM secrets Langfuse is initialized with."""
    return external_secret(
        name=LITELLM_KEYS_SECRET,
        store=store,
        entries=[
            RemoteEntry(secret_key="LANGFUSE_PUBLIC_KEY", gsm_secret_id=gsm_secret_id(cfg, LANGFUSE_PUBLIC_KEY)),
            RemoteEntry(secret_key="LANGFUSE_SECRET_KEY", gsm_secret_id=gsm_secret_id(cfg, LANGFUSE_SECRET_KEY)),
        ],
        target=TargetSecret(name=LITELLM_KEYS_SECRET, namespace=cfg.namespaces.gateway),
        refresh_interval=cfg.secrets.refresh_interval,
    )


def litellm_tracing(cfg: StackConfig) -> TracingWiring | None:
    """What LiteLLM's release needs for `langfuse_otel`; None when Langfuse is off."""
    if not cfg.langfuse.enabled:
        return None
    n = names(cfg)
    return TracingWiring(
        otel_host=n.web_url, keys_secret=LITELLM_KEYS_SECRET, web_pod_selector=n.web_labels, web_port=WEB_PORT
    )


# --- database ------------------------------------------------------------------


def database_tenant(cfg: StackConfig) -> cnpg.DatabaseTenant:
    """Langfuse's database as a tenant of the stack's CNPG cluster: its owner login and its clients."""
    lf = cfg.langfuse
    return cnpg.DatabaseTenant(
        owner=lf.owner,
        database=lf.database,
        password_secret=DB_SECRET,
        comment="Langfuse (owner of its database), managed by llm-gateway",
        app="langfuse",
        clients=app_pods(names(cfg)),
    )


def cnpg_database(cfg: StackConfig) -> dict[str, Any]:
    """The CNPG `Database` for Langfuse in the stack's cluster.

    Kept on delete where the stack keeps data (`data_safety.retain_on_delete`); elsewhere
    dropped with its CR, like the salt and encryption key its rows depend on.
    """
    pg = cfg.postgres
    if pg.engine != "cnpg":
        raise ValueError("a CNPG Database needs postgres.engine cnpg")
    cluster = cnpg.CnpgNames(pg.cnpg.name, cfg.namespaces.gateway)
    return cnpg.tenant_database_manifest(database_tenant(cfg), cluster, cfg.data_safety.retain_on_delete)


# --- network and ingress -------------------------------------------------------


def network_policies(cfg: StackConfig) -> list[dict[str, Any]]:
    """Default-deny for every pod of the release, then: the release's own traffic, LiteLLM
    (and the ingress controller) to the web UI/API, DNS, PostgreSQL and, with GCS, HTTPS."""
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

    return [
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
    ] + (
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


def app_pods(n: LangfuseNames) -> dict[str, Any]:
    """Langfuse's own pods (web and worker), not the subcharts': the database's and blob storage's clients."""
    return {
        "matchLabels": {"app.kubernetes.io/name": CHART, **n.instance_labels},
        "matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "worker"]}],
    }


def ingress(cfg: StackConfig) -> dict[str, Any] | None:
    """The UI's TLS Ingress (same class and cert-manager issuer as the gateway's); None without a host."""
    lf = cfg.langfuse
    if not lf.ingress_host:
        return None
    issuer = cfg.litellm.ingress.cluster_issuer
    assert issuer is not None  # StackConfig enforces
    n = names(cfg)
    backend = {"service": {"name": n.web_service, "port": {"number": WEB_PORT}}}
    return tls_ingress(
        n.release,
        n.namespace,
        app="langfuse",
        host=lf.ingress_host,
        class_name=cfg.litellm.ingress.class_name,
        cluster_issuer=issuer,
        paths=[{"path": "/", "pathType": "Prefix", "backend": backend}],
    )
