"""The naive equivalents of the spend panels: the same answers from the raw log.

What a dashboard written straight against `"LiteLLM_SpendLogs"` runs (the shape of
LiteLLM's community dashboards). The tests check that each panel and its naive
twin agree on day-aligned ranges (each twin scans the log once: a per-team
correlated subquery would be slower still, but no fairer) (run as the database owner:
grafana_ro cannot read these tables); `bench/spend_queries.py` times both.
Same variables and macros as the panels, so both render through `grafana_sql`.
"""

from __future__ import annotations

from dashboards.spend_queries import ALL_VALUE, TOP_KEYS

SPEND_LOGS = '"LiteLLM_SpendLogs"'
TOKENS = '"LiteLLM_VerificationToken"'
TEAMS = '"LiteLLM_TeamTable"'

_RANGE = '$__timeFilter(l."startTime")'


def _all_or(var: str, condition: str) -> str:
    return f"({ALL_VALUE} IN (${var}) OR {condition})"


_OV = (
    f"{_RANGE}\n"
    f"  AND {_all_or('team', f'l.api_key IN (SELECT token FROM {TOKENS} WHERE team_id IN ($team))')}\n"
    f"  AND {_all_or('key_alias', f'l.api_key IN (SELECT token FROM {TOKENS} WHERE key_alias IN ($key_alias))')}\n"
    f"  AND {_all_or('model', 'l.model IN ($model)')}"
)
_TV = (
    f"l.team_id = '${{team}}' AND {_RANGE}\n"
    f"  AND {_all_or('key_alias', f'l.api_key IN (SELECT token FROM {TOKENS} WHERE key_alias IN ($key_alias))')}\n"
    f"  AND {_all_or('model', 'l.model IN ($model)')}"
)
_KEY = "COALESCE(k.key_alias, k.key_name, '(unknown key)')"
_LIVE = "(k.expires IS NULL OR k.expires > (now() AT TIME ZONE 'UTC')) AND k.blocked IS NOT TRUE"
_DAY = "$__timeGroupAlias(l.\"startTime\", '1d')"
_DAY_GROUP = "$__timeGroup(l.\"startTime\", '1d')"

