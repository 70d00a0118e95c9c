"""Pure builders for CloudNativePG objects (postgresql.cnpg.io/v1, barmancloud.cnpg.io/v1,
monitoring.coreos.com/v1 PodMonitor). No Pulumi calls; validated against the CRDs in tests.
The logins the Cluster manages and its pg_hba rules: cnpg_roles.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.database.cnpg_roles import DatabaseTenant, grafana_ro_role, pg_hba, reporting_role
from components.database.sql import database_hardening_sql
from components.gcp import private_bucket
from components.kit import (
    container_resources,
    deny_all,
    dns_egress,
    metadata,
    namespace_peer,
    network_policy,
    service_host,
    tcp_ports,
)
from components.reporting.sql import REPORTING_ROLE, SCHEMA
from config import BackupConfig, CnpgConfig, MonitoringConfig, PostgresConfig

BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"
PORT = 5432
STATUS_PORT = 8000
"""The instance manager's status endpoint, polled by the operator."""
METRICS_PORT = 9187


@dataclass(frozen=True)
class CnpgNames:
    """Every name CNPG derives from the cluster name, computed once."""

    cluster: str
    namespace: str

    @property
    def rw_host(self) -> str:
        return service_host(f"{self.cluster}-rw", self.namespace)

    @property
    def ro_host(self) -> str:
        return service_host(f"{self.cluster}-ro", self.namespace)

    @property
    def app_secret(self) -> str:
        return f"{self.cluster}-app"

    @property
    def grafana_ro_secret(self) -> str:
        return f"{self.cluster}-grafana-ro"

    @property
    def reporting_secret(self) -> str:
        return f"{self.cluster}-reporting"

    @property
    def server_ca_secret(self) -> str:
        """The program's CA, certificate and key (`spec.certificates.serverCASecret`): CNPG only."""
        return f"{self.cluster}-server-ca"

    @property
    def ca_cert_secret(self) -> str:
        """The same CA's certificate alone, for the clients (no key beside it)."""
        return f"{self.cluster}-ca-cert"

    @property
    def database_resource(self) -> str:
        return f"{self.cluster}-litellm"

    @property
    def object_store(self) -> str:
        return f"{self.cluster}-backup"

    @property
    def service_account(self) -> str:
        """CNPG runs the instances under a service account named after the cluster."""
        return self.cluster


def tenant_database_manifest(tenant: DatabaseTenant, names: CnpgNames, retain: bool) -> dict[str, Any]:
    """The CNPG `Database` for a tenant; `retain`: deleting the object keeps the database."""
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Database",
        "metadata": metadata(f"{names.cluster}-{tenant.database}".replace("_", "-"), names.namespace, app=tenant.app),
        "spec": {
            "cluster": {"name": names.cluster},
            "name": tenant.database,
            "owner": tenant.owner,
            "ensure": "present",
            "databaseReclaimPolicy": "retain" if retain else "delete",
        },
    }


def database_manifest(pg: PostgresConfig, names: CnpgNames) -> dict[str, Any]:
    """A CNPG `Database` for LiteLLM's existing database: it declares the `reporting` schema.

    `databaseReclaimPolicy: retain`: deleting this object never drops the database.
    """
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Database",
        "metadata": metadata(names.database_resource, names.namespace, app="litellm-postgres"),
        "spec": {
            "name": pg.database,
            "owner": pg.owner,
            "cluster": {"name": names.cluster},
            "ensure": "present",
            "databaseReclaimPolicy": "retain",
            "schemas": [{"name": SCHEMA, "owner": REPORTING_ROLE, "ensure": "present"}],
        },
    }


