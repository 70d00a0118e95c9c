"""The declared tenants reach the reporting schema: `declared.sql` (components/reporting/tenants.py)
upserts `reporting.declared_teams` / `declared_keys` on every job run (never deleting: `removed_at`), inside the job's one
transaction, between schema.sql and refresh.sql; run here on LiteLLM's real schema as the
`reporting` role, and read back as grafana_ro, with values that break naive quoting."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from components.database.endpoint import endpoint
from components.reporting import component as reporting
from components.reporting import sql as reporting_sql
from components.reporting.tenants import declared_sql, literal
from config import ReportingConfig
from dashboards.declared import NO_TENANTS, RETIRED_ALIAS, Declared, DeclaredKey, DeclaredTeam
from tests.harness.pglab import spend_seed
from tests.harness.pglab.server import LiteLLMDatabase
from tests.support.config import scenario_config
from tests.support.reporting_db import REPORTING_PASSWORD, create_grafana_ro, database_copy

DBNAME = "declared_tenants"
READER = "grafana_ro"
READER_PASSWORD = "decl'ared ro"

TRICKY = Declared.of(
    (
        DeclaredTeam("llmgw-search", "search", "alice@acme.example", "CC-1001"),
        DeclaredTeam("llmgw-o'brien", "O'Brien \\ squad", "bob@acme.example", "Zürich – 日本 🚀"),
    ),
    (
        DeclaredKey("search-prod", "llmgw-search"),
        DeclaredKey("o'brien-cli\\x", "llmgw-o'brien"),
    ),
)


def test_declared_refuses_what_the_tables_cannot_hold_listing_every_problem() -> None:
    with pytest.raises(ValueError, match=r"^declared tenants: ") as raised:
        Declared.of(
            (DeclaredTeam("t1", "a", "o@x.example", ""), DeclaredTeam("t1", "b", "o@x.example", "CC\x00")),
            (DeclaredKey("k", "t1"), DeclaredKey("k", "t1"), DeclaredKey("orphan", "t9")),
        )
    message = str(raised.value)
    for problem in (
        "team 't1': cost_centre is empty",
        "cost_centre holds a NUL character",
        "team id 't1' is declared 2 times",
        "key alias 'k' is declared 2 times",
        "key 'orphan': team 't9' is not declared",
    ):
        assert problem in message


def test_literal_is_plain_ascii_and_escapes_quotes_and_backslashes() -> None:
    assert literal("O'Brien \\ x") == "E'O''Brien \\\\ x'"
    assert literal("Zürich 🚀") == "E'Z\\u00FCrich \\U0001F680'"
    with pytest.raises(ValueError, match="NUL"):
        literal("a\x00b")


def test_declared_sql_is_deterministic_and_empty_without_tenants() -> None:
    reordered = Declared.of(reversed(TRICKY.teams), reversed(TRICKY.keys))
    assert declared_sql(TRICKY) == declared_sql(reordered)
    assert declared_sql(TRICKY).isascii()
    empty = declared_sql(NO_TENANTS)
    assert "INSERT" not in empty and "DELETE" not in declared_sql(TRICKY) + empty
    assert "UPDATE reporting.declared_keys SET removed_at = now() WHERE removed_at IS NULL;" in empty
    assert "UPDATE reporting.declared_teams SET removed_at = now() WHERE removed_at IS NULL;" in empty
    assert "BEGIN" not in empty and "COMMIT" not in empty  # the job's --single-transaction holds it


def test_the_job_runs_declared_sql_after_the_schema_and_before_the_refresh() -> None:
    files = reporting.sql_files(ReportingConfig(), TRICKY)
    assert list(files)[1:] == ["schema.sql", "grants.sql", "declared.sql", "refresh.sql"]
    assert reporting.SQL_FILES == ("schema.sql", "grants.sql", "declared.sql", "refresh.sql")
    assert files["declared.sql"] == declared_sql(TRICKY)
    assert reporting.sql_files(ReportingConfig())["declared.sql"] == declared_sql(NO_TENANTS)


@pytest.fixture(scope="module")
def declared_db(litellm_database: LiteLLMDatabase) -> Iterator[LiteLLMDatabase]:
    roles = (READER, reporting_sql.REPORTING_ROLE)
    with database_copy(litellm_database, DBNAME, roles=roles):
        create_grafana_ro(litellm_database, DBNAME, READER_PASSWORD)
        spend_seed.install_reporting(litellm_database.server, DBNAME, REPORTING_PASSWORD, READER)
        yield litellm_database


def _job_run(database: LiteLLMDatabase, declared: Declared) -> None:
    """The main container's files, in its order, in one transaction, as the reporting role."""
    files = reporting.sql_files(ReportingConfig(), declared)
    role = reporting_sql.REPORTING_ROLE
    with database.server.connect_as(role, REPORTING_PASSWORD, DBNAME) as conn, conn.transaction():
        for name in reporting.SQL_FILES:
            conn.execute(files[name].encode())


