"""Langfuse: self-hosted Langfuse v3 (tracing for LiteLLM), created only when `langfuse.enabled`.

Encapsulates:
- every Langfuse credential as a ManagedSecret (GSM, per-secret accessor grant):
  salt, NextAuth secret, encryption key (64 hex), database, ClickHouse and MinIO
  passwords (the shared Redis's password is `SharedState`'s), the project's `pk-lf-`/`sk-lf-` API keys (headless
  initialization), an optional admin password; with GCS, the HMAC key of a
  dedicated service account (provider-generated, stored in GSM as a secret
  version, still a secret Output end to end);
- ExternalSecrets rendering them: `langfuse-credentials` (the chart's
  secretKeyRefs/existingSecrets; with `langfuse.sso` also the identity team's OIDC
  client secret, on which the store's account gets `secretAccessor`), `langfuse-db`
  (basic-auth, `cnpg.io/reload`) and `litellm-langfuse` (LiteLLM's environmentSecrets);
- its PostgreSQL database: a CNPG `Database` in the stack's cluster (the
  managed role is in the Cluster spec, see `components.database.cnpg_engine`), or a role
  and database on the external server;
- with `blob_storage: gcs`: the bucket (data-safety options, raw events and
  exports deleted at `gcs.retention_days`), the service
  account with objectAdmin on that bucket only, and its HMAC key;
- ClickHouse and Keeper as a `ClickHouseCluster` and a `KeeperCluster` for the upstream ClickHouse
  operator (a platform prerequisite), PSS restricted, the `default` password from ESO;
- the `langfuse` chart (pinned, from its Helm repository) as a helm.v3.Release
  with the MinIO subchart sized from config (v3) and no Valkey: its queues and cache
  are in the stack's shared Redis (`components.redis`, database `LANGFUSE_REDIS_DB`);
- NetworkPolicies and, with `langfuse.ingress_host`, a TLS Ingress for the UI whose
  `/api/public` (unless `public_api_on_ingress`) and `/api/admin` go to `<release>-blocked`,
  a Service without endpoints.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pulumi_postgresql as postgresql

from components.database import cnpg_roles, server
from components.gcp import bucket_with_writer
from components.kit import custom_resource, helm_release, ingress, network_policies, object_meta, stateful_options
from components.langfuse import chart, clickhouse, credentials, network, values
from components.langfuse.database import cnpg_database
from components.langfuse.names import names, ui_url
from components.redis.values import RedisWiring
from components.secrets.managed import ManagedSecret, ManagedSecretArgs, basic_auth_consumer, managed_secret_args
from components.secrets.store import StoreAccess, grant_referenced_secret
from config import DataSafetyConfig, LangfuseConfig, StackConfig
from config.inventory import LANGFUSE_DB_PASSWORD, langfuse_secrets

BLOB_GSA_DISPLAY_NAME = "llm-gateway Langfuse blob storage (HMAC, S3 interop)"


@dataclass(frozen=True)
class LangfuseManifests:
    """What Langfuse's pure builders render. Those builders legitimately read many sections
    (langfuse, postgres, namespaces, secrets, data_safety, LiteLLM's pods and ingress), so
    `LangfuseArgs.from_config` runs them and the component only registers the result."""

    credentials: dict[str, Any]
    litellm_keys: dict[str, Any]
    network_policies: list[dict[str, Any]]
    helm_values: dict[str, Any]
    ingress: dict[str, Any] | None
    blocked_service: dict[str, Any] | None
    """The Ingress's backend for the paths it must not serve (a Service without endpoints); None without a host."""
    cnpg_database: dict[str, Any] | None
    """The CNPG `Database` (engine cnpg); None on an external server (role and database created here)."""
    clickhouse_cluster: dict[str, Any]
    """The `ClickHouseCluster` Langfuse keeps its traces in (the upstream ClickHouse operator's)."""
    keeper_cluster: dict[str, Any]
    """The `KeeperCluster` that ClickHouse coordinates through."""

    @classmethod
    def from_config(cls, cfg: StackConfig, store: StoreAccess, redis: RedisWiring) -> LangfuseManifests:
        return cls(
            credentials=credentials.credentials_secret(cfg, store.ref),
            litellm_keys=credentials.litellm_keys_secret(cfg, store.ref),
            network_policies=network.network_policies(cfg, redis),
            helm_values=chart.helm_values(cfg, redis),
            ingress=network.ingress(cfg),
            blocked_service=network.blocked_service(cfg),
            cnpg_database=cnpg_database(cfg) if cfg.postgres.engine == "cnpg" else None,
            clickhouse_cluster=clickhouse.clickhouse_cluster(cfg),
            keeper_cluster=clickhouse.keeper_cluster(cfg),
        )


@dataclass(frozen=True)
class LangfuseArgs:
    langfuse: LangfuseConfig
    """The release, its database owner, the blob storage (GCS bucket and its writer)."""
    namespace: str
    """The gateway namespace (the release)."""
    project: str
    """The GCP project of the bucket, its writer and the HMAC key."""
    data_safety: DataSafetyConfig
    """Protection of the bucket, the database and the release's volumes."""
    secrets: tuple[ManagedSecretArgs, ...]
    """Every Langfuse credential (`config.inventory.langfuse_secrets`); the provider-generated HMAC
    key gets its value from the bucket's writer here."""
    manifests: LangfuseManifests
    store: StoreAccess
    """The credentials' ExternalSecrets read through it; its accessor is granted the referenced OIDC client secret."""
    url: str
    """The UI's URL (the ingress host, else the in-cluster web Service)."""
    otel_host: str
    """Where LiteLLM sends traces (the web Service)."""
    database: pulumi.Resource
    """The stack's database component: Langfuse's own database waits for it."""
    shared_redis: pulumi.Resource
    """The stack's shared Redis (`SharedState`): the release waits for it (the instance or the in-cluster Valkey,
    and the password Secret web and worker read); nothing else of Langfuse does."""
    postgres_server: postgresql.Provider | None = None
    """The external server's admin provider (engine external): Langfuse's role and database are created there."""

    @classmethod
    def from_config(
        cls,
        cfg: StackConfig,
        store: StoreAccess,
        database: pulumi.Resource,
        shared_redis: pulumi.Resource,
        redis: RedisWiring,
        postgres_server: postgresql.Provider | None = None,
    ) -> LangfuseArgs:
        """`shared_redis` and `redis`: the stack's shared Redis (`SharedState`) and its wiring, where Langfuse
        keeps its queues and cache."""
        lf, ns = cfg.langfuse, cfg.namespaces.gateway
        db_consumer = basic_auth_consumer(credentials.DB_SECRET, ns, lf.owner, cnpg_roles.RELOAD_LABEL)
        return cls(
            langfuse=lf,
            namespace=ns,
            project=cfg.gcp.project,
            data_safety=cfg.data_safety,
            secrets=tuple(
                managed_secret_args(cfg, spec, store, (db_consumer,) if spec == LANGFUSE_DB_PASSWORD else ())
                for spec in langfuse_secrets(cfg)
            ),
            manifests=LangfuseManifests.from_config(cfg, store, redis),
            store=store,
            url=ui_url(cfg),
            otel_host=names(cfg).web_url,
            database=database,
            shared_redis=shared_redis,
            postgres_server=postgres_server,
        )


def hmac_secret(access_id: str, secret: str) -> str:
    """The HMAC key as the JSON document kept in GSM."""
    return json.dumps({"access_id": access_id, "secret": secret})


class Langfuse(pulumi.ComponentResource):
    litellm_keys: pulumi.Resource
    """The ExternalSecret LiteLLM's release mounts (LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY)."""

    def __init__(self, name: str, args: LangfuseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-gateway:langfuse:Langfuse", name, None, opts)
        lf, manifests = args.langfuse, args.manifests
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        self._stateful = pulumi.ResourceOptions.merge(self._child, stateful_options(args.data_safety))

        secrets = self._secrets(self._blob_storage_key() if lf.blob_storage == "gcs" else None)
        db_password = secrets[LANGFUSE_DB_PASSWORD.key]
        after_secrets = pulumi.ResourceOptions(parent=self, depends_on=list(secrets.values()))
        oidc_grant = self._oidc_client_secret_grant()
        credentials = custom_resource(
            f"{name}-credentials",
            manifests.credentials,
            pulumi.ResourceOptions.merge(after_secrets, pulumi.ResourceOptions(depends_on=oidc_grant)),
        )
        self.litellm_keys = custom_resource(f"{name}-litellm-keys", manifests.litellm_keys, after_secrets)
        db_resources = self._database(db_password)
        network_policies(name, manifests.network_policies, self._child)
        # The operator's clusters hold the traces: protected where the stack protects data.
        after_credentials = pulumi.ResourceOptions.merge(
            self._stateful, pulumi.ResourceOptions(depends_on=[credentials])
        )
        keeper = custom_resource(f"{name}-keeper", manifests.keeper_cluster, after_credentials)
        traces = custom_resource(
            f"{name}-clickhouse",
            manifests.clickhouse_cluster,
            pulumi.ResourceOptions.merge(after_credentials, pulumi.ResourceOptions(depends_on=[keeper])),
        )

        release = helm_release(
            f"{name}-release",
            lf.release_name,
            args.namespace,
            chart.helm_chart(lf),
            manifests.helm_values,
            # Its MinIO volume holds blobs (v3): protected where the stack
            # protects data (not retained: uninstalling keeps the PVCs, see docs/runbooks/turn-a-feature-off.md).
            pulumi.ResourceOptions(
                parent=self,
                depends_on=[credentials, traces, args.shared_redis, *db_resources, *secrets.values()],
                protect=args.data_safety.protect,
            ),
        )

        blocked = manifests.blocked_service
        if blocked is not None:
            k8s.core.v1.Service(
                f"{name}-blocked", metadata=object_meta(blocked["metadata"]), spec=blocked["spec"], opts=self._child
            )
        ingress(f"{name}-ingress", manifests.ingress, pulumi.ResourceOptions(parent=self, depends_on=[release]))
        self.url = args.url
        self.otel_host = args.otel_host
        self.register_outputs({"url": self.url, "otel_host": self.otel_host, "release": lf.release_name})

    def _oidc_client_secret_grant(self) -> list[pulumi.Resource]:
        """`secretAccessor` for the store's account on the identity team's OIDC client secret (langfuse.sso)."""
        sso, args = self._args.langfuse.sso, self._args
        if sso is None:
            return []
        return [
            grant_referenced_secret(
                f"{self._name}-oidc-client-secret-accessor",
                args.project,
                sso.client_secret_gsm_secret,
                args.store.accessor_email,
                self._child,
            )
        ]

    def _blob_storage_key(self) -> pulumi.Output[str]:
        """The GCS bucket, its writer, and the writer's HMAC key (S3 interop) as a secret JSON document."""
        args, name = self._args, self._name
        gcs = args.langfuse.gcs
        assert gcs is not None
        writer = bucket_with_writer(
            f"{name}-bucket",
            values.blob_bucket(gcs),
            f"{name}-blob-gsa",
            account_id=gcs.gsa_account_id,
            display_name=BLOB_GSA_DISPLAY_NAME,
            project=args.project,
            bucket_opts=self._stateful,
            opts=self._child,
        )
        hmac = gcp.storage.HmacKey(
            f"{name}-hmac", service_account_email=writer.account.email, project=args.project, opts=self._child
        )
        return pulumi.Output.secret(
            pulumi.Output.all(hmac.access_id, hmac.secret).apply(lambda parts: hmac_secret(parts[0], parts[1]))
        )

    def _secrets(self, hmac_json: pulumi.Output[str] | None) -> dict[str, ManagedSecret]:
        """Every Langfuse credential, by inventory key; the database password also as a basic-auth Secret."""
        managed_by_key: dict[str, ManagedSecret] = {}
        for secret in self._args.secrets:
            spec = secret.spec
            if spec.policy.generator == "provider":
                secret = dataclasses.replace(secret, value=hmac_json)
            managed_by_key[spec.key] = ManagedSecret(
                f"{self._name}-{spec.key.removeprefix('langfuse-')}", secret, self._child
            )
        return managed_by_key

    def _database(self, password: ManagedSecret) -> list[pulumi.Resource]:
        """Langfuse's database: a CNPG `Database` in the stack's cluster, or a role and database on the
        external server that only its owner may connect to."""
        name, args = self._name, self._args
        if args.manifests.cnpg_database is not None:
            wait = pulumi.ResourceOptions(depends_on=[args.database, password])
            opts = pulumi.ResourceOptions.merge(self._stateful, wait)
            return [custom_resource(f"{name}-database", args.manifests.cnpg_database, opts)]
        assert args.postgres_server is not None, "engine external: the server's provider comes from Database"
        lf = args.langfuse
        on_server = pulumi.ResourceOptions(parent=self, provider=args.postgres_server)
        owned = server.owned_database(
            f"{name}-db-role",
            f"{name}-db",
            owner=lf.owner,
            database=lf.database,
            password=password.value,
            on_server=on_server,
            safety=args.data_safety,
        )
        # Only its owner may connect: PUBLIC (and so grafana_ro, and the reporting login whose pg_read_all_data
        # spans databases) loses CONNECT and TEMPORARY on Langfuse's database.
        public_grant = server.public_database_grant(f"{name}-db-public-grant", owned.database.name, [], on_server)
        return [owned.role, owned.database, public_grant]
