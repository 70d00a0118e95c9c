"""Budgets: remaining key and team budgets from LiteLLM's budget gauges.

`litellm_remaining_*_budget_metric` is the remaining USD; `litellm_*_max_budget_metric`
the configured max budget (keys and teams without a max budget are left out of
the percentages). Every query is in `QUERIES`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grafana_foundation_sdk.builders import dashboard as db

from dashboards.prometheus_panels import base, gauge_panel, render, table_panel

if TYPE_CHECKING:
    from dashboards.sources import DashboardSources

UID = "llm-gateway-budgets"
FILENAME = "llm-gateway-budgets.json"

KEY = "api_key_alias, hashed_api_key"
TEAM = "team_alias, team"


def _budget_queries(prefix: str, by: str, remaining: str, maximum: str) -> dict[str, str]:
    """Remaining budget in % of the max budget (those without one left out), remaining and max in USD."""
    return {
        f"{prefix}_remaining_percent": f"min by ({by}) ({remaining}) / max by ({by}) ({maximum} > 0) * 100",
        f"{prefix}_remaining_usd": f"min by ({by}) ({remaining})",
        f"{prefix}_max_usd": f"max by ({by}) ({maximum})",
    }


QUERIES: dict[str, str] = {
    **_budget_queries("key", KEY, "litellm_remaining_api_key_budget_metric", "litellm_api_key_max_budget_metric"),
    **_budget_queries("team", TEAM, "litellm_remaining_team_budget_metric", "litellm_team_max_budget_metric"),
}

THRESHOLDS = ((None, "red"), (10.0, "orange"), (25.0, "green"))
SECTIONS = (("Keys", "Key", "key", "{{api_key_alias}}"), ("Teams", "Team", "team", "{{team_alias}}"))
"""(row, panel title, query prefix, gauge legend) per section."""


def build(sources: DashboardSources) -> dict[str, Any]:
    q = QUERIES
    dashboard = base("LLM Gateway / Budgets", UID, "Remaining LiteLLM key and team budgets (Prometheus).")
    for row, title, prefix, legend in SECTIONS:
        dashboard = (
            dashboard.with_row(db.Row(row))
            .with_panel(
                gauge_panel(
                    f"{title} budget remaining",
                    q[f"{prefix}_remaining_percent"],
                    legend,
                    "percent",
                    maximum=100,
                    thresholds=THRESHOLDS,
                    width=24,
                )
            )
            .with_panel(
                table_panel(
                    f"{title} budgets (USD)",
                    [(q[f"{prefix}_remaining_usd"], ""), (q[f"{prefix}_max_usd"], "")],
                    rename={"Value #A": "remaining", "Value #B": "max budget"},
                )
            )
        )
    return render(dashboard)
