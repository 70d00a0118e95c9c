"""The external engine's resources (`postgres.engine: external`), registered under the Database
component through a `pulumi_postgresql` provider (admin user from config, never a superuser): the
owner role and LiteLLM's database, grafana_ro, the reporting login owning the `reporting` schema,
as grants the hardening CNPG applies at bootstrap (`components.database.sql`), and the server's CA
certificate (`postgres.external.ca_cert`) in GSM for the clients.
"""

from __future__ import annotations

import pulumi
import pulumi_postgresql as postgresql

from components.database import cnpg_roles, server
from components.database.args import DatabaseArgs
from components.kit import stateful_options
from components.reporting.sql import REPORTING_ROLE, SCHEMA
from components.secrets.managed import ManagedSecret
from config import ExternalPostgres


def register_external(
    name: str,
    args: DatabaseArgs,
    pg: ExternalPostgres,
    admin_password: pulumi.Input[str],
    *,
    grafana_ro: ManagedSecret,
    reporting: ManagedSecret,
    parent: pulumi.Resource,
) -> postgresql.Provider:
    """Every role, database and grant on the server; returns the admin provider (other components
    keep their databases there too)."""
    assert args.passwords.owner is not None  # from_config sets it for an external server
    child = pulumi.ResourceOptions(parent=parent)
    owner_password = ManagedSecret(f"{name}-owner-password", args.passwords.owner, child)
    provider = server.admin_provider(f"{name}-postgresql", pg.external, admin_password, child)
    on_server = pulumi.ResourceOptions(parent=parent, provider=provider)
    owned = server.owned_database(
        f"{name}-owner-role",
        f"{name}-database",
        owner=pg.owner,
        database=pg.database,
        password=owner_password.value,
        on_server=on_server,
        safety=args.data_safety,
    )
    _readers(name, args, owned.database, grafana_ro, reporting, on_server)
    if args.passwords.ca_cert is not None:  # postgres.external.ca_cert: the clients' sslrootcert
        ManagedSecret(f"{name}-server-ca-cert", args.passwords.ca_cert, child)
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
    return provider


def _readers(
    name: str,
    args: DatabaseArgs,
    database: postgresql.Database,
    grafana_ro: ManagedSecret,
    reporting: ManagedSecret,
    on_server: pulumi.ResourceOptions,
) -> None:
    """grafana_ro, and the reporting login owning the `reporting` schema (its data: data-safety options)."""
    # No memberships: it reads the reporting schema only (the reporting job's grants).
    server.login_role(
        f"{name}-grafana-ro-role",
        cnpg_roles.GRAFANA_RO_ROLE,
        grafana_ro.value,
        on_server,
        connection_limit=args.postgres.grafana_ro.connection_limit,
    )
    reporting_role = server.login_role(
        f"{name}-reporting-role",
        REPORTING_ROLE,
        reporting.value,
        on_server,
        connection_limit=cnpg_roles.REPORTING_CONNECTION_LIMIT,
    )  # no memberships: the reporting job grants it LiteLLM's spend columns as their owner
    postgresql.Schema(
        f"{name}-reporting-schema",
        name=SCHEMA,
        database=database.name,
        owner=reporting_role.name,
        opts=pulumi.ResourceOptions.merge(on_server, stateful_options(args.data_safety)),
    )
