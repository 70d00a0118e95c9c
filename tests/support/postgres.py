"""Pytest plugin: a throwaway PostgreSQL server holding LiteLLM's real schema.

Register it from ``tests/conftest.py`` with ``pytest_plugins = ["tests.support.postgres"]``.

What it gives:

- ``postgres_server`` (session): ``start_postgres_server()`` of tests/harness/pglab/server.py (a private
  cluster on a free loopback port, password authentication, removed afterwards), also stopped at
  interpreter exit if pytest dies before its finalizers run.
- ``litellm_database`` (session): the database ``litellm`` owned by the login role ``litellm``, with
  LiteLLM's migrations applied as that owner (``apply_litellm_schema``, described there).
- ``connect_as`` (session): ``connect_as(role, password, dbname="litellm")``, a context
  manager yielding an autocommit ``psycopg.Connection``.
- ``superuser_dsn`` (session): a libpq keyword/value DSN for the superuser.
- the time the server start and the schema load took, printed once in pytest's
  terminal summary.

Binaries and users: as tests/harness/pglab/server.py finds and runs them.
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
