"""Chargeback by cost centre on LiteLLM's real schema: the dashboard panel (rendered as Grafana renders
it) and `python -m tools.chargeback` (FOCUS 1.3 CSV + Markdown), both as grafana_ro.

The seed: declared teams in two cost centres (one team deleted since, with its keys, by LiteLLM's
`/team/delete`: rows moved to its archive tables), a key deleted alone, a rotated-out key
(`<alias>~r1`), keys not declared (in a declared team, in a team not declared, with no team), and
requests on the last day of the month and the first of the next (UTC). Spends are decimal
fractions (0.1, 1.005, 0.0049): the month's total must be the raw spend log's to the cent.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from components.reporting import component as reporting
from components.reporting import export
from components.reporting import sql as reporting_sql
from config import ReportingConfig
from dashboards.declared import Declared, DeclaredKey, DeclaredTeam
from dashboards.focus import COLUMNS, cents
from dashboards.spend_queries import CHARGEBACK
from tests.harness.pglab import spend_seed
from tests.harness.pglab.grafana_sql import TimeRange, render
from tests.harness.pglab.naive_spend_queries import chargeback_naive
from tests.harness.pglab.server import LiteLLMDatabase, PostgresServer
from tests.support.reporting_db import REPORTING_PASSWORD, create_grafana_ro, database_copy, reported_copy

DBNAME = "chargeback"
READER = "grafana_ro"
READER_PASSWORD = "charge'back ro"
R = spend_seed.Request

DATA = spend_seed.DataSet(
    teams=(
        spend_seed.Team("llmgw-search", "search", 500.0, 0.0),
        spend_seed.Team("llmgw-ads", "ads", 500.0, 0.0),
        spend_seed.Team("llmgw-gone", "gone", 100.0, 0.0),  # deleted below, with its keys
        spend_seed.Team("team-legacy", "Legacy", None, 0.0),  # not declared
    ),
    keys=(
        spend_seed.Key("k-search-prod", "search-prod", "llmgw-search", 100.0, 0.0),
        spend_seed.Key("k-search-old", "search-prod~r1", "llmgw-search", 100.0, 0.0),  # rotated out
        spend_seed.Key("k-search-adhoc", "search-adhoc", "llmgw-search", None, 0.0),  # made in the admin UI
        spend_seed.Key("k-ads-batch", "ads-batch", "llmgw-ads", None, 0.0),
        spend_seed.Key("k-ads-tmp", "ads-tmp", "llmgw-ads", None, 0.0),  # deleted alone below
        spend_seed.Key("k-gone-cli", "gone-cli", "llmgw-gone", None, 0.0),
        spend_seed.Key("k-legacy", "legacy-bot", "team-legacy", None, 0.0),
        spend_seed.Key("k-solo", None, None, None, 0.0),  # no alias, no team
    ),
    requests=(
        R("2025-12-31", 23, "k-search-prod", "u1", "gpt-4o", 5.0, 10, 10),  # the month before
        R("2026-01-01", 0, "k-search-prod", "u1", "gpt-4o", 0.1, 100, 50),  # first day, midnight
        R("2026-01-15", 12, "k-search-prod", "u1", "gpt-4o-mini", 0.2, 200, 20),
        R("2026-01-15", 13, "k-search-adhoc", "u2", "gpt-4o", 0.7, 300, 30),
        R("2026-01-20", 9, "k-search-old", "u1", "gpt-4o", 0.3, 120, 12),
        R("2026-01-05", 8, "k-gone-cli", "u3", "claude-3-5-sonnet", 4.44, 1000, 400),
        R("2026-01-31", 22, "k-gone-cli", "u3", "claude-3-5-sonnet", 0.0, 10, 0, "failure"),
        R("2026-01-31", 23, "k-ads-batch", "u4", "gpt-4o", 1.005, 500, 100),  # last day, 23:xx
        R("2026-01-31", 23, "k-ads-tmp", "u4", "gpt-4o-mini", 0.015, 50, 5),
        R("2026-01-10", 10, "k-legacy", "u5", "gpt-4o", 0.0049, 7, 3),
        R("2026-01-11", 10, "k-solo", "", "gpt-4o-mini", 0.3333, 33, 3),
        R("2026-02-01", 0, "k-ads-batch", "u4", "gpt-4o", 2.5, 250, 50),  # next month, midnight
    ),
)
DECLARED = Declared.of(
    (
        DeclaredTeam("llmgw-search", "search", "alice@acme.example", "CC-1001"),
        DeclaredTeam("llmgw-ads", "ads", "bob@acme.example", "CC-2002"),
        DeclaredTeam("llmgw-gone", "gone", "carol@acme.example", "CC-2002"),
    ),
    (
        DeclaredKey("search-prod", "llmgw-search"),
        DeclaredKey("ads-batch", "llmgw-ads"),
        DeclaredKey("gone-cli", "llmgw-gone"),
    ),
)
Exported = tuple[list[dict[str, str]], str]
"""The CSV's records and the Markdown summary."""
JANUARY = TimeRange(datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 1, 20, 23, 59, 59, tzinfo=UTC))

