"""What the Database component is given (`DatabaseArgs`), computed from the stack config: the login
passwords and where each is rendered, the endpoint its consumers read, who may connect to the CNPG
instances. Both engines' registrations (`cnpg_engine`, `external_engine`) read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components.database import cnpg, cnpg_roles
from components.database.endpoint import (
    CA_KEY,
    EXTERNAL_APP_SECRET,
    EXTERNAL_CA_SECRET,
    EXTERNAL_REPORTING_SECRET,
    DatabaseEndpoint,
    endpoint,
    external_uri_template,
)
from components.database.tls import BUNDLE_KEY, CA_TEMPLATE
from components.kit import namespace_peer, prometheus_peer
from components.reporting.sql import REPORTING_ROLE, job_pod_labels
from components.secrets.eso import TargetSecret
from components.secrets.managed import ManagedSecretArgs, SecretConsumer, basic_auth_consumer, managed_secret_args
from components.secrets.store import StoreAccess
from config import DataSafetyConfig, MonitoringConfig, PostgresConfig, StackConfig
from config.inventory import (
    GRAFANA_RO_PASSWORD,
    LITELLM_DB_PASSWORD,
    PG_SERVER_CA,
    PG_SERVER_CA_CERT,
    REPORTING_PASSWORD,
    SecretSpec,
)


@dataclass(frozen=True)
class DatabasePasswords:
    grafana_ro: ManagedSecretArgs
    reporting: ManagedSecretArgs
    owner: ManagedSecretArgs | None = None
    """The owner's password (external server; CNPG generates its own)."""
    server_ca: ManagedSecretArgs | None = None
    """CNPG: the program's CA, certificate and key, rendered as `serverCASecret` (value: the engine's)."""
    ca_cert: ManagedSecretArgs | None = None
    """The server's CA certificate alone, rendered for the clients (CNPG: value the engine's; external:
    `postgres.external.ca_cert`, None without one)."""


def _ca_cert_consumer(secret: str, namespace: str) -> SecretConsumer:
    """The clients' Secret: `ca.crt` and nothing else."""
    return SecretConsumer(
        resource_name=secret,
        secret_key="ca",
        target=TargetSecret(name=secret, namespace=namespace, template_data={CA_KEY: "{{ .ca }}"}),
    )


def database_passwords(
    cfg: StackConfig, store: StoreAccess, grafana_store: StoreAccess | None = None
) -> DatabasePasswords:
    """The login passwords and where each is rendered: for CNPG as the basic-auth Secrets the
    Cluster's managed roles read; for an external server reporting's and the owner's (with its URI).
    Grafana's namespace (`grafana_store`) reads grafana_ro's password for its datasource: with an
    external server only it does."""
    pg, ns = cfg.postgres, cfg.namespaces.gateway

    def password(spec: SecretSpec, *consumers: SecretConsumer) -> ManagedSecretArgs:
        return managed_secret_args(cfg, spec, store, consumers)

    def login(spec: SecretSpec, role: str, k8s_secret: str) -> ManagedSecretArgs:
        return password(spec, basic_auth_consumer(k8s_secret, ns, role, cnpg_roles.RELOAD_LABEL))

    def grafana_ro(*consumers: SecretConsumer) -> ManagedSecretArgs:
        if grafana_store is None:
            return password(GRAFANA_RO_PASSWORD, *consumers)
        if not consumers:
            return managed_secret_args(cfg, GRAFANA_RO_PASSWORD, grafana_store)
        return managed_secret_args(cfg, GRAFANA_RO_PASSWORD, store, consumers, other_readers=(grafana_store,))

    def ca_cert(consumer: SecretConsumer, value: str | None = None) -> ManagedSecretArgs:
        """The server's CA certificate: rendered for the gateway's clients, read by Grafana's
        datasource too (its `tlsCACert`)."""
        others = (grafana_store,) if grafana_store is not None else ()
        return managed_secret_args(cfg, PG_SERVER_CA_CERT, store, (consumer,), value, other_readers=others)

    if pg.engine == "cnpg":
        names = cnpg.CnpgNames(pg.cnpg.name, ns)
        server_ca = SecretConsumer(
            resource_name=names.server_ca_secret,
            secret_key=BUNDLE_KEY,
            target=TargetSecret(
                name=names.server_ca_secret, namespace=ns, labels=cnpg_roles.RELOAD_LABEL, template_data=CA_TEMPLATE
            ),
        )
        return DatabasePasswords(
            grafana_ro=grafana_ro(
                basic_auth_consumer(names.grafana_ro_secret, ns, cnpg_roles.GRAFANA_RO_ROLE, cnpg_roles.RELOAD_LABEL)
            ),
            reporting=login(REPORTING_PASSWORD, REPORTING_ROLE, names.reporting_secret),
            server_ca=password(PG_SERVER_CA, server_ca),
            ca_cert=ca_cert(_ca_cert_consumer(names.ca_cert_secret, ns)),
        )
    uri = {"uri": external_uri_template(cfg)}
    ca = pg.external.ca_cert
    return DatabasePasswords(
        grafana_ro=grafana_ro(),
        reporting=login(REPORTING_PASSWORD, REPORTING_ROLE, EXTERNAL_REPORTING_SECRET),
        owner=password(LITELLM_DB_PASSWORD, basic_auth_consumer(EXTERNAL_APP_SECRET, ns, pg.owner, {}, uri)),
        ca_cert=ca_cert(_ca_cert_consumer(EXTERNAL_CA_SECRET, ns), value=ca) if ca else None,
    )


