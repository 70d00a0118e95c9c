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
from config, password from the stack secret `postgresAdminPassword` that
`__main__.py` reads and passes in `DatabaseArgs`, never a superuser) that
creates the `litellm` role and database (`components.database.server`),
`grafana_ro`, the `reporting` role and schema, and the same hardening as grants.
Both engines expose the same `DatabaseEndpoint`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pulumi_postgresql as postgresql

from components.database import cnpg, server
from components.kit import (
    bucket_with_writer,
    custom_resource,
    namespace_peer,
    network_policies,
    stateful_options,
    workload_identity_member,
)
from components.litellm import values as litellm_values
from components.litellm.values import prometheus_peer
from components.reporting.sql import REPORTING_ROLE, SCHEMA, job_pod_labels
from components.secrets.managed import (
    ManagedSecret,
    ManagedSecretArgs,
    SecretConsumer,
    basic_auth_consumer,
    managed_secret_args,
)
from components.secrets.store import StoreAccess
from config import (
    CnpgConfig,
    CnpgPostgres,
    DataSafetyConfig,
    ExternalPostgres,
    MonitoringConfig,
    PostgresConfig,
    StackConfig,
)
from config.inventory import GRAFANA_RO_PASSWORD, LITELLM_DB_PASSWORD, REPORTING_PASSWORD, SecretSpec


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
        return pg.external.host
    names = cnpg.CnpgNames(pg.cnpg.name, cfg.namespaces.gateway)
    return names.ro_host if pg.cnpg.instances > 1 else names.rw_host


def endpoint(cfg: StackConfig, grafana_ro_gsm_secret: str) -> DatabaseEndpoint:
    pg = cfg.postgres
    if pg.engine == "external":
        return DatabaseEndpoint(
            host=pg.external.host,
            read_host=read_host(cfg),
            port=pg.external.port,
            database=pg.database,
            app_secret=EXTERNAL_APP_SECRET,
            grafana_ro_gsm_secret=grafana_ro_gsm_secret,
            reporting_secret=EXTERNAL_REPORTING_SECRET,
        )
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
    if pg.engine != "external":
        raise ValueError("the owner's connection URI template is for postgres.engine external")
    ext = pg.external
    return (
        f"postgresql://{pg.owner}:{{{{ .password | urlquery }}}}@{ext.host}:{ext.port}/{pg.database}"
        f"?sslmode={ext.sslmode}"
    )


def cnpg_clients(cfg: StackConfig, tenants: tuple[cnpg.DatabaseTenant, ...] = ()) -> list[dict[str, Any]]:
    """Who may open PostgreSQL connections to the CNPG instances: LiteLLM's pods (its migration
    Job carries the same labels), the tenants' pods (Langfuse's web and worker), the reporting
    job's pods, Grafana's namespace."""
    clients: list[dict[str, Any]] = [{"podSelector": {"matchLabels": litellm_values.selector_labels(cfg.litellm)}}]
    clients += [{"podSelector": dict(t.clients)} for t in tenants]
    clients.append({"podSelector": {"matchLabels": job_pod_labels()}})
    grafana_ns = cfg.namespaces.grafana
    clients.append(namespace_peer(grafana_ns))
    return clients


EXTERNAL_APP_SECRET = "litellm-db-app"
EXTERNAL_REPORTING_SECRET = "litellm-db-reporting"
BACKUP_GSA_DISPLAY_NAME = "llm-gateway CNPG backups (barman-cloud)"


@dataclass(frozen=True)
class DatabasePasswords:
    grafana_ro: ManagedSecretArgs
    reporting: ManagedSecretArgs
    owner: ManagedSecretArgs | None = None
    """The owner's password (external server; CNPG generates its own)."""


def _passwords(cfg: StackConfig, store: StoreAccess) -> DatabasePasswords:
    """The login passwords and where each is rendered: for CNPG as the basic-auth Secrets the
    Cluster's managed roles read; for an external server reporting's and the owner's (with its URI)."""
    pg, ns = cfg.postgres, cfg.namespaces.gateway

    def password(spec: SecretSpec, *consumers: SecretConsumer) -> ManagedSecretArgs:
        return managed_secret_args(cfg, spec, store, consumers)

    def login(spec: SecretSpec, role: str, k8s_secret: str) -> ManagedSecretArgs:
        return password(spec, basic_auth_consumer(k8s_secret, ns, role, cnpg.RELOAD_LABEL))

    if pg.engine == "cnpg":
        names = cnpg.CnpgNames(pg.cnpg.name, ns)
        return DatabasePasswords(
            grafana_ro=login(GRAFANA_RO_PASSWORD, cnpg.GRAFANA_RO_ROLE, names.grafana_ro_secret),
            reporting=login(REPORTING_PASSWORD, REPORTING_ROLE, names.reporting_secret),
        )
    uri = {"uri": external_uri_template(cfg)}
    return DatabasePasswords(
        grafana_ro=password(GRAFANA_RO_PASSWORD),
        reporting=login(REPORTING_PASSWORD, REPORTING_ROLE, EXTERNAL_REPORTING_SECRET),
        owner=password(LITELLM_DB_PASSWORD, basic_auth_consumer(EXTERNAL_APP_SECRET, ns, pg.owner, {}, uri)),
    )


