"""The team view's queries (dashboards/team_view.py): one team, on `daily_detail`.

Written with dashboards/spend_sql.py's vocabulary like the overview's (dashboards/spend_queries.py,
which offers `TEAM_VIEW` beside the others). The team view's `team` is single-valued without
All: Grafana then doubles quotes and leaves the value bare, so queries write `'${team}'`.
"""

from __future__ import annotations

from dashboards import reporting_schema as rs
from dashboards.postgres_query import Format
from dashboards.spend_sql import DashboardQueries, PanelQuery, Variable, filter_on, in_days

_KEY_LABEL = rs.key_label("k")

_TEAM = "'${team}'"


def _team_filter(alias: str) -> str:
    """One team (the `team` variable) plus the key alias and model filters, on daily_detail."""
    return (
        f"{alias}.team_id = {_TEAM} AND {in_days(alias)}\n"
        f"  AND {filter_on('key_alias', alias)}\n"
        f"  AND {filter_on('model', alias)}"
    )


_TV = _team_filter("d")
_DETAIL = rs.DETAIL

TEAM_VIEW = DashboardQueries(
    variables=(
        Variable(
            "team",
            "Team",
            f"SELECT team_id AS __value, COALESCE(team_alias, team_id) AS __text FROM {rs.TEAMS} ORDER BY 2",
            multi=False,
            include_all=False,
        ),
        Variable(
            "key_alias",
            "Key alias",
            f"SELECT DISTINCT key_alias FROM {rs.KEYS}\nWHERE key_alias IS NOT NULL AND team_id = {_TEAM}\nORDER BY 1",
            multi=True,
            include_all=True,
        ),
        Variable(
            "model",
            "Model",
            f"SELECT DISTINCT d.model FROM {_DETAIL} d\n"
            f"WHERE d.model IS NOT NULL AND d.team_id = {_TEAM} AND {in_days('d')}\nORDER BY 1",
            multi=True,
            include_all=True,
            refresh_on_time_range=True,
        ),
    ),
    panels=(
        PanelQuery(
            "budget_gauge",
            "Budget used (current budget period)",
            "SELECT 100 * t.spend / NULLIF(t.max_budget, 0) AS budget_used\n"
            f"FROM {rs.TEAMS} t\nWHERE t.team_id = {_TEAM}",
            Format.TABLE,
            time_bounded=False,
        ),
        PanelQuery(
            "budget",
            "Budget",
            f"SELECT t.max_budget, t.spend AS budget_period_spend, t.max_budget - t.spend AS remaining,\n"
            f"  (SELECT COALESCE(sum(d.spend), 0) FROM {_DETAIL} d WHERE {_TV}) AS spend_in_range\n"
            f"FROM {rs.TEAMS} t\nWHERE t.team_id = {_TEAM}",
            Format.TABLE,
        ),
        PanelQuery(
            "spend_vs_budget",
            "Spend vs budget over time",
            f"SELECT $__timeGroupAlias(day, '1d'), sum(spend) OVER (ORDER BY day) AS cumulative_spend,\n"
            f"  (SELECT t.max_budget FROM {rs.TEAMS} t WHERE t.team_id = {_TEAM}) AS max_budget\n"
            f"FROM (\n"
            f"  SELECT d.day::timestamp AT TIME ZONE 'UTC' AS day, sum(d.spend) AS spend\n"
            f"  FROM {_DETAIL} d\n  WHERE {_TV}\n  GROUP BY d.day\n) s\nORDER BY 1",
            Format.TIME_SERIES,
        ),
        PanelQuery(
            "usage_by_model",
            "Usage by model",
            f"SELECT COALESCE(NULLIF(d.model, ''), '(unknown)') AS model, sum(d.spend) AS spend,\n"
            f"  sum(d.requests) AS requests, sum(d.failed) AS failed,\n"
            f"  sum(d.prompt_tokens) AS prompt_tokens, sum(d.completion_tokens) AS completion_tokens\n"
            f"FROM {_DETAIL} d\nWHERE {_TV}\nGROUP BY 1\nORDER BY spend DESC, model",
            Format.TABLE,
        ),
        PanelQuery(
            "usage_by_key",
            "Usage by key",
            f"SELECT {_KEY_LABEL} AS key_alias, sum(s.spend) AS spend, sum(s.requests) AS requests,\n"
            f"  sum(s.prompt_tokens) AS prompt_tokens, sum(s.completion_tokens) AS completion_tokens\n"
            f"FROM (\n"
            f"  SELECT d.key_id, sum(d.spend) AS spend, sum(d.requests) AS requests,\n"
            f"    sum(d.prompt_tokens) AS prompt_tokens, sum(d.completion_tokens) AS completion_tokens\n"
            f"  FROM {_DETAIL} d\n  WHERE {_TV}\n  GROUP BY d.key_id\n) s\n"
            f"LEFT JOIN {rs.KEY_STATE} k ON k.key_id = s.key_id\n"
            f"GROUP BY 1\nORDER BY spend DESC, key_alias",
            Format.TABLE,
        ),
        PanelQuery(
            "spend_by_model_over_time",
            "Spend by model over time (per day)",
            f"SELECT $__timeGroupAlias(day, '1d'), metric, spend\n"
            f"FROM (\n"
            f"  SELECT d.day::timestamp AT TIME ZONE 'UTC' AS day,\n"
            f"    COALESCE(NULLIF(d.model, ''), '(unknown)') AS metric, sum(d.spend) AS spend\n"
            f"  FROM {_DETAIL} d\n  WHERE {_TV}\n  GROUP BY 1, 2\n) s\nORDER BY 1, 2",
            Format.TIME_SERIES,
        ),
    ),
)
