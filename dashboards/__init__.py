"""Dashboards as code: one module per dashboard, registered here.

Each entry names the file the dashboard is delivered as (ConfigMap key and
`tools.preview --out` file) and a pure function building the Grafana
dashboard JSON model from the `DashboardSources` it queries. Beside them: the
panel kits (`prometheus_panels`, `spend_panels`, `postgres_query`), the spend
queries (`spend_queries`, made of `spend_sql`'s pieces) and the reporting schema's
names (`reporting_schema`), which the reporting component imports from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dashboards import budgets, chargeback, models, operations, spend_overview, team_view
from dashboards.sources import DashboardSources


@dataclass(frozen=True)
class DashboardSpec:
    uid: str
    filename: str
    """ConfigMap data key and preview file name, e.g. `llm-spend-overview.json`."""
    build: Callable[[DashboardSources], dict[str, Any]]


def all_dashboards() -> list[DashboardSpec]:
    """Every dashboard the gateway ships (each builds its JSON from the sources it queries)."""
    return [
        # Spend, on the reporting schema (PostgreSQL).
        DashboardSpec(spend_overview.UID, spend_overview.FILENAME, spend_overview.build),
        DashboardSpec(team_view.UID, team_view.FILENAME, team_view.build),
        DashboardSpec(chargeback.UID, chargeback.FILENAME, chargeback.build),
        # Prometheus.
        DashboardSpec(operations.UID, operations.FILENAME, operations.build),
        DashboardSpec(models.UID, models.FILENAME, models.build),
        DashboardSpec(budgets.UID, budgets.FILENAME, budgets.build),
    ]
