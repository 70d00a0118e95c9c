"""The reporting job: a CronJob that keeps the `reporting` schema's rollups fresh.

Pure builders (`sql_files`, `config_map_manifest`, `cronjob_manifest`,
`network_policy_manifests`) and a thin component that registers them:

- a ConfigMap with the SQL files of components/reporting/sql.py (`source_grants.sql`,
  `schema.sql`, `grants.sql`, `refresh.sql`) and tenants.py (`declared.sql`: the stack's
  declared teams and keys, `ReportingArgs.declared`), the same ones the preview writes to `sql/`;
- a CronJob on `reporting.schedule` running `psql` from a pinned PostgreSQL image
  (the CNPG cluster's own image, or `reporting.image` / DEFAULT_REPORTING_IMAGE for an
  external server): an init container as LiteLLM's owner (the only role that may grant on
  its tables, and after its migrations) applies `source_grants.sql`, SELECT on exactly the
  columns the refresh reads; then the main container, as the `reporting` role, runs the
  other four files in one transaction. `concurrencyPolicy: Forbid`, PSA `restricted` as
  uid PSQL_UID, no service-account token;
- NetworkPolicies: default deny, egress to DNS and PostgreSQL only, no ingress.

The role's password comes from the ManagedSecret the Database component renders
(ESO, basic-auth Secret `DatabaseEndpoint.reporting_secret`); the owner's login from
`DatabaseEndpoint.app_secret` (CNPG's `<cluster>-app`, or the external engine's), read by
the init container only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.database.cnpg_roles import GRAFANA_RO_ROLE
from components.database.endpoint import DatabaseEndpoint
from components.database.network import database_egress
from components.kit import (
    deny_all,
    dns_egress,
    metadata,
    network_policies,
    network_policy,
    object_meta,
    restricted_container,
    restricted_pod,
)
from components.reporting import sql as reporting_sql
from components.reporting.tenants import declared_sql, declared_tenants
from components.scanner import PULL_POLICY, image_pin_skips, scanner_skips
from config import DEFAULT_REPORTING_IMAGE, PostgresConfig, ReportingConfig, StackConfig
from dashboards.declared import NO_TENANTS, Declared

NAME = "litellm-reporting"
APP = reporting_sql.JOB_APP
SQL_DIR = "/sql"
PSQL_UID = 10026
"""The job's uid and gid: psql needs no user of the image (the CNPG images' own is `postgres`, 26, a uid
the node may share). It writes nothing (read-only root, `--no-psqlrc`, no history without a terminal) and
reads only the mounted SQL and CA, so any uid works; one of its own above 10000 (Checkov's CKV_K8S_40),
which the image's /etc/passwd does not name: HOME is `/`, where libpq finds no ~/.postgresql to use."""
SECRETS_AS_ENV_REASON = (
    "libpq takes a password from PGPASSWORD, a passfile or a service file: it ignores a group-readable passfile "
    "(what a Secret volume gives a non-root uid under fsGroup), and CNPG's own -app Secret (the owner's login) "
    "holds no service file"
)
OWNER_SQL_FILE = "source_grants.sql"
"""Run by LiteLLM's owner (the init container)."""
SQL_FILES = ("schema.sql", "grants.sql", "declared.sql", "refresh.sql")
"""Run by the reporting role (the main container), in this order, in one transaction."""
CONFIG_MAP = f"{NAME}-sql"


@dataclass(frozen=True)
class ReportingArgs:
    reporting: ReportingConfig
    """The job's schedule, rollup window and image override."""
    postgres: PostgresConfig
    """The engine decides the default image (the CNPG cluster's) and, for an external server, the
    CIDRs the job may reach."""
    namespace: str
    """The gateway namespace (the ConfigMap, CronJob and NetworkPolicies)."""
    endpoint: DatabaseEndpoint
    """The database the job refreshes, the Secrets of its role's and the owner's logins, how it
    verifies the server (sslmode, the CA's Secret)."""
    declared: Declared = NO_TENANTS
    """The stack's declared teams and keys (`tenants`: cost centres for chargeback); none: all spend is
    `undeclared`."""

    @classmethod
    def from_config(cls, cfg: StackConfig, endpoint: DatabaseEndpoint) -> ReportingArgs:
        return cls(
            reporting=cfg.reporting,
            postgres=cfg.postgres,
            namespace=cfg.namespaces.gateway,
            endpoint=endpoint,
            declared=declared_tenants(cfg.tenants),
        )


def image(args: ReportingArgs) -> str:
    """One source: the configured image, else the CNPG cluster's, else the pinned default."""
    if args.reporting.image is not None:
        return args.reporting.image
    if args.postgres.engine == "cnpg":
        return args.postgres.cnpg.image
    return DEFAULT_REPORTING_IMAGE


def sql_files(reporting: ReportingConfig, declared: Declared = NO_TENANTS) -> dict[str, str]:
    """The files the job runs, in order (also written by the preview to `sql/`)."""
    return {
        OWNER_SQL_FILE: reporting_sql.source_grants_sql(reporting_sql.REPORTING_ROLE),
        "schema.sql": reporting_sql.schema_sql(),
        "grants.sql": reporting_sql.grants_sql(GRAFANA_RO_ROLE),
        "declared.sql": declared_sql(declared),
        "refresh.sql": reporting_sql.refresh_sql(reporting.window_days),
    }


def _labels() -> dict[str, str]:
    return reporting_sql.job_pod_labels()


def config_map_manifest(args: ReportingArgs) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(CONFIG_MAP, args.namespace, app=APP),
        "data": sql_files(args.reporting, args.declared),
    }


