"""Every spend-dashboard query on LiteLLM's real schema, run as grafana_ro, with exact answers.

A private copy of the migrated `litellm` database is seeded with `SMALL`
(tests/harness/pglab/spend_seed.py: raw log and daily aggregates consistent by
construction), grafana_ro is created the way CNPG creates the program's managed
role (plus the program's hardening SQL), the reporting schema is installed and
refreshed by the `reporting` role with the program's SQL (components/reporting/sql.py),
and each query is rendered the way Grafana renders it (tests/harness/pglab/grafana_sql.py:
variables, then macros) and run as grafana_ro. A query that fails on the schema or
reads what grafana_ro may not read fails here. The naive twins read the raw log as
the database owner: every panel must give exactly their numbers, also after new
writes on today's and yesterday's rows and an incremental refresh.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from components.reporting import sql as reporting_sql
from dashboards import reporting_schema
from dashboards.spend_queries import CHARGEBACK, OVERVIEW, TEAM_VIEW, TOP_KEYS, DashboardQueries, PanelQuery
from tests.harness.pglab import spend_seed
from tests.harness.pglab.grafana_sql import ALL, Selection, TimeRange, render
from tests.harness.pglab.naive_spend_queries import CHARGEBACK_NAIVE, OVERVIEW_NAIVE, TEAM_VIEW_NAIVE
from tests.harness.pglab.server import LiteLLMDatabase, PostgresServer
from tests.support.reporting_db import REPORTING_PASSWORD, reported_copy

DBNAME = "spend_queries"
ROLE = "grafana_ro"
#: Quotes, colon, hash, backslash, dollar, space: the role password survives all of them.
PASSWORD = "gr'a\"f:a#n\\a $ro"

RANGE = TimeRange(datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 3, 3, 23, 59, 59, 999000, tzinfo=UTC))
DAY = 86400
D1, D2, D3 = 1740787200, 1740787200 + DAY, 1740787200 + 2 * DAY  # 2025-03-01/02/03 00:00Z

ALL_OVERVIEW: dict[str, Selection] = {"team": ALL, "key_alias": ALL, "model": ALL}


@dataclass
class SpendDb:
    server: PostgresServer
    owner: tuple[str, str]
    dbname: str = DBNAME

    def rows(self, text: str) -> list[tuple[object, ...]]:
        with self.server.connect_as(ROLE, PASSWORD, self.dbname) as conn:
            conn.execute("SET statement_timeout = '10s'")
            return conn.execute(text.encode()).fetchall()

    def owner_rows(self, text: str) -> list[tuple[object, ...]]:
        """As LiteLLM's database owner (the naive twins read the raw tables)."""
        with self.server.connect_as(*self.owner, self.dbname) as conn:
            return conn.execute(text.encode()).fetchall()

    def run(
        self,
        dashboard: DashboardQueries,
        key: str,
        selection: Mapping[str, Selection],
        time_range: TimeRange = RANGE,
    ) -> list[tuple[object, ...]]:
        return self.rows(render(dashboard.panel(key).sql, dashboard.variables, selection, time_range))


@contextmanager
def seeded_copy(
    litellm_database: LiteLLMDatabase, dbname: str, data: spend_seed.DataSet = spend_seed.SMALL
) -> Iterator[SpendDb]:
    """A copy of the migrated database with `data`, grafana_ro and a fully refreshed reporting schema."""
    with reported_copy(litellm_database, dbname, data, ROLE, PASSWORD):
        yield SpendDb(litellm_database.server, (litellm_database.owner, litellm_database.owner_password), dbname)


@pytest.fixture(scope="module")
def spend_db(litellm_database: LiteLLMDatabase) -> Iterator[SpendDb]:
    with seeded_copy(litellm_database, DBNAME) as db:
        yield db