def cnpg_clients(
    cfg: StackConfig, litellm_pods: Mapping[str, str], tenants: tuple[cnpg_roles.DatabaseTenant, ...] = ()
) -> list[dict[str, Any]]:
    """Who may open PostgreSQL connections to the CNPG instances: LiteLLM's pods (`litellm_pods`, its
    migration Job carries the same labels), the tenants' pods (Langfuse's web and worker), the
    reporting job's pods, Grafana's pods (namespace AND labels: not the rest of its namespace)."""
    clients: list[dict[str, Any]] = [{"podSelector": {"matchLabels": dict(litellm_pods)}}]
    clients += [{"podSelector": dict(t.clients)} for t in tenants]
    clients.append({"podSelector": {"matchLabels": job_pod_labels()}})
    grafana = {**namespace_peer(cfg.namespaces.grafana), "podSelector": {"matchLabels": dict(cfg.grafana.pod_labels)}}
    clients.append(grafana)
    return clients


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
    pods, the reporting job's, Grafana's)."""
    prometheus_peer: dict[str, Any]
    """The Prometheus server pods (they scrape the instances)."""
    admin_password: pulumi.Input[str] | None = None
    """The external server's admin password (the stack secret `postgresAdminPassword`); engine external only."""
    tenants: tuple[cnpg_roles.DatabaseTenant, ...] = ()
    """Other components' databases on the CNPG cluster: their owners as managed roles."""

    @classmethod
    def from_config(
        cls,
        cfg: StackConfig,
        store: StoreAccess,
        litellm_pods: Mapping[str, str],
        admin_password: pulumi.Input[str] | None = None,
        tenants: tuple[cnpg_roles.DatabaseTenant, ...] = (),
        grafana_store: StoreAccess | None = None,
    ) -> DatabaseArgs:
        """`litellm_pods`: LiteLLM's pod selector labels, from the root (the first of the clients);
        `store` the gateway namespace's secret store, `grafana_store` Grafana's (its datasource reads
        grafana_ro's password; None: no other namespace reads it)."""
        passwords = database_passwords(cfg, store, grafana_store)
        return cls(
            postgres=cfg.postgres,
            namespace=cfg.namespaces.gateway,
            project=cfg.gcp.project,
            data_safety=cfg.data_safety,
            monitoring=cfg.monitoring,
            passwords=passwords,
            endpoint=endpoint(cfg, passwords.grafana_ro.gsm_secret_id),
            clients=tuple(cnpg_clients(cfg, litellm_pods, tenants)),
            prometheus_peer=prometheus_peer(cfg.litellm.network),
            admin_password=admin_password,
            tenants=tenants,
        )