def _psql(files: tuple[str, ...]) -> list[str]:
    argv = ["psql", "--no-psqlrc", "--single-transaction", "--set", "ON_ERROR_STOP=1"]
    for name in files:
        argv += ["--file", f"{SQL_DIR}/{name}"]
    return argv


def _libpq_env(args: ReportingArgs, login_secret: str, user: str | None) -> list[dict[str, Any]]:
    """libpq's environment for one login: `user` fixed, or None to read it from the Secret too."""
    endpoint = args.endpoint
    user_env: dict[str, Any] = (
        {"name": "PGUSER", "value": user}
        if user is not None
        else {"name": "PGUSER", "valueFrom": {"secretKeyRef": {"name": login_secret, "key": "username"}}}
    )
    return [
        {"name": "PGHOST", "value": endpoint.host},
        {"name": "PGPORT", "value": str(endpoint.port)},
        {"name": "PGDATABASE", "value": endpoint.database},
        user_env,
        {"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": {"name": login_secret, "key": "password"}}},
        *_tls_env(endpoint),
        {"name": "PGAPPNAME", "value": NAME},
        {"name": "PGCONNECT_TIMEOUT", "value": "10"},
    ]


def _tls_env(endpoint: DatabaseEndpoint) -> list[dict[str, Any]]:
    """libpq verifies the server: sslmode from the endpoint, the mounted CA as sslrootcert; with
    verify-* and no CA of ours, the image's system trust store (libpq 16+: `system`)."""
    params = endpoint.libpq_params()
    env = [{"name": "PGSSLMODE", "value": params["sslmode"]}]
    if "sslrootcert" in params:
        env.append({"name": "PGSSLROOTCERT", "value": params["sslrootcert"]})
    elif params["sslmode"].startswith("verify-"):
        env.append({"name": "PGSSLROOTCERT", "value": "system"})
    return env


def image_setting(args: ReportingArgs) -> str:
    """The config key the job's image comes from (for the scanner's reasons)."""
    if args.reporting.image is None and args.postgres.engine == "cnpg":
        return "postgres.cnpg.image"
    return "reporting.image"


def scanner_annotations(args: ReportingArgs) -> dict[str, str]:
    """The CronJob's Checkov skips: its image's pin, the passwords in the environment."""
    return scanner_skips(image_pin_skips(image(args), image_setting(args)) | {"CKV_K8S_35": SECRETS_AS_ENV_REASON})