@dataclass(frozen=True)
class DatabaseArgs:
    postgres: PostgresConfig
    """The engine and its settings (cluster or external server, backup, grafana_ro)."""
    namespace: str
    """The gateway namespace (the cluster, its Secrets and policies)."""
    project: str
    """The GCP project of the backup bucket and its writer."""
    data_safety: DataSafetyConfig
    """Protection of the cluster, the bucket, the databases and the reporting schema."""
    monitoring: MonitoringConfig
    """How the platform's Prometheus selects the PodMonitor."""
    passwords: DatabasePasswords
    """The login passwords' ManagedSecretArgs (store, rotation, consumers)."""
    endpoint: DatabaseEndpoint
    """What the consumers read; computed from the config and grafana_ro's GSM secret."""
    clients: tuple[dict[str, Any], ...]
    """Peers that may connect to the CNPG instances (`cnpg_clients`: LiteLLM's and the tenants'
    pods, Grafana's namespace)."""
    prometheus_peer: dict[str, Any]
    """The Prometheus server pods (they scrape the instances)."""
    admin_password: pulumi.Input[str] | None = None
    """The external server's admin password (the stack secret `postgresAdminPassword`); engine external only."""
    tenants: tuple[cnpg.DatabaseTenant, ...] = ()
    """Other components' databases on the CNPG cluster: their owners as managed roles."""

    @classmethod
    def from_config(
        cls,
        cfg: StackConfig,
        store: StoreAccess,
        admin_password: pulumi.Input[str] | None = None,
        tenants: tuple[cnpg.DatabaseTenant, ...] = (),
    ) -> DatabaseArgs:
        passwords = _passwords(cfg, store)
        return cls(
            postgres=cfg.postgres,
            namespace=cfg.namespaces.gateway,
            project=cfg.gcp.project,
            data_safety=cfg.data_safety,
            monitoring=cfg.monitoring,
            passwords=passwords,
            endpoint=endpoint(cfg, passwords.grafana_ro.gsm_secret_id),
            clients=tuple(cnpg_clients(cfg, tenants)),
            prometheus_peer=prometheus_peer(cfg.litellm.network),
            admin_password=admin_password,
            tenants=tenants,
        )


