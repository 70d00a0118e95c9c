"""Pure builders for CloudNativePG objects (postgresql.cnpg.io/v1, barmancloud.cnpg.io/v1,
monitoring.coreos.com/v1 PodMonitor). No Pulumi calls; validated against the CRDs in tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.config import BackupConfig, CnpgConfig, MonitoringConfig, PostgresConfig
from components.k8s import metadata
from components.postgres_sql import database_hardening_sql

BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"
GRAFANA_RO_ROLE = "grafana_ro"
READ_ALL_ROLE = "pg_read_all_data"
PORT = 5432


@dataclass(frozen=True)
class CnpgNames:
    """Every name CNPG derives from the cluster name, computed once."""

    cluster: str
    namespace: str

    @property
    def rw_host(self) -> str:
        return f"{self.cluster}-rw.{self.namespace}.svc"

    @property
    def ro_host(self) -> str:
        return f"{self.cluster}-ro.{self.namespace}.svc"

    @property
    def app_secret(self) -> str:
        return f"{self.cluster}-app"

    @property
    def grafana_ro_secret(self) -> str:
        return f"{self.cluster}-grafana-ro"

    @property
    def object_store(self) -> str:
        return f"{self.cluster}-backup"

    @property
    def service_account(self) -> str:
        """CNPG runs the instances under a service account named after the cluster."""
        return self.cluster


def grafana_ro_role(pg: PostgresConfig, password_secret: str) -> dict[str, Any]:
    """The `managed.roles` entry for the read-only Grafana login."""
    return {
        "name": GRAFANA_RO_ROLE,
        "ensure": "present",
        "login": True,
        "superuser": False,
        "createdb": False,
        "createrole": False,
        "inherit": True,
        "replication": False,
        "bypassrls": False,
        "inRoles": [READ_ALL_ROLE],
        "connectionLimit": pg.grafana_ro.connection_limit,
        "comment": "Grafana datasource: read-only (pg_read_all_data), managed by llm-gateway",
        "passwordSecret": {"name": password_secret},
    }


def grafana_ro_hba(database: str) -> list[str]:
    """pg_hba lines: grafana_ro may log in to LiteLLM's database and no other.

    CNPG renders user-defined rules before its default `host all all all`, and the
    first matching line wins, so other databases of the cluster (Langfuse's) stay
    closed to the read-only role even though pg_read_all_data spans databases.
    """
    return [
        f"host {database} {GRAFANA_RO_ROLE} all scram-sha-256",
        f"host all {GRAFANA_RO_ROLE} all reject",
    ]


def cluster_manifest(
    pg: PostgresConfig,
    cnpg: CnpgConfig,
    names: CnpgNames,
    backup_gsa_email: str | None = None,
    extra_roles: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The Cluster; `extra_roles` are further `managed.roles` entries (e.g. Langfuse's login)."""
    spec: dict[str, Any] = {
        "instances": cnpg.instances,
        "imageName": cnpg.image,
        "enablePDB": cnpg.enable_pdb,
        "storage": {"size": cnpg.storage_size, **({"storageClass": cnpg.storage_class} if cnpg.storage_class else {})},
        "resources": {
            "requests": {"cpu": cnpg.resources.requests.cpu, "memory": cnpg.resources.requests.memory},
            "limits": {"cpu": cnpg.resources.limits.cpu, "memory": cnpg.resources.limits.memory},
        },
        "postgresql": {"parameters": dict(cnpg.parameters), "pg_hba": grafana_ro_hba(pg.database)},
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
        "managed": {"roles": [grafana_ro_role(pg, names.grafana_ro_secret), *(dict(r) for r in extra_roles)]},
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
