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

from dashboards.spend_panels import SPEND_UNIT, SpendPanels, to_json
from dashboards.spend_queries import TEAM_VIEW

if TYPE_CHECKING:
    from dashboards.sources import DashboardSources

UID = "llm-spend-team"
FILENAME = "llm-spend-team.json"


def build(sources: DashboardSources) -> dict[str, Any]:
    p = SpendPanels.of(sources, TEAM_VIEW)
    builder = (
        p.dashboard("LLM spend by team", UID, "One LiteLLM team: budget, spend vs budget, usage by model and key.")
        .with_panel(p.gauge_panel("budget_gauge", width=8))
        .with_panel(p.budget_table("budget", width=16))
        .with_panel(p.timeseries_panel("spend_vs_budget", SPEND_UNIT, width=24, bars=False))
        .with_panel(p.spend_table("usage_by_model"))
        .with_panel(p.spend_table("usage_by_key"))
        .with_panel(p.timeseries_panel("spend_by_model_over_time", SPEND_UNIT, width=24))
    )
    return to_json(builder)