_ARCHIVE_KEYS = (
    'INSERT INTO "LiteLLM_DeletedVerificationToken" (id, token, key_name, key_alias, team_id, deleted_at)'
    ' SELECT gen_random_uuid()::text, token, key_name, key_alias, team_id, now() FROM "LiteLLM_VerificationToken"'
    " WHERE {where}"
)


def _delete_as_litellm_does(conn: spend_seed.Conn) -> None:
    """`/team/delete llmgw-gone` (archives the team and all its keys, then deletes them) and
    `/key/delete ads-tmp` (archives and deletes the key)."""
    for where in ("team_id = 'llmgw-gone'", "key_alias = 'ads-tmp'"):
        conn.execute(_ARCHIVE_KEYS.format(where=where).encode())
        conn.execute(f'DELETE FROM "LiteLLM_VerificationToken" WHERE {where}'.encode())
    conn.execute(
        'INSERT INTO "LiteLLM_DeletedTeamTable" (id, team_id, team_alias) SELECT gen_random_uuid()::text,'
        " team_id, team_alias FROM \"LiteLLM_TeamTable\" WHERE team_id = 'llmgw-gone'"
    )
    conn.execute("DELETE FROM \"LiteLLM_TeamTable\" WHERE team_id = 'llmgw-gone'")


@pytest.fixture(scope="module")
def db(litellm_database: LiteLLMDatabase) -> Iterator[LiteLLMDatabase]:
    """The seed, deletions, then the reporting job's files (declared.sql with DECLARED) as it runs them."""
    server = litellm_database.server
    with database_copy(litellm_database, DBNAME, roles=(READER, reporting_sql.REPORTING_ROLE)):
        with server.connect_as(litellm_database.owner, litellm_database.owner_password, DBNAME) as conn:
            spend_seed.seed(conn, DATA)
            _delete_as_litellm_does(conn)
        create_grafana_ro(litellm_database, DBNAME, READER_PASSWORD)
        spend_seed.install_reporting(server, DBNAME, REPORTING_PASSWORD, READER)
        files = reporting.sql_files(ReportingConfig(), DECLARED)
        with server.connect_as(reporting_sql.REPORTING_ROLE, REPORTING_PASSWORD, DBNAME) as conn, conn.transaction():
            for name in reporting.SQL_FILES:
                conn.execute(files[name].encode())
        yield litellm_database


def _raw_month_total(database: LiteLLMDatabase, start: str, end: str) -> Decimal:
    """The spend log's sum for [start, end), as LiteLLM's owner (numeric: no float rounding)."""
    with database.server.connect_as(database.owner, database.owner_password, DBNAME) as conn:
        row = conn.execute(
            'SELECT sum(spend::numeric) FROM "LiteLLM_SpendLogs" WHERE "startTime" >= %s AND "startTime" < %s',
            [start, end],
        ).fetchone()
    assert row is not None
    return Decimal(str(row[0]))


# --- the dashboard -----------------------------------------------------------------------------


