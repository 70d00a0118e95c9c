"""grafana_ro and the reporting schema on a test database, as the program makes them.

- `create_grafana_ro`: the role exactly as the program's CNPG managed-role entry makes
  it (via `tests.support.role_sql`; once per server), plus the program's hardening SQL.
- `REPORTING_PASSWORD`: the reporting role's password in these tests.
"""

from __future__ import annotations

from components.database import cnpg
from components.database.sql import database_hardening_sql
from tests.harness.pglab.server import LiteLLMDatabase, PostgresServer
from tests.support.config import cnpg_section, stack_config
from tests.support.role_sql import cnpg_managed_role_sql

REPORTING_PASSWORD = "rep'o:r#t\\ing $pw"


def create_grafana_ro(database: LiteLLMDatabase, dbname: str, password: str) -> None:
    """grafana_ro as CNPG's reconciler creates it from the program's managed-role entry."""
    lab = stack_config("lab")
    names = cnpg.CnpgNames(cnpg_section(lab).name, lab.namespaces.gateway)
    role = cnpg.grafana_ro_role(lab.postgres, names.grafana_ro_secret)
    with database.server.superuser_connection() as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role["name"]]).fetchone()
    if not exists:
        as_superuser(database.server, "postgres", cnpg_managed_role_sql(role, password))
    as_superuser(database.server, dbname, database_hardening_sql(dbname, database.owner))


def as_superuser(server: PostgresServer, dbname: str, statements: list[str]) -> None:
    with server.superuser_connection(dbname) as conn, conn.transaction():
        for statement in statements:
            conn.execute(statement.encode())
