"""The database alerts (CNPG engine only: an external server is monitored where it runs): an
instance down, replication lag, WAL archiving and backups, volumes filling up, connections.
"""

from __future__ import annotations

from components.database.cnpg import CnpgNames
from components.observability.alerts.alert import Alert, selector, threshold
from config import StackConfig


def database_alerts(cfg: StackConfig) -> list[Alert]:
    """CNPG alerts (none for an external server: it is monitored where it runs)."""
    pg = cfg.postgres
    if pg.engine != "cnpg":
        return []
    d = cfg.alerts.database
    names = CnpgNames(pg.cnpg.name, cfg.namespaces.gateway)
    pods = selector(namespace=names.namespace, pod_re=f"{names.cluster}-[0-9]+")
    barman = "barman_cloud_cloudnative_pg_io"
    alerts = [
        Alert(
            name="CnpgInstanceDown",
            expr=(
                f"(max by (namespace, pod) (cnpg_collector_up{{{pods}}}) == 0) "
                f"or (max by (namespace, pod) (up{{{pods}}}) == 0)"
            ),
            for_=d.instance_down_for,
            severity="critical",
            summary="A CloudNativePG instance is down",
            description=(
                f"PostgreSQL instance {{{{ $labels.pod }}}} of cluster {names.cluster} in "
                "{{ $labels.namespace }} is down or its metrics endpoint is unreachable."
            ),
        ),
    ]
    if pg.cnpg.instances > 1:
        alerts.append(
            Alert(
                name="CnpgReplicationLagHigh",
                expr=(
                    f"max by (namespace, pod) (cnpg_pg_replication_lag{{{pods}}}) "
                    f"> {threshold(d.replication_lag_seconds)}"
                ),
                for_=d.replication_lag_for,
                severity="warning",
                summary="A CloudNativePG replica lags behind the primary",
                description=(
                    "Replica {{ $labels.pod }} is {{ $value | humanizeDuration }} behind the primary "
                    f"(threshold {threshold(d.replication_lag_seconds)}s)."
                ),
            )
        )
    if pg.backup.enabled:
        alerts += [
            Alert(
                name="CnpgWalArchivingFailing",
                expr=(
                    f"max by (namespace, pod) (cnpg_pg_stat_archiver_last_failed_time{{{pods}}}) "
                    f"> max by (namespace, pod) (cnpg_pg_stat_archiver_last_archived_time{{{pods}}})"
                ),
                for_=d.wal_archiving_for,
                severity="critical",
                summary="WAL archiving to the backup bucket is failing",
                description=(
                    "Instance {{ $labels.pod }} failed to archive WAL more recently than it succeeded; "
                    f"point-in-time recovery of {names.cluster} is at risk."
                ),
            ),
            Alert(
                name="CnpgBackupFailed",
                expr=(
                    f"max by (namespace) ({barman}_last_failed_backup_timestamp{{{pods}}}) "
                    f"> max by (namespace) ({barman}_last_available_backup_timestamp{{{pods}}})"
                ),
                for_=d.backup_failed_for,
                severity="warning",
                summary="The latest CloudNativePG backup failed",
                description=(
                    f"The latest base backup of cluster {names.cluster} in {{{{ $labels.namespace }}}} failed "
                    "after the last successful one."
                ),
            ),
            Alert(
                name="CnpgBackupTooOld",
                expr=(
                    f"time() - max by (namespace) ({barman}_last_available_backup_timestamp{{{pods}}}) "
                    f"> {d.backup_max_age_hours * 3600}"
                ),
                for_="10m",
                severity="warning",
                summary="No recent CloudNativePG backup",
                description=(
                    f"The last available base backup of cluster {names.cluster} in {{{{ $labels.namespace }}}} "
                    f"is {{{{ $value | humanizeDuration }}}} old (threshold {d.backup_max_age_hours}h)."
                ),
            ),
        ]
    pvcs = selector(namespace=names.namespace, persistentvolumeclaim_re=f"{names.cluster}-[0-9]+(-wal)?")
    alerts.append(
        Alert(
            name="CnpgVolumeFillingUp",
            expr=(
                f"max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes{{{pvcs}}} "
                f"/ kubelet_volume_stats_capacity_bytes{{{pvcs}}}) > {threshold(d.volume_fill_ratio)}"
            ),
            for_=d.volume_for,
            severity="warning",
            summary="A PostgreSQL volume is filling up",
            description=(
                "Volume {{ $labels.persistentvolumeclaim }} is {{ $value | humanizePercentage }} full "
                f"(threshold {threshold(d.volume_fill_ratio * 100)}%); check the spend-log cleanup, WAL archiving "
                "and the storage budget (docs/scaling.md)."
            ),
        )
    )
    alerts.append(
        Alert(
            name="CnpgConnectionsNearMax",
            expr=(
                f"sum by (namespace, pod) (cnpg_backends_total{{{pods}}}) / max by (namespace, pod) "
                f"(cnpg_pg_settings_setting{{{selector(name='max_connections')}, {pods}}}) "
                f"> {threshold(d.connections_ratio)}"
            ),
            for_=d.connections_for,
            severity="warning",
            summary="PostgreSQL connections are close to max_connections",
            description=(
                "Instance {{ $labels.pod }} uses {{ $value | humanizePercentage }} of max_connections "
                f"(threshold {threshold(d.connections_ratio * 100)}%)."
            ),
        )
    )
    return alerts
