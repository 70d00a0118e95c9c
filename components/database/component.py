"""Database: LiteLLM's PostgreSQL and the read-only `grafana_ro` login.

Encapsulates, for `postgres.engine: cnpg`:
- a CloudNativePG `Cluster` (pinned image, instances, storage, resources,
  parameters, pod anti-affinity, PDB) bootstrapped with the `litellm`
  database and owner plus the hardening SQL of `components.database.sql`;
- `grafana_ro` as a managed role with no memberships (it reads the `reporting`
  schema only, by the reporting job's grants), and the `reporting` role (member of
  `pg_read_all_data`, owner of the `reporting` schema, used by the reporting CronJob
  only); each password a ManagedSecret rendered as a `kubernetes.io/basic-auth`
  Secret labelled `cnpg.io/reload: "true"`;
- a CNPG `Database` for LiteLLM's database declaring the `reporting` schema;
- when `postgres.backup.enabled`: a GCS bucket (uniform access, versioning,
  noncurrent-version lifecycle), a Google service account with access to that
  bucket only, Workload Identity for the cluster's service account, the
  barman-cloud `ObjectStore`, the Cluster's `plugins:` entry and a
  `ScheduledBackup` (`method: plugin`);
- a `PodMonitor` for the platform's Prometheus.

For `postgres.engine: external`: a `pulumi_postgresql` provider (admin user
from config, password from the stack secret `postgresAdminPassword`, never a
superuser) that creates the `litellm` role and database, `grafana_ro`, the `reporting` role
and schema, and the same hardening as grants. Both engines expose the same `DatabaseEndpoint`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pulumi_postgresql as postgresql

from components.database import cnpg
from components.kit import custom_resource, namespace_peer, network_policies, stateful_options
from components.langfuse import values as langfuse_values
from components.litellm import values as litellm_values
from components.litellm.values import prometheus_peer
from components.reporting.sql import REPORTING_ROLE, SCHEMA
from components.secrets.managed import ManagedSecret, SecretConsumer, basic_auth_consumer, managed_secret_args
from components.secrets.store import SecretStore, workload_identity_member
from config import CnpgConfig, StackConfig
from config.inventory import GRAFANA_RO_PASSWORD, LITELLM_DB_PASSWORD, REPORTING_PASSWORD

ADMIN_PASSWORD_KEY = "postgresAdminPassword"


@dataclass(frozen=True)
class DatabaseEndpoint:
    """What consumers of the database need, identical for both engines."""

    host: str
    """Read-write host (LiteLLM)."""
    read_host: str
    """Host for read-only clients (Grafana): replicas when there are any."""
    port: int
    database: str
    app_secret: str
    """Kubernetes Secret (gateway namespace) with `username`/`password` of the owner role."""
    grafana_ro_gsm_secret: str
    """GSM secret id holding grafana_ro's password (one password, one source)."""
    reporting_secret: str = ""
    """Kubernetes Secret (gateway namespace) with `username`/`password` of the reporting role."""
    pod_labels: tuple[tuple[str, str], ...] | None = None
    """Labels of in-cluster database pods (for network policies); None for an external server."""


def read_host(cfg: StackConfig) -> str:
    """Grafana reads from replicas when there are any (`-ro` has no endpoints with one instance)."""
    pg = cfg.postgres
    if pg.engine == "external":
        assert pg.external is not None
        return pg.external.host
    assert pg.cnpg is not None
    names = cnpg.CnpgNames(pg.cnpg.name, cfg.namespaces.gateway)
    return names.ro_host if pg.cnpg.instances > 1 else names.rw_host


