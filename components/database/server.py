"""Roles, databases and grants on an external PostgreSQL server (`postgres.engine: external`).

One helper per pattern, shared by every component that keeps a database on that server
(LiteLLM's, through the Database component, and Langfuse's): the admin provider, a login
role with the database it owns, and what PUBLIC keeps on a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_postgresql as postgresql

from components.kit import stateful_options
from config import DataSafetyConfig, ExternalPostgresConfig


def admin_provider(
    resource_name: str, server: ExternalPostgresConfig, password: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> postgresql.Provider:
    """The provider every role, database and grant on the server is created through (never a superuser)."""
    return postgresql.Provider(
        resource_name,
        host=server.host,
        port=server.port,
        username=server.admin_user,
        password=password,
        database=server.admin_database,
        sslmode=server.sslmode,
        superuser=False,
        opts=opts,
    )


def login_role(
    resource_name: str,
    name: str,
    password: pulumi.Input[str],
    on_server: pulumi.ResourceOptions,
    *,
    connection_limit: int | None = None,
    member_of: Sequence[str] = (),
) -> postgresql.Role:
    """A login role (never superuser, createdb or createrole: the provider's defaults)."""
    return postgresql.Role(
        resource_name,
        name=name,
        login=True,
        roles=list(member_of) or None,
        connection_limit=connection_limit,
        password=password,
        opts=on_server,
    )


@dataclass(frozen=True)
class OwnedDatabase:
    role: postgresql.Role
    database: postgresql.Database


def owned_database(
    role_resource_name: str,
    database_resource_name: str,
    *,
    owner: str,
    database: str,
    password: pulumi.Input[str],
    on_server: pulumi.ResourceOptions,
    safety: DataSafetyConfig,
) -> OwnedDatabase:
    """A login role and the database it owns; the database carries the data-safety options."""
    role = login_role(role_resource_name, owner, password, on_server)
    created = postgresql.Database(
        database_resource_name,
        name=database,
        owner=role.name,
        opts=pulumi.ResourceOptions.merge(on_server, stateful_options(safety)),
    )
    return OwnedDatabase(role, created)


def public_database_grant(
    resource_name: str, database: pulumi.Input[str], privileges: Sequence[str], on_server: pulumi.ResourceOptions
) -> postgresql.Grant:
    """Exactly the privileges PUBLIC keeps on a database (none: not even CONNECT, so only its owner connects)."""
    return postgresql.Grant(
        resource_name,
        database=database,
        role="public",
        object_type="database",
        privileges=list(privileges),
        opts=on_server,
    )
