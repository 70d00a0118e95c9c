"""Team view: one team's budget and usage.

Panels (queries in `dashboards.spend_queries.TEAM_VIEW`): the team's budget gauge
(share of `max_budget` spent in the current budget period; "unlimited" without a
budget), its budget figures with the spend in the selected range, spend vs budget
over time (cumulative spend in the range against `max_budget`), usage by model,
by key (alias) and spend by model over time. The `team` variable (one team)
filters every panel; `key_alias` and `model` (multi-value, All) narrow them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dashboards.spend_panels import (
    SPEND_UNIT,
    budget_overrides,
    currency_columns,
    datasource_ref,
    freshness_panel,
    gauge_panel,
    header,
    query_variable,
    table_panel,
    timeseries_panel,
    to_json,
)
from dashboards.spend_queries import TEAM_VIEW

if TYPE_CHECKING:
    from dashboards.sources import DashboardSources

UID = "llm-spend-team"
FILENAME = "llm-spend-team.json"


def build(sources: DashboardSources) -> dict[str, Any]:
    ds = datasource_ref(sources)
    q = TEAM_VIEW.panel
    builder = (
        header("LLM spend by team", UID, "One LiteLLM team: budget, spend vs budget, usage by model and key.")
        .with_variable(query_variable(ds, TEAM_VIEW.variables[0]))
        .with_variable(query_variable(ds, TEAM_VIEW.variables[1]))
        .with_variable(query_variable(ds, TEAM_VIEW.variables[2]))
        .with_panel(freshness_panel())
        .with_panel(gauge_panel(ds, q("budget_gauge"), width=8))
        .with_panel(
            currency_columns(
                budget_overrides(table_panel(ds, q("budget"), width=16), "max_budget", "remaining"),
                "budget_period_spend",
                "spend_in_range",
            )
        )
        .with_panel(timeseries_panel(ds, q("spend_vs_budget"), SPEND_UNIT, width=24, bars=False))
        .with_panel(currency_columns(table_panel(ds, q("usage_by_model")), "spend"))
        .with_panel(currency_columns(table_panel(ds, q("usage_by_key")), "spend"))
        .with_panel(timeseries_panel(ds, q("spend_by_model_over_time"), SPEND_UNIT, width=24))
    )
    return to_json(builder)