JOB_MEMORY = ("16Mi", "64Mi")
"""psql's memory (request, limit): it only streams the NOTICEs; its peak was 12 MiB for a first
(full) run at 50,000 keys and 2.7M daily rows (docs/numbers.md, "Reporting job"), the limit 5x that."""
JOB_DEADLINE_S = 900
"""A job run's limit: the first (full) run took 233-294 s at the 10x point (8.2M daily rows, 50,000
keys) on the 2-core bench machine (docs/numbers.md), 900 s is 3.1 times the slowest; a later run takes
seconds (a new UTC day's about 31 s there)."""


def _container(name: str, args: ReportingArgs, command: list[str], env: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "image": image(args),
        "imagePullPolicy": PULL_POLICY,
        "command": command,
        "env": env,
        "resources": {
            "requests": {"cpu": "20m", "memory": JOB_MEMORY[0]},
            "limits": {"cpu": "200m", "memory": JOB_MEMORY[1]},
        },
        "securityContext": restricted_container(readOnlyRootFilesystem=True),
        "volumeMounts": [
            {"name": "sql", "mountPath": SQL_DIR, "readOnly": True},
            *([args.endpoint.ca_volume_mount()] if args.endpoint.ca_volume() else []),
        ],
    }


def cronjob_manifest(args: ReportingArgs) -> dict[str, Any]:
    """The job: the owner's grants (init container), then the refresh as `reporting`."""
    endpoint = args.endpoint
    grants = _container(
        "source-grants", args, _psql((OWNER_SQL_FILE,)), _libpq_env(args, endpoint.app_secret, user=None)
    )
    refresh = _container(
        "refresh", args, _psql(SQL_FILES), _libpq_env(args, endpoint.reporting_secret, reporting_sql.REPORTING_ROLE)
    )
    pod = {
        "metadata": {"labels": {**metadata(NAME, app=APP)["labels"], **_labels()}},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": restricted_pod(uid=PSQL_UID),
            "initContainers": [grants],
            "containers": [refresh],
            "volumes": [
                {"name": "sql", "configMap": {"name": CONFIG_MAP}},
                *([ca] if (ca := endpoint.ca_volume()) else []),
            ],
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata(NAME, args.namespace, app=APP, annotations=scanner_annotations(args)),
        "spec": {
            "schedule": args.reporting.schedule,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 300,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 2,
                    "activeDeadlineSeconds": JOB_DEADLINE_S,
                    "ttlSecondsAfterFinished": 86400,
                    "template": pod,
                }
            },
        },
    }


def network_policy_manifests(args: ReportingArgs) -> list[dict[str, Any]]:
    """No ingress; egress to DNS and PostgreSQL only (the CNPG pods, or the external server's CIDRs)."""
    ns, endpoint = args.namespace, args.endpoint
    pods = {"matchLabels": _labels()}
    pod_labels = dict(endpoint.pod_labels) if endpoint.pod_labels is not None else None
    db = database_egress(args.postgres, pod_labels, endpoint.port)
    dns = dns_egress()
    return [
        network_policy(f"{NAME}-default-deny", ns, APP, deny_all(pods)),
        network_policy(
            f"{NAME}-egress", ns, APP, {"podSelector": pods, "policyTypes": ["Egress"], "egress": [dns, db]}
        ),
    ]


class Reporting(pulumi.ComponentResource):
    def __init__(self, name: str, args: ReportingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-gateway:reporting:Reporting", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cm = config_map_manifest(args)
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-sql", metadata=object_meta(cm["metadata"]), data=cm["data"], opts=child
        )
        policies = network_policies(name, network_policy_manifests(args), child)
        job = cronjob_manifest(args)
        k8s.batch.v1.CronJob(
            f"{name}-cronjob",
            metadata=object_meta(job["metadata"]),
            spec=job["spec"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[config_map, *policies]),
        )
        self.register_outputs({})