OVERVIEW_NAIVE: dict[str, str] = {
    "total_spend": f"SELECT COALESCE(sum(l.spend), 0) AS spend FROM {SPEND_LOGS} l WHERE {_OV}",
    "total_requests": (
        "SELECT count(*) AS requests, count(*) FILTER (WHERE l.status = 'failure') AS failed,\n"
        "  COALESCE(count(*) FILTER (WHERE l.status = 'failure')::float8 / NULLIF(count(*), 0), 0) AS failure_rate\n"
        f"FROM {SPEND_LOGS} l WHERE {_OV}"
    ),
    "spend_over_time": f"SELECT {_DAY}, sum(l.spend) AS spend FROM {SPEND_LOGS} l WHERE {_OV} GROUP BY 1 ORDER BY 1",
    "spend_by_model": (
        f"SELECT COALESCE(NULLIF(l.model, ''), '(unknown)') AS model, sum(l.spend) AS spend FROM {SPEND_LOGS} l\n"
        f"WHERE {_OV} GROUP BY 1 ORDER BY spend DESC, model"
    ),
    "spend_by_key": (
        f"SELECT {_KEY} AS key_alias, sum(l.spend) AS spend, count(*) AS requests FROM {SPEND_LOGS} l\n"
        f"LEFT JOIN {TOKENS} k ON k.token = l.api_key WHERE {_OV} GROUP BY 1 ORDER BY spend DESC, key_alias\n"
        f"LIMIT {TOP_KEYS}"
    ),
    "spend_by_team": (
        f"SELECT COALESCE(t.team_alias, l.team_id) AS team, sum(l.spend) AS spend, count(*) AS requests\n"
        f"FROM {SPEND_LOGS} l LEFT JOIN {TEAMS} t ON t.team_id = l.team_id\n"
        f"WHERE l.team_id IS NOT NULL AND {_RANGE}\n"
        f"  AND {_all_or('team', 'l.team_id IN ($team)')}\n"
        f"  AND {_all_or('key_alias', f'l.api_key IN (SELECT token FROM {TOKENS} WHERE key_alias IN ($key_alias))')}\n"
        f"  AND {_all_or('model', 'l.model IN ($model)')}\n"
        f"GROUP BY l.team_id, t.team_alias ORDER BY spend DESC, team"
    ),
    "tokens_over_time": (
        f"SELECT {_DAY}, sum(l.prompt_tokens) AS prompt_tokens, sum(l.completion_tokens) AS completion_tokens\n"
        f"FROM {SPEND_LOGS} l WHERE {_OV} GROUP BY 1 ORDER BY 1"
    ),
    "requests_over_time": (
        f"SELECT {_DAY}, count(*) AS requests, count(*) FILTER (WHERE l.status = 'failure') AS failed,\n"
        "  count(*) FILTER (WHERE l.status = 'failure')::float8 / NULLIF(count(*), 0) AS failure_rate\n"
        f"FROM {SPEND_LOGS} l WHERE {_OV} GROUP BY 1 ORDER BY 1"
    ),
    "top_users": (
        "SELECT COALESCE(NULLIF(l.\"user\", ''), '(no user)') AS user_id, sum(l.spend) AS spend,\n"
        "  count(*) AS requests,"
        f"  sum(l.prompt_tokens + l.completion_tokens) AS tokens FROM {SPEND_LOGS} l\n"
        f"WHERE {_OV} GROUP BY 1 ORDER BY spend DESC, user_id LIMIT 10"
    ),
    "key_budgets": (
        f"SELECT {_KEY} AS key_alias, COALESCE(t.team_alias, k.team_id) AS team, k.max_budget,\n"
        "  k.spend AS budget_period_spend, k.max_budget - k.spend AS remaining, k.budget_reset_at,\n"
        "  COALESCE(r.spend, 0) AS spend_in_range\n"
        f"FROM {TOKENS} k LEFT JOIN {TEAMS} t ON t.team_id = k.team_id\n"
        f"LEFT JOIN (SELECT l.api_key, sum(l.spend) AS spend FROM {SPEND_LOGS} l WHERE {_RANGE} GROUP BY 1) r"
        " ON r.api_key = k.token\n"
        f"WHERE {_LIVE} AND {_all_or('team', 'k.team_id IN ($team)')}\n"
        f"  AND {_all_or('key_alias', 'k.key_alias IN ($key_alias)')}\n"
        f"ORDER BY remaining ASC NULLS LAST, key_alias\nLIMIT {TOP_KEYS}"
    ),
    "team_budgets": (
        "SELECT COALESCE(t.team_alias, t.team_id) AS team, t.max_budget, t.spend AS budget_period_spend,\n"
        "  t.max_budget - t.spend AS remaining, t.budget_reset_at, COALESCE(r.spend, 0) AS spend_in_range\n"
        f"FROM {TEAMS} t\n"
        f"LEFT JOIN (SELECT l.team_id, sum(l.spend) AS spend FROM {SPEND_LOGS} l WHERE {_RANGE} GROUP BY 1) r"
        " ON r.team_id = t.team_id\n"
        f"WHERE t.blocked IS NOT TRUE AND {_all_or('team', 't.team_id IN ($team)')}\n"
        "ORDER BY remaining ASC NULLS LAST, team"
    ),
    # The panel itself reads the raw log (newest failures, LIMIT 50); the naive form
    # lists every failure of the range, unbounded.
    "recent_failures": (
        f'SELECT l."startTime" AS "time", {_KEY} AS key_alias, l.model, COALESCE(t.team_alias, l.team_id) AS team,\n'
        "  l.metadata -> 'error_information' ->> 'error_code' AS error_code,\n"
        "  l.metadata -> 'error_information' ->> 'error_class' AS error_class\n"
        f"FROM {SPEND_LOGS} l LEFT JOIN {TOKENS} k ON k.token = l.api_key\n"
        f"LEFT JOIN {TEAMS} t ON t.team_id = l.team_id\n"
        f"WHERE {_OV} AND l.status = 'failure'\n"
        'ORDER BY l."startTime" DESC'
    ),
}

