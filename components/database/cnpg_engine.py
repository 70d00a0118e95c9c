"""The CNPG engine's resources (`postgres.engine: cnpg`), registered under the Database component
exactly as `components.database.cnpg` renders them: the Cluster (with the tenants' owners as
managed roles), its server CA (`components.database.tls`, in GSM as the `serverCASecret` and, the
certificate alone, for the clients), LiteLLM's `Database`, the PodMonitor, the NetworkPolicies and,
with backups, the bucket, its writer with Workload Identity, the barman-cloud ObjectStore and the
ScheduledBackup.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.database import cnpg, cnpg_roles, tls
from components.database.args import DatabaseArgs
from components.gcp import bucket_with_writer, workload_identity_binding
from components.kit import custom_resource, network_policies, stateful_options
from components.secrets.managed import ManagedSecret
from config import CnpgPostgres

BACKUP_GSA_DISPLAY_NAME = "llm-gateway CNPG backups (barman-cloud)"


def register_cnpg(
    name: str,
    args: DatabaseArgs,
    pg: CnpgPostgres,
    *,
    grafana_ro: ManagedSecret,
    reporting: ManagedSecret,
    parent: pulumi.Resource,
) -> None:
    """The cluster and everything around it; it waits for the logins' passwords (its managed roles)."""
    cluster_cfg = pg.cnpg
    names = cnpg.CnpgNames(cluster_cfg.name, args.namespace)
    child = pulumi.ResourceOptions(parent=parent)
    stateful = pulumi.ResourceOptions.merge(child, stateful_options(args.data_safety))

    backup_email: pulumi.Output[str] | None = None
    backup_deps: list[pulumi.Resource] = []
    if pg.backup.enabled:
        backup_email, backup_deps = _backup(name, args, names, stateful, parent)

    ca_secrets = _server_ca(name, args, names, child, stateful)

    manifest: pulumi.Input[dict[str, Any]]
    roles = [cnpg_roles.tenant_role(t) for t in args.tenants]
    logins = [(t.database, t.owner) for t in args.tenants]
    if backup_email is not None:
        manifest = backup_email.apply(lambda email: cnpg.cluster_manifest(pg, cluster_cfg, names, email, roles, logins))
    else:
        manifest = cnpg.cluster_manifest(pg, cluster_cfg, names, extra_roles=roles, extra_logins=logins)
    cluster = _cluster_resource(
        f"{name}-cluster",
        manifest,
        pulumi.ResourceOptions.merge(
            stateful, pulumi.ResourceOptions(depends_on=[grafana_ro, reporting, *ca_secrets, *backup_deps])
        ),
    )
    after_cluster = pulumi.ResourceOptions(parent=parent, depends_on=[cluster])
    custom_resource(f"{name}-litellm-database", cnpg.database_manifest(pg, names), after_cluster)
    if pg.backup.enabled:
        custom_resource(f"{name}-scheduled-backup", cnpg.scheduled_backup_manifest(pg.backup, names), after_cluster)
    custom_resource(f"{name}-pod-monitor", cnpg.pod_monitor_manifest(args.monitoring, names), child)
    policies = cnpg.network_policies(cluster_cfg, names, list(args.clients), args.prometheus_peer, pg.backup.enabled)
    network_policies(name, policies, child)


def _server_ca(
    name: str,
    args: DatabaseArgs,
    names: cnpg.CnpgNames,
    child: pulumi.ResourceOptions,
    stateful: pulumi.ResourceOptions,
) -> list[ManagedSecret]:
    """The CA (its key under the data-safety options), the `serverCASecret` and the clients' certificate."""
    passwords = args.passwords
    assert passwords.server_ca is not None and passwords.ca_cert is not None  # from_config sets both for CNPG
    ca = tls.server_ca(name, names, child, stateful)
    return [
        ManagedSecret(f"{name}-server-ca", dataclasses.replace(passwords.server_ca, value=ca.bundle), child),
        ManagedSecret(f"{name}-server-ca-cert", dataclasses.replace(passwords.ca_cert, value=ca.cert_pem), child),
    ]


def _backup(
    name: str,
    args: DatabaseArgs,
    names: cnpg.CnpgNames,
    stateful: pulumi.ResourceOptions,
    parent: pulumi.Resource,
) -> tuple[pulumi.Output[str], list[pulumi.Resource]]:
    """The backup bucket, its writer (Workload Identity for the cluster's pods), the ObjectStore."""
    child = pulumi.ResourceOptions(parent=parent)
    backup = args.postgres.backup
    writer = bucket_with_writer(
        f"{name}-backup-bucket",
        cnpg.backup_bucket(backup),
        f"{name}-backup-gsa",
        account_id=backup.gsa_account_id,
        display_name=BACKUP_GSA_DISPLAY_NAME,
        project=args.project,
        bucket_opts=stateful,
        opts=child,
    )
    wi = workload_identity_binding(
        f"{name}-backup-workload-identity",
        writer.account,
        project=args.project,
        namespace=names.namespace,
        service_account=names.service_account,
        opts=child,
    )
    store = custom_resource(
        f"{name}-object-store",
        cnpg.object_store_manifest(backup, names),
        pulumi.ResourceOptions(parent=parent, depends_on=[writer.grant]),
    )
    return writer.account.email, [store, wi, writer.grant]


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
