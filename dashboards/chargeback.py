"""Chargeback: spend per cost centre and team per calendar month, as one table to export.

The query (`dashboards.spend_queries.CHARGEBACK`) reads the reporting schema's chargeback
grain (`daily_charge`) with the stack's declared tenants (dashboards/declared.py) and widens
the time range to whole calendar months (UTC). Spend of teams not declared, or of no team,
shows under the cost centre `undeclared` (requests without a team as "(no team)"); a deleted
key or team keeps its team. The panel is a plain table with one row per (month, cost centre,
team) and raw numbers, so Grafana's panel menu Inspect -> Data -> "Download CSV" exports it;
`python -m tools.chargeback` writes the FOCUS 1.3 export (docs/chargeback.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dashboards.spend_panels import SpendPanels, to_json
from dashboards.spend_queries import CHARGEBACK

if TYPE_CHECKING:
    from dashboards.sources import DashboardSources

UID = "llm-spend-chargeback"
FILENAME = "llm-spend-chargeback.json"
CSV_HINT = "Export: panel menu -> Inspect -> Data -> Download CSV (one row per month, cost centre and team)."


def build(sources: DashboardSources) -> dict[str, Any]:
    p = SpendPanels.of(sources, CHARGEBACK)
    panel = p.spend_table("team_month", width=24, height=16).description(
        "Spend per cost centre and team per calendar month (UTC), whole months of the selected range. " + CSV_HINT
    )
    builder = p.dashboard(
        "LLM chargeback (spend per cost centre and team per month)",
        UID,
        "Monthly spend per cost centre and team from the reporting schema, for chargeback. " + CSV_HINT,
        note=CSV_HINT,
        extra_tags=("chargeback",),
        time=("now-3M/M", "now/M"),
        refresh=None,
    ).with_panel(panel)
    return to_json(builder)