def floats(rows: Sequence[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """Decimals (sums of bigint, epoch arithmetic) as plain numbers for comparison."""
    return [tuple(float(v) if isinstance(v, Decimal) else v for v in row) for row in rows]


# --- every query runs ----------------------------------------------------------------------

SELECTIONS: dict[str, dict[str, Selection]] = {
    "overview-all": ALL_OVERVIEW,
    "overview-picked": {
        "team": ["team-a", "team-d'q"],
        "key_alias": ["alpha-prod", "o'brien-key"],
        "model": ["gpt-4o"],
    },
    "team-a": {"team": "team-a", "key_alias": ALL, "model": ALL},
    "team-quote-picked": {"team": "team-d'q", "key_alias": ["o'brien-key"], "model": ["gpt-4o", "x'y"]},
}


def _cases() -> list[tuple[str, DashboardQueries, str, str]]:
    cases = []
    for name, dashboard in (("overview", OVERVIEW), ("team", TEAM_VIEW)):
        for selection in SELECTIONS:
            if not selection.startswith(name):
                continue
            for variable in dashboard.variables:
                cases.append((f"{selection}-var-{variable.name}", dashboard, f"var:{variable.name}", selection))
            for query in dashboard.panels:
                cases.append((f"{selection}-{query.key}", dashboard, query.key, selection))
    return cases


@pytest.mark.parametrize(("dashboard", "key", "selection"), [c[1:] for c in _cases()], ids=[c[0] for c in _cases()])
def test_every_query_runs_as_grafana_ro(
    spend_db: SpendDb, dashboard: DashboardQueries, key: str, selection: str
) -> None:
    chosen = SELECTIONS[selection]
    if key.startswith("var:"):
        variable = next(v for v in dashboard.variables if v.name == key[4:])
        text = render(variable.sql, dashboard.variables, chosen, RANGE)
    else:
        text = render(dashboard.panel(key).sql, dashboard.variables, chosen, RANGE)
    spend_db.rows(text)  # raises on any schema or privilege error


def test_variable_queries_return_the_options(spend_db: SpendDb) -> None:
    team_var, key_var, model_var = OVERVIEW.variables
    assert spend_db.rows(render(team_var.sql, OVERVIEW.variables, ALL_OVERVIEW, RANGE)) == [
        ("team-a", "Alpha"),
        ("team-b", "Beta"),
        ("team-c", "Gamma"),
        ("team-d'q", "O'Brien squad"),
    ]
    keys = spend_db.rows(render(key_var.sql, OVERVIEW.variables, {"team": ["team-b"]}, RANGE))
    assert keys == [("beta-svc",), ("blocked-key",)]
    models = spend_db.rows(render(model_var.sql, OVERVIEW.variables, {}, RANGE))
    assert models == [("claude-3-5-sonnet",), ("gpt-4o",), ("gpt-4o-mini",)]


# --- overview: exact values -------------------------------------------------------------------


def test_total_spend_and_requests(spend_db: SpendDb) -> None:
    assert spend_db.run(OVERVIEW, "total_spend", ALL_OVERVIEW) == [(14.625,)]
    ((requests, failed, rate),) = floats(spend_db.run(OVERVIEW, "total_requests", ALL_OVERVIEW))
    assert (requests, failed) == (13, 2)
    assert rate == pytest.approx(2 / 13)


def test_spend_by_model(spend_db: SpendDb) -> None:
    assert spend_db.run(OVERVIEW, "spend_by_model", ALL_OVERVIEW) == [
        ("claude-3-5-sonnet", 7.5),
        ("gpt-4o", 6.25),
        ("gpt-4o-mini", 0.875),
    ]


def test_spend_by_key_shows_aliases_never_tokens(spend_db: SpendDb) -> None:
    rows = floats(spend_db.run(OVERVIEW, "spend_by_key", ALL_OVERVIEW))
    assert rows == [
        ("alpha-prod", 8.0, 4),
        ("beta-svc", 3.25, 3),
        ("o'brien-key", 1.5, 1),
        ("expired-key", 0.75, 1),
        ("alpha-dev", 0.5, 2),
        ("blocked-key", 0.5, 1),
        ("sk-...zz99", 0.125, 1),  # no alias: LiteLLM's masked key name
    ]
    tokens = {k.token for k in spend_seed.SMALL.keys}
    assert not tokens & {str(v) for row in rows for v in row}


def test_spend_by_team(spend_db: SpendDb) -> None:
    assert floats(spend_db.run(OVERVIEW, "spend_by_team", ALL_OVERVIEW)) == [
        ("Alpha", 9.25, 7),
        ("Beta", 3.75, 4),
        ("O'Brien squad", 1.5, 1),
    ]


def test_spend_tokens_and_requests_over_time(spend_db: SpendDb) -> None:
    assert floats(spend_db.run(OVERVIEW, "spend_over_time", ALL_OVERVIEW)) == [(D1, 3.75), (D2, 5.625), (D3, 5.25)]
    assert floats(spend_db.run(OVERVIEW, "tokens_over_time", ALL_OVERVIEW)) == [
        (D1, 2000, 850),
        (D2, 2750, 1320),
        (D3, 2550, 1200),
    ]
    rows = floats(spend_db.run(OVERVIEW, "requests_over_time", ALL_OVERVIEW))
    assert [r[:3] for r in rows] == [(D1, 5, 1), (D2, 4, 1), (D3, 4, 0)]
    assert [r[3] for r in rows] == [0.2, 0.25, 0.0]


def test_top_users(spend_db: SpendDb) -> None:
    assert floats(spend_db.run(OVERVIEW, "top_users", ALL_OVERVIEW)) == [
        ("alice", 8.0, 4, 5850),
        ("carol", 3.25, 3, 2550),
        ("dave", 1.5, 1, 900),
        ("erin", 0.75, 1, 450),
        ("bob", 0.5, 2, 450),
        ("frank", 0.5, 1, 350),
        ("(no user)", 0.125, 1, 120),
    ]


def test_remaining_budget_per_key(spend_db: SpendDb) -> None:
    rows = spend_db.run(OVERVIEW, "key_budgets", ALL_OVERVIEW)
    # (alias, team, max_budget, period spend, remaining, reset, spend in range); expired
    # and blocked keys are left out; no budget -> remaining NULL ("unlimited").
    assert [(r[0], r[1], r[2], r[3], r[4], r[6]) for r in rows] == [
        ("sk-...zz99", None, 5.0, 1.0, 4.0, 0.125),
        ("o'brien-key", "O'Brien squad", 10.0, 2.0, 8.0, 1.5),
        ("beta-svc", "Beta", 20.0, 5.0, 15.0, 3.25),
        ("alpha-prod", "Alpha", 60.0, 30.0, 30.0, 8.0),
        ("alpha-dev", "Alpha", None, 3.0, None, 0.5),
    ]


def test_remaining_budget_per_team(spend_db: SpendDb) -> None:
    rows = spend_db.run(OVERVIEW, "team_budgets", ALL_OVERVIEW)
    assert [(r[0], r[1], r[2], r[3], r[5]) for r in rows] == [
        ("O'Brien squad", 10.0, 2.0, 8.0, 1.5),
        ("Alpha", 100.0, 40.0, 60.0, 9.25),
        ("Beta", None, 12.5, None, 3.75),  # blocked Gamma left out
    ]


def test_recent_failures_newest_first(spend_db: SpendDb) -> None:
    rows = spend_db.run(OVERVIEW, "recent_failures", ALL_OVERVIEW)
    assert [r[1:] for r in rows] == [
        ("alpha-dev", "gpt-4o", "Alpha", "429", "RateLimitError"),
        ("beta-svc", "gpt-4o-mini", "Beta", "429", "RateLimitError"),
    ]
    assert rows[0][0] > rows[1][0]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("selection", "spend"),
    [
        ({"team": ["team-a"]}, 9.25),
        ({"team": ["team-d'q"]}, 1.5),  # a quote in the value: Grafana doubles it
        ({"team": ["team-a", "team-d'q"]}, 10.75),
        ({"key_alias": ["alpha-prod", "beta-svc"]}, 11.25),
        ({"model": ["gpt-4o"]}, 6.25),
        ({"team": ["team-a"], "model": ["gpt-4o"]}, 4.75),
        ({"team": ["team-c"]}, 0.0),
    ],
)
def test_overview_filters(spend_db: SpendDb, selection: dict[str, Selection], spend: float) -> None:
    chosen = {**ALL_OVERVIEW, **selection}
    assert spend_db.run(OVERVIEW, "total_spend", chosen) == [(spend,)]
    by_model = floats(spend_db.run(OVERVIEW, "spend_by_model", chosen))
    assert sum(float(str(r[1])) for r in by_model) == spend


def test_team_filter_narrows_every_overview_panel(spend_db: SpendDb) -> None:
    chosen = {**ALL_OVERVIEW, "team": ["team-b"]}
    assert [r[0] for r in spend_db.run(OVERVIEW, "spend_by_key", chosen)] == ["beta-svc", "blocked-key"]
    assert [r[0] for r in spend_db.run(OVERVIEW, "spend_by_team", chosen)] == ["Beta"]
    assert [r[0] for r in spend_db.run(OVERVIEW, "key_budgets", chosen)] == ["beta-svc"]
    assert [r[0] for r in spend_db.run(OVERVIEW, "team_budgets", chosen)] == ["Beta"]
    assert [r[1] for r in spend_db.run(OVERVIEW, "recent_failures", chosen)] == ["beta-svc"]
    assert [r[0] for r in spend_db.run(OVERVIEW, "top_users", chosen)] == ["carol", "frank"]


def test_time_range_is_honoured(spend_db: SpendDb) -> None:
    one_day = TimeRange(datetime(2025, 3, 2, tzinfo=UTC), datetime(2025, 3, 2, 23, 59, 59, tzinfo=UTC))
    assert spend_db.run(OVERVIEW, "total_spend", ALL_OVERVIEW, one_day) == [(5.625,)]
    before = TimeRange(datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 2, 28, 23, 59, 59, tzinfo=UTC))
    assert spend_db.run(OVERVIEW, "total_spend", ALL_OVERVIEW, before) == [(8.0,)]
    assert [r[0] for r in spend_db.run(OVERVIEW, "recent_failures", ALL_OVERVIEW, one_day)] != []
    assert spend_db.run(OVERVIEW, "recent_failures", ALL_OVERVIEW, before) == []


