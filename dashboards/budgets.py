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

QUERIES: dict[str, str] = {
    "key_remaining_percent": (
        f"min by ({KEY}) (litellm_remaining_api_key_budget_metric) "
        f"/ max by ({KEY}) (litellm_api_key_max_budget_metric > 0) * 100"
    ),
    "team_remaining_percent": (
        f"min by ({TEAM}) (litellm_remaining_team_budget_metric) "
        f"/ max by ({TEAM}) (litellm_team_max_budget_metric > 0) * 100"
    ),
    "key_remaining_usd": f"min by ({KEY}) (litellm_remaining_api_key_budget_metric)",
    "key_max_usd": f"max by ({KEY}) (litellm_api_key_max_budget_metric)",
    "team_remaining_usd": f"min by ({TEAM}) (litellm_remaining_team_budget_metric)",
    "team_max_usd": f"max by ({TEAM}) (litellm_team_max_budget_metric)",
}

THRESHOLDS = ((None, "red"), (10.0, "orange"), (25.0, "green"))


def build(sources: DashboardSources) -> dict[str, Any]:
    q = QUERIES
    dashboard = (
        base("LLM Gateway / Budgets", UID, "Remaining LiteLLM key and team budgets (Prometheus).")
        .with_row(db.Row("Keys"))
        .with_panel(
            gauge_panel(
                "Key budget remaining",
                q["key_remaining_percent"],
                "{{api_key_alias}}",
                "percent",
                maximum=100,
                thresholds=THRESHOLDS,
                width=24,
            )
        )
        .with_panel(
            table_panel(
                "Key budgets (USD)",
                [(q["key_remaining_usd"], ""), (q["key_max_usd"], "")],
                rename={"Value #A": "remaining", "Value #B": "max budget"},
            )
        )
        .with_row(db.Row("Teams"))
        .with_panel(
            gauge_panel(
                "Team budget remaining",
                q["team_remaining_percent"],
                "{{team_alias}}",
                "percent",
                maximum=100,
                thresholds=THRESHOLDS,
                width=24,
            )
        )
        .with_panel(
            table_panel(
                "Team budgets (USD)",
                [(q["team_remaining_usd"], ""), (q["team_max_usd"], "")],
                rename={"Value #A": "remaining", "Value #B": "max budget"},
            )
        )
    )
    return render(dashboard)