def endpoint(cfg: StackConfig, grafana_ro_gsm_secret: str) -> DatabaseEndpoint:
    pg = cfg.postgres
    if pg.engine == "external":
        assert pg.external is not None
        return DatabaseEndpoint(
            host=pg.external.host,
            read_host=read_host(cfg),
            port=pg.external.port,
            database=pg.database,
            app_secret=EXTERNAL_APP_SECRET,
            grafana_ro_gsm_secret=grafana_ro_gsm_secret,
            reporting_secret=EXTERNAL_REPORTING_SECRET,
        )
    assert pg.cnpg is not None
    names = cnpg.CnpgNames(pg.cnpg.name, cfg.namespaces.gateway)
    return DatabaseEndpoint(
        host=names.rw_host,
        read_host=read_host(cfg),
        port=cnpg.PORT,
        database=pg.database,
        app_secret=names.app_secret,
        grafana_ro_gsm_secret=grafana_ro_gsm_secret,
        reporting_secret=names.reporting_secret,
        pod_labels=(("cnpg.io/cluster", names.cluster),),
    )


def external_uri_template(cfg: StackConfig) -> str:
    """ESO template of the owner's connection URI, password URL-encoded (`urlquery`).

    CNPG's `<cluster>-app` Secret carries the same key (`uri`), so consumers read
    one key whatever the engine.
    """
    pg = cfg.postgres
    assert pg.external is not None
    ext = pg.external
    return (
        f"postgresql://{pg.owner}:{{{{ .password | urlquery }}}}@{ext.host}:{ext.port}/{pg.database}"
        f"?sslmode={ext.sslmode}"
    )


def cnpg_clients(cfg: StackConfig) -> list[dict[str, Any]]:
    """Who may open PostgreSQL connections to the CNPG instances: LiteLLM's pods (its migration
    Job carries the same labels), Langfuse's web and worker when enabled, Grafana's namespace."""
    clients: list[dict[str, Any]] = [{"podSelector": {"matchLabels": litellm_values.selector_labels(cfg.litellm)}}]
    if cfg.langfuse.enabled:
        clients.append({"podSelector": langfuse_values.app_pods(langfuse_values.names(cfg))})
    grafana_ns = cfg.namespaces.grafana
    clients.append(namespace_peer(grafana_ns))
    return clients


EXTERNAL_APP_SECRET = "litellm-db-app"
EXTERNAL_GRAFANA_RO_SECRET = "litellm-db-grafana-ro"
EXTERNAL_REPORTING_SECRET = "litellm-db-reporting"