# --- team view: exact values ------------------------------------------------------------------


def _team(team: str, **more: Selection) -> dict[str, Selection]:
    return {"team": team, "key_alias": ALL, "model": ALL, **more}


def test_team_budget_gauge_and_figures(spend_db: SpendDb) -> None:
    assert spend_db.run(TEAM_VIEW, "budget_gauge", _team("team-a")) == [(40.0,)]
    assert spend_db.run(TEAM_VIEW, "budget_gauge", _team("team-b")) == [(None,)]  # unlimited
    assert spend_db.run(TEAM_VIEW, "budget_gauge", _team("team-d'q")) == [(20.0,)]
    assert spend_db.run(TEAM_VIEW, "budget", _team("team-a")) == [(100.0, 40.0, 60.0, 9.25)]
    assert spend_db.run(TEAM_VIEW, "budget", _team("team-b")) == [(None, 12.5, None, 3.75)]


def test_team_spend_vs_budget_over_time(spend_db: SpendDb) -> None:
    assert floats(spend_db.run(TEAM_VIEW, "spend_vs_budget", _team("team-a"))) == [
        (D1, 3.5, 100.0),
        (D2, 7.5, 100.0),
        (D3, 9.25, 100.0),
    ]


def test_team_usage_by_model_and_key(spend_db: SpendDb) -> None:
    assert floats(spend_db.run(TEAM_VIEW, "usage_by_model", _team("team-a"))) == [
        ("gpt-4o", 4.75, 5, 1, 2250, 1100),
        ("claude-3-5-sonnet", 4.5, 2, 0, 2300, 1100),
    ]
    assert floats(spend_db.run(TEAM_VIEW, "usage_by_key", _team("team-a"))) == [
        ("alpha-prod", 8.0, 4, 3900, 1950),
        ("expired-key", 0.75, 1, 300, 150),
        ("alpha-dev", 0.5, 2, 350, 100),
    ]
    narrowed = _team("team-a", key_alias=["alpha-prod"], model=["gpt-4o"])
    assert floats(spend_db.run(TEAM_VIEW, "usage_by_key", narrowed)) == [("alpha-prod", 4.0, 3, 1900, 950)]
    assert floats(spend_db.run(TEAM_VIEW, "spend_by_model_over_time", _team("team-d'q"))) == [(D2, "gpt-4o", 1.5)]


