"""Langfuse: self-hosted Langfuse v3 (tracing for LiteLLM), created only when `langfuse.enabled`.

Encapsulates:
- every Langfuse credential as a ManagedSecret (GSM, per-secret accessor grant):
  salt, NextAuth secret, encryption key (64 hex), database, ClickHouse, Valkey
  and MinIO passwords, the project's `pk-lf-`/`sk-lf-` API keys (headless
  initialization), an optional admin password; with GCS, the HMAC key of a
  dedicated service account (provider-generated, stored in GSM as a secret
  version, still a secret Output end to end);
- ExternalSecrets rendering them: `langfuse-credentials` (the chart's
  secretKeyRefs/existingSecrets), `langfuse-db` (basic-auth, `cnpg.io/reload`)
  and `litellm-langfuse` (LiteLLM's environmentSecrets);
- its PostgreSQL database: a CNPG `Database` in the stack's cluster (the
  managed role is in the Cluster spec, see `components.database.component`), or a role
  and database on the external server;
- with `blob_storage: gcs`: the bucket (data-safety options), the service
  account with objectAdmin on that bucket only, and its HMAC key;
- the `langfuse` chart (pinned, from its Helm repository) as a helm.v3.Release
  with ClickHouse, Valkey and MinIO subcharts sized from config;
- NetworkPolicies and, with `langfuse.ingress_host`, a TLS Ingress for the UI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pulumi_postgresql as postgresql

from components.database import server
from components.kit import (
    bucket_with_writer,
    custom_resource,
    helm_release_args,
    ingress,
    network_policies,
    private_bucket,
    stateful_options,
)
from components.langfuse import values
from components.secrets.managed import ManagedSecret, SecretConsumer, basic_auth_consumer, managed_secret_args
from components.secrets.store import StoreAccess
from config import StackConfig
from config.inventory import LANGFUSE_DB_PASSWORD, langfuse_secrets

BLOB_GSA_DISPLAY_NAME = "llm-gateway Langfuse blob storage (HMAC, S3 interop)"


@dataclass(frozen=True)
class LangfuseArgs:
    config: StackConfig
    """The stack's settings: langfuse, postgres, namespaces, gcp, data safety, secrets, LiteLLM's pods and ingress."""
    store: StoreAccess
    database: pulumi.Resource
    """The stack's database component: Langfuse's own database waits for it."""
    postgres_server: postgresql.Provider | None = None
    """The external server's admin provider (engine external): Langfuse's role and database are created there."""


def hmac_secret(access_id: str, secret: str) -> str:
    """The HMAC key as the JSON document kept in GSM."""
    return json.dumps({"access_id": access_id, "secret": secret})


class Langfuse(pulumi.ComponentResource):
    litellm_keys: pulumi.Resource
    """The ExternalSecret LiteLLM's release mounts (LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY)."""

    def __init__(self, name: str, args: LangfuseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-gateway:langfuse:Langfuse", name, None, opts)
        cfg = args.config
        lf = cfg.langfuse
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        self._stateful = pulumi.ResourceOptions.merge(self._child, stateful_options(cfg.data_safety))

        secrets = self._secrets(self._blob_storage_key() if lf.blob_storage == "gcs" else None)
        db_password = secrets[LANGFUSE_DB_PASSWORD.key]
        after_secrets = pulumi.ResourceOptions(parent=self, depends_on=list(secrets.values()))
        credentials = custom_resource(
            f"{name}-credentials", values.credentials_secret(cfg, args.store.ref), after_secrets
        )
        self.litellm_keys = custom_resource(
            f"{name}-litellm-keys", values.litellm_keys_secret(cfg, args.store.ref), after_secrets
        )
        db_resources = self._database(db_password)
        network_policies(name, values.network_policies(cfg), self._child)

        release = k8s.helm.v3.Release(
            f"{name}-release",
            **helm_release_args(
                lf.release_name, cfg.namespaces.gateway, values.helm_chart(lf), values.helm_values(cfg)
            ),
            # Its ClickHouse, Valkey and MinIO volumes hold the traces: protected where the stack
            # protects data (not retained: uninstalling keeps the PVCs, see README "Turn a feature off").
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[credentials, *db_resources, *secrets.values()],
                protect=cfg.data_safety.protect,
            ),
        )

        ingress(f"{name}-ingress", values.ingress(cfg), pulumi.ResourceOptions(parent=self, depends_on=[release]))
        names = values.names(cfg)
        self.url = values.ui_url(cfg)
        self.otel_host = names.web_url
        self.register_outputs({"url": self.url, "otel_host": self.otel_host, "release": lf.release_name})

    def _blob_storage_key(self) -> pulumi.Output[str]:
        """The GCS bucket, its writer, and the writer's HMAC key (S3 interop) as a secret JSON document."""
        cfg, name = self._args.config, self._name
        gcs = cfg.langfuse.gcs
        assert gcs is not None
        writer = bucket_with_writer(
            f"{name}-bucket",
            private_bucket(gcs.bucket, gcs.location),
            f"{name}-blob-gsa",
            account_id=gcs.gsa_account_id,
            display_name=BLOB_GSA_DISPLAY_NAME,
            project=cfg.gcp.project,
            bucket_opts=self._stateful,
            opts=self._child,
        )
        hmac = gcp.storage.HmacKey(
            f"{name}-hmac", service_account_email=writer.account.email, project=cfg.gcp.project, opts=self._child
        )
        return pulumi.Output.secret(
            pulumi.Output.all(hmac.access_id, hmac.secret).apply(lambda parts: hmac_secret(parts[0], parts[1]))
        )

    def _secrets(self, hmac_json: pulumi.Output[str] | None) -> dict[str, ManagedSecret]:
        """Every Langfuse credential, by inventory key; the database password also as a basic-auth Secret."""
        cfg = self._args.config
        lf = cfg.langfuse
        managed_by_key: dict[str, ManagedSecret] = {}
        for spec in langfuse_secrets(cfg):
            consumers: tuple[SecretConsumer, ...] = ()
            if spec == LANGFUSE_DB_PASSWORD:
                ns = cfg.namespaces.gateway
                consumers = (basic_auth_consumer(values.DB_SECRET, ns, lf.owner, {"cnpg.io/reload": "true"}),)
            value = hmac_json if spec.policy.generator == "provider" else None
            managed_by_key[spec.key] = ManagedSecret(
                f"{self._name}-{spec.key.removeprefix('langfuse-')}",
                managed_secret_args(cfg, spec, self._args.store, consumers, value),
                self._child,
            )
        return managed_by_key

    def _database(self, password: ManagedSecret) -> list[pulumi.Resource]:
        """Langfuse's database: a CNPG `Database` in the stack's cluster, or a role and database on the
        external server that only its owner may connect to."""
        cfg, name, args = self._args.config, self._name, self._args
        if cfg.postgres.engine == "cnpg":
            wait = pulumi.ResourceOptions(depends_on=[args.database, password])
            opts = pulumi.ResourceOptions.merge(self._stateful, wait)
            return [custom_resource(f"{name}-database", values.cnpg_database(cfg), opts)]
        assert args.postgres_server is not None, "engine external: the server's provider comes from Database"
        lf = cfg.langfuse
        on_server = pulumi.ResourceOptions(parent=self, provider=args.postgres_server)
        owned = server.owned_database(
            f"{name}-db-role",
            f"{name}-db",
            owner=lf.owner,
            database=lf.database,
            password=password.value,
            on_server=on_server,
            safety=cfg.data_safety,
        )
        # Only its owner may connect: PUBLIC (and so grafana_ro, and the reporting login whose pg_read_all_data
        # spans databases) loses CONNECT and TEMPORARY on Langfuse's database.
        public_grant = server.public_database_grant(f"{name}-db-public-grant", owned.database.name, [], on_server)
        return [owned.role, owned.database, public_grant]
