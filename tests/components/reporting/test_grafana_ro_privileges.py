"""grafana_ro and the reporting login on a real PostgreSQL holding LiteLLM's real schema, for
both role engines.

The role definitions are translated into the exact SQL each engine sends
(``tests/support/role_sql.py``: CNPG's managed-role reconciler, or the
pulumi-postgresql provider), run on a throwaway server
(``tests/support/postgres.py``), and then the role is exercised: what it must be able
to read (every dashboard query, on the reporting schema the reporting role builds with
the program's SQL), what it must not read (LiteLLM's passwords, credentials, audit log,
key tokens, other databases), everything it must not write (checked by SQLSTATE, not by
"some error"), its connection limit and its password. The reporting login reads only the
LiteLLM columns its job grants it as their owner (`source_grants_sql`), and those grants
outlive LiteLLM's migrations.

Each test works on its own copy of the migrated ``litellm`` database
(``CREATE DATABASE ... TEMPLATE litellm``), so hardened and unhardened states never mix.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.conninfo import make_conninfo

from components.database.cnpg_roles import GRAFANA_RO_ROLE
from components.database.endpoint import CA_FILE
from components.database.sql import database_hardening_sql
from components.reporting.sql import (
    REPORTING_ROLE,
    SCHEMA,
    SOURCE_COLUMNS,
    grants_sql,
    refresh_sql,
    schema_sql,
    source_grants_sql,
)
from dashboards.spend_queries import CHARGEBACK, OVERVIEW, TEAM_VIEW
from tests.harness.pglab import spend_seed
from tests.harness.pglab.grafana_sql import ALL, Selection, TimeRange, render
from tests.harness.pglab.server import (
    LiteLLMDatabase,
    ServerTls,
    apply_litellm_schema,
    apply_migrations,
    litellm_migration_files,
    start_postgres_server,
)
from tests.harness.pglab.tls import issue_server_cert, make_ca
from tests.support.program import EXTERNAL_ENGINE, run_cached
from tests.support.reporting_db import as_superuser, database_copy
from tests.support.role_sql import (
    cnpg_managed_role_sql,
    pg_provider_grant_sql,
    pg_provider_role_sql,
)
from tools import versions

ENGINES = ("cnpg", "external")
RANGE = TimeRange(datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 3, 3, 23, 59, 59, tzinfo=UTC))

#: URL-special, quote and backslash characters, an inner space and a non-ASCII letter.
#: No white space at either end: CNPG trims the secret's password (Go TrimSpace).
SPECIAL_PASSWORD = "p@ss:/?#[]%&=+ ;'sq\"dq\\bs$1--ü"
#: The same without the backslash, which the external engine cannot pass through
#: (see test_provider_doubles_backslashes_in_passwords).
SPECIAL_PASSWORD_NO_BACKSLASH = SPECIAL_PASSWORD.replace("\\", "")

GRAFANA_TABLES = (
    "LiteLLM_SpendLogs",
    "LiteLLM_VerificationToken",
    "LiteLLM_DailyUserSpend",
    "LiteLLM_TeamTable",
)

# --------------------------------------------------------------------------------------
# Role definitions: what the program registers under Pulumi mocks (the CNPG Cluster's
# spec.managed.roles[] entry for grafana_ro, and the postgresql.Role / postgresql.Grant
# inputs of the external engine).
# --------------------------------------------------------------------------------------


@pytest.fixture
def grafana_ro_definitions() -> dict[str, dict[str, Any]]:
    """grafana_ro per engine, exactly as the program renders it (mock engine, ints as floats)."""
    cluster = run_cached("lab").custom_resources("Cluster")[0]
    (cnpg_role,) = [r for r in cluster["spec"]["managed"]["roles"] if r["name"] == "grafana_ro"]
    external = run_cached("lab", *EXTERNAL_ENGINE)
    (pg_role,) = [
        r.inputs for r in external.of_type("postgresql:index/role:Role") if r.inputs.get("name") == "grafana_ro"
    ]
    return {"cnpg": cnpg_role, "external": {k: v for k, v in pg_role.items() if k != "password"}}


@pytest.fixture
def role_definitions() -> dict[str, dict[str, dict[str, Any]]]:
    """Every role per engine, by name, exactly as the program renders it."""
    cluster = run_cached("lab").custom_resources("Cluster")[0]
    external = run_cached("lab", *EXTERNAL_ENGINE)
    ext = {
        str(r.inputs["name"]): {k: v for k, v in r.inputs.items() if k != "password"}
        for r in external.of_type("postgresql:index/role:Role")
    }
    return {"cnpg": {r["name"]: r for r in cluster["spec"]["managed"]["roles"]}, "external": ext}


@pytest.fixture
def external_hardening_grant_definitions() -> list[dict[str, Any]]:
    """The postgresql.Grant inputs the program renders to harden an external database."""
    grants = run_cached("lab", *EXTERNAL_ENGINE).of_type("postgresql:index/grant:Grant")
    assert grants, "the external engine renders no hardening grants"
    # Registration order is not deterministic under the engine: order by object type.
    return sorted((g.plain_inputs for g in grants), key=lambda g: str(g["objectType"]))


# --- helpers ---------------------------------------------------------------------------


def password_for(engine: str) -> str:
    return SPECIAL_PASSWORD if engine == "cnpg" else SPECIAL_PASSWORD_NO_BACKSLASH


def role_statements(engine: str, definition: dict[str, Any], password: str) -> list[str]:
    if engine == "cnpg":
        return cnpg_managed_role_sql(definition, password)
    return pg_provider_role_sql(definition, password)


def sqlstate_of(conn: psycopg.Connection[tuple[object, ...]], statement: str) -> str:
    """``"00000"`` when the statement succeeds, else its SQLSTATE."""
    try:
        conn.execute(statement.encode())
    except psycopg.Error as exc:
        return exc.sqlstate or "?????"
    return "00000"


class Scratch:
    """A private copy of the migrated litellm database, and the role made in it."""

    def __init__(self, database: LiteLLMDatabase, name: str) -> None:
        self.litellm = database
        self.server = database.server
        self.name = name
        self.roles: list[str] = []

    def harden(self) -> None:
        as_superuser(self.server, self.name, database_hardening_sql(self.name, self.litellm.owner))

    def create_role(self, engine: str, definition: dict[str, Any], password: str) -> str:
        name = str(definition["name"])
        self.roles.append(name)
        as_superuser(self.server, "postgres", role_statements(engine, definition, password))
        return name


@pytest.fixture
def scratch(litellm_database: LiteLLMDatabase, request: pytest.FixtureRequest) -> Iterator[Scratch]:
    name = "scratch_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50]
    box = Scratch(litellm_database, name)
    with database_copy(litellm_database, name, roles=box.roles):
        yield box


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


# --- the schema itself -------------------------------------------------------------------


def test_litellm_schema_is_the_real_one(litellm_database: LiteLLMDatabase) -> None:
    # The pinned litellm-proxy-extras: the schema the pinned proxy ships with (tests/tools/test_versions.py).
    pins = {name: version for name, version, _ in versions.requirement_rows()}
    assert importlib.metadata.version("litellm-proxy-extras") == pins["litellm-proxy-extras"]
    assert litellm_database.migrations
    assert any(" " in name for name in litellm_database.migrations)
    with litellm_database.server.connect_as(litellm_database.owner, litellm_database.owner_password) as conn:
        owners: dict[object, object] = dict(
            (row[0], row[1])
            for row in conn.execute(
                "SELECT tablename, tableowner FROM pg_tables WHERE tablename = ANY(%s)",
                [list(GRAFANA_TABLES)],
            ).fetchall()
        )
        runtime = conn.execute(
            "SELECT c.relname, x.indisvalid FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid"
            " WHERE x.indrelid = '\"LiteLLM_SpendLogs\"'::regclass AND c.relname = ANY(%s)",
            [list(litellm_database.runtime_indexes)],
        ).fetchall()
    assert owners == dict.fromkeys(GRAFANA_TABLES, "litellm")
    assert sorted(runtime) == sorted(
        (name, True)
        for name in (
            "LiteLLM_SpendLogs_api_key_startTime_idx",
            "LiteLLM_SpendLogs_litellm_call_id_idx",
        )
    )


# --- grafana_ro on a hardened database -------------------------------------------------------


SECRET_READS = {
    "password hashes": 'SELECT password FROM "LiteLLM_UserTable"',
    "invitation links": 'SELECT * FROM "LiteLLM_InvitationLink"',
    "stored credentials": 'SELECT credential_values FROM "LiteLLM_CredentialsTable"',
    "audit log": 'SELECT * FROM "LiteLLM_AuditLog"',
    "key tokens": 'SELECT token FROM "LiteLLM_VerificationToken"',
    "raw log": 'SELECT api_key, messages FROM "LiteLLM_SpendLogs"',
    "daily rows": 'SELECT api_key FROM "LiteLLM_DailyUserSpend"',
    "config": 'SELECT * FROM "LiteLLM_Config"',
}


def grant_sources_as_owner(server: Any, dbname: str, owner: str, owner_password: str) -> None:
    """What the job's init container runs: `source_grants_sql` as LiteLLM's owner, one transaction."""
    with server.connect_as(owner, owner_password, dbname) as conn, conn.transaction():
        conn.execute(source_grants_sql(REPORTING_ROLE).encode())


def install_reporting(scratch: Scratch, engine: str, definitions: dict[str, dict[str, Any]], password: str) -> str:
    """The reporting role as the engine creates it, the schema as CNPG's Database / postgresql.Schema
    creates it, the owner's column grants (the init container), then the job's three SQL files as
    that role."""
    role = scratch.create_role(engine, definitions[REPORTING_ROLE], password)
    as_superuser(scratch.server, scratch.name, [f'CREATE SCHEMA "{SCHEMA}" AUTHORIZATION "{role}"'])
    grant_sources_as_owner(scratch.server, scratch.name, scratch.litellm.owner, scratch.litellm.owner_password)
    with scratch.server.connect_as(role, password, scratch.name) as conn:
        for text in (schema_sql(), grants_sql(GRAFANA_RO_ROLE), refresh_sql(3)):
            conn.execute(text.encode())
    return role


def every_dashboard_query() -> list[tuple[str, str]]:
    overview = {"team": ALL, "key_alias": ALL, "model": ALL}
    picked: dict[str, Selection] = {"team": ["team-a"], "key_alias": ["alpha-prod"], "model": ["gpt-4o"]}
    team = {"team": "team-a", "key_alias": ALL, "model": ALL}
    queries = []
    for name, board, selections in (
        ("overview", OVERVIEW, (overview, picked)),
        ("team", TEAM_VIEW, (team,)),
        ("chargeback", CHARGEBACK, ({},)),
    ):
        for number, selection in enumerate(selections):
            for variable in board.variables:
                queries.append(
                    (f"{name}/var:{variable.name}/{number}", render(variable.sql, board.variables, selection, RANGE))
                )
            for panel in board.panels:
                queries.append((f"{name}/{panel.key}/{number}", render(panel.sql, board.variables, selection, RANGE)))
    return queries


def test_grafana_ro_reads_every_panel_and_nothing_of_litellm(
    engine: str, scratch: Scratch, role_definitions: dict[str, dict[str, dict[str, Any]]]
) -> None:
    scratch.harden()
    with scratch.server.connect_as(scratch.litellm.owner, scratch.litellm.owner_password, scratch.name) as owner:
        spend_seed.seed(owner)
    password = password_for(engine)
    role = scratch.create_role(engine, role_definitions[engine][GRAFANA_RO_ROLE], password)
    install_reporting(scratch, engine, role_definitions[engine], password)

    with scratch.server.connect_as(role, password, scratch.name) as conn:
        answered = {}
        for name, text in every_dashboard_query():
            answered[name] = len(conn.execute(text.encode()).fetchall())  # raises on any privilege error
        assert answered["overview/total_spend/0"] == 1 and answered["overview/spend_by_key/0"] == 7
        assert answered["chargeback/team_month/0"] > 0
        refused = {what: sqlstate_of(conn, statement) for what, statement in SECRET_READS.items()}
        # Nothing in the reporting schema names a token or a payload ...
        columns = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s", [SCHEMA]
        ).fetchall()
        # ... nor holds one.
        shown = {str(v) for row in conn.execute("SELECT * FROM reporting.keys").fetchall() for v in row}
        shown |= {str(v) for row in conn.execute("SELECT * FROM reporting.recent_failures").fetchall() for v in row}
        shown |= {str(v) for row in conn.execute("SELECT * FROM reporting.daily_detail").fetchall() for v in row}
    assert refused == dict.fromkeys(SECRET_READS, errors.InsufficientPrivilege.sqlstate)
    assert columns and not {c for _t, c in columns} & {"token", "api_key", "password", "metadata", "messages"}
    assert not shown & {key.token for key in spend_seed.SMALL.keys}


def test_grafana_ro_writes_nothing(
    engine: str, scratch: Scratch, role_definitions: dict[str, dict[str, dict[str, Any]]]
) -> None:
    scratch.harden()
    password = password_for(engine)
    role = scratch.create_role(engine, role_definitions[engine][GRAFANA_RO_ROLE], password)
    install_reporting(scratch, engine, role_definitions[engine], password)
    with scratch.server.connect_as(role, password, scratch.name) as conn:
        forbidden = [
            "INSERT INTO \"LiteLLM_TeamTable\" (team_id) VALUES ('grafana')",
            'UPDATE "LiteLLM_VerificationToken" SET spend = 0',
            'DELETE FROM "LiteLLM_SpendLogs"',
            'TRUNCATE "LiteLLM_DailyUserSpend"',
            "DELETE FROM reporting.daily_detail",
            "TRUNCATE reporting.daily_model",
            "SELECT * FROM reporting.refresh(1)",
            # the refresh's working tables hold LiteLLM's key hashes during a run
            "SELECT * FROM reporting.refresh_changed",
            "TRUNCATE reporting.refresh_touched",
            "DELETE FROM reporting.daily_charge",
            "INSERT INTO reporting.declared_teams VALUES ('t', 't', 'o@x.example', 'CC-1')",
            "CREATE TABLE public.grafana_probe (id int)",
            "CREATE TABLE grafana_probe (id int)",
            "CREATE VIEW public.grafana_probe AS SELECT 1",
            "CREATE SCHEMA grafana_probe",
            "CREATE TABLE reporting.grafana_probe (id int)",
            "CREATE TEMP TABLE grafana_probe (id int)",
            "CREATE TABLE pg_temp.grafana_probe (id int)",
        ]
        outcomes = {statement: sqlstate_of(conn, statement) for statement in forbidden}
    assert outcomes == dict.fromkeys(forbidden, errors.InsufficientPrivilege.sqlstate)


def test_external_grafana_ro_reads_nothing_in_another_database(
    scratch: Scratch, role_definitions: dict[str, dict[str, dict[str, Any]]]
) -> None:
    """On a shared external server other databases keep PostgreSQL's default CONNECT for
    PUBLIC (only their owners or the server's pg_hba can close that), but without
    pg_read_all_data grafana_ro reads nothing there."""
    password = SPECIAL_PASSWORD_NO_BACKSLASH
    role = scratch.create_role("external", role_definitions["external"][GRAFANA_RO_ROLE], password)
    other = scratch.name + "_other"
    server = scratch.server
    with server.superuser_connection() as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(other), sql.Identifier(scratch.litellm.owner))
        )
    try:
        with server.connect_as(scratch.litellm.owner, scratch.litellm.owner_password, other) as owner:
            owner.execute("CREATE TABLE customers (id int, secret text)")
        with server.connect_as(role, password, other) as conn:
            assert sqlstate_of(conn, "SELECT * FROM customers") == errors.InsufficientPrivilege.sqlstate
    finally:
        with server.superuser_connection() as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(other)))


# --- the reporting login: LiteLLM's spend columns only ------------------------------------------

REPORTING_REFUSED = {
    "password hashes": 'SELECT password FROM "LiteLLM_UserTable"',
    "users": 'SELECT user_id, user_email FROM "LiteLLM_UserTable"',
    "invitation links": 'SELECT * FROM "LiteLLM_InvitationLink"',
    "stored credentials": 'SELECT credential_values FROM "LiteLLM_CredentialsTable"',
    "model credentials": 'SELECT litellm_params FROM "LiteLLM_ProxyModelTable"',
    "audit log": 'SELECT * FROM "LiteLLM_AuditLog"',
    "config": 'SELECT * FROM "LiteLLM_Config"',
    "prompts and responses": 'SELECT messages, response FROM "LiteLLM_SpendLogs"',
    "request bodies": 'SELECT proxy_server_request FROM "LiteLLM_SpendLogs"',
    "caller addresses": 'SELECT requester_ip_address FROM "LiteLLM_SpendLogs"',
    "whole key rows": 'SELECT * FROM "LiteLLM_VerificationToken"',
    "key settings": 'SELECT permissions, metadata, config FROM "LiteLLM_VerificationToken"',
    "team members": 'SELECT members_with_roles FROM "LiteLLM_TeamTable"',
    "whole daily rows": 'SELECT * FROM "LiteLLM_DailyUserSpend"',
}
REPORTING_WRITES = (
    "INSERT INTO \"LiteLLM_TeamTable\" (team_id) VALUES ('reporting')",
    'UPDATE "LiteLLM_VerificationToken" SET spend = 0',
    'DELETE FROM "LiteLLM_SpendLogs"',
    'TRUNCATE "LiteLLM_DailyUserSpend"',
    "CREATE TABLE public.reporting_probe (id int)",
    "CREATE TEMP TABLE reporting_probe (id int)",
)


def test_reporting_reads_only_the_columns_it_aggregates(
    engine: str, scratch: Scratch, role_definitions: dict[str, dict[str, dict[str, Any]]]
) -> None:
    """Finding 3: with pg_read_all_data the job's login read password hashes, stored credentials,
    invitation links and every token column. Now: the refresh works, nothing else is readable."""
    definition = role_definitions[engine][REPORTING_ROLE]
    assert not definition.get("inRoles") and not definition.get("roles")  # no memberships at all
    scratch.harden()
    with scratch.server.connect_as(scratch.litellm.owner, scratch.litellm.owner_password, scratch.name) as owner:
        spend_seed.seed(owner)
    password = password_for(engine)
    scratch.create_role(engine, role_definitions[engine][GRAFANA_RO_ROLE], password)
    role = install_reporting(scratch, engine, role_definitions[engine], password)
    with scratch.server.connect_as(role, password, scratch.name) as conn:
        assert conn.execute("SELECT count(*) FROM reporting.daily_detail").fetchone() != (0,)
        granted = {
            (str(t), str(c))
            for t, c in conn.execute(
                "SELECT table_name, column_name FROM information_schema.column_privileges"
                " WHERE grantee = %s AND table_schema = 'public' AND privilege_type = 'SELECT'",
                [role],
            ).fetchall()
        }
        refused = {what: sqlstate_of(conn, statement) for what, statement in REPORTING_REFUSED.items()}
        writes = {statement: sqlstate_of(conn, statement) for statement in REPORTING_WRITES}
    assert granted == {(t, c) for t, columns in SOURCE_COLUMNS.items() for c in columns}
    assert refused == dict.fromkeys(REPORTING_REFUSED, errors.InsufficientPrivilege.sqlstate)
    assert writes == dict.fromkeys(REPORTING_WRITES, errors.InsufficientPrivilege.sqlstate)


def test_source_columns_are_the_ones_the_refresh_reads() -> None:
    """Each granted column is named by the schema's SQL (a stale entry would widen the grant)."""
    text = schema_sql()
    for table, columns in SOURCE_COLUMNS.items():
        assert f'"{table}"' in text
        for column in columns:
            quoted = f'"{column}"' if column != column.lower() else column
            # u: daily rows, k: keys, t: teams, l: the raw log, a: the deleted keys' archive
            assert any(f"{alias}.{quoted}" in text for alias in "uktla"), (table, column)


def test_source_grants_are_exact_after_a_wider_grant(
    scratch: Scratch, role_definitions: dict[str, dict[str, dict[str, Any]]]
) -> None:
    """Re-applied by the owner, the grants take back anything wider (a table grant, a dropped column)."""
    role = scratch.create_role("cnpg", role_definitions["cnpg"][REPORTING_ROLE], "pw")
    litellm = scratch.litellm
    with scratch.server.connect_as(litellm.owner, litellm.owner_password, scratch.name) as conn:
        conn.execute('GRANT SELECT ON "LiteLLM_UserTable", "LiteLLM_VerificationToken" TO reporting')
        conn.execute('GRANT SELECT (messages) ON "LiteLLM_SpendLogs" TO reporting')
    grant_sources_as_owner(scratch.server, scratch.name, litellm.owner, litellm.owner_password)
    grant_sources_as_owner(scratch.server, scratch.name, litellm.owner, litellm.owner_password)  # idempotent
    with scratch.server.connect_as(role, "pw", scratch.name) as conn:
        assert sqlstate_of(conn, 'SELECT password FROM "LiteLLM_UserTable"') == errors.InsufficientPrivilege.sqlstate
        assert sqlstate_of(conn, 'SELECT messages FROM "LiteLLM_SpendLogs"') == errors.InsufficientPrivilege.sqlstate
        assert sqlstate_of(conn, 'SELECT metadata FROM "LiteLLM_VerificationToken"') == "42501"
        assert sqlstate_of(conn, 'SELECT token, key_alias FROM "LiteLLM_VerificationToken"') == "00000"


def _first_migration_with_every_source_column(conn: psycopg.Connection[tuple[object, ...]], files: list[Any]) -> int:
    """Apply migrations one by one until every granted column exists; how many were applied."""
    wanted = {(t, c) for t, columns in SOURCE_COLUMNS.items() for c in columns}
    for applied, path in enumerate(files, start=1):
        apply_migrations(conn, [path])
        present = set(
            conn.execute(
                "SELECT table_name::text, column_name::text FROM information_schema.columns"
                " WHERE table_schema = 'public' AND table_name = ANY(%s)",
                [list(SOURCE_COLUMNS)],
            ).fetchall()
        )
        if wanted <= present:
            return applied
    raise AssertionError(f"the pinned migrations never create {sorted(wanted - present)}")


def test_reporting_grants_survive_litellm_migrations(
    litellm_database: LiteLLMDatabase, role_definitions: dict[str, dict[str, dict[str, Any]]]
) -> None:
    """The grants made on an older schema (the first migration where every column exists), then
    every later pinned migration of litellm-proxy-extras (a LiteLLM upgrade), then the refresh as
    `reporting` before the job's next grants: it still reads what it needs, and no more."""
    server, owner = litellm_database.server, litellm_database.owner
    dbname = "reporting_migrations"
    password = SPECIAL_PASSWORD
    with server.superuser_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(dbname), sql.Identifier(owner)))
    created_role = False
    try:
        as_superuser(server, dbname, database_hardening_sql(dbname, owner))
        files = litellm_migration_files()
        with server.connect_as(owner, litellm_database.owner_password, dbname) as conn:
            applied = _first_migration_with_every_source_column(conn, files)
        assert applied < len(files), "no migration left to apply after the grants"
        as_superuser(server, "postgres", cnpg_managed_role_sql(role_definitions["cnpg"][REPORTING_ROLE], password))
        created_role = True
        as_superuser(server, dbname, [f'CREATE SCHEMA "{SCHEMA}" AUTHORIZATION "{REPORTING_ROLE}"'])
        grant_sources_as_owner(server, dbname, owner, litellm_database.owner_password)
        with server.connect_as(owner, litellm_database.owner_password, dbname) as conn:
            apply_migrations(conn, files[applied:])
            spend_seed.seed(conn)
        with server.connect_as(REPORTING_ROLE, password, dbname) as conn:
            for text in (schema_sql(), refresh_sql(3)):
                conn.execute(text.encode())
            assert conn.execute("SELECT count(*) FROM reporting.key_state").fetchone() == (len(spend_seed.SMALL.keys),)
            assert sqlstate_of(conn, 'SELECT password FROM "LiteLLM_UserTable"') == "42501"
            assert sqlstate_of(conn, 'SELECT credential_values FROM "LiteLLM_CredentialsTable"') == "42501"
        # The job's next run: the owner's grants again, then the refresh.
        grant_sources_as_owner(server, dbname, owner, litellm_database.owner_password)
        with server.connect_as(REPORTING_ROLE, password, dbname) as conn:
            conn.execute(refresh_sql(3).encode())
    finally:
        with server.superuser_connection() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
            if created_role:
                with contextlib.suppress(psycopg.errors.DependentObjectsStillExist):
                    conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(REPORTING_ROLE)))