def _panel(database: LiteLLMDatabase) -> list[tuple[object, ...]]:
    text = render(CHARGEBACK.panel("team_month").sql, CHARGEBACK.variables, {}, JANUARY)
    with database.server.connect_as(READER, READER_PASSWORD, DBNAME) as conn:
        return conn.execute(text.encode()).fetchall()


def test_dashboard_groups_by_cost_centre_and_team_and_shows_undeclared(db: LiteLLMDatabase) -> None:
    rows = [(r[0], r[1], r[2], r[3], r[4], round(float(str(r[5])), 6), round(float(str(r[6])), 6)) for r in _panel(db)]
    assert rows == [
        ("2026-01", "CC-1001", "search", "llmgw-search", "alice@acme.example", 1.3, 0.7),
        ("2026-01", "CC-2002", "gone", "llmgw-gone", "carol@acme.example", 4.44, 0.0),  # deleted team
        ("2026-01", "CC-2002", "ads", "llmgw-ads", "bob@acme.example", 1.02, 0.015),  # ads-tmp deleted alone
        ("2026-01", "undeclared", "(no team)", None, None, 0.3333, 0.3333),
        ("2026-01", "undeclared", "Legacy", "team-legacy", None, 0.0049, 0.0049),
    ]


def test_dashboard_equals_its_raw_log_twin(db: LiteLLMDatabase) -> None:
    naive = render(chargeback_naive(DECLARED), (), {}, JANUARY)
    with db.server.connect_as(db.owner, db.owner_password, DBNAME) as conn:
        slow = conn.execute(naive.encode()).fetchall()

    def norm(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
        return [
            (*r[:5], round(float(str(r[5])), 9), round(float(str(r[6])), 9), *(int(str(v)) for v in r[7:]))
            for r in rows
        ]

    assert norm(_panel(db)) == norm(slow)


# --- the export ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(db: LiteLLMDatabase, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    out = tmp_path_factory.mktemp("chargeback")
    dsn = db.server.dsn(READER, READER_PASSWORD, DBNAME)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(export.DSN_ENV, dsn)
        assert export.main(["--month", "2026-01", "--out", str(out)]) == 0
    with (out / "chargeback-2026-01.csv").open(encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        records = list(reader)
    return records, (out / "chargeback-2026-01.md").read_text(encoding="utf-8")


def test_csv_total_equals_the_raw_spend_log_to_the_cent(db: LiteLLMDatabase, exported: Exported) -> None:
    records, summary = exported
    raw = _raw_month_total(db, "2026-01-01", "2026-02-01")
    billed = sum((Decimal(r["BilledCost"]) for r in records), Decimal(0))
    assert cents(billed) == cents(raw) == "7.10"
    assert abs(billed - raw) < Decimal("1e-9")
    assert sum(Decimal(r["EffectiveCost"]) for r in records) == billed
    assert f"| **Total** | | | | **{cents(raw)}** |" in summary
    # the month boundary: the rows of Dec 31 23:xx and Feb 1 00:xx are not in January's export
    assert {r["ChargePeriodStart"][:7] for r in records} == {"2026-01"}
    days = {r["ChargePeriodStart"] for r in records}
    assert {"2026-01-01T00:00:00Z", "2026-01-31T00:00:00Z"} <= days


def test_csv_rows_follow_focus_and_litellms_mapping(exported: Exported) -> None:
    records, _ = exported
    ads = next(r for r in records if r["BillingAccountName"] == "ads-batch")
    assert ads["ChargePeriodStart"] == "2026-01-31T00:00:00Z" and ads["ChargePeriodEnd"] == "2026-02-01T00:00:00Z"
    assert (ads["BillingPeriodStart"], ads["BillingPeriodEnd"]) == ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
    assert ads["BilledCost"] == ads["EffectiveCost"] == "1.005"
    fixed = {
        "BillingCurrency": "USD",
        "ChargeCategory": "Usage",
        "ChargeFrequency": "Usage-Based",
        "ServiceCategory": "AI and Machine Learning",
        "ServiceSubcategory": "Generative AI",
        "ServiceName": "gpt-4o",
        "ServiceProviderName": "openai",
        "SubAccountId": "llmgw-ads",
        "SubAccountName": "ads",
        "ConsumedQuantity": "1",
        "ConsumedUnit": "Requests",
        "x_CostCentre": "CC-2002",
        "x_KeyDeclared": "true",
        "x_PromptTokens": "500",
        "x_CompletionTokens": "100",
        "x_TotalTokens": "600",
        "x_Requests": "1",
        "x_FailedRequests": "0",
    }
    assert {k: ads[k] for k in fixed} == fixed
    tags = json.loads(ads["Tags"])
    assert tags["cost_centre"] == "CC-2002" and tags["api_key_alias"] == "ads-batch"
    assert all(isinstance(v, str) for v in tags.values())
    assert all(len(r["BillingAccountId"]) == 32 for r in records)  # the key id, never LiteLLM's token
    tokens = {k.token for k in DATA.keys}
    assert not tokens & {v for r in records for v in r.values()}


def test_undeclared_and_deleted_spend_is_kept(exported: Exported) -> None:
    records, summary = exported

    def spend(**match: str) -> Decimal:
        return sum((Decimal(r["BilledCost"]) for r in records if all(r[k] == v for k, v in match.items())), Decimal(0))

    assert spend(SubAccountId="llmgw-gone") == Decimal("4.44")  # the deleted team's, under its team
    assert spend(BillingAccountName="ads-tmp", SubAccountId="llmgw-ads") == Decimal("0.015")
    assert spend(x_CostCentre="undeclared") == Decimal("0.3382")
    no_team = [r for r in records if r["SubAccountId"] == ""]
    assert [(r["SubAccountName"], r["x_CostCentre"], r["BillingAccountName"]) for r in no_team] == [
        ("", "undeclared", "sk-...solo")
    ]
    assert spend(BillingAccountName="search-prod~r1", x_KeyDeclared="true") == Decimal("0.3")
    assert "| CC-2002 | gone | llmgw-gone | carol@acme.example | 4.44 | 0.00 | 2 | 1410 |" in summary
    assert "| undeclared | (no team) |  |  | 0.33 | 0.33 | 1 | 36 |" in summary
    assert summary.index("CC-1001") < summary.index("CC-2002") < summary.index("| undeclared |")


# --- the command line ----------------------------------------------------------------------------


def _command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    root = Path(__file__).resolve().parents[2]
    return subprocess.run(
        [sys.executable, "-m", "tools.chargeback", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "january", "2026-01-01", "0000-05"])
def test_bad_month_is_one_clear_error(month: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert export.main(["--month", month]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m tools.chargeback: --month:") and "YYYY-MM" in err and err.count("\n") == 1


def test_command_without_dsn_names_the_variable_and_exits_2(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = _command("--month", "2026-01", "--out", str(tmp_path), env=env)
    assert done.returncode == 2, done.stderr
    assert export.DSN_ENV in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []
    done = _command("--month", "2026-13", env={**env, export.DSN_ENV: "host=nowhere.invalid"})
    assert done.returncode == 2 and "--month" in done.stderr and "Traceback" not in done.stderr


def test_unreachable_database_is_one_error_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(export.DSN_ENV, "host=127.0.0.1 port=1 dbname=x user=grafana_ro connect_timeout=2")
        assert export.main(["--month", "2026-01", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"python -m tools.chargeback: cannot read the reporting schema ({export.DSN_ENV})")
    assert list(tmp_path.iterdir()) == []


# --- the incremental refresh of daily_charge ---------------------------------------------------------

LATE = (
    R("2026-01-31", 23, "k-ads-batch", "u4", "gpt-4o", 0.25, 10, 10),  # in the window
    R("2026-02-01", 1, "k-legacy", "u5", "gpt-4o", 0.5, 10, 10),  # in the window
    R("2026-01-05", 9, "k-search-prod", "u1", "gpt-4o", 64.0, 10, 10),  # weeks before it: counted too
)


@contextmanager
def _reported_copy(litellm_database: LiteLLMDatabase, name: str) -> Iterator[None]:
    """A copy of the migrated database named `name` with DATA, grafana_ro and the reporting schema
    refreshed once (everything live)."""
    with reported_copy(litellm_database, name, DATA, READER, READER_PASSWORD):
        yield


def test_refresh_counts_late_rows_and_keeps_a_team_deleted_in_between(litellm_database: LiteLLMDatabase) -> None:
    """First refresh with everything live; then LiteLLM deletes a team with its keys and writes late
    rows, one of them for weeks ago; the next refresh (2-day window, as of Feb 1) counts every late
    row, and the deleted team's rows keep their team (from the archive) on every day."""
    server, name = litellm_database.server, DBNAME + "_incremental"
    owner = (litellm_database.owner, litellm_database.owner_password)
    with _reported_copy(litellm_database, name):
        with server.connect_as(*owner, name) as conn:
            _delete_as_litellm_does(conn)
            conn.execute("UPDATE \"LiteLLM_DailyUserSpend\" SET updated_at = now() - interval '1 day'")
            spend_seed.insert_requests(conn, spend_seed.DataSet(DATA.teams, DATA.keys, LATE), prefix="late")
            spend_seed.add_daily_rows(conn, "late")
            raw = conn.execute('SELECT "startTime"::date, sum(spend::numeric) FROM "LiteLLM_SpendLogs" GROUP BY 1')
            raw_days = raw.fetchall()
        with server.connect_as(reporting_sql.REPORTING_ROLE, REPORTING_PASSWORD, name) as conn:
            first = conn.execute("SELECT first_day FROM reporting.refresh(2, '2026-02-01')").fetchone()
        assert first is not None and str(first[0]) == "2026-01-05"
        with server.connect_as(READER, READER_PASSWORD, name) as conn:
            rolled = conn.execute("SELECT day, sum(spend) FROM reporting.daily_charge GROUP BY 1").fetchall()
            gone = conn.execute(
                "SELECT DISTINCT day::text, team_id FROM reporting.daily_charge WHERE key_alias = 'gone-cli' ORDER BY 1"
            ).fetchall()
    nano = Decimal("1e-9")
    expected = {day: Decimal(str(total)).quantize(nano) for day, total in raw_days}
    assert {day: Decimal(str(v)).quantize(nano) for day, v in rolled} == expected
    assert gone == [("2026-01-05", "llmgw-gone"), ("2026-01-31", "llmgw-gone")]


def _job(server: PostgresServer, name: str, declared: Declared) -> None:
    files = reporting.sql_files(ReportingConfig(), declared)
    with server.connect_as(reporting_sql.REPORTING_ROLE, REPORTING_PASSWORD, name) as conn, conn.transaction():
        for file in reporting.SQL_FILES:
            conn.execute(files[file].encode())


def test_a_team_removed_from_config_keeps_its_past_spend_under_its_name_and_cost_centre(
    litellm_database: LiteLLMDatabase,
) -> None:
    """Declare, refresh, remove the team (and its key) from config, refresh: January's chargeback rows are
    the same, the removed team still under CC-2002, not `undeclared`."""
    server, name = litellm_database.server, DBNAME + "_removed"
    with _reported_copy(litellm_database, name):
        text = render(CHARGEBACK.panel("team_month").sql, CHARGEBACK.variables, {}, JANUARY)
        months = []
        for declared in (DECLARED, Declared.of(DECLARED.teams[:2], DECLARED.keys[:2])):
            _job(server, name, declared)
            with server.connect_as(READER, READER_PASSWORD, name) as conn:
                # spend to a nanodollar: a refresh moves a month by differences (float sums in another order)
                months.append(
                    [(*row[:5], round(float(str(row[5])), 9)) for row in conn.execute(text.encode()).fetchall()]
                )
    assert ("2026-01", "CC-2002", "gone", "llmgw-gone", "carol@acme.example") in [m[:5] for m in months[0]]
    assert months[1] == months[0]
