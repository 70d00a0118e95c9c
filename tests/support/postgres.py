"""Pytest plugin: a throwaway PostgreSQL server holding LiteLLM's real schema.

Register it from ``tests/conftest.py`` with ``pytest_plugins = ["tests.support.postgres"]``.

What it gives:

- ``postgres_server`` (session): a private cluster made with ``initdb`` in a temporary
  directory, listening on a free loopback port only (no Unix socket in a shared place),
  password authentication (``scram-sha-256``) for every connection, torn down with
  ``pg_ctl stop -m immediate`` and the directory removed, also at interpreter exit if
  pytest dies before its finalizers run.
- ``litellm_database`` (session): the database ``litellm`` owned by the login role
  ``litellm`` (what CNPG's ``bootstrap.initdb: {database: litellm, owner: litellm}``
  creates), with every ``migrations/*/migration.sql`` of the installed
  ``litellm-proxy-extras`` applied in name order *as that owner*, the way Prisma's
  ``migrate deploy`` sends them (one simple-protocol query per file, so a file that is a
  single ``CREATE INDEX CONCURRENTLY`` runs outside a transaction block), followed by the
  request-log indexes LiteLLM builds itself after migrating, named and defined by the
  package's own ``litellm_proxy_extras.request_log_indexes.REQUEST_LOG_INDEXES``.
- ``connect_as`` (session): ``connect_as(role, password, dbname="litellm")``, a context
  manager yielding an autocommit ``psycopg.Connection``.
- ``superuser_dsn`` (session): a libpq keyword/value DSN for the superuser.
- the time the server start and the schema load took, printed once in pytest's
  terminal summary.

Binaries: ``$PG_BINDIR`` if set, else ``pg_config --bindir`` when it holds ``initdb``,
else the newest ``/usr/lib/postgresql/*/bin`` (what Debian's ``postgresql`` package
installs). As root, ``initdb`` and the server refuse to run, so both are run as the
``postgres`` system user that package creates, through ``runuser``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import psycopg
import pytest

from tests.harness.pglab.server import (
    TIMINGS,
    LiteLLMDatabase,
    PostgresServer,
    apply_litellm_schema,
    start_postgres_server,
)
from tests.support.components import require

# --- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    require("postgresql")
    server = start_postgres_server()
    TIMINGS["server start"] = server.start_seconds
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def litellm_database(postgres_server: PostgresServer) -> LiteLLMDatabase:
    database = apply_litellm_schema(postgres_server)
    TIMINGS[f"LiteLLM schema load ({len(database.migrations)} migrations)"] = database.load_seconds
    return database


@pytest.fixture(scope="session")
def superuser_dsn(postgres_server: PostgresServer) -> str:
    return postgres_server.dsn()


ConnectAs = Callable[..., AbstractContextManager[psycopg.Connection[tuple[object, ...]]]]


@pytest.fixture(scope="session")
def connect_as(postgres_server: PostgresServer) -> ConnectAs:
    return postgres_server.connect_as


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TIMINGS:
        terminalreporter.write_sep("-", "throwaway PostgreSQL")
        for what, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{what}: {seconds:.2f} s")