def cluster_manifest(
    pg: PostgresConfig,
    cnpg: CnpgConfig,
    names: CnpgNames,
    backup_gsa_email: str | None = None,
    extra_roles: Sequence[Mapping[str, Any]] = (),
    extra_logins: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The Cluster; `extra_roles` are further `managed.roles` entries (e.g. Langfuse's login),
    `extra_logins` their (database, role) pairs for pg_hba. The server certificate is CNPG's,
    signed with the program's CA (`serverCASecret`: certificate and key; CNPG renews the leaf)."""
    spec: dict[str, Any] = {
        "instances": cnpg.instances,
        "imageName": cnpg.image,
        "enablePDB": cnpg.enable_pdb,
        "storage": {"size": cnpg.storage_size, **({"storageClass": cnpg.storage_class} if cnpg.storage_class else {})},
        "resources": container_resources(cnpg.resources),
        "postgresql": {"parameters": dict(cnpg.parameters), "pg_hba": pg_hba(pg, extra_logins)},
        "certificates": {"serverCASecret": names.server_ca_secret},
        "affinity": {
            "enablePodAntiAffinity": True,
            "podAntiAffinityType": cnpg.anti_affinity,
            "topologyKey": "kubernetes.io/hostname",
        },
        "bootstrap": {
            "initdb": {
                "database": pg.database,
                "owner": pg.owner,
                "postInitApplicationSQL": database_hardening_sql(pg.database, pg.owner),
            }
        },
        "managed": {
            "roles": [
                grafana_ro_role(pg, names.grafana_ro_secret),
                reporting_role(names.reporting_secret),
                *(dict(r) for r in extra_roles),
            ]
        },
    }
    if pg.backup.enabled:
        if backup_gsa_email is None:
            raise ValueError("backups need the backup service account's email")
        spec["serviceAccountTemplate"] = {
            "metadata": {"annotations": {"iam.gke.io/gcp-service-account": backup_gsa_email}}
        }
        spec["plugins"] = [
            {
                "name": BARMAN_PLUGIN,
                "isWALArchiver": True,
                "parameters": {"barmanObjectName": names.object_store},
            }
        ]
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": metadata(names.cluster, names.namespace, app="litellm-postgres"),
        "spec": spec,
    }


# GCS soft delete keeps deleted objects restorable for 7 to 90 days.
SOFT_DELETE_MIN_DAYS, SOFT_DELETE_MAX_DAYS = 7, 90


def backup_soft_delete_seconds(backup: BackupConfig) -> int:
    """Soft-delete window of the backup bucket: the retention period (GCS caps it at 90 days).

    The backup service account may delete objects (barman prunes expired backups); a
    deletion, by barman or by anyone holding that account, stays restorable this long.
    """
    return max(SOFT_DELETE_MIN_DAYS, min(backup.retention_days, SOFT_DELETE_MAX_DAYS)) * 86400


def backup_bucket(backup: BackupConfig) -> dict[str, Any]:
    """The backup bucket's arguments: private, versioned, noncurrent versions deleted after
    `noncurrent_version_days`, deletions restorable for `backup_soft_delete_seconds`."""
    assert backup.bucket is not None  # enforced by BackupConfig
    return private_bucket(
        backup.bucket,
        backup.location,
        versioning={"enabled": True},
        lifecycle_rules=[
            {
                "action": {"type": "Delete"},
                "condition": {"days_since_noncurrent_time": backup.noncurrent_version_days, "with_state": "ARCHIVED"},
            }
        ],
        soft_delete_policy={"retention_duration_seconds": backup_soft_delete_seconds(backup)},
    )


def object_store_manifest(backup: BackupConfig, names: CnpgNames) -> dict[str, Any]:
    assert backup.bucket is not None  # enforced by BackupConfig
    return {
        "apiVersion": "barmancloud.cnpg.io/v1",
        "kind": "ObjectStore",
        "metadata": metadata(names.object_store, names.namespace, app="litellm-postgres"),
        "spec": {
            "retentionPolicy": f"{backup.retention_days}d",
            "configuration": {
                "destinationPath": f"gs://{backup.bucket}/{names.cluster}",
                "googleCredentials": {"gkeEnvironment": True},
                "wal": {"compression": "gzip"},
                "data": {"compression": "gzip"},
            },
        },
    }


def scheduled_backup_manifest(backup: BackupConfig, names: CnpgNames) -> dict[str, Any]:
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "ScheduledBackup",
        "metadata": metadata(f"{names.cluster}-daily", names.namespace, app="litellm-postgres"),
        "spec": {
            "schedule": backup.schedule,
            "immediate": True,
            "backupOwnerReference": "self",
            "cluster": {"name": names.cluster},
            "method": "plugin",
            "pluginConfiguration": {"name": BARMAN_PLUGIN},
        },
    }


def pod_monitor_manifest(monitoring: MonitoringConfig, names: CnpgNames) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": metadata(
            names.cluster,
            names.namespace,
            app="litellm-postgres",
            extra_labels={"release": monitoring.prometheus_release},
        ),
        "spec": {
            "selector": {"matchLabels": {"cnpg.io/cluster": names.cluster}},
            "podMetricsEndpoints": [{"port": "metrics"}],
        },
    }


def _policy(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    return network_policy(name, namespace, "litellm-postgres", spec)


def network_policies(
    cnpg: CnpgConfig,
    names: CnpgNames,
    clients: Sequence[Mapping[str, Any]],
    prometheus: Mapping[str, Any],
    backups: bool,
) -> list[dict[str, Any]]:
    """The instances' NetworkPolicies: default deny, then PostgreSQL from `clients` (peers) and
    the other instances, the status port from the operator's namespace only, metrics from the
    `prometheus` peer only; egress to DNS, the other instances, the API server and, with
    backups, HTTPS to object storage (GCS has no stable address ranges)."""
    pods = {"matchLabels": {"cnpg.io/cluster": names.cluster}}
    own = {"podSelector": pods}
    operator = namespace_peer(cnpg.operator_namespace)
    https_to = [*cnpg.api_server_cidrs, *(["0.0.0.0/0"] if backups else [])]
    egress = [
        dns_egress(),
        {"to": [own], "ports": tcp_ports(PORT, STATUS_PORT)},
        {"to": [{"ipBlock": {"cidr": cidr}} for cidr in dict.fromkeys(https_to)], "ports": tcp_ports(443)},
    ]
    ingress = [
        {"from": [own, *(dict(c) for c in clients)], "ports": tcp_ports(PORT)},
        {"from": [own, operator], "ports": tcp_ports(STATUS_PORT)},
        {"from": [dict(prometheus)], "ports": tcp_ports(METRICS_PORT)},
    ]
    ns = names.namespace
    return [
        _policy(f"{names.cluster}-default-deny", ns, deny_all(pods)),
        _policy(f"{names.cluster}-ingress", ns, {"podSelector": pods, "policyTypes": ["Ingress"], "ingress": ingress}),
        _policy(f"{names.cluster}-egress", ns, {"podSelector": pods, "policyTypes": ["Egress"], "egress": egress}),
    ]