def _read(database: LiteLLMDatabase) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Both tables as grafana_ro reads them, each row with `removed_at IS NOT NULL` last."""
    with database.server.connect_as(READER, READER_PASSWORD, DBNAME) as conn:
        teams = conn.execute(
            "SELECT team_id, team_alias, owner, cost_centre, removed_at IS NOT NULL FROM reporting.declared_teams"
            " ORDER BY 1"
        )
        team_rows = teams.fetchall()
        keys = conn.execute("SELECT key_alias, team_id, removed_at IS NOT NULL FROM reporting.declared_keys ORDER BY 1")
        key_rows = keys.fetchall()
    return team_rows, key_rows


def test_job_upserts_the_declared_tables_never_deletes_and_grafana_ro_reads_them(
    declared_db: LiteLLMDatabase,
) -> None:
    """A team or key no longer declared keeps its row, `removed_at` set; declared again, it is cleared."""
    _job_run(declared_db, TRICKY)
    teams, keys = _read(declared_db)
    assert teams == sorted((t.team_id, t.team_alias, t.owner, t.cost_centre, False) for t in TRICKY.teams)
    assert keys == sorted((k.key_alias, k.team_id, False) for k in TRICKY.keys)
    fewer = Declared.of(TRICKY.teams[:1], TRICKY.keys[:1])
    _job_run(declared_db, fewer)
    assert _read(declared_db) == (
        [
            ("llmgw-o'brien", "O'Brien \\ squad", "bob@acme.example", "Zürich – 日本 🚀", True),
            ("llmgw-search", "search", "alice@acme.example", "CC-1001", False),
        ],
        [("o'brien-cli\\x", "llmgw-o'brien", True), ("search-prod", "llmgw-search", False)],
    )
    _job_run(declared_db, NO_TENANTS)
    assert [row[-1] for rows in _read(declared_db) for row in rows] == [True] * 4
    _job_run(declared_db, TRICKY)
    assert [row[-1] for rows in _read(declared_db) for row in rows] == [False] * 4


TENANTS = (
    "llm-gateway:tenants={enabled: true, teams: ["
    "{alias: Search, owner: alice@acme.example, cost_centre: CC-1001, max_budget: 40, models: [gpt-4o-mini],"
    " keys: [{alias: search-prod, max_budget: 10, deliver: gsm_only}]},"
    "{alias: ads, id: ads-team-7, owner: bob@acme.example, cost_centre: CC-2002, max_budget: 20, models: [gpt-4o-mini],"
    " keys: []}]}"
)


def test_the_stacks_tenants_section_reaches_the_jobs_declared_sql() -> None:
    """From config as the root builds the component: LiteLLM's team ids (default `llmgw-<alias in lower
    case>`, or the declared `id`), each key under its team; no section (lab ships one: it is removed here): no rows."""
    cfg = scenario_config("lab", TENANTS)
    args = reporting.ReportingArgs.from_config(cfg, endpoint(cfg, "grafana-ro-password"))
    assert args.declared == Declared.of(
        (
            DeclaredTeam("llmgw-search", "Search", "alice@acme.example", "CC-1001"),
            DeclaredTeam("ads-team-7", "ads", "bob@acme.example", "CC-2002"),
        ),
        (DeclaredKey("search-prod", "llmgw-search"),),
    )
    assert reporting.config_map_manifest(args)["data"]["declared.sql"] == declared_sql(args.declared)
    plain = scenario_config("lab", "llm-gateway:tenants={enabled: false}")
    assert reporting.ReportingArgs.from_config(plain, endpoint(plain, "grafana-ro-password")).declared == NO_TENANTS


RETIRED = {
    "search-prod": "search-prod",
    "search-prod~r1": "search-prod",  # the reconciler's rotated-out name
    "search-prod~r12~0a1b2c3d": "search-prod",  # ... when `~r12` was taken: 8 hex of the token after it
    "search-prod~r1~ZZ": "search-prod~r1~ZZ",
    "my~rx": "my~rx",
}


def test_a_rotated_out_alias_counts_as_its_declared_alias(declared_db: LiteLLMDatabase) -> None:
    """The same suffix in Python and in PostgreSQL's regexp_replace (what charge_rows joins on)."""
    assert {alias: re.sub(RETIRED_ALIAS, "", alias) for alias in RETIRED} == RETIRED
    with declared_db.server.connect_as(READER, READER_PASSWORD, DBNAME) as conn:
        in_sql = {a: conn.execute("SELECT regexp_replace(%s, %s, '')", [a, RETIRED_ALIAS]).fetchone() for a in RETIRED}
    assert {alias: row[0] if row else None for alias, row in in_sql.items()} == RETIRED
    with pytest.raises(ValueError, match="alias ends like a rotated-out key's"):
        Declared.of(TRICKY.teams, (DeclaredKey("search-prod~r2", "llmgw-search"),))
