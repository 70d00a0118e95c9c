"""Chargeback: spend per team per calendar month, as one table to export.

The query (`dashboards.spend_queries.CHARGEBACK`) reads the reporting schema's
per-day team rollup and widens the time range to whole calendar months (UTC);
requests without a team show as "(no team)". The panel is a plain table with one
row per (month, team) and raw numbers, so Grafana's panel menu Inspect -> Data ->
"Download CSV" exports exactly the monthly chargeback report (no script needed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dashboards.spend_panels import SpendPanels, to_json
from dashboards.spend_queries import CHARGEBACK

if TYPE_CHECKING:
    from dashboards.sources import DashboardSources

UID = "llm-spend-chargeback"
FILENAME = "llm-spend-chargeback.json"
CSV_HINT = "Export: panel menu -> Inspect -> Data -> Download CSV (one row per month and team)."


def build(sources: DashboardSources) -> dict[str, Any]:
    p = SpendPanels.of(sources, CHARGEBACK)
    panel = p.spend_table("team_month", width=24, height=16).description(
        "Spend per team per calendar month (UTC), whole months of the selected range. " + CSV_HINT
    )
    builder = p.dashboard(
        "LLM chargeback (spend per team per month)",
        UID,
        "Monthly spend per team from the reporting schema, for chargeback. " + CSV_HINT,
        note=CSV_HINT,
        extra_tags=("chargeback",),
        time=("now-3M/M", "now/M"),
        refresh=None,
    ).with_panel(panel)
    return to_json(builder)