def test_cnpg_hba_requires_tls_and_keeps_the_readers_out_of_other_databases(
    role_definitions: dict[str, dict[str, dict[str, Any]]], tmp_path: Path
) -> None:
    """Finding 8, on a private server serving TLS with a test certificate (signed by an ECDSA CA
    like the program's) and the Cluster's pg_hba lines as rendered, before the server's own:
    a plain connection is refused for every role, `verify-full` with the right CA works (libpq and
    the reporting job's psql with its rendered TLS environment), with a wrong CA it fails; other
    databases stay closed to grafana_ro and reporting."""
    (cluster,) = run_cached("enterprise").custom_resources("Cluster")
    ca = make_ca(tmp_path, "program-ca")
    wrong = make_ca(tmp_path, "someone-else")
    leaf = issue_server_cert(ca, tmp_path, ("localhost",), ("127.0.0.1",))
    server = start_postgres_server(tls=ServerTls(cert=leaf.cert, key=leaf.key))
    try:
        database = apply_litellm_schema(server)  # before the rules: the owner migrates over `prefer`
        password = SPECIAL_PASSWORD
        with server.superuser_connection() as conn, conn.transaction():
            for name in (GRAFANA_RO_ROLE, REPORTING_ROLE):
                for statement in cnpg_managed_role_sql(role_definitions["cnpg"][name], password):
                    conn.execute(statement.encode())
        with server.superuser_connection() as conn:
            conn.execute(sql.SQL("CREATE DATABASE langfuse OWNER {}").format(sql.Identifier(database.owner)))
        hba = server.datadir / "pg_hba.conf"
        rules = [line.replace(" all scram", " 127.0.0.1/32 scram") for line in cluster["spec"]["postgresql"]["pg_hba"]]
        rules = [line.replace(" all reject", " 127.0.0.1/32 reject") for line in rules]
        hba.write_text("\n".join(rules) + "\n" + hba.read_text())
        with server.superuser_connection() as conn:  # libpq's default `prefer`: over TLS
            conn.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)
        logins = {GRAFANA_RO_ROLE: password, REPORTING_ROLE: password, database.owner: database.owner_password}

        def dsn(role: str, **tls: str) -> str:
            return make_conninfo(server.dsn(role, logins[role], database.name), host="localhost", **tls)

        for role in logins:
            with pytest.raises(psycopg.OperationalError, match=r"no encryption"):
                psycopg.connect(dsn(role, sslmode="disable"), connect_timeout=5)
            with psycopg.connect(dsn(role, sslmode="verify-full", sslrootcert=str(ca.cert))) as conn:
                assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone() == (True,)
            with pytest.raises(psycopg.OperationalError, match=r"certificate verify failed"):
                psycopg.connect(dsn(role, sslmode="verify-full", sslrootcert=str(wrong.cert)), connect_timeout=5)
        with pytest.raises(psycopg.OperationalError, match=r"no encryption"):  # the superuser too
            psycopg.connect(make_conninfo(server.dsn(), sslmode="disable"), connect_timeout=5)
        for name in (GRAFANA_RO_ROLE, REPORTING_ROLE):
            for other in ("postgres", "template1", "langfuse"):
                with pytest.raises(psycopg.OperationalError, match=r"pg_hba\.conf rejects connection"):
                    psycopg.connect(
                        make_conninfo(server.dsn(name, password, other), sslmode="require"), connect_timeout=5
                    )
        # The reporting job's psql, with the TLS environment the CronJob renders (the CA at its mount).
        (job,) = [
            j
            for j in run_cached("enterprise").custom_resources("CronJob")
            if j["metadata"]["name"] == "litellm-reporting"
        ]
        (container,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e["value"] for e in container["env"] if e["name"] in ("PGSSLMODE", "PGSSLROOTCERT")}
        assert env == {"PGSSLMODE": "verify-full", "PGSSLROOTCERT": CA_FILE}
        for root, ok in ((ca.cert, True), (wrong.cert, False)):
            done = subprocess.run(
                [str(server.bindir / "psql"), "--no-psqlrc", "-Atc", "SELECT current_user"],
                env={
                    **os.environ,
                    "PGHOST": "localhost",
                    "PGPORT": str(server.port),
                    "PGDATABASE": database.name,
                    "PGUSER": REPORTING_ROLE,
                    "PGPASSWORD": password,
                    "PGSSLMODE": env["PGSSLMODE"],
                    "PGSSLROOTCERT": str(root),
                },
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert (done.returncode == 0 and done.stdout.strip() == REPORTING_ROLE) is ok, done.stderr
    finally:
        server.stop()


def test_grafana_ro_connection_limit_holds(
    engine: str, scratch: Scratch, grafana_ro_definitions: dict[str, dict[str, Any]]
) -> None:
    scratch.harden()
    definition = grafana_ro_definitions[engine]
    limit = int(definition["connectionLimit"])
    password = password_for(engine)
    role = scratch.create_role(engine, definition, password)
    server = scratch.server

    held = [psycopg.connect(server.dsn(role, password, scratch.name)) for _ in range(limit)]
    try:
        since = server.log_offset()
        with pytest.raises(psycopg.OperationalError, match="too many connections for role"):
            psycopg.connect(server.dsn(role, password, scratch.name))
        assert server.refused_sqlstate(role, since) == errors.TooManyConnections.sqlstate
        held.pop().close()
        held.append(psycopg.connect(server.dsn(role, password, scratch.name)))
    finally:
        for conn in held:
            conn.close()


def test_grafana_ro_password_round_trips(
    engine: str, scratch: Scratch, grafana_ro_definitions: dict[str, dict[str, Any]]
) -> None:
    scratch.harden()
    password = password_for(engine)
    role = scratch.create_role(engine, grafana_ro_definitions[engine], password)
    server = scratch.server

    with server.connect_as(role, password, scratch.name) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (role,)
    url = f"postgresql://{role}:{urllib.parse.quote(password, safe='')}@{server.host}:{server.port}/{scratch.name}"
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (role,)

    since = server.log_offset()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(server.dsn(role, password + "x", scratch.name))
    assert server.refused_sqlstate(role, since) == errors.InvalidPassword.sqlstate


def test_provider_doubles_backslashes_in_passwords(
    scratch: Scratch, grafana_ro_definitions: dict[str, dict[str, Any]]
) -> None:
    """A known limit of the external engine, pinned so it cannot be forgotten.

    terraform-provider-postgresql escapes backslashes for an ``E''`` literal but writes
    a plain ``''`` one, so the server stores every backslash twice. Passwords the
    program generates for the external engine must therefore contain no backslash.
    """
    role = scratch.create_role("external", grafana_ro_definitions["external"], SPECIAL_PASSWORD)
    server = scratch.server
    since = server.log_offset()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(server.dsn(role, SPECIAL_PASSWORD, scratch.name))
    assert server.refused_sqlstate(role, since) == errors.InvalidPassword.sqlstate
    doubled = SPECIAL_PASSWORD.replace("\\", "\\\\")
    with server.connect_as(role, doubled, scratch.name) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (role,)


# --- what the hardening changes -------------------------------------------------------------


def test_without_hardening_a_login_can_create_temp_tables(
    engine: str, scratch: Scratch, grafana_ro_definitions: dict[str, dict[str, Any]]
) -> None:
    """The counterfactual: the temp-table refusal above comes from the hardening alone."""
    password = password_for(engine)
    role = scratch.create_role(engine, grafana_ro_definitions[engine], password)
    with scratch.server.connect_as(role, password, scratch.name) as conn:
        assert sqlstate_of(conn, "CREATE TEMP TABLE grafana_probe (id int)") == "00000"
        assert sqlstate_of(conn, "INSERT INTO grafana_probe VALUES (1)") == "00000"


def test_owner_keeps_temporary_tables_after_hardening(scratch: Scratch) -> None:
    scratch.harden()
    with scratch.server.connect_as(scratch.litellm.owner, scratch.litellm.owner_password, scratch.name) as conn:
        assert sqlstate_of(conn, "CREATE TEMP TABLE owner_probe (id int)") == "00000"
        assert sqlstate_of(conn, "CREATE TABLE public.owner_probe (id int)") == "00000"


def test_external_grants_harden_like_the_bootstrap_sql(
    scratch: Scratch,
    grafana_ro_definitions: dict[str, dict[str, Any]],
    external_hardening_grant_definitions: list[dict[str, Any]],
) -> None:
    """postgresql.Grant to ``public`` (revoke all, grant back CONNECT/USAGE) refuses
    temporary tables and public-schema DDL exactly like database_hardening_sql."""
    for grant in external_hardening_grant_definitions:
        translated = dict(grant, database=scratch.name)
        as_superuser(scratch.server, scratch.name, pg_provider_grant_sql(translated))
    password = SPECIAL_PASSWORD_NO_BACKSLASH
    role = scratch.create_role("external", grafana_ro_definitions["external"], password)
    with scratch.server.connect_as(role, password, scratch.name) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (role,)
        assert sqlstate_of(conn, "CREATE TEMP TABLE grafana_probe (id int)") == "42501"
        assert sqlstate_of(conn, "CREATE TABLE public.grafana_probe (id int)") == "42501"
    with scratch.server.connect_as(scratch.litellm.owner, scratch.litellm.owner_password, scratch.name) as conn:
        assert sqlstate_of(conn, "CREATE TEMP TABLE owner_probe (id int)") == "00000"


# --- the translators' exact text (pure) ------------------------------------------------------


def test_cnpg_sql_for_grafana_ro(grafana_ro_definitions: dict[str, dict[str, Any]]) -> None:
    assert cnpg_managed_role_sql(grafana_ro_definitions["cnpg"], " it's\\x ") == [
        "SET LOCAL log_min_error_statement = 'PANIC'",
        (
            'CREATE ROLE "grafana_ro"  NOBYPASSRLS NOCREATEDB NOCREATEROLE INHERIT LOGIN'
            " NOREPLICATION NOSUPERUSER CONNECTION LIMIT 5 PASSWORD  E'it''s\\\\x'"
        ),
        'COMMENT ON ROLE "grafana_ro" IS \'Grafana datasource: SELECT on the reporting schema only, managed by'
        " llm-gateway'",
    ]


def test_provider_sql_for_grafana_ro(grafana_ro_definitions: dict[str, dict[str, Any]]) -> None:
    assert pg_provider_role_sql(grafana_ro_definitions["external"], "it's") == [
        (
            "CREATE ROLE \"grafana_ro\" WITH ENCRYPTED PASSWORD 'it''s' VALID UNTIL 'infinity'"
            " CONNECTION LIMIT 5 NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT LOGIN NOBYPASSRLS"
            " NOREPLICATION"
        ),
        'ALTER ROLE "grafana_ro" SET search_path TO DEFAULT',
    ]


def test_provider_grant_sql(external_hardening_grant_definitions: list[dict[str, Any]]) -> None:
    database, schema = external_hardening_grant_definitions
    assert pg_provider_grant_sql(database) == [
        'REVOKE ALL PRIVILEGES ON DATABASE "litellm" FROM "public"',
        'GRANT CONNECT ON DATABASE "litellm" TO "public"',
    ]
    assert pg_provider_grant_sql(schema) == [
        'REVOKE ALL PRIVILEGES ON SCHEMA "public" FROM "public"',
        'GRANT USAGE ON SCHEMA "public" TO "public"',
    ]


def test_hardening_sql_quotes_identifiers() -> None:
    assert database_hardening_sql('li"te llm', "Owner") == [
        'REVOKE TEMPORARY ON DATABASE "li""te llm" FROM PUBLIC',
        'GRANT TEMPORARY ON DATABASE "li""te llm" TO "Owner"',
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    ]
    with pytest.raises(ValueError, match="cannot be empty"):
        database_hardening_sql("", "litellm")