# --- the aggregates give the raw log's answers --------------------------------------------


def _equivalence_cases() -> list[tuple[DashboardQueries, str, str, dict[str, Selection]]]:
    cases: list[tuple[DashboardQueries, str, str, dict[str, Selection]]] = []
    for key, naive in OVERVIEW_NAIVE.items():
        picked = {**ALL_OVERVIEW, "team": ["team-a", "team-b"], "model": ["gpt-4o", "gpt-4o-mini"]}
        for chosen in (ALL_OVERVIEW, picked):
            cases.append((OVERVIEW, key, naive, chosen))
    for key, naive in TEAM_VIEW_NAIVE.items():
        for chosen in (_team("team-a"), _team("team-b", key_alias=["beta-svc"])):
            cases.append((TEAM_VIEW, key, naive, chosen))
    return cases


WEEKS = TimeRange(datetime(2025, 2, 16, tzinfo=UTC), datetime(2025, 3, 3, 23, 59, 59, tzinfo=UTC))
"""Sunday to Monday: two full ISO weeks (from the weekly rollups) and two edge days."""


@pytest.mark.parametrize("time_range", [RANGE, WEEKS], ids=["days", "full-weeks"])
@pytest.mark.parametrize(
    ("dashboard", "key", "naive", "chosen"),
    _equivalence_cases(),
    ids=[f"{'overview' if c[0] is OVERVIEW else 'team'}-{c[1]}-{i % 2}" for i, c in enumerate(_equivalence_cases())],
)
def test_panel_equals_its_raw_log_twin(
    spend_db: SpendDb,
    dashboard: DashboardQueries,
    key: str,
    naive: str,
    chosen: dict[str, Selection],
    time_range: TimeRange,
) -> None:
    fast = floats(spend_db.run(dashboard, key, chosen, time_range))
    slow = floats(spend_db.owner_rows(render(naive, dashboard.variables, chosen, time_range)))
    assert fast == slow


# --- the per-key lists stop at TOP_KEYS ------------------------------------------------------


def _many_keys() -> spend_seed.DataSet:
    """More live keys with budgets and with spend than the lists show; binary-fraction spends
    (exact sums), over 2025-02-16..2025-03-03 so that WEEKS holds full weeks. Remaining
    budgets tie in groups of 37 keys (the alias breaks the tie on both sides)."""
    base = spend_seed.bulk_dataset(teams=4, keys=TOP_KEYS + 60)
    days = [f"2025-02-{d:02d}" for d in range(16, 29)] + ["2025-03-01", "2025-03-02", "2025-03-03"]
    requests = tuple(
        spend_seed.Request(day, n % 24, key.name, f"user-{n % 7}", "gpt-4o", ((n * 7) % 40) / 8, 100, 50)
        for n, (key, day) in enumerate((k, d) for i, k in enumerate(base.keys) for d in days[i % 3 :: 3])
    )
    return spend_seed.DataSet(base.teams, base.keys, requests)


@pytest.fixture(scope="module")
def many_keys_db(litellm_database: LiteLLMDatabase) -> Iterator[SpendDb]:
    """Refreshed as on 2025-03-03: RANGE (2 days ending that day) is a precomputed range, WEEKS is not."""
    with seeded_copy(litellm_database, DBNAME + "_many_keys", _many_keys()) as db:
        with db.server.connect_as(reporting_sql.REPORTING_ROLE, REPORTING_PASSWORD, db.dbname) as conn:
            conn.execute("SELECT * FROM reporting.refresh(3, '2025-03-03')")
        yield db


