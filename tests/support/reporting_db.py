"""Throwaway copies of LiteLLM's migrated database, and grafana_ro and the reporting schema on them
as the program makes them.

- `database_copy`: a private copy of the migrated database (`CREATE DATABASE ... TEMPLATE`),
  dropped on exit, so tests that change a database never share one;
- `as_superuser`: statements in one transaction as the superuser, as the role engines run them;
- `create_grafana_ro`: the role exactly as the program's CNPG managed-role entry makes
  it (via `tests.support.role_sql`; once per server), plus the program's hardening SQL.
- `reported_copy`: a copy seeded, with grafana_ro and the reporting schema refreshed once;
- `REPORTING_PASSWORD`: the reporting role's password in these tests.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from components.database import cnpg, cnpg_roles
from components.database.sql import database_hardening_sql
from components.reporting import sql as reporting_sql
from tests.harness.pglab import spend_seed
from tests.harness.pglab.server import LiteLLMDatabase, PostgresServer
from tests.support.config import cnpg_section, stack_config
from tests.support.role_sql import cnpg_managed_role_sql

REPORTING_PASSWORD = "rep'o:r#t\\ing $pw"


def create_grafana_ro(database: LiteLLMDatabase, dbname: str, password: str) -> None:
    """grafana_ro as CNPG's reconciler creates it from the program's managed-role entry."""
    lab = stack_config("lab")
    names = cnpg.CnpgNames(cnpg_section(lab).name, lab.namespaces.gateway)
    role = cnpg_roles.grafana_ro_role(lab.postgres, names.grafana_ro_secret)
    with database.server.superuser_connection() as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role["name"]]).fetchone()
    if not exists:
        as_superuser(database.server, "postgres", cnpg_managed_role_sql(role, password))
    as_superuser(database.server, dbname, database_hardening_sql(dbname, database.owner))


def as_superuser(server: PostgresServer, dbname: str, statements: list[str]) -> None:
    with server.superuser_connection(dbname) as conn, conn.transaction():
        for statement in statements:
            conn.execute(statement.encode())


@contextmanager
def database_copy(database: LiteLLMDatabase, dbname: str, roles: Iterable[str] = ()) -> Iterator[str]:
    """`dbname`: a copy of the migrated database, owned by its owner. On exit the copy is dropped
    (connections and all), then the `roles` the test made there (read then, so a list may still
    grow), each unless it still holds something in another copy: roles span databases."""
    server = database.server
    with server.superuser_connection() as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                sql.Identifier(dbname), sql.Identifier(database.name), sql.Identifier(database.owner)
            )
        )
    try:
        yield dbname
    finally:
        with server.superuser_connection() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
            for role in roles:
                with contextlib.suppress(psycopg.errors.DependentObjectsStillExist):
                    conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@contextmanager
def reported_copy(
    database: LiteLLMDatabase, dbname: str, data: spend_seed.DataSet, reader: str, reader_password: str
) -> Iterator[str]:
    """`dbname`: a copy of the migrated database with `data`, the reader (grafana_ro) and the
    reporting schema refreshed once; dropped on exit with both roles."""
    server = database.server
    with database_copy(database, dbname, roles=(reader, reporting_sql.REPORTING_ROLE)):
        with server.connect_as(database.owner, database.owner_password, dbname) as conn:
            spend_seed.seed(conn, data)
        create_grafana_ro(database, dbname, reader_password)
        spend_seed.install_reporting(server, dbname, REPORTING_PASSWORD, reader)
        yield dbname
