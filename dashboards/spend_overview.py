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

from dashboards.spend_panels import SPEND_UNIT, SpendPanels, to_json
from dashboards.spend_queries import OVERVIEW

if TYPE_CHECKING:
    from dashboards.sources import DashboardSources

UID = "llm-spend-overview"
FILENAME = "llm-spend-overview.json"


def build(sources: DashboardSources) -> dict[str, Any]:
    p = SpendPanels.of(sources, OVERVIEW)
    requests = p.stat_panel("total_requests", "short", width=12).override_by_name(
        "failure_rate", [model.DynamicConfigValue(id_val="unit", value="percentunit")]
    )
    requests_over_time = p.timeseries_panel("requests_over_time", "short").override_by_name(
        "failure_rate",
        [
            model.DynamicConfigValue(id_val="unit", value="percentunit"),
            model.DynamicConfigValue(id_val="custom.axisPlacement", value="right"),
            model.DynamicConfigValue(id_val="custom.drawStyle", value="line"),
        ],
    )
    builder = (
        p.dashboard(
            "LLM spend overview",
            UID,
            "LiteLLM spend from the reporting schema's rollups (PostgreSQL, read-only as grafana_ro).",
        )
        .with_panel(p.stat_panel("total_spend", SPEND_UNIT, width=12))
        .with_panel(requests)
        .with_panel(p.timeseries_panel("spend_over_time", SPEND_UNIT, width=24))
        .with_panel(p.spend_table("spend_by_model"))
        .with_panel(p.spend_table("spend_by_key"))
        .with_panel(p.spend_table("spend_by_team"))
        .with_panel(p.spend_table("top_users"))
        .with_panel(p.timeseries_panel("tokens_over_time", "short"))
        .with_panel(requests_over_time)
        .with_panel(p.budget_table("key_budgets"))
        .with_panel(p.budget_table("team_budgets"))
        .with_panel(p.table_panel("recent_failures", width=24))
    )
    return to_json(builder)
