"""grafana_ro on a real PostgreSQL holding LiteLLM's real schema, for both role engines.

The role definitions are translated into the exact SQL each engine sends
(``tests/support/role_sql.py``: CNPG's managed-role reconciler, or the
pulumi-postgresql provider), run on a throwaway server
(``tests/support/postgres.py``), and then the role is exercised: what it must be able
to read, everything it must not write (checked by SQLSTATE, not by "some error"), its
connection limit and its password.

Each test works on its own copy of the migrated ``litellm`` database
(``CREATE DATABASE ... TEMPLATE litellm``), so hardened and unhardened states never mix.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql

from components.postgres_sql import database_hardening_sql
from tests.conftest import EXTERNAL_ENGINE, run_cached
from tests.support.postgres import LiteLLMDatabase, PostgresServer
from tests.support.role_sql import (
    cnpg_managed_role_sql,
    pg_provider_grant_sql,
    pg_provider_role_sql,
)

ENGINES = ("cnpg", "external")

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
# Role definitions. PLACEHOLDER for the program's rendered resources: the lead replaces
# these two fixtures with what the program registers under Pulumi mocks (the CNPG
# Cluster's spec.managed.roles[] entry for grafana_ro, and the postgresql.Role /
# postgresql.Grant inputs of the external engine), keeping the fixture names and shapes.
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


def run_as_superuser(server: PostgresServer, dbname: str, statements: list[str]) -> None:
    """Run statements in one transaction, as the engines do."""
    with server.superuser_connection(dbname) as conn, conn.transaction():
        for statement in statements:
            conn.execute(statement.encode())


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
        run_as_superuser(self.server, self.name, database_hardening_sql(self.name, self.litellm.owner))

    def create_role(self, engine: str, definition: dict[str, Any], password: str) -> str:
        name = str(definition["name"])
        self.roles.append(name)
        run_as_superuser(self.server, "postgres", role_statements(engine, definition, password))
        return name


@pytest.fixture
def scratch(litellm_database: LiteLLMDatabase, request: pytest.FixtureRequest) -> Iterator[Scratch]:
    server = litellm_database.server
    name = "scratch_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50]
    with server.superuser_connection() as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                sql.Identifier(name),
                sql.Identifier(litellm_database.name),
                sql.Identifier(litellm_database.owner),
            )
        )
    box = Scratch(litellm_database, name)
    try:
        yield box
    finally:
        with server.superuser_connection() as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            for role in box.roles:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


# --- the schema itself -------------------------------------------------------------------


def test_litellm_schema_is_the_real_one(litellm_database: LiteLLMDatabase) -> None:
    # litellm-proxy-extras 0.4.110: the schema LiteLLM 1.108.7 (the pinned proxy) ships with.
    assert len(litellm_database.migrations) == 220
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


def test_grafana_ro_reads_spend_tables_and_writes_nothing(
    engine: str, scratch: Scratch, grafana_ro_definitions: dict[str, dict[str, Any]]
) -> None:
    scratch.harden()
    with scratch.server.connect_as(scratch.litellm.owner, scratch.litellm.owner_password, scratch.name) as owner:
        owner.execute("CREATE SCHEMA reports; CREATE TABLE reports.daily (id int)")
    password = password_for(engine)
    role = scratch.create_role(engine, grafana_ro_definitions[engine], password)

    with scratch.server.connect_as(role, password, scratch.name) as conn:
        for table in GRAFANA_TABLES:
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            assert conn.execute(query).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM reports.daily").fetchone() == (0,)

        forbidden = [
            "INSERT INTO \"LiteLLM_TeamTable\" (team_id) VALUES ('grafana')",
            'UPDATE "LiteLLM_VerificationToken" SET spend = 0',
            'DELETE FROM "LiteLLM_SpendLogs"',
            'TRUNCATE "LiteLLM_DailyUserSpend"',
            "CREATE TABLE public.grafana_probe (id int)",
            "CREATE TABLE grafana_probe (id int)",
            "CREATE VIEW public.grafana_probe AS SELECT 1",
            "CREATE SCHEMA grafana_probe",
            "CREATE TABLE reports.grafana_probe (id int)",
            "CREATE TEMP TABLE grafana_probe (id int)",
            "CREATE TABLE pg_temp.grafana_probe (id int)",
        ]
        outcomes = {statement: sqlstate_of(conn, statement) for statement in forbidden}
    assert outcomes == dict.fromkeys(forbidden, errors.InsufficientPrivilege.sqlstate)


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


def test_without_hardening_a_pg_read_all_data_login_can_create_temp_tables(
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
        run_as_superuser(scratch.server, scratch.name, pg_provider_grant_sql(translated))
    password = SPECIAL_PASSWORD_NO_BACKSLASH
    role = scratch.create_role("external", grafana_ro_definitions["external"], password)
    with scratch.server.connect_as(role, password, scratch.name) as conn:
        assert conn.execute('SELECT count(*) FROM "LiteLLM_SpendLogs"').fetchone() == (0,)
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
            ' NOREPLICATION NOSUPERUSER CONNECTION LIMIT 5 IN ROLE "pg_read_all_data" '
            " PASSWORD  E'it''s\\\\x'"
        ),
        "COMMENT ON ROLE \"grafana_ro\" IS 'Grafana datasource: read-only (pg_read_all_data), managed by llm-gateway'",
    ]


def test_provider_sql_for_grafana_ro(grafana_ro_definitions: dict[str, dict[str, Any]]) -> None:
    assert pg_provider_role_sql(grafana_ro_definitions["external"], "it's") == [
        (
            "CREATE ROLE \"grafana_ro\" WITH ENCRYPTED PASSWORD 'it''s' VALID UNTIL 'infinity'"
            " CONNECTION LIMIT 5 NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT LOGIN NOBYPASSRLS"
            " NOREPLICATION"
        ),
        'GRANT "pg_read_all_data" TO "grafana_ro"',
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
