"""Every SQL query of the spend dashboards: one place per dashboard.

`OVERVIEW` (dashboards/spend_overview.py), `TEAM_VIEW` (dashboards/team_view.py; its queries are
dashboards/team_queries.py's) and
`CHARGEBACK` (dashboards/chargeback.py) hold each dashboard's template variables and
panel queries, written with the vocabulary of dashboards/spend_sql.py. The dashboards
put exactly these strings into `rawSql`; the tests (on LiteLLM's real schema, as
grafana_ro) and `bench/spend_queries.py` run exactly these strings after expanding
Grafana's macros and variables the way Grafana does.

Every query reads the `reporting` schema only (dashboards/reporting_schema.py): rollups
refreshed by the reporting CronJob (components/reporting/sql.py) and narrow views over
LiteLLM's key and team tables. Besides the rollup choice and the range widening of
spend_sql:
- The raw log is read by one panel only (recent failed requests, through the
  `reporting.recent_failures` view), bounded by `$__timeFilter` on the indexed
  `"startTime"` and by a LIMIT, newest first.
- Team budgets come from the view over LiteLLM's (small) team table, live. Key labels
  and key budgets come from `reporting.key_state`, LiteLLM's key table as of the last
  refresh: at thousands of keys the live view's md5 per key per read was most of the
  per-key panels' cost.
- The two per-key lists show their top `TOP_KEYS` rows (said on each panel). Over one of
  Grafana's quick ranges ending today ("Last 7 days", ...) with nothing filtered, "Spend by
  key", "Top users", "Spend by team" (a team filter allowed) and the team budgets' spend in
  range read the refresh's precomputed totals (`key_ranges`, `user_ranges`, `team_ranges`).

Freshness: rollups lag LiteLLM by at most the refresh interval (reporting.schedule)
plus LiteLLM's own batch write interval (`proxy_batch_write_at`, 10 s + up to 5 s of
jitter by default); team budgets and recent failures are live.

Keys are shown by alias (or LiteLLM's masked `key_name`), never by the hashed token.
"""

from __future__ import annotations

from dashboards import reporting_schema as rs
from dashboards.declared import UNDECLARED
from dashboards.postgres_query import Format
from dashboards.spend_sql import (
    ALL_VALUE,
    FILTERS,
    FROM_DAY,
    TO_DAY,
    DashboardQueries,
    PanelQuery,
    Variable,
    all_or,
    filter_on,
    in_days,
    in_edge_days,
    in_full_weeks,
    in_months,
    is_all,
    rollup_rows,
)
from dashboards.team_queries import TEAM_VIEW

# The queries, and the vocabulary they are made of (read with them by the tests and the benchmark).
__all__ = [
    "ALL_VALUE",
    "CHARGEBACK",
    "OVERVIEW",
    "TEAM_VIEW",
    "TOP_KEYS",
    "DashboardQueries",
    "PanelQuery",
    "Variable",
]

_KEY_LABEL = rs.key_label("k")
TOP_KEYS = 100
"""Rows of the two per-key lists (spend by key, remaining budget per key): a person reads
the top of a list, and at thousands of keys the label join, sort and transfer of every
key cost more than the rest of the panel. Budget alerts (Prometheus) cover every key."""
_NOT_EXPIRED_OR_BLOCKED = "(k.expires IS NULL OR k.expires > (now() AT TIME ZONE 'UTC')) AND k.blocked IS NOT TRUE"
_MEASURES = ", ".join(f"{{a}}.{name}" for name in rs.MEASURES)

_ALL_FILTERS = " AND ".join(is_all(v) for v in FILTERS)
_STANDARD_RANGE = f"{{a}}.from_day = {FROM_DAY} AND {{a}}.to_day = {TO_DAY}"
"""The range is one the refresh precomputed (`key_ranges`: standard ranges ending today)."""
_PRECOMPUTED = f"(SELECT EXISTS (SELECT FROM {rs.RANGE_DAYS} p WHERE {_STANDARD_RANGE.format(a='p')}))"
"""The refresh precomputed this range (an InitPlan: evaluated once, the other branch then skipped)."""
_NO_KEY_OR_MODEL = f"{is_all('key_alias')} AND {is_all('model')}"

# --- Spend overview ----------------------------------------------------------------------

