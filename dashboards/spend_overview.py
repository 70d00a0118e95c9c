"""Spend overview: LiteLLM spend, tokens, requests and budgets across the gateway.

Panels (queries in `dashboards.spend_queries.OVERVIEW`): total spend, requests and
failure rate, spend over time, spend by model, by key (alias), by team, tokens
(prompt/completion) over time, requests and failure rate over time, top users,
remaining budget per key and per team (a NULL budget reads "unlimited"; expired
or blocked keys are left out), and the most recent failed requests. Variables
`team`, `key_alias`, `model` (multi-value, All) filter every panel; the time
range is honoured by every query through Grafana's macros.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grafana_foundation_sdk.models import dashboard as model

from dashboards.spend_panels import (
    SPEND_UNIT,
    budget_overrides,
    currency_columns,
    datasource_ref,
    freshness_panel,
    header,
    query_variable,
    stat_panel,
    table_panel,
    timeseries_panel,
    to_json,
)
from dashboards.spend_queries import OVERVIEW

if TYPE_CHECKING:
    from dashboards.sources import DashboardSources

UID = "llm-spend-overview"
FILENAME = "llm-spend-overview.json"


def build(sources: DashboardSources) -> dict[str, Any]:
    ds = datasource_ref(sources)
    q = OVERVIEW.panel
    requests = stat_panel(ds, q("total_requests"), "short", width=12).override_by_name(
        "failure_rate", [model.DynamicConfigValue(id_val="unit", value="percentunit")]
    )
    requests_over_time = timeseries_panel(ds, q("requests_over_time"), "short").override_by_name(
        "failure_rate",
        [
            model.DynamicConfigValue(id_val="unit", value="percentunit"),
            model.DynamicConfigValue(id_val="custom.axisPlacement", value="right"),
            model.DynamicConfigValue(id_val="custom.drawStyle", value="line"),
        ],
    )
    builder = (
        header(
            "LLM spend overview",
            UID,
            "LiteLLM spend from the reporting schema's rollups (PostgreSQL, read-only as grafana_ro).",
        )
        .with_variable(query_variable(ds, OVERVIEW.variables[0]))
        .with_variable(query_variable(ds, OVERVIEW.variables[1]))
        .with_variable(query_variable(ds, OVERVIEW.variables[2]))
        .with_panel(freshness_panel())
        .with_panel(stat_panel(ds, q("total_spend"), SPEND_UNIT, width=12))
        .with_panel(requests)
        .with_panel(timeseries_panel(ds, q("spend_over_time"), SPEND_UNIT, width=24))
        .with_panel(currency_columns(table_panel(ds, q("spend_by_model")), "spend"))
        .with_panel(currency_columns(table_panel(ds, q("spend_by_key")), "spend"))
        .with_panel(currency_columns(table_panel(ds, q("spend_by_team")), "spend"))
        .with_panel(currency_columns(table_panel(ds, q("top_users")), "spend"))
        .with_panel(timeseries_panel(ds, q("tokens_over_time"), "short"))
        .with_panel(requests_over_time)
        .with_panel(
            currency_columns(
                budget_overrides(table_panel(ds, q("key_budgets"), width=24), "max_budget", "remaining"),
                "budget_period_spend",
                "spend_in_range",
            )
        )
        .with_panel(
            currency_columns(
                budget_overrides(table_panel(ds, q("team_budgets"), width=24), "max_budget", "remaining"),
                "budget_period_spend",
                "spend_in_range",
            )
        )
        .with_panel(table_panel(ds, q("recent_failures"), width=24))
    )
    return to_json(builder)
