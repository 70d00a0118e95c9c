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

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pulumi_postgresql as postgresql

from components.database.component import Database
from components.kit import custom_resource, helm_release_args, ingress, network_policies, stateful_options
from components.langfuse import values
from components.secrets.managed import ManagedSecret, SecretConsumer, basic_auth_consumer, managed_secret_args
from components.secrets.store import SecretStore
from config import StackConfig
from config.inventory import LANGFUSE_DB_PASSWORD, langfuse_secrets


class Langfuse(pulumi.ComponentResource):
    litellm_keys: pulumi.Resource
    """The ExternalSecret LiteLLM's release mounts (LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY)."""

    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        database: Database,
        store: SecretStore,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("llm-gateway:langfuse:Langfuse", name, None, opts)
        lf = cfg.langfuse
        ns = cfg.namespaces.gateway
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions.merge(child, stateful_options(cfg.data_safety))

        hmac_json: pulumi.Output[str] | None = None
        if lf.blob_storage == "gcs":
            assert lf.gcs is not None
            bucket = gcp.storage.Bucket(
                f"{name}-bucket",
                name=lf.gcs.bucket,
                location=lf.gcs.location,
                uniform_bucket_level_access=True,
                public_access_prevention="enforced",
                force_destroy=False,
                opts=stateful,
            )
            gsa = gcp.serviceaccount.Account(
                f"{name}-blob-gsa",
                account_id=lf.gcs.gsa_account_id,
                display_name="llm-gateway Langfuse blob storage (HMAC, S3 interop)",
                project=cfg.gcp.project,
                opts=child,
            )
            gcp.storage.BucketIAMMember(
                f"{name}-bucket-access",
                bucket=bucket.name,
                role="roles/storage.objectAdmin",
                member=gsa.member,
                opts=child,
            )
            hmac = gcp.storage.HmacKey(
                f"{name}-hmac", service_account_email=gsa.email, project=cfg.gcp.project, opts=child
            )
            hmac_json = pulumi.Output.secret(
                pulumi.Output.all(hmac.access_id, hmac.secret).apply(
                    lambda parts: json.dumps({"access_id": parts[0], "secret": parts[1]})
                )
            )

        managed_by_key: dict[str, ManagedSecret] = {}
        for spec in langfuse_secrets(cfg):
            consumers: tuple[SecretConsumer, ...] = ()
            if spec == LANGFUSE_DB_PASSWORD:
                consumers = (basic_auth_consumer(values.DB_SECRET, ns, lf.owner, {"cnpg.io/reload": "true"}),)
            managed = ManagedSecret(
                f"{name}-{spec.key.removeprefix('langfuse-')}",
                managed_secret_args(cfg, spec, store.store, consumers),
                store.gsa_email,
                child,
                value=hmac_json if spec.policy.generator == "provider" else None,
            )
            managed_by_key[spec.key] = managed
        secrets: list[pulumi.Resource] = list(managed_by_key.values())
        db_password = managed_by_key[LANGFUSE_DB_PASSWORD.key]

        after_secrets = pulumi.ResourceOptions(parent=self, depends_on=secrets)
        credentials = custom_resource(f"{name}-credentials", values.credentials_secret(cfg, store.store), after_secrets)
        self.litellm_keys = custom_resource(
            f"{name}-litellm-keys", values.litellm_keys_secret(cfg, store.store), after_secrets
        )

        db_resources: list[pulumi.Resource] = []
        if cfg.postgres.engine == "cnpg":
            db_resources.append(
                custom_resource(
                    f"{name}-database",
                    values.cnpg_database(cfg),
                    pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(depends_on=[database, db_password])),
                )
            )
        else:
            provider = database.postgres_provider
            assert provider is not None
            on_server = pulumi.ResourceOptions(parent=self, provider=provider)
            role = postgresql.Role(
                f"{name}-db-role", name=lf.owner, login=True, password=db_password.value, opts=on_server
            )
            lf_db = postgresql.Database(
                f"{name}-db",
                name=lf.database,
                owner=role.name,
                opts=pulumi.ResourceOptions.merge(on_server, stateful_options(cfg.data_safety)),
            )
            # Only its owner may connect: PUBLIC (and so grafana_ro, and the reporting login whose pg_read_all_data
            # spans databases) loses CONNECT and TEMPORARY on Langfuse's database.
            public_grant = postgresql.Grant(
                f"{name}-db-public-grant",
                database=lf_db.name,
                role="public",
                object_type="database",
                privileges=[],
                opts=on_server,
            )
            db_resources += [role, lf_db, public_grant]

        network_policies(name, values.network_policies(cfg), child)

        release = k8s.helm.v3.Release(
            f"{name}-release",
            **helm_release_args(lf.release_name, ns, values.helm_chart(lf), values.helm_values(cfg)),
            # Its ClickHouse, Valkey and MinIO volumes hold the traces: protected where the stack
            # protects data (not retained: uninstalling keeps the PVCs, see README "Turn a feature off").
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[credentials, *db_resources, *secrets],
                protect=cfg.data_safety.protect,
            ),
        )

        ingress(f"{name}-ingress", values.ingress(cfg), pulumi.ResourceOptions(parent=self, depends_on=[release]))
        names = values.names(cfg)
        self.url = values.ui_url(cfg)
        self.otel_host = names.web_url
        self.register_outputs({"url": self.url, "otel_host": self.otel_host, "release": lf.release_name})
