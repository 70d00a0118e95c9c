"""`verify`'s database checks on a real PostgreSQL (tests/support/postgres.py) holding LiteLLM's
schema, grafana_ro as the program makes it and the reporting schema after its first refresh: the
dashboard query as grafana_ro, the refusal of `public`, and the reporting job's freshness (the
CronJob from a recorded object, `reporting.refresh_state` from the database)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from psycopg import sql

from components.reporting.sql import REPORTING_ROLE
from config.inventory import GRAFANA_RO_PASSWORD, gsm_secret_id
from dashboards.reporting_schema import STATE
from tests.harness.pglab.server import LiteLLMDatabase
from tests.harness.pglab.spend_seed import install_reporting
from tests.support.config import stack_config
from tests.support.program import run_cached
from tests.support.reporting_db import REPORTING_PASSWORD, as_superuser, create_grafana_ro, database_copy
from tests.support.verify_records import cronjob
from tests.support.verify_stand import ApiServer, StandGoogle, loaded, run_verify
from verify.cli import Loaded

pytestmark = pytest.mark.real_proxy

PASSWORD = "verify grafana_ro 'pw"
DBNAME, BARE = "verify_reporting", "verify_bare"


@pytest.fixture(scope="module")
def lab() -> Loaded:
    return loaded(run_cached("lab"), stack_config("lab"))


@pytest.fixture(scope="module")
def databases(litellm_database: LiteLLMDatabase) -> Iterator[LiteLLMDatabase]:
    """DBNAME: grafana_ro and the reporting schema, refreshed once; BARE: grafana_ro, no reporting schema."""
    server = litellm_database.server
    with (
        database_copy(litellm_database, DBNAME, roles=("grafana_ro", REPORTING_ROLE)),
        database_copy(litellm_database, BARE),
    ):
        for name in (DBNAME, BARE):
            create_grafana_ro(litellm_database, name, PASSWORD)
        as_superuser(server, "postgres", [f"ALTER ROLE grafana_ro PASSWORD {sql.Literal(PASSWORD).as_string()}"])
        install_reporting(server, DBNAME, REPORTING_PASSWORD, "grafana_ro")
        yield litellm_database


@pytest.fixture
def api(tmp_path: Path, lab: Loaded) -> Iterator[ApiServer]:
    with ApiServer(tmp_path) as server:
        yield server


def google(stack: Loaded) -> StandGoogle:
    return StandGoogle(secrets={gsm_secret_id(stack[0], GRAFANA_RO_PASSWORD): PASSWORD})


def dsn(database: LiteLLMDatabase, dbname: str) -> str:
    return f"host={database.server.host} port={database.server.port} dbname={dbname}"


def verify(api: ApiServer, lab: Loaded, database: LiteLLMDatabase, dbname: str, check: str) -> tuple[int, str]:
    return run_verify(api, lab, ["lab", "--only", check, "--database-dsn", dsn(database, dbname)], google(lab))


def test_grafana_ro_runs_a_dashboard_query_and_is_refused_public(
    api: ApiServer, lab: Loaded, databases: LiteLLMDatabase
) -> None:
    code, out = verify(api, lab, databases, DBNAME, "grafana-ro")
    assert code == 0, out
    assert out.splitlines()[0].startswith("✓ grafana-ro  grafana_ro ran the Spend overview's team query (")
    assert out.splitlines()[0].endswith("rows) and was refused public (42501)")


def test_grafana_ro_fails_when_it_can_read_litellms_keys(
    api: ApiServer, lab: Loaded, databases: LiteLLMDatabase
) -> None:
    grant = 'GRANT SELECT ON public."LiteLLM_VerificationToken" TO grafana_ro'
    as_superuser(databases.server, DBNAME, [grant])
    try:
        code, out = verify(api, lab, databases, DBNAME, "grafana-ro")
    finally:
        as_superuser(databases.server, DBNAME, [grant.replace("GRANT", "REVOKE").replace(" TO ", " FROM ")])
    assert code == 1
    assert out.splitlines()[:2] == [
        '✗ grafana-ro  grafana_ro can read public."LiteLLM_VerificationToken" (key tokens): it holds more than the'
        " reporting schema",
        "              next: REVOKE what was granted to grafana_ro on schema public (pg_read_all_data?);"
        " docs/security.md",
    ]


def test_grafana_ro_fails_before_the_reporting_job_made_its_schema(
    api: ApiServer, lab: Loaded, databases: LiteLLMDatabase
) -> None:
    code, out = verify(api, lab, databases, BARE, "grafana-ro")
    assert code == 1
    first, second = out.splitlines()[:2]
    assert first.startswith("✗ grafana-ro  grafana_ro cannot run the Spend overview's team query: SQLSTATE 42P01:")
    assert second.endswith("next: has the reporting job run once (the schema and grafana_ro's grants are its work)?")


def test_reporting_passes_after_a_recent_run_and_refresh(
    api: ApiServer, lab: Loaded, databases: LiteLLMDatabase
) -> None:
    api.put(cronjob(lab, datetime.now(UTC) - timedelta(minutes=4)))
    code, out = verify(api, lab, databases, DBNAME, "reporting")
    assert code == 0, out
    assert out.splitlines()[0] == (
        "✓ reporting  CronJob litellm-reporting succeeded 4 min ago, reporting.refresh_state 0 min old (allowed 20 min)"
    )


def test_reporting_fails_when_the_job_has_never_succeeded(
    api: ApiServer, lab: Loaded, databases: LiteLLMDatabase
) -> None:
    api.put(cronjob(lab, None))
    code, out = verify(api, lab, databases, DBNAME, "reporting")
    assert code == 1
    assert out.splitlines()[:2] == [
        "✗ reporting  CronJob llm-gateway/litellm-reporting has never succeeded (schedule '*/10 * * * *')",
        "             next: kubectl -n llm-gateway get jobs; kubectl -n llm-gateway logs job/<the last job> --all-containers",
    ]


def test_reporting_fails_when_the_refresh_is_older_than_twice_the_schedule(
    api: ApiServer, lab: Loaded, databases: LiteLLMDatabase
) -> None:
    """The job succeeds (its psql exits 0) but the refresh it should make is an hour old."""
    api.put(cronjob(lab, datetime.now(UTC) - timedelta(minutes=4)))
    as_superuser(databases.server, DBNAME, [f"UPDATE {STATE} SET refreshed_at = refreshed_at - interval '1 hour'"])
    try:
        code, out = verify(api, lab, databases, DBNAME, "reporting")
    finally:
        as_superuser(databases.server, DBNAME, [f"UPDATE {STATE} SET refreshed_at = refreshed_at + interval '1 hour'"])
    assert code == 1
    assert out.splitlines()[0] == "✗ reporting  reporting.refresh_state is 1 h 0 min old (allowed 20 min)"