class Database(pulumi.ComponentResource):
    endpoint_info: DatabaseEndpoint
    postgres_provider: postgresql.Provider | None = None
    """The external server's provider (engine external), for other components' roles and databases."""

    def __init__(
        self, name: str, cfg: StackConfig, store: SecretStore, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-gateway:database:Database", name, None, opts)
        self._name = name
        self._cfg = cfg
        self._store = store
        self._child = pulumi.ResourceOptions(parent=self)
        pg = cfg.postgres
        if pg.engine == "cnpg":
            assert pg.cnpg is not None
            self._cnpg(pg.cnpg)
        else:
            self._external()
        self.register_outputs({"endpoint": self.endpoint()})

    def endpoint(self) -> dict[str, object]:
        info = self.endpoint_info
        return {
            "host": info.host,
            "read_host": info.read_host,
            "port": info.port,
            "database": info.database,
            "app_secret": info.app_secret,
            "grafana_ro_gsm_secret": info.grafana_ro_gsm_secret,
        }

    def _grafana_ro_password(self, k8s_secret: str | None) -> ManagedSecret:
        cfg = self._cfg
        consumers: tuple[SecretConsumer, ...] = ()
        if k8s_secret is not None:
            consumers = (
                basic_auth_consumer(
                    k8s_secret, cfg.namespaces.gateway, cnpg.GRAFANA_RO_ROLE, {"cnpg.io/reload": "true"}
                ),
            )
        return ManagedSecret(
            f"{self._name}-grafana-ro",
            managed_secret_args(cfg, GRAFANA_RO_PASSWORD, self._store.store, consumers),
            self._store.gsa_email,
            self._child,
        )

    def _reporting_password(self, k8s_secret: str) -> ManagedSecret:
        cfg = self._cfg
        return ManagedSecret(
            f"{self._name}-reporting",
            managed_secret_args(
                cfg,
                REPORTING_PASSWORD,
                self._store.store,
                (basic_auth_consumer(k8s_secret, cfg.namespaces.gateway, REPORTING_ROLE, {"cnpg.io/reload": "true"}),),
            ),
            self._store.gsa_email,
            self._child,
        )

    def _cnpg(self, cluster_cfg: CnpgConfig) -> None:
        cfg, name = self._cfg, self._name
        pg = cfg.postgres
        names = cnpg.CnpgNames(cluster_cfg.name, cfg.namespaces.gateway)
        password = self._grafana_ro_password(names.grafana_ro_secret)
        reporting_password = self._reporting_password(names.reporting_secret)
        self.endpoint_info = endpoint(cfg, password.gsm_secret_id)
        stateful = pulumi.ResourceOptions.merge(self._child, stateful_options(cfg.data_safety))

        backup_email: pulumi.Output[str] | None = None
        backup_deps: list[pulumi.Resource] = []
        if pg.backup.enabled:
            backup = pg.backup
            bucket = gcp.storage.Bucket(
                f"{name}-backup-bucket",
                name=backup.bucket,
                location=backup.location,
                uniform_bucket_level_access=True,
                public_access_prevention="enforced",
                versioning={"enabled": True},
                lifecycle_rules=[
                    {
                        "action": {"type": "Delete"},
                        "condition": {
                            "days_since_noncurrent_time": backup.noncurrent_version_days,
                            "with_state": "ARCHIVED",
                        },
                    }
                ],
                soft_delete_policy={"retention_duration_seconds": cnpg.backup_soft_delete_seconds(backup)},
                force_destroy=False,
                opts=stateful,
            )
            gsa = gcp.serviceaccount.Account(
                f"{name}-backup-gsa",
                account_id=backup.gsa_account_id,
                display_name="llm-gateway CNPG backups (barman-cloud)",
                project=cfg.gcp.project,
                opts=self._child,
            )
            bucket_grant = gcp.storage.BucketIAMMember(
                f"{name}-backup-bucket-access",
                bucket=bucket.name,
                role="roles/storage.objectAdmin",
                member=gsa.member,
                opts=self._child,
            )
            wi = gcp.serviceaccount.IAMMember(
                f"{name}-backup-workload-identity",
                service_account_id=gsa.name,
                role="roles/iam.workloadIdentityUser",
                member=workload_identity_member(cfg.gcp.project, names.namespace, names.service_account),
                opts=self._child,
            )
            store = custom_resource(
                f"{name}-object-store",
                cnpg.object_store_manifest(backup, names),
                pulumi.ResourceOptions(parent=self, depends_on=[bucket_grant]),
            )
            backup_email = gsa.email
            backup_deps = [store, wi, bucket_grant]

        manifest: pulumi.Input[dict[str, Any]]
        roles = langfuse_values.cnpg_roles(cfg)
        if backup_email is not None:
            manifest = backup_email.apply(lambda email: cnpg.cluster_manifest(pg, cluster_cfg, names, email, roles))
        else:
            manifest = cnpg.cluster_manifest(pg, cluster_cfg, names, extra_roles=roles)
        cluster = _cluster_resource(
            f"{name}-cluster",
            manifest,
            pulumi.ResourceOptions.merge(
                stateful, pulumi.ResourceOptions(depends_on=[password, reporting_password, *backup_deps])
            ),
        )
        custom_resource(
            f"{name}-litellm-database",
            cnpg.database_manifest(pg, names),
            pulumi.ResourceOptions(parent=self, depends_on=[cluster]),
        )
        if pg.backup.enabled:
            custom_resource(
                f"{name}-scheduled-backup",
                cnpg.scheduled_backup_manifest(pg.backup, names),
                pulumi.ResourceOptions(parent=self, depends_on=[cluster]),
            )
        custom_resource(f"{name}-pod-monitor", cnpg.pod_monitor_manifest(cfg.monitoring, names), self._child)
        network_policies(
            name,
            cnpg.network_policies(
                cluster_cfg, names, cnpg_clients(cfg), prometheus_peer(cfg.litellm.network), pg.backup.enabled
            ),
            self._child,
        )

    def _external(self) -> None:
        cfg, name = self._cfg, self._name
        pg = cfg.postgres
        ext = pg.external
        assert ext is not None
        grafana_password = self._grafana_ro_password(None)
        reporting_password = self._reporting_password(EXTERNAL_REPORTING_SECRET)
        owner_password = ManagedSecret(
            f"{name}-owner-password",
            managed_secret_args(
                cfg,
                LITELLM_DB_PASSWORD,
                self._store.store,
                (
                    basic_auth_consumer(
                        EXTERNAL_APP_SECRET,
                        cfg.namespaces.gateway,
                        pg.owner,
                        {},
                        {"uri": external_uri_template(cfg)},
                    ),
                ),
            ),
            self._store.gsa_email,
            self._child,
        )
        self.endpoint_info = endpoint(cfg, grafana_password.gsm_secret_id)
        admin_password = pulumi.Config("llm-gateway").require_secret(ADMIN_PASSWORD_KEY)
        provider = postgresql.Provider(
            f"{name}-postgresql",
            host=ext.host,
            port=ext.port,
            username=ext.admin_user,
            password=admin_password,
            database=ext.admin_database,
            sslmode=ext.sslmode,
            superuser=False,
            opts=self._child,
        )
        self.postgres_provider = provider
        on_server = pulumi.ResourceOptions(parent=self, provider=provider)
        owner = postgresql.Role(
            f"{name}-owner-role",
            name=pg.owner,
            login=True,
            password=owner_password.value,
            opts=on_server,
        )
        database = postgresql.Database(
            f"{name}-database",
            name=pg.database,
            owner=owner.name,
            opts=pulumi.ResourceOptions.merge(on_server, stateful_options(cfg.data_safety)),
        )
        # No memberships: it reads the reporting schema only (the reporting job's grants).
        postgresql.Role(
            f"{name}-grafana-ro-role",
            name=cnpg.GRAFANA_RO_ROLE,
            login=True,
            connection_limit=pg.grafana_ro.connection_limit,
            password=grafana_password.value,
            opts=on_server,
        )
        reporting_role = postgresql.Role(
            f"{name}-reporting-role",
            name=REPORTING_ROLE,
            login=True,
            roles=[cnpg.READ_ALL_ROLE],
            connection_limit=cnpg.REPORTING_CONNECTION_LIMIT,
            password=reporting_password.value,
            opts=on_server,
        )
        postgresql.Schema(
            f"{name}-reporting-schema",
            name=SCHEMA,
            database=database.name,
            owner=reporting_role.name,
            opts=pulumi.ResourceOptions.merge(on_server, stateful_options(cfg.data_safety)),
        )
        # The hardening CNPG applies at bootstrap, as grants: PUBLIC keeps only
        # CONNECT on the database (no TEMPORARY) and USAGE on schema public (no CREATE).
        postgresql.Grant(
            f"{name}-public-database-grant",
            database=database.name,
            role="public",
            object_type="database",
            privileges=["CONNECT"],
            opts=on_server,
        )
        postgresql.Grant(
            f"{name}-public-schema-grant",
            database=database.name,
            role="public",
            schema="public",
            object_type="schema",
            privileges=["USAGE"],
            opts=on_server,
        )


def _cluster_resource(
    resource_name: str, manifest: pulumi.Input[dict[str, Any]], opts: pulumi.ResourceOptions
) -> pulumi.Resource:
    """Register the CNPG Cluster whether its manifest is plain or waits on an Output."""
    out = pulumi.Output.from_input(manifest)
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version="postgresql.cnpg.io/v1",
        kind="Cluster",
        metadata=out.apply(lambda m: m["metadata"]),
        spec=out.apply(lambda m: m["spec"]),
        opts=opts,
    )
