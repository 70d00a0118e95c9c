"""Every SQL query of the spend dashboards: one place per dashboard.

`OVERVIEW` (dashboards/spend_overview.py) and `TEAM_VIEW` (dashboards/team_view.py)
hold each dashboard's template variables and panel queries. The dashboards put
exactly these strings into `rawSql`; the tests (on LiteLLM's real schema, as
grafana_ro) and `tools/bench_spend_queries.py` run exactly these strings after
expanding Grafana's macros and variables the way Grafana does.

How the queries scale:
- Time ranges read LiteLLM's daily aggregates (`"LiteLLM_DailyUserSpend"`: every
  request; `"LiteLLM_DailyTeamSpend"`: requests made with a team), filtered on their
  indexed `date` column (TEXT `YYYY-MM-DD`, UTC day). The range is widened to whole
  UTC days: these panels answer at day resolution.
- The raw `"LiteLLM_SpendLogs"` is read by one panel only (recent failed requests:
  individual requests are not in the aggregates), bounded by `$__timeFilter` on the
  indexed `"startTime"` and by a LIMIT, newest first.
- Budgets come from the small `"LiteLLM_VerificationToken"` / `"LiteLLM_TeamTable"`.

Variables (Grafana PostgreSQL interpolation): a multi-value or include-All variable
is rendered as a comma-separated list of quoted literals, so filters read
`IN ($var)`; "All" renders the custom all value `'__all__'` (not quoted by Grafana,
hence the quotes in it), and each filter starts with `'__all__' IN ($var) OR`, which
PostgreSQL folds to TRUE, so "All" costs nothing and also keeps rows without a key
alias or team. The team view's `team` is single-valued without All: Grafana then
doubles quotes and leaves the value bare, so queries write `'${team}'`.

Keys are always shown by alias (or LiteLLM's masked `key_name`), never by the
hashed token.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboards.postgres_query import Format

ALL_VALUE = "'__all__'"

SPEND_LOGS = '"LiteLLM_SpendLogs"'
DAILY_USER = '"LiteLLM_DailyUserSpend"'
DAILY_TEAM = '"LiteLLM_DailyTeamSpend"'
TOKENS = '"LiteLLM_VerificationToken"'
TEAMS = '"LiteLLM_TeamTable"'


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    sql: str
    multi: bool
    include_all: bool
    refresh_on_time_range: bool = False

    @property
    def all_value(self) -> str | None:
        return ALL_VALUE if self.include_all else None


@dataclass(frozen=True)
class PanelQuery:
    key: str
    title: str
    sql: str
    format: Format
    time_bounded: bool = True
    """False only for a panel that shows current state (a budget gauge)."""

    @property
    def reads_spend_logs(self) -> bool:
        return SPEND_LOGS in self.sql


@dataclass(frozen=True)
class DashboardQueries:
    variables: tuple[Variable, ...]
    panels: tuple[PanelQuery, ...]

    def panel(self, key: str) -> PanelQuery:
        for query in self.panels:
            if query.key == key:
                return query
        raise KeyError(key)


def _days(alias: str) -> str:
    """The range widened to whole UTC days, on the daily tables' indexed TEXT `date`."""
    return (
        f"{alias}.date BETWEEN to_char($__timeFrom()::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        f" AND to_char($__timeTo()::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    )


def _all_or(var: str, condition: str) -> str:
    return f"({ALL_VALUE} IN (${var}) OR {condition})"


def _keys_where(column: str, var: str) -> str:
    return f"(SELECT token FROM {TOKENS} WHERE {column} IN (${var}))"


def _key_alias_filter(api_key: str) -> str:
    """Rows whose key has one of the selected aliases (All: every row, aliased or not)."""
    return _all_or("key_alias", f"{api_key} IN {_keys_where('key_alias', 'key_alias')}")


def _key_team_filter(api_key: str) -> str:
    """Rows whose key belongs to one of the selected teams."""
    return _all_or("team", f"{api_key} IN {_keys_where('team_id', 'team')}")


_KEY_LABEL = "COALESCE(k.key_alias, k.key_name, '(unknown key)')"
_NOT_EXPIRED_OR_BLOCKED = "(k.expires IS NULL OR k.expires > (now() AT TIME ZONE 'UTC')) AND k.blocked IS NOT TRUE"

# --- Spend overview ----------------------------------------------------------------------


def _overview_filter(alias: str) -> str:
    """Team, key alias and model filters on a DailyUserSpend row (team = the key's team)."""
    return (
        f"{_days(alias)}\n"
        f"  AND {_key_team_filter(alias + '.api_key')}\n"
        f"  AND {_key_alias_filter(alias + '.api_key')}\n"
        f"  AND {_all_or('model', alias + '.model IN ($model)')}"
    )


_OV = _overview_filter("d")

OVERVIEW = DashboardQueries(
    variables=(
        Variable(
            "team",
            "Team",
            f"SELECT team_id AS __value, COALESCE(team_alias, team_id) AS __text FROM {TEAMS} ORDER BY 2",
            multi=True,
            include_all=True,
        ),
        Variable(
            "key_alias",
            "Key alias",
            f"SELECT DISTINCT key_alias FROM {TOKENS}\n"
            f"WHERE key_alias IS NOT NULL AND {_all_or('team', 'team_id IN ($team)')}\nORDER BY 1",
            multi=True,
            include_all=True,
        ),
        Variable(
            "model",
            "Model",
            f"SELECT DISTINCT d.model FROM {DAILY_USER} d\nWHERE d.model IS NOT NULL AND {_days('d')}\nORDER BY 1",
            multi=True,
            include_all=True,
            refresh_on_time_range=True,
        ),
    ),
    panels=(
        PanelQuery(
            "total_spend",
            "Total spend",
            f"SELECT COALESCE(sum(d.spend), 0) AS spend\nFROM {DAILY_USER} d\nWHERE {_OV}",
            Format.TABLE,
        ),
        PanelQuery(
            "total_requests",
            "Requests / failure rate",
            f"SELECT COALESCE(sum(d.api_requests), 0) AS requests,\n"
            f"  COALESCE(sum(d.failed_requests), 0) AS failed,\n"
            f"  COALESCE(sum(d.failed_requests)::float8 / NULLIF(sum(d.api_requests), 0), 0) AS failure_rate\n"
            f"FROM {DAILY_USER} d\nWHERE {_OV}",
            Format.TABLE,
        ),
        PanelQuery(
            "spend_over_time",
            "Spend over time (per day)",
            f"SELECT $__timeGroupAlias(day, '1d'), spend\n"
            f"FROM (\n"
            f"  SELECT (d.date || 'T00:00:00Z')::timestamptz AS day, sum(d.spend) AS spend\n"
            f"  FROM {DAILY_USER} d\n  WHERE {_OV}\n  GROUP BY d.date\n) s\nORDER BY 1",
            Format.TIME_SERIES,
        ),
        PanelQuery(
            "spend_by_model",
            "Spend by model",
            f"SELECT COALESCE(NULLIF(d.model, ''), '(unknown)') AS model, sum(d.spend) AS spend\n"
            f"FROM {DAILY_USER} d\nWHERE {_OV}\nGROUP BY 1\nORDER BY spend DESC, model",
            Format.TABLE,
        ),
        PanelQuery(
            "spend_by_key",
            "Spend by key",
            f"SELECT {_KEY_LABEL} AS key_alias, sum(s.spend) AS spend, sum(s.requests) AS requests\n"
            f"FROM (\n"
            f"  SELECT d.api_key, sum(d.spend) AS spend, sum(d.api_requests) AS requests\n"
            f"  FROM {DAILY_USER} d\n  WHERE {_OV}\n  GROUP BY d.api_key\n) s\n"
            f"LEFT JOIN {TOKENS} k ON k.token = s.api_key\n"
            f"GROUP BY 1\nORDER BY spend DESC, key_alias",
            Format.TABLE,
        ),
        PanelQuery(
            "spend_by_team",
            "Spend by team",
            f"SELECT COALESCE(t.team_alias, s.team_id) AS team, s.spend, s.requests\n"
            f"FROM (\n"
            f"  SELECT d.team_id, sum(d.spend) AS spend, sum(d.api_requests) AS requests\n"
            f"  FROM {DAILY_TEAM} d\n"
            f"  WHERE {_days('d')}\n"
            f"    AND {_all_or('team', 'd.team_id IN ($team)')}\n"
            f"    AND {_key_alias_filter('d.api_key')}\n"
            f"    AND {_all_or('model', 'd.model IN ($model)')}\n"
            f"  GROUP BY d.team_id\n) s\n"
            f"LEFT JOIN {TEAMS} t ON t.team_id = s.team_id\n"
            f"ORDER BY s.spend DESC, team",
            Format.TABLE,
        ),
        PanelQuery(
            "tokens_over_time",
            "Tokens over time (per day)",
            f"SELECT $__timeGroupAlias(day, '1d'), prompt_tokens, completion_tokens\n"
            f"FROM (\n"
            f"  SELECT (d.date || 'T00:00:00Z')::timestamptz AS day,\n"
            f"    sum(d.prompt_tokens) AS prompt_tokens, sum(d.completion_tokens) AS completion_tokens\n"
            f"  FROM {DAILY_USER} d\n  WHERE {_OV}\n  GROUP BY d.date\n) s\nORDER BY 1",
            Format.TIME_SERIES,
        ),
        PanelQuery(
            "requests_over_time",
            "Requests and failure rate (per day)",
            f"SELECT $__timeGroupAlias(day, '1d'), requests, failed,\n"
            f"  failed::float8 / NULLIF(requests, 0) AS failure_rate\n"
            f"FROM (\n"
            f"  SELECT (d.date || 'T00:00:00Z')::timestamptz AS day,\n"
            f"    sum(d.api_requests) AS requests, sum(d.failed_requests) AS failed\n"
            f"  FROM {DAILY_USER} d\n  WHERE {_OV}\n  GROUP BY d.date\n) s\nORDER BY 1",
            Format.TIME_SERIES,
        ),
        PanelQuery(
            "top_users",
            "Top users",
            f"SELECT COALESCE(NULLIF(d.user_id, ''), '(no user)') AS user_id, sum(d.spend) AS spend,\n"
            f"  sum(d.api_requests) AS requests, sum(d.prompt_tokens + d.completion_tokens) AS tokens\n"
            f"FROM {DAILY_USER} d\nWHERE {_OV}\nGROUP BY 1\nORDER BY spend DESC, user_id\nLIMIT 10",
            Format.TABLE,
        ),
        PanelQuery(
            "key_budgets",
            "Remaining budget per key",
            f"SELECT {_KEY_LABEL} AS key_alias, COALESCE(t.team_alias, k.team_id) AS team,\n"
            f"  k.max_budget, k.spend AS budget_period_spend, k.max_budget - k.spend AS remaining,\n"
            f"  k.budget_reset_at, COALESCE(r.spend, 0) AS spend_in_range\n"
            f"FROM {TOKENS} k\n"
            f"LEFT JOIN {TEAMS} t ON t.team_id = k.team_id\n"
            f"LEFT JOIN (\n"
            f"  SELECT d.api_key, sum(d.spend) AS spend FROM {DAILY_USER} d\n"
            f"  WHERE {_days('d')} GROUP BY d.api_key\n"
            f") r ON r.api_key = k.token\n"
            f"WHERE {_NOT_EXPIRED_OR_BLOCKED}\n"
            f"  AND {_all_or('team', 'k.team_id IN ($team)')}\n"
            f"  AND {_all_or('key_alias', 'k.key_alias IN ($key_alias)')}\n"
            f"ORDER BY remaining ASC NULLS LAST, key_alias",
            Format.TABLE,
        ),
        PanelQuery(
            "team_budgets",
            "Remaining budget per team",
            f"SELECT COALESCE(t.team_alias, t.team_id) AS team, t.max_budget, t.spend AS budget_period_spend,\n"
            f"  t.max_budget - t.spend AS remaining, t.budget_reset_at, COALESCE(r.spend, 0) AS spend_in_range\n"
            f"FROM {TEAMS} t\n"
            f"LEFT JOIN (\n"
            f"  SELECT d.team_id, sum(d.spend) AS spend FROM {DAILY_TEAM} d\n"
            f"  WHERE {_days('d')} GROUP BY d.team_id\n"
            f") r ON r.team_id = t.team_id\n"
            f"WHERE t.blocked IS NOT TRUE AND {_all_or('team', 't.team_id IN ($team)')}\n"
            f"ORDER BY remaining ASC NULLS LAST, team",
            Format.TABLE,
        ),
        PanelQuery(
            "recent_failures",
            "Recent failed requests",
            f'SELECT l."startTime" AS "time", {_KEY_LABEL} AS key_alias, l.model,\n'
            f"  COALESCE(t.team_alias, l.team_id) AS team,\n"
            f"  l.metadata -> 'error_information' ->> 'error_code' AS error_code,\n"
            f"  l.metadata -> 'error_information' ->> 'error_class' AS error_class\n"
            f"FROM {SPEND_LOGS} l\n"
            f"LEFT JOIN {TOKENS} k ON k.token = l.api_key\n"
            f"LEFT JOIN {TEAMS} t ON t.team_id = l.team_id\n"
            f"WHERE $__timeFilter(l.\"startTime\") AND l.status = 'failure'\n"
            f"  AND {_all_or('team', 'l.team_id IN ($team)')}\n"
            f"  AND {_key_alias_filter('l.api_key')}\n"
            f"  AND {_all_or('model', 'l.model IN ($model)')}\n"
            f'ORDER BY l."startTime" DESC\nLIMIT 50',
            Format.TABLE,
        ),
    ),
)

# --- Team view ---------------------------------------------------------------------------

_TEAM = "'${team}'"


def _team_filter(alias: str) -> str:
    """One team (the `team` variable) plus the key alias and model filters, on DailyTeamSpend."""
    return (
        f"{alias}.team_id = {_TEAM} AND {_days(alias)}\n"
        f"  AND {_key_alias_filter(alias + '.api_key')}\n"
        f"  AND {_all_or('model', alias + '.model IN ($model)')}"
    )


_TV = _team_filter("d")

TEAM_VIEW = DashboardQueries(
    variables=(
        Variable(
            "team",
            "Team",
            f"SELECT team_id AS __value, COALESCE(team_alias, team_id) AS __text FROM {TEAMS} ORDER BY 2",
            multi=False,
            include_all=False,
        ),
        Variable(
            "key_alias",
            "Key alias",
            f"SELECT DISTINCT key_alias FROM {TOKENS}\nWHERE key_alias IS NOT NULL AND team_id = {_TEAM}\nORDER BY 1",
            multi=True,
            include_all=True,
        ),
        Variable(
            "model",
            "Model",
            f"SELECT DISTINCT d.model FROM {DAILY_TEAM} d\n"
            f"WHERE d.model IS NOT NULL AND d.team_id = {_TEAM} AND {_days('d')}\nORDER BY 1",
            multi=True,
            include_all=True,
            refresh_on_time_range=True,
        ),
    ),
    panels=(
        PanelQuery(
            "budget_gauge",
            "Budget used (current budget period)",
            f"SELECT 100 * t.spend / NULLIF(t.max_budget, 0) AS budget_used\nFROM {TEAMS} t\nWHERE t.team_id = {_TEAM}",
            Format.TABLE,
            time_bounded=False,
        ),
        PanelQuery(
            "budget",
            "Budget",
            f"SELECT t.max_budget, t.spend AS budget_period_spend, t.max_budget - t.spend AS remaining,\n"
            f"  (SELECT COALESCE(sum(d.spend), 0) FROM {DAILY_TEAM} d WHERE {_TV}) AS spend_in_range\n"
            f"FROM {TEAMS} t\nWHERE t.team_id = {_TEAM}",
            Format.TABLE,
        ),
        PanelQuery(
            "spend_vs_budget",
            "Spend vs budget over time",
            f"SELECT $__timeGroupAlias(day, '1d'), sum(spend) OVER (ORDER BY day) AS cumulative_spend,\n"
            f"  (SELECT t.max_budget FROM {TEAMS} t WHERE t.team_id = {_TEAM}) AS max_budget\n"
            f"FROM (\n"
            f"  SELECT (d.date || 'T00:00:00Z')::timestamptz AS day, sum(d.spend) AS spend\n"
            f"  FROM {DAILY_TEAM} d\n  WHERE {_TV}\n  GROUP BY d.date\n) s\nORDER BY 1",
            Format.TIME_SERIES,
        ),
        PanelQuery(
            "usage_by_model",
            "Usage by model",
            f"SELECT COALESCE(NULLIF(d.model, ''), '(unknown)') AS model, sum(d.spend) AS spend,\n"
            f"  sum(d.api_requests) AS requests, sum(d.failed_requests) AS failed,\n"
            f"  sum(d.prompt_tokens) AS prompt_tokens, sum(d.completion_tokens) AS completion_tokens\n"
            f"FROM {DAILY_TEAM} d\nWHERE {_TV}\nGROUP BY 1\nORDER BY spend DESC, model",
            Format.TABLE,
        ),
        PanelQuery(
            "usage_by_key",
            "Usage by key",
            f"SELECT {_KEY_LABEL} AS key_alias, sum(s.spend) AS spend, sum(s.requests) AS requests,\n"
            f"  sum(s.prompt_tokens) AS prompt_tokens, sum(s.completion_tokens) AS completion_tokens\n"
            f"FROM (\n"
            f"  SELECT d.api_key, sum(d.spend) AS spend, sum(d.api_requests) AS requests,\n"
            f"    sum(d.prompt_tokens) AS prompt_tokens, sum(d.completion_tokens) AS completion_tokens\n"
            f"  FROM {DAILY_TEAM} d\n  WHERE {_TV}\n  GROUP BY d.api_key\n) s\n"
            f"LEFT JOIN {TOKENS} k ON k.token = s.api_key\n"
            f"GROUP BY 1\nORDER BY spend DESC, key_alias",
            Format.TABLE,
        ),
        PanelQuery(
            "spend_by_model_over_time",
            "Spend by model over time (per day)",
            f"SELECT $__timeGroupAlias(day, '1d'), metric, spend\n"
            f"FROM (\n"
            f"  SELECT (d.date || 'T00:00:00Z')::timestamptz AS day,\n"
            f"    COALESCE(NULLIF(d.model, ''), '(unknown)') AS metric, sum(d.spend) AS spend\n"
            f"  FROM {DAILY_TEAM} d\n  WHERE {_TV}\n  GROUP BY 1, 2\n) s\nORDER BY 1, 2",
            Format.TIME_SERIES,
        ),
    ),
)