_BY_MODEL = rollup_rows("{a}.day, {a}.model, " + _MEASURES, rs.BY_MODEL, ("model",))
_BY_KEY = rollup_rows("{a}.key_id, {a}.spend, {a}.requests", rs.BY_KEY, ("team", "key_alias"), weekly=rs.WEEK_KEY)
_BY_TEAM = rollup_rows("{a}.team_id, {a}.spend, {a}.requests", rs.BY_TEAM, ("team",), extra="{a}.team_id IS NOT NULL")
_BY_USER = rollup_rows(
    "{a}.user_id, {a}.spend, {a}.requests, {a}.prompt_tokens + {a}.completion_tokens AS tokens",
    rs.BY_USER,
    (),
    weekly=rs.WEEK_USER,
)

OVERVIEW = DashboardQueries(
    variables=(
        Variable(
            "team",
            "Team",
            f"SELECT team_id AS __value, COALESCE(team_alias, team_id) AS __text FROM {rs.TEAMS} ORDER BY 2",
            multi=True,
            include_all=True,
        ),
        Variable(
            "key_alias",
            "Key alias",
            f"SELECT DISTINCT key_alias FROM {rs.KEYS}\n"
            f"WHERE key_alias IS NOT NULL AND {all_or('team', 'team_id IN ($team)')}\nORDER BY 1",
            multi=True,
            include_all=True,
        ),
        Variable(
            "model",
            "Model",
            f"SELECT DISTINCT c.model FROM {rs.BY_MODEL} c\nWHERE c.model IS NOT NULL AND {in_days('c')}\nORDER BY 1",
            multi=True,
            include_all=True,
            refresh_on_time_range=True,
        ),
    ),
    panels=(
        PanelQuery(
            "total_spend",
            "Total spend",
            f"SELECT COALESCE(sum(s.spend), 0) AS spend\nFROM (\n{_BY_MODEL}\n) s",
            Format.TABLE,
        ),
        PanelQuery(
            "total_requests",
            "Requests / failure rate",
            f"SELECT COALESCE(sum(s.requests), 0) AS requests,\n"
            f"  COALESCE(sum(s.failed), 0) AS failed,\n"
            f"  COALESCE(sum(s.failed)::float8 / NULLIF(sum(s.requests), 0), 0) AS failure_rate\n"
            f"FROM (\n{_BY_MODEL}\n) s",
            Format.TABLE,
        ),
        PanelQuery(
            "spend_over_time",
            "Spend over time (per day)",
            f"SELECT $__timeGroupAlias(day, '1d'), spend\n"
            f"FROM (\n"
            f"  SELECT s.day::timestamp AT TIME ZONE 'UTC' AS day, sum(s.spend) AS spend\n"
            f"  FROM (\n{_BY_MODEL}\n  ) s\n  GROUP BY s.day\n) t\nORDER BY 1",
            Format.TIME_SERIES,
        ),
        PanelQuery(
            "spend_by_model",
            "Spend by model",
            f"SELECT COALESCE(NULLIF(s.model, ''), '(unknown)') AS model, sum(s.spend) AS spend\n"
            f"FROM (\n{_BY_MODEL}\n) s\nGROUP BY 1\nORDER BY spend DESC, model",
            Format.TABLE,
        ),
        PanelQuery(
            "spend_by_key",
            "Spend by key",
            f"SELECT x.key_alias, x.spend, x.requests\n"
            f"FROM (\n"
            f"  SELECT p.key_alias, p.spend, p.requests FROM {rs.KEY_RANGES} p\n"
            f"  WHERE {_STANDARD_RANGE.format(a='p')} AND {_ALL_FILTERS}\n"
            f"  UNION ALL\n"
            f"  SELECT {_KEY_LABEL} AS key_alias, sum(s.spend) AS spend, sum(s.requests) AS requests\n"
            f"  FROM (\n"
            f"    SELECT r.key_id, sum(r.spend) AS spend, sum(r.requests) AS requests\n"
            f"    FROM (\n{_BY_KEY}\n    ) r\n"
            f"    WHERE NOT ({_ALL_FILTERS} AND (SELECT EXISTS (\n"
            f"      SELECT FROM {rs.RANGE_DAYS} p WHERE {_STANDARD_RANGE.format(a='p')})))\n"
            f"    GROUP BY r.key_id\n"
            f"  ) s\n"
            f"  LEFT JOIN {rs.KEY_STATE} k ON k.key_id = s.key_id\n"
            f"  GROUP BY 1\n"
            f") x\n"
            f"ORDER BY x.spend DESC, x.key_alias\nLIMIT {TOP_KEYS}",
            Format.TABLE,
            description=f"The {TOP_KEYS} keys with the most spend in the range; pick a team or keys to see others.",
        ),
        PanelQuery(
            "spend_by_team",
            "Spend by team",
            f"SELECT COALESCE(t.team_alias, s.team_id) AS team, s.spend, s.requests\n"
            f"FROM (\n"
            f"  SELECT p.team_id, p.spend, p.requests FROM {rs.TEAM_RANGES} p\n"
            f"  WHERE {_STANDARD_RANGE.format(a='p')} AND {_NO_KEY_OR_MODEL} AND {filter_on('team', 'p')}\n"
            f"  UNION ALL\n"
            f"  SELECT r.team_id, sum(r.spend) AS spend, sum(r.requests) AS requests\n"
            f"  FROM (\n{_BY_TEAM}\n  ) r\n"
            f"  WHERE NOT ({_NO_KEY_OR_MODEL} AND {_PRECOMPUTED})\n"
            f"  GROUP BY r.team_id\n) s\n"
            f"LEFT JOIN {rs.TEAMS} t ON t.team_id = s.team_id\n"
            f"ORDER BY s.spend DESC, team",
            Format.TABLE,
        ),
        PanelQuery(
            "tokens_over_time",
            "Tokens over time (per day)",
            f"SELECT $__timeGroupAlias(day, '1d'), prompt_tokens, completion_tokens\n"
            f"FROM (\n"
            f"  SELECT s.day::timestamp AT TIME ZONE 'UTC' AS day,\n"
            f"    sum(s.prompt_tokens) AS prompt_tokens, sum(s.completion_tokens) AS completion_tokens\n"
            f"  FROM (\n{_BY_MODEL}\n  ) s\n  GROUP BY s.day\n) t\nORDER BY 1",
            Format.TIME_SERIES,
        ),
        PanelQuery(
            "requests_over_time",
            "Requests and failure rate (per day)",
            f"SELECT $__timeGroupAlias(day, '1d'), requests, failed,\n"
            f"  failed::float8 / NULLIF(requests, 0) AS failure_rate\n"
            f"FROM (\n"
            f"  SELECT s.day::timestamp AT TIME ZONE 'UTC' AS day,\n"
            f"    sum(s.requests) AS requests, sum(s.failed) AS failed\n"
            f"  FROM (\n{_BY_MODEL}\n  ) s\n  GROUP BY s.day\n) t\nORDER BY 1",
            Format.TIME_SERIES,
        ),
        PanelQuery(
            "top_users",
            "Top users",
            f"SELECT x.user_id, x.spend, x.requests, x.tokens\n"
            f"FROM (\n"
            f"  SELECT p.user_id, p.spend, p.requests, p.tokens FROM {rs.USER_RANGES} p\n"
            f"  WHERE {_STANDARD_RANGE.format(a='p')} AND {_ALL_FILTERS}\n"
            f"  UNION ALL\n"
            f"  SELECT {rs.user_label('s')} AS user_id, sum(s.spend) AS spend,\n"
            f"    sum(s.requests) AS requests, sum(s.tokens) AS tokens\n"
            f"  FROM (\n{_BY_USER}\n  ) s\n"
            f"  WHERE NOT ({_ALL_FILTERS} AND {_PRECOMPUTED})\n"
            f"  GROUP BY 1\n"
            f") x\n"
            f"ORDER BY x.spend DESC, x.user_id\nLIMIT 10",
            Format.TABLE,
        ),
        PanelQuery(
            "key_budgets",
            "Remaining budget per key",
            f"SELECT k.key_alias, COALESCE(t.team_alias, k.team_id) AS team,\n"
            f"  k.max_budget, k.budget_period_spend, k.remaining, k.budget_reset_at,\n"
            f"  COALESCE((\n"
            f"    SELECT sum(s.spend) FROM (\n"
            f"      SELECT c.spend FROM {rs.BY_KEY} c WHERE c.key_id = k.key_id AND {in_edge_days('c')}\n"
            f"      UNION ALL\n"
            f"      SELECT w.spend FROM {rs.WEEK_KEY} w WHERE w.key_id = k.key_id AND {in_full_weeks('w')}\n"
            f"    ) s\n"
            f"  ), 0) AS spend_in_range\n"
            f"FROM (\n"
            f"  SELECT k.key_id, k.label AS key_alias, k.team_id, k.max_budget, k.spend AS budget_period_spend,\n"
            f"    k.max_budget - k.spend AS remaining, k.budget_reset_at\n"
            f"  FROM {rs.KEY_STATE} k\n"
            f"  WHERE {_NOT_EXPIRED_OR_BLOCKED}\n"
            f"    AND {all_or('team', 'k.team_id IN ($team)')}\n"
            f"    AND {all_or('key_alias', 'k.key_alias IN ($key_alias)')}\n"
            f"  ORDER BY remaining ASC NULLS LAST, key_alias\n"
            f"  LIMIT {TOP_KEYS}\n"
            f") k\n"
            f"LEFT JOIN {rs.TEAMS} t ON t.team_id = k.team_id\n"
            f"ORDER BY k.remaining ASC NULLS LAST, k.key_alias",
            Format.TABLE,
            description=(
                f"The {TOP_KEYS} keys (not expired or blocked) with the least budget left (no budget: last), as of the "
                "last reporting refresh; budget alerts at 80/95/100 % cover every key."
            ),
        ),
        PanelQuery(
            "team_budgets",
            "Remaining budget per team",
            f"SELECT COALESCE(t.team_alias, t.team_id) AS team, t.max_budget, t.spend AS budget_period_spend,\n"
            f"  t.max_budget - t.spend AS remaining, t.budget_reset_at, COALESCE(r.spend, 0) AS spend_in_range\n"
            f"FROM {rs.TEAMS} t\n"
            f"LEFT JOIN (\n"
            f"  SELECT p.team_id, p.spend FROM {rs.TEAM_RANGES} p WHERE {_STANDARD_RANGE.format(a='p')}\n"
            f"  UNION ALL\n"
            f"  SELECT c.team_id, sum(c.spend) AS spend FROM {rs.BY_TEAM} c\n"
            f"  WHERE {in_days('c')} AND NOT {_PRECOMPUTED} GROUP BY c.team_id\n"
            f") r ON r.team_id = t.team_id\n"
            f"WHERE t.blocked IS NOT TRUE AND {all_or('team', 't.team_id IN ($team)')}\n"
            f"ORDER BY remaining ASC NULLS LAST, team",
            Format.TABLE,
        ),
        PanelQuery(
            "recent_failures",
            "Recent failed requests",
            'SELECT l.start_time AS "time", l.key_label AS key_alias, l.model, l.team, l.error_code, l.error_class\n'
            f"FROM {rs.FAILURES} l\n"
            f"WHERE $__timeFilter(l.start_time)\n"
            f"  AND {all_or('team', 'l.team_id IN ($team)')}\n"
            f"  AND {all_or('key_alias', 'l.key_alias IN ($key_alias)')}\n"
            f"  AND {all_or('model', 'l.model IN ($model)')}\n"
            f"ORDER BY l.start_time DESC\nLIMIT 50",
            Format.TABLE,
        ),
    ),
)

