"""Who may log in to the CNPG cluster, and how: the managed roles (grafana_ro, the reporting login,
the tenants' owners) and the pg_hba rules that admit each to its database over TLS only.
Pure builders of the Cluster's `managed.roles` entries and `postgresql.pg_hba` lines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.reporting.sql import REPORTING_ROLE
from config import PostgresConfig

GRAFANA_RO_ROLE = "grafana_ro"
RELOAD_LABEL = {"cnpg.io/reload": "true"}
"""CNPG reloads a managed role's password when its Secret changes."""


def grafana_ro_role(pg: PostgresConfig, password_secret: str) -> dict[str, Any]:
    """The `managed.roles` entry for the Grafana login: no role memberships.

    It reads the `reporting` schema only, by the grants the reporting job gives it
    (components/reporting/sql.py `grants_sql`); LiteLLM's own tables stay closed.
    """
    return _login_role(
        GRAFANA_RO_ROLE,
        pg.grafana_ro.connection_limit,
        "Grafana datasource: SELECT on the reporting schema only, managed by llm-gateway",
        password_secret,
    )


def _login_role(
    name: str, connection_limit: int | None, comment: str, password_secret: str, in_roles: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A `managed.roles` login: no superuser, createdb, createrole, replication or bypassrls
    (`connection_limit` None: the server's default, no limit of its own)."""
    role: dict[str, Any] = {
        "name": name,
        "ensure": "present",
        "login": True,
        "superuser": False,
        "createdb": False,
        "createrole": False,
        "inherit": True,
        "replication": False,
        "bypassrls": False,
    }
    if in_roles:
        role["inRoles"] = list(in_roles)
    if connection_limit is not None:
        role["connectionLimit"] = connection_limit
    return {
        **role,
        "comment": comment,
        "passwordSecret": {"name": password_secret},
    }


REPORTING_CONNECTION_LIMIT = 2


def reporting_role(password_secret: str) -> dict[str, Any]:
    """The `managed.roles` entry for the reporting job's login (owner of the `reporting` schema).

    No role memberships: it reads only the LiteLLM columns the job's init container grants it
    as the tables' owner (components/reporting/sql.py `source_grants_sql`); only the reporting
    CronJob has its password.
    """
    return _login_role(
        REPORTING_ROLE,
        REPORTING_CONNECTION_LIMIT,
        "reporting job: owns the reporting schema, reads LiteLLM's spend columns only, managed by llm-gateway",
        password_secret,
    )


@dataclass(frozen=True)
class DatabaseTenant:
    """Another component's own database on the stack's CNPG cluster.

    The Database component declares the owner as a managed role of the Cluster and admits
    the `clients` pods in its NetworkPolicy; the tenant registers its `Database` object
    (`tenant_database_manifest`) itself.
    """

    owner: str
    database: str
    password_secret: str
    """The `kubernetes.io/basic-auth` Secret the managed role's password is read from."""
    comment: str
    app: str
    """`app.kubernetes.io/name` of the Database object."""
    clients: Mapping[str, Any]
    """Label selector of the pods that connect."""


def tenant_role(tenant: DatabaseTenant) -> dict[str, Any]:
    """The tenant's owner as a `managed.roles` login (no connection limit of its own)."""
    return _login_role(tenant.owner, None, tenant.comment, tenant.password_secret)


def pg_hba(pg: PostgresConfig, tenants: Sequence[tuple[str, str]] = ()) -> list[str]:
    """pg_hba lines: TLS for every login, grafana_ro and the reporting login in LiteLLM's database only.

    CNPG renders user-defined rules after its own (peer on the local socket for the operator,
    `hostssl ... cert` for replication and the pooler) and before its default
    `host all all all scram-sha-256`, and the first matching line wins. So: `hostssl` lines for
    LiteLLM's owner, grafana_ro, the reporting login and each tenant's owner (`tenants`:
    (database, owner)) in their databases; grafana_ro and reporting refused in any other
    database (Langfuse's); then `hostnossl all all all reject`: no password ever crosses the
    network in clear, for any role, whatever database.
    """
    database = pg.database
    lines = []
    for role in (GRAFANA_RO_ROLE, REPORTING_ROLE):
        lines += [f"hostssl {database} {role} all scram-sha-256", f"host all {role} all reject"]
    lines.append(f"hostssl {database} {pg.owner} all scram-sha-256")
    lines += [f"hostssl {db} {owner} all scram-sha-256" for db, owner in tenants]
    lines.append("hostnossl all all all reject")
    return lines