class Database(pulumi.ComponentResource):
    endpoint_info: DatabaseEndpoint
    postgres_provider: postgresql.Provider | None = None
    """The external server's provider (engine external), for other components' roles and databases."""

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-gateway:database:Database", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        pg = args.postgres
        if pg.engine == "cnpg":
            self._cnpg(pg, pg.cnpg)
        else:
            if args.admin_password is None:
                raise ValueError("postgres.engine external needs the admin password (postgresAdminPassword)")
            self._external(pg, args.admin_password)
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

    def _password(self, suffix: str, secret: ManagedSecretArgs) -> ManagedSecret:
        return ManagedSecret(f"{self._name}-{suffix}", secret, self._child)

    def _backup(
        self, names: cnpg.CnpgNames, stateful: pulumi.ResourceOptions
    ) -> tuple[pulumi.Output[str], list[pulumi.Resource]]:
        """The backup bucket, its writer (Workload Identity for the cluster's pods), the ObjectStore."""
        args, name = self._args, self._name
        backup = args.postgres.backup
        writer = bucket_with_writer(
            f"{name}-backup-bucket",
            cnpg.backup_bucket(backup),
            f"{name}-backup-gsa",
            account_id=backup.gsa_account_id,
            display_name=BACKUP_GSA_DISPLAY_NAME,
            project=args.project,
            bucket_opts=stateful,
            opts=self._child,
        )
        wi = gcp.serviceaccount.IAMMember(
            f"{name}-backup-workload-identity",
            service_account_id=writer.account.name,
            role="roles/iam.workloadIdentityUser",
            member=workload_identity_member(args.project, names.namespace, names.service_account),
            opts=self._child,
        )
        store = custom_resource(
            f"{name}-object-store",
            cnpg.object_store_manifest(backup, names),
            pulumi.ResourceOptions(parent=self, depends_on=[writer.grant]),
        )
        return writer.account.email, [store, wi, writer.grant]

    def _cnpg(self, pg: CnpgPostgres, cluster_cfg: CnpgConfig) -> None:
        args, name = self._args, self._name
        names = cnpg.CnpgNames(cluster_cfg.name, args.namespace)
        password = self._password("grafana-ro", args.passwords.grafana_ro)
        reporting_password = self._password("reporting", args.passwords.reporting)
        self.endpoint_info = args.endpoint
        stateful = pulumi.ResourceOptions.merge(self._child, stateful_options(args.data_safety))

        backup_email: pulumi.Output[str] | None = None
        backup_deps: list[pulumi.Resource] = []
        if pg.backup.enabled:
            backup_email, backup_deps = self._backup(names, stateful)

        manifest: pulumi.Input[dict[str, Any]]
        roles = [cnpg.tenant_role(t) for t in args.tenants]
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
        after_cluster = pulumi.ResourceOptions(parent=self, depends_on=[cluster])
        custom_resource(f"{name}-litellm-database", cnpg.database_manifest(pg, names), after_cluster)
        if pg.backup.enabled:
            custom_resource(f"{name}-scheduled-backup", cnpg.scheduled_backup_manifest(pg.backup, names), after_cluster)
        custom_resource(f"{name}-pod-monitor", cnpg.pod_monitor_manifest(args.monitoring, names), self._child)
        policies = cnpg.network_policies(
            cluster_cfg, names, list(args.clients), args.prometheus_peer, pg.backup.enabled
        )
        network_policies(name, policies, self._child)

    def _external(self, pg: ExternalPostgres, admin_password: pulumi.Input[str]) -> None:
        args, name = self._args, self._name
        ext = pg.external
        assert args.passwords.owner is not None  # from_config sets it for an external server
        grafana_password = self._password("grafana-ro", args.passwords.grafana_ro)
        reporting_password = self._password("reporting", args.passwords.reporting)
        owner_password = self._password("owner-password", args.passwords.owner)
        self.endpoint_info = args.endpoint
        provider = server.admin_provider(f"{name}-postgresql", ext, admin_password, self._child)
        self.postgres_provider = provider
        on_server = pulumi.ResourceOptions(parent=self, provider=provider)
        owned = server.owned_database(
            f"{name}-owner-role",
            f"{name}-database",
            owner=pg.owner,
            database=pg.database,
            password=owner_password.value,
            on_server=on_server,
            safety=args.data_safety,
        )
        self._external_readers(owned.database, grafana_password, reporting_password, on_server)
        # The hardening CNPG applies at bootstrap, as grants: PUBLIC keeps only
        # CONNECT on the database (no TEMPORARY) and USAGE on schema public (no CREATE).
        database = owned.database.name
        server.public_database_grant(f"{name}-public-database-grant", database, ["CONNECT"], on_server)
        postgresql.Grant(
            f"{name}-public-schema-grant",
            database=database,
            role="public",
            schema="public",
            object_type="schema",
            privileges=["USAGE"],
            opts=on_server,
        )

    def _external_readers(
        self,
        database: postgresql.Database,
        grafana_password: ManagedSecret,
        reporting_password: ManagedSecret,
        on_server: pulumi.ResourceOptions,
    ) -> None:
        """grafana_ro, and the reporting login owning the `reporting` schema (its data: data-safety options)."""
        args, name = self._args, self._name
        pg = args.postgres
        # No memberships: it reads the reporting schema only (the reporting job's grants).
        server.login_role(
            f"{name}-grafana-ro-role",
            cnpg.GRAFANA_RO_ROLE,
            grafana_password.value,
            on_server,
            connection_limit=pg.grafana_ro.connection_limit,
        )
        reporting_role = server.login_role(
            f"{name}-reporting-role",
            REPORTING_ROLE,
            reporting_password.value,
            on_server,
            connection_limit=cnpg.REPORTING_CONNECTION_LIMIT,
            member_of=[cnpg.READ_ALL_ROLE],
        )
        postgresql.Schema(
            f"{name}-reporting-schema",
            name=SCHEMA,
            database=database.name,
            owner=reporting_role.name,
            opts=pulumi.ResourceOptions.merge(on_server, stateful_options(args.data_safety)),
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