@pytest.mark.parametrize("key", ["spend_by_key", "key_budgets"])
@pytest.mark.parametrize("time_range", [RANGE, WEEKS], ids=["days", "weeks"])
def test_per_key_lists_show_the_top_keys_of_the_raw_log(many_keys_db: SpendDb, key: str, time_range: TimeRange) -> None:
    fast = floats(many_keys_db.run(OVERVIEW, key, ALL_OVERVIEW, time_range))
    slow = floats(many_keys_db.owner_rows(render(OVERVIEW_NAIVE[key], OVERVIEW.variables, ALL_OVERVIEW, time_range)))
    assert len(fast) == TOP_KEYS
    assert fast == slow
    picked = {**ALL_OVERVIEW, "team": ["team-01"]}
    narrowed = floats(many_keys_db.run(OVERVIEW, key, picked, time_range))
    assert 0 < len(narrowed) < TOP_KEYS
    assert narrowed == floats(
        many_keys_db.owner_rows(render(OVERVIEW_NAIVE[key], OVERVIEW.variables, picked, time_range))
    )


def _analyzed_plan(db: SpendDb, text: str) -> str:
    return "\n".join(str(r[0]) for r in db.rows("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + text))


RANGED = {
    "spend_by_key": "daily_key",
    "top_users": "daily_user",
    "spend_by_team": "daily_team",
    "team_budgets": "daily_team",
}
"""The panels that read a refresh's precomputed range, and the rollup each aggregates otherwise."""
RANGE_TABLE = {"spend_by_key": "key_ranges", "top_users": "user_ranges"}


def _read(plan: str, *tables: str) -> bool:
    """Whether the plan read one of `tables` (a scan that ran)."""
    return any(f"on {t}" in line and "never executed" not in line for line in plan.splitlines() for t in tables)


def _answered(plan: str, table: str) -> bool:
    """Whether rows came from `table` (a precomputed range's table is looked up either way)."""
    return any(
        f"on {table}" in line and "(actual rows=0 " not in line for line in plan.splitlines() if _read(line, table)
    )


def _aggregated(plan: str, rollup: str) -> bool:
    """Whether the plan read `rollup` or its weekly twin."""
    return _read(plan, rollup, rollup.replace("daily_", "weekly_"))


@pytest.mark.parametrize("key", sorted(RANGED))
def test_ranged_panels_read_a_precomputed_range(many_keys_db: SpendDb, key: str) -> None:
    def plan(selection: dict[str, Selection], time_range: TimeRange) -> str:
        return _analyzed_plan(many_keys_db, render(OVERVIEW.panel(key).sql, OVERVIEW.variables, selection, time_range))

    table = RANGE_TABLE.get(key, "team_ranges")
    precomputed = plan(ALL_OVERVIEW, RANGE)
    assert _answered(precomputed, table) and not _aggregated(precomputed, RANGED[key]), precomputed
    weeks = plan(ALL_OVERVIEW, WEEKS)
    assert _aggregated(weeks, RANGED[key]) and not _answered(weeks, table), weeks
    if key != "team_budgets":  # its spend in range follows the team filter only
        filtered = plan({**ALL_OVERVIEW, "model": ["gpt-4o"]}, RANGE)
        assert _read(filtered, "daily_detail") and not _answered(filtered, table), filtered


def _last_days(days: int) -> TimeRange:
    """Grafana's "Last N days" on 2025-03-03, day-aligned (as the raw-log twins need)."""
    return TimeRange(datetime(2025, 3, 3, tzinfo=UTC) - timedelta(days=days), RANGE.end)


def _precomputed_equals_raw_log(db: SpendDb, key: str, time_range: TimeRange, chosen: dict[str, Selection]) -> None:
    text = render(OVERVIEW.panel(key).sql, OVERVIEW.variables, chosen, time_range)
    assert not _aggregated(_analyzed_plan(db, text), RANGED[key])  # the precomputed range answered
    fast = floats(db.rows(text))
    slow = floats(db.owner_rows(render(OVERVIEW_NAIVE[key], OVERVIEW.variables, chosen, time_range)))
    assert fast and fast == slow


@pytest.mark.parametrize("key", sorted(RANGED))
@pytest.mark.parametrize("days", reporting_schema.STANDARD_RANGES)
def test_precomputed_ranges_equal_the_raw_log(many_keys_db: SpendDb, days: int, key: str) -> None:
    _precomputed_equals_raw_log(many_keys_db, key, _last_days(days), ALL_OVERVIEW)


@pytest.mark.parametrize("key", ["spend_by_team", "team_budgets"])
def test_team_ranges_answer_a_team_filter(many_keys_db: SpendDb, key: str) -> None:
    _precomputed_equals_raw_log(many_keys_db, key, _last_days(7), {**ALL_OVERVIEW, "team": ["team-01", "team-03"]})


@pytest.mark.parametrize("key", sorted(RANGED))
def test_after_an_incremental_refresh_the_precomputed_range_equals_the_raw_log(refreshed_db: SpendDb, key: str) -> None:
    """The late rows on today's and yesterday's rows are in the precomputed ranges after the refresh."""
    _precomputed_equals_raw_log(refreshed_db, key, _last_days(1), ALL_OVERVIEW)


# --- shape rules --------------------------------------------------------------------------


def _all_panels() -> list[PanelQuery]:
    return [*OVERVIEW.panels, *TEAM_VIEW.panels, *CHARGEBACK.panels]


def test_every_time_bounded_query_uses_grafana_time_macros() -> None:
    for query in _all_panels():
        if query.time_bounded:
            assert "$__timeFrom()" in query.sql or "$__timeFilter(" in query.sql, query.key


def test_dashboards_read_only_the_reporting_schema() -> None:
    variables = [v.sql for d in (OVERVIEW, TEAM_VIEW, CHARGEBACK) for v in d.variables]
    for query in _all_panels():
        assert query.relations, query.key
        assert all(name.startswith(reporting_schema.SCHEMA + ".") for name in query.relations), query.key
    assert all("LiteLLM_" not in text for text in [*variables, *(q.sql for q in _all_panels())])
    assert [q.key for q in _all_panels() if not q.time_bounded] == ["budget_gauge"]


def test_raw_log_is_read_only_time_bounded_and_limited() -> None:
    raw = [q for q in _all_panels() if q.reads_spend_logs]
    assert [q.key for q in raw] == ["recent_failures"]
    for query in raw:
        assert "$__timeFilter(l.start_time)" in query.sql
        assert query.sql.rstrip().endswith("LIMIT 50")


def test_raw_log_filter_can_use_the_starttime_index(spend_db: SpendDb) -> None:
    text = render(OVERVIEW.panel("recent_failures").sql, OVERVIEW.variables, ALL_OVERVIEW, RANGE)
    with spend_db.server.connect_as(ROLE, PASSWORD, DBNAME) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(str(r[0]) for r in conn.execute(b"EXPLAIN " + text.encode()).fetchall())
    assert "LiteLLM_SpendLogs_startTime" in plan, plan


def test_grafana_ro_cannot_write(spend_db: SpendDb) -> None:
    denied = psycopg.errors.InsufficientPrivilege
    with spend_db.server.connect_as(ROLE, PASSWORD, DBNAME) as conn, pytest.raises(denied):
        conn.execute("DELETE FROM reporting.daily_model")
    with spend_db.server.connect_as(ROLE, PASSWORD, DBNAME) as conn, pytest.raises(denied):
        conn.execute("SELECT * FROM reporting.refresh(1)")


# --- chargeback ---------------------------------------------------------------------------------

MONTHS = TimeRange(datetime(2025, 2, 10, tzinfo=UTC), datetime(2025, 3, 2, tzinfo=UTC))


def test_chargeback_per_team_per_calendar_month(spend_db: SpendDb) -> None:
    rows = floats(spend_db.run(CHARGEBACK, "team_month", {}, MONTHS))
    # no tenants declared: every team's spend is `undeclared`, and all of it by undeclared keys
    assert [(r[0], r[1], r[2], r[5], r[6]) for r in rows] == [
        ("2025-02", "undeclared", "Alpha", 8.0, 8.0),
        ("2025-03", "undeclared", "Alpha", 9.25, 9.25),
        ("2025-03", "undeclared", "Beta", 3.75, 3.75),
        ("2025-03", "undeclared", "O'Brien squad", 1.5, 1.5),
        ("2025-03", "undeclared", "(no team)", 0.125, 0.125),
    ]
    naive = floats(spend_db.owner_rows(render(CHARGEBACK_NAIVE["team_month"], (), {}, MONTHS)))
    assert rows == naive


# --- incremental refresh ----------------------------------------------------------------------

LATE = (
    # today's and yesterday's rows grow after the first refresh ...
    spend_seed.Request("2025-03-03", 20, "k2-alpha", "bob", "gpt-4o", 2.0, 800, 400),
    spend_seed.Request("2025-03-03", 21, "k7-obr", "dave", "claude-3-5-sonnet", 0.25, 100, 50),
    spend_seed.Request("2025-03-02", 23, "k3-beta", "carol", "gpt-4o", 0.0, 10, 0, "failure"),
    spend_seed.Request("2025-03-02", 22, "k4-zz99", "zoe", "mistral-large", 0.5, 70, 30),
)
# ... and a day before the refresh window changes too (a late row): the refresh counts it.
OLD = spend_seed.Request("2025-03-01", 20, "k1-alpha", "alice", "gpt-4o", 64.0, 10, 10)


@pytest.fixture(scope="module")
def refreshed_db(litellm_database: LiteLLMDatabase) -> Iterator[SpendDb]:
    with seeded_copy(litellm_database, DBNAME + "_incremental") as db:
        late = spend_seed.DataSet((), spend_seed.SMALL.keys, (*LATE, OLD))
        with db.server.connect_as(*db.owner, db.dbname) as conn:
            spend_seed.insert_requests(conn, late, prefix="late")
            spend_seed.rebuild_daily_aggregates(conn)
        with db.server.connect_as(reporting_sql.REPORTING_ROLE, REPORTING_PASSWORD, db.dbname) as conn:
            first = conn.execute("SELECT * FROM reporting.refresh(2, '2025-03-03')").fetchall()
        # every daily row was written again (updated now): the run re-aggregates from the oldest day
        oldest = db.owner_rows('SELECT min(date)::date FROM "LiteLLM_DailyUserSpend"')
        assert [row[0] for row in first] == [oldest[0][0]]
        yield db


WINDOW = TimeRange(datetime(2025, 3, 2, tzinfo=UTC), datetime(2025, 3, 3, 23, 59, 59, tzinfo=UTC))


@pytest.mark.parametrize(("dashboard", "key", "naive", "chosen"), _equivalence_cases())
def test_after_an_incremental_refresh_every_panel_equals_its_raw_log_twin(
    refreshed_db: SpendDb, dashboard: DashboardQueries, key: str, naive: str, chosen: dict[str, Selection]
) -> None:
    fast = floats(refreshed_db.rows(render(dashboard.panel(key).sql, dashboard.variables, chosen, WINDOW)))
    slow = floats(refreshed_db.owner_rows(render(naive, dashboard.variables, chosen, WINDOW)))
    assert fast == slow
    assert fast or key in ("recent_failures",)


def test_incremental_refresh_picks_up_late_rows_in_and_before_the_window(refreshed_db: SpendDb) -> None:
    by_day = floats(
        refreshed_db.rows(render(OVERVIEW.panel("spend_over_time").sql, OVERVIEW.variables, ALL_OVERVIEW, RANGE))
    )
    # 03-02 and 03-03 grew by the late rows, and 03-01 (before the 2-day window, its daily rows
    # updated since the last run) by OLD.
    assert by_day == [(D1, 3.75 + 64.0), (D2, 5.625 + 0.5), (D3, 5.25 + 2.25)]
    with refreshed_db.server.connect_as(*refreshed_db.owner, refreshed_db.dbname) as conn:
        conn.execute("UPDATE \"LiteLLM_DailyUserSpend\" SET updated_at = updated_at - interval '1 day'")
    with refreshed_db.server.connect_as(reporting_sql.REPORTING_ROLE, REPORTING_PASSWORD, refreshed_db.dbname) as conn:
        # The first run of a new day re-aggregates the window whole, reaching back to before missed days ...
        assert conn.execute("SELECT first_day FROM reporting.refresh(2, '2025-03-06')").fetchall() == [
            (datetime(2025, 3, 2).date(),)
        ]
        # ... and a later run the same day, with nothing new, nothing.
        assert conn.execute("SELECT * FROM reporting.refresh(2, '2025-03-06')").fetchall() == [(None, 0)]
        conn.execute("SELECT * FROM reporting.refresh(2, '2025-03-03')")  # back to the tested state
        # The weekly and monthly twins always equal their daily tables summed per ISO week / month.
        twins = [(*t, "week") for t in reporting_sql.WEEKLY] + [(*t, "month") for t in reporting_sql.MONTHLY]
        for weekly, daily, dims, period in twins:
            columns = ", ".join(dims)
            per_week = (
                f"SELECT date_trunc('{period}', day::timestamp)::date, {columns}, sum(spend), sum(requests)"
                f" FROM {daily} GROUP BY 1, {columns}"
            )
            stored = f"SELECT {period}, {columns}, spend, requests FROM {weekly}"
            assert (
                conn.execute(f"({per_week} EXCEPT {stored}) UNION ALL ({stored} EXCEPT {per_week})".encode()).fetchall()
                == []
            )
            assert conn.execute(f"SELECT count(*) FROM {weekly}".encode()).fetchone() != (0,)


def test_a_new_monthly_table_is_filled_with_every_month(refreshed_db: SpendDb) -> None:
    """A schema upgrade adds monthly_team empty: the next (incremental) refresh fills all of history."""
    with refreshed_db.server.connect_as(reporting_sql.REPORTING_ROLE, REPORTING_PASSWORD, refreshed_db.dbname) as conn:
        conn.execute(f"DELETE FROM {reporting_schema.MONTH_TEAM}".encode())
        conn.execute("SELECT * FROM reporting.refresh(2, '2025-03-03')")
        months = conn.execute(
            f"SELECT DISTINCT month FROM {reporting_schema.MONTH_TEAM} ORDER BY 1".encode()
        ).fetchall()
    assert months == [(datetime(2025, 2, 1).date(),), (datetime(2025, 3, 1).date(),)]


# --- late rows: only the days they touch, across a month boundary ---------------------------------

EARLY = spend_seed.Request("2025-02-20", 8, "k2-alpha", "bob", "gpt-4o", 4.0, 10, 10)
LATE_OLD = (
    # the previous month, before the window: the chargeback's February and its ISO week change
    spend_seed.Request("2025-02-28", 9, "k1-alpha", "alice", "gpt-4o", 1.5, 10, 10),
    spend_seed.Request("2025-03-01", 10, "k3-beta", "carol", "gpt-4o-mini", 0.75, 20, 5),
)
EDGE = TimeRange(datetime(2025, 2, 17, tzinfo=UTC), datetime(2025, 3, 3, 23, 59, 59, tzinfo=UTC))
"""Two full ISO weeks (the late day's among them) across the month boundary."""


@pytest.fixture(scope="module")
def late_db(litellm_database: LiteLLMDatabase) -> Iterator[tuple[SpendDb, int]]:
    """A run on 2025-03-03 picks up a row for 02-20 (late: written after the full run); a day
    later LiteLLM writes rows for 02-28 and 03-01 (before the 2-day window), then the next run."""
    with seeded_copy(litellm_database, DBNAME + "_late") as db:
        with db.server.connect_as(*db.owner, db.dbname) as conn:
            spend_seed.insert_requests(conn, spend_seed.DataSet((), spend_seed.SMALL.keys, (EARLY,)), prefix="early")
            spend_seed.add_daily_rows(conn, "early")
        with db.server.connect_as(reporting_sql.REPORTING_ROLE, REPORTING_PASSWORD, db.dbname) as conn:
            conn.execute("SELECT * FROM reporting.refresh(2, '2025-03-03')")
        with db.server.connect_as(*db.owner, db.dbname) as conn:
            # a day passes: every row so far was written before the last run began
            conn.execute("UPDATE \"LiteLLM_DailyUserSpend\" SET updated_at = now() - interval '1 day'")
            spend_seed.insert_requests(conn, spend_seed.DataSet((), spend_seed.SMALL.keys, LATE_OLD), prefix="lateold")
            spend_seed.add_daily_rows(conn, "lateold")
        with db.server.connect_as(reporting_sql.REPORTING_ROLE, REPORTING_PASSWORD, db.dbname) as conn:
            row = conn.execute("SELECT first_day, detail_rows FROM reporting.refresh(2, '2025-03-03')").fetchone()
        # the same day as the last run: only the late rows' days, from the oldest
        assert row is not None and row[0] == datetime(2025, 2, 28).date()
        yield db, int(str(row[1]))


@pytest.mark.parametrize("time_range", [EDGE, RANGE], ids=["weeks", "days"])
@pytest.mark.parametrize(("dashboard", "key", "naive", "chosen"), _equivalence_cases())
def test_after_late_rows_every_panel_equals_its_raw_log_twin(
    late_db: tuple[SpendDb, int],
    dashboard: DashboardQueries,
    key: str,
    naive: str,
    chosen: dict[str, Selection],
    time_range: TimeRange,
) -> None:
    db = late_db[0]
    fast = floats(db.rows(render(dashboard.panel(key).sql, dashboard.variables, chosen, time_range)))
    slow = floats(db.owner_rows(render(naive, dashboard.variables, chosen, time_range)))
    assert fast == slow


def test_after_late_rows_chargeback_and_days_equal_the_raw_log_to_the_cent(late_db: tuple[SpendDb, int]) -> None:
    db, detail_rows = late_db
    months = TimeRange(datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 3, 3, tzinfo=UTC))
    rows = floats(db.run(CHARGEBACK, "team_month", {}, months))
    assert ("2025-02", "Alpha", 8.0 + 4.0 + 1.5) in [(r[0], r[2], r[5]) for r in rows]  # month, team, spend
    assert rows == floats(db.owner_rows(render(CHARGEBACK_NAIVE["team_month"], (), {}, months)))
    per_day = "SELECT day, round(sum(spend)::numeric, 2) FROM {} GROUP BY 1 ORDER BY 1"
    raw = db.owner_rows(
        'SELECT "startTime"::date, round(sum(spend)::numeric, 2) FROM "LiteLLM_SpendLogs" GROUP BY 1 ORDER BY 1'
    )
    for table in (*reporting_sql.ROLLUPS, reporting_schema.DAILY_CHARGE):  # the FOCUS export's grain too
        assert db.rows(per_day.format(table)) == raw, table
    # Only the late rows' (day, key) groups were aggregated again: not the rest of their days, nor
    # the window, nor 02-20 (nor the rest of history).
    groups = ", ".join(f"('{r.day}'::date, md5('{spend_seed.token_of(r.key)}'))" for r in LATE_OLD)
    touched = db.rows(f"SELECT count(*) FROM {reporting_schema.DETAIL} WHERE (day, key_id) IN ({groups})")
    everything = db.rows(f"SELECT count(*) FROM {reporting_schema.DETAIL}")
    assert touched == [(detail_rows,)] and 0 < detail_rows < int(str(everything[0][0])) - 10


COARSE = {
    "total_spend": "daily_model",
    "spend_over_time": "daily_model",
    "spend_by_key": "daily_key",
    "spend_by_team": "daily_team",
    "top_users": "daily_user",
}


@pytest.mark.parametrize("key", sorted(COARSE))
def test_postgres_plans_only_the_branch_the_selection_needs(spend_db: SpendDb, key: str) -> None:
    """The '__all__' guards are constants: "All" never touches daily_detail, a filter only it."""

    def plan(selection: dict[str, Selection]) -> str:
        text = render(OVERVIEW.panel(key).sql, OVERVIEW.variables, selection, RANGE)
        return "\n".join(str(r[0]) for r in spend_db.rows("EXPLAIN " + text))

    everything = plan(ALL_OVERVIEW)
    assert COARSE[key] in everything and "daily_detail" not in everything
    model = plan({**ALL_OVERVIEW, "model": ["gpt-4o"]})
    assert ("daily_detail" in model) is (COARSE[key] != "daily_model")
    one_key = plan({**ALL_OVERVIEW, "team": ["team-a"], "key_alias": ["alpha-prod"]})
    if key == "spend_by_key":  # daily_key has the team and key columns itself
        assert "daily_detail" not in one_key
    else:
        assert "daily_detail" in one_key and COARSE[key] not in one_key.replace("daily_detail", "")