# --- Chargeback ----------------------------------------------------------------------------

_CHARGEBACK_NOTE = (
    "Cost centre and owner: the team's as declared in the stack's `tenants` config. Spend of a team not "
    f"declared (or of no team) shows under `{UNDECLARED}`; undeclared_keys_spend: the part spent by keys "
    "not declared. A deleted key (or team) keeps its team. As of the last reporting refresh; a team renamed "
    "in LiteLLM shows its new name in past months from the first refresh of the next UTC day."
)
CHARGEBACK = DashboardQueries(
    variables=(),
    panels=(
        PanelQuery(
            "team_month",
            "Spend per cost centre and team per calendar month",
            # the rows as the last refresh attributed and ordered them (components/reporting/charge.py)
            "SELECT to_char(c.month, 'YYYY-MM') AS month, c.cost_centre, c.team, c.team_id, c.owner, c.spend,\n"
            "  c.undeclared_keys_spend, c.requests, c.prompt_tokens, c.completion_tokens\n"
            f"FROM {rs.CHARGE_TEAM_MONTH} c\n"
            f"WHERE {in_months('c', 'month')}\n"
            # position: the row's place in its month (declared cost centres first, then by spend)
            "ORDER BY c.month, c.position",
            Format.TABLE,
            description=_CHARGEBACK_NOTE,
        ),
    ),
)