TEAM_VIEW_NAIVE: dict[str, str] = {
    "budget_gauge": f"SELECT 100 * t.spend / NULLIF(t.max_budget, 0) AS budget_used FROM {TEAMS} t"
    " WHERE t.team_id = '${team}'",
    "budget": (
        "SELECT t.max_budget, t.spend AS budget_period_spend, t.max_budget - t.spend AS remaining,\n"
        f"  (SELECT COALESCE(sum(l.spend), 0) FROM {SPEND_LOGS} l WHERE {_TV}) AS spend_in_range\n"
        f"FROM {TEAMS} t WHERE t.team_id = '${{team}}'"
    ),
    "spend_vs_budget": (
        f'SELECT day AS "time", sum(spend) OVER (ORDER BY day) AS cumulative_spend,\n'
        f"  (SELECT t.max_budget FROM {TEAMS} t WHERE t.team_id = '${{team}}') AS max_budget\n"
        f"FROM (SELECT {_DAY_GROUP} AS day, sum(l.spend) AS spend"
        f" FROM {SPEND_LOGS} l WHERE {_TV} GROUP BY 1) s ORDER BY 1"
    ),
    "usage_by_model": (
        "SELECT COALESCE(NULLIF(l.model, ''), '(unknown)') AS model, sum(l.spend) AS spend, count(*) AS requests,\n"
        "  count(*) FILTER (WHERE l.status = 'failure') AS failed, sum(l.prompt_tokens) AS prompt_tokens,\n"
        f"  sum(l.completion_tokens) AS completion_tokens FROM {SPEND_LOGS} l WHERE {_TV}\n"
        "GROUP BY 1 ORDER BY spend DESC, model"
    ),
    "usage_by_key": (
        f"SELECT {_KEY} AS key_alias, sum(l.spend) AS spend, count(*) AS requests,\n"
        "  sum(l.prompt_tokens) AS prompt_tokens, sum(l.completion_tokens) AS completion_tokens\n"
        f"FROM {SPEND_LOGS} l LEFT JOIN {TOKENS} k ON k.token = l.api_key WHERE {_TV}\n"
        "GROUP BY 1 ORDER BY spend DESC, key_alias"
    ),
    "spend_by_model_over_time": (
        f"SELECT {_DAY}, COALESCE(NULLIF(l.model, ''), '(unknown)') AS metric, sum(l.spend) AS spend\n"
        f"FROM {SPEND_LOGS} l WHERE {_TV} GROUP BY 1, 2 ORDER BY 1, 2"
    ),
}

CHARGEBACK_NAIVE: dict[str, str] = {
    "team_month": (
        "SELECT to_char(l.\"startTime\", 'YYYY-MM') AS month, COALESCE(t.team_alias, k.team_id, '(no team)') AS team,\n"
        "  k.team_id, sum(l.spend) AS spend, count(*) AS requests, sum(l.prompt_tokens) AS prompt_tokens,\n"
        "  sum(l.completion_tokens) AS completion_tokens\n"
        f"FROM {SPEND_LOGS} l LEFT JOIN {TOKENS} k ON k.token = l.api_key LEFT JOIN {TEAMS} t ON t.team_id = k.team_id\n"
        "WHERE l.\"startTime\" >= date_trunc('month', $__timeFrom()::timestamptz AT TIME ZONE 'UTC')\n"
        "  AND l.\"startTime\" < date_trunc('month', $__timeTo()::timestamptz AT TIME ZONE 'UTC') + interval '1 month'\n"
        "GROUP BY 1, 2, 3 ORDER BY month, spend DESC, team"
    ),
}
