"""The naive equivalents of the spend panels: the same answers from the raw log.

What a dashboard written straight against `"LiteLLM_SpendLogs"` runs (the shape of
LiteLLM's community dashboards). The tests check that each panel and its naive
twin agree on day-aligned ranges (each twin scans the log once: a per-team
correlated subquery would be slower still, but no fairer) (run as the database owner:
grafana_ro cannot read these tables); `bench/spend_queries.py` times both.
Same variables and macros as the panels, so both render through `grafana_sql`.
"""

from __future__ import annotations

from components.reporting.tenants import literal
from dashboards.declared import NO_TENANTS, Declared
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

DELETED_TOKENS = '"LiteLLM_DeletedVerificationToken"'
_RAW_CHARGE = (
    # every request with its key's alias and team: the live key's, else its last archived row's
    'SELECT l."startTime", l.spend, l.prompt_tokens, l.completion_tokens,\n'
    "    COALESCE(k.key_alias, d.key_alias) AS key_alias, COALESCE(k.team_id, d.team_id) AS team_id\n"
    f"  FROM {SPEND_LOGS} l\n"
    f"  LEFT JOIN {TOKENS} k ON k.token = l.api_key\n"
    f"  LEFT JOIN (SELECT DISTINCT ON (token) token, key_alias, team_id FROM {DELETED_TOKENS}\n"
    "    ORDER BY token, deleted_at DESC) d ON k.token IS NULL AND d.token = l.api_key\n"
    "  WHERE l.\"startTime\" >= date_trunc('month', $__timeFrom()::timestamptz AT TIME ZONE 'UTC')\n"
    "    AND l.\"startTime\" < date_trunc('month', $__timeTo()::timestamptz AT TIME ZONE 'UTC') + interval '1 month'"
)


def _values(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """`rows` as an inline relation, to alias with its `columns` (the twin reads no reporting table)."""
    if not rows:
        return "(SELECT " + ", ".join(f"NULL::text AS {c}" for c in columns) + " WHERE false)"
    values = ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)
    return f"(VALUES {values})"


def chargeback_naive(declared: Declared) -> str:
    """The chargeback panel's twin: the raw log, LiteLLM's key tables and `declared` inlined."""
    keys = _values(("key_alias", "team_id"), [(k.key_alias, k.team_id) for k in declared.keys])
    teams = _values(
        ("team_id", "team_alias", "owner", "cost_centre"),
        [(t.team_id, t.team_alias, t.owner, t.cost_centre) for t in declared.teams],
    )
    return (
        "SELECT to_char(r.\"startTime\", 'YYYY-MM') AS month, COALESCE(dt.cost_centre, 'undeclared') AS cost_centre,\n"
        "  COALESCE(dt.team_alias, t.team_alias, COALESCE(r.team_id, dk.team_id), '(no team)') AS team,\n"
        "  COALESCE(r.team_id, dk.team_id) AS team_id, dt.owner, sum(r.spend) AS spend,\n"
        "  COALESCE(sum(r.spend) FILTER (WHERE dk.key_alias IS NULL), 0) AS undeclared_keys_spend,\n"
        "  count(*) AS requests, sum(r.prompt_tokens) AS prompt_tokens, sum(r.completion_tokens) AS completion_tokens\n"
        f"FROM ({_RAW_CHARGE}) r\n"
        f"LEFT JOIN {keys} AS dk (key_alias, team_id) ON dk.key_alias = regexp_replace(r.key_alias, '~r[0-9]+(~[0-9a-f]{8})?$', '')\n"
        f"LEFT JOIN {teams} AS dt (team_id, team_alias, owner, cost_centre) ON dt.team_id = COALESCE(r.team_id, dk.team_id)\n"
        f"LEFT JOIN {TEAMS} t ON t.team_id = COALESCE(r.team_id, dk.team_id)\n"
        "GROUP BY 1, 2, 3, 4, 5\n"
        "ORDER BY month, COALESCE(dt.cost_centre, 'undeclared') = 'undeclared', 2, spend DESC, team"
    )


CHARGEBACK_NAIVE: dict[str, str] = {"team_month": chargeback_naive(NO_TENANTS)}
