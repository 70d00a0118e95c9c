"""Shared pieces of the spend dashboards (pure builders on grafana-foundation-sdk).

`SpendPanels` builds one dashboard's panels: it holds the datasource reference
(type + the uid from `grafana.datasource_uid`, the one the provisioned datasource
carries) and the dashboard's `DashboardQueries`, and every panel takes its SQL,
title and description from a `PanelQuery` by key, never from a string of its own.
Beside it: the header and template variables, the freshness note and the column
overrides (USD, "unlimited" budgets).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import gauge, stat, table, text, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import text as text_model

from dashboards.postgres_query import DATASOURCE_TYPE, Dataquery
from dashboards.spend_sql import DashboardQueries, PanelQuery, Variable

if TYPE_CHECKING:
    from dashboards.sources import DashboardSources

SPEND_UNIT = "currencyUSD"
UNLIMITED = "unlimited"
TAGS = ("llm-gateway", "litellm", "spend")
FRESHNESS = (
    "Spend figures come from the reporting rollups: they lag LiteLLM by at most the reporting "
    "refresh interval (10 min by default) plus LiteLLM's batch write interval (proxy_batch_write_at, "
    "10-15 s by default); key budgets are as of that refresh too. Team budgets and recent failures are live."
)


def header(
    title: str,
    uid: str,
    description: str,
    *,
    extra_tags: tuple[str, ...] = (),
    time: tuple[str, str] = ("now-30d", "now"),
    refresh: str | None = "5m",
) -> dash.Dashboard:
    """What every spend dashboard starts with: uid, description, tags, a UTC time range
    (spend rollups are per UTC day), read-only; auto-refresh unless `refresh` is None."""
    builder = dash.Dashboard(title).uid(uid).description(description).tags([*TAGS, *extra_tags]).time(*time)
    if refresh is not None:
        builder = builder.refresh(refresh)
    return builder.timezone("utc").readonly()


def datasource_ref(sources: DashboardSources) -> model.DataSourceRef:
    return model.DataSourceRef(type_val=DATASOURCE_TYPE, uid=sources.spend_datasource_uid)


def target(ds: model.DataSourceRef, query: PanelQuery, ref_id: str = "A") -> Dataquery:
    return Dataquery().ref_id(ref_id).datasource(ds).raw_sql(query.sql).format(query.format)


def query_variable(ds: model.DataSourceRef, variable: Variable) -> dash.QueryVariable:
    builder = (
        dash.QueryVariable(variable.name)
        .label(variable.label)
        .datasource(ds)
        .query(variable.sql)
        .multi(variable.multi)
        .include_all(variable.include_all)
        .refresh(
            model.VariableRefresh.ON_TIME_RANGE_CHANGED
            if variable.refresh_on_time_range
            else model.VariableRefresh.ON_DASHBOARD_LOAD
        )
        .sort(model.VariableSort.ALPHABETICAL_CASE_INSENSITIVE_ASC)
    )
    if variable.all_value is not None:
        builder = builder.all_value(variable.all_value)
    return builder


def freshness_panel(extra: str = "") -> text.Panel:
    """A one-line note on how fresh the numbers are (the reporting job's lag)."""
    return (
        text.Panel()
        .title("")
        .mode(text_model.TextMode.MARKDOWN)
        .content(f"**Freshness:** {FRESHNESS}{' ' + extra if extra else ''}")
        .transparent(True)
        .height(2)
        .span(24)
    )


def unlimited_when_null() -> list[model.ValueMapping]:
    """A budget of NULL (no max_budget) reads "unlimited"."""
    return [
        model.SpecialValueMap(
            options=model.DashboardSpecialValueMapOptions(
                match=model.SpecialValueMatch.NULL,
                result=model.ValueMappingResult(text=UNLIMITED, index=0),
            )
        )
    ]


def spend_override(name: str) -> tuple[str, list[model.DynamicConfigValue]]:
    return name, [model.DynamicConfigValue(id_val="unit", value=SPEND_UNIT)]


def budget_overrides(panel: table.Panel, *columns: str) -> table.Panel:
    """Currency columns that show "unlimited" for a NULL budget."""
    for column in columns:
        panel = panel.override_by_name(
            column,
            [
                model.DynamicConfigValue(id_val="unit", value=SPEND_UNIT),
                model.DynamicConfigValue(id_val="mappings", value=unlimited_when_null()),
            ],
        )
    return panel


def currency_columns(panel: table.Panel, *columns: str) -> table.Panel:
    for column in columns:
        panel = panel.override_by_name(*spend_override(column))
    return panel


_Panel = TypeVar("_Panel", stat.Panel, timeseries.Panel, table.Panel, gauge.Panel)


@dataclass(frozen=True)
class SpendPanels:
    """The panels of one spend dashboard: each reads the spend datasource and takes its
    query, title and description from `queries`, by key."""

    ds: model.DataSourceRef
    queries: DashboardQueries

    @classmethod
    def of(cls, sources: DashboardSources, queries: DashboardQueries) -> SpendPanels:
        return cls(datasource_ref(sources), queries)

    def dashboard(
        self,
        title: str,
        uid: str,
        description: str,
        *,
        note: str = "",
        extra_tags: tuple[str, ...] = (),
        time: tuple[str, str] = ("now-30d", "now"),
        refresh: str | None = "5m",
    ) -> dash.Dashboard:
        """The dashboard before its panels: the header, the queries' variables (in order)
        and the freshness note (with `note` after it)."""
        builder = header(title, uid, description, extra_tags=extra_tags, time=time, refresh=refresh)
        for variable in self.queries.variables:
            builder = builder.with_variable(query_variable(self.ds, variable))
        return builder.with_panel(freshness_panel(note))

    def _showing(self, panel: _Panel, key: str) -> _Panel:
        """The panel titled after its query, on the spend datasource, with the query as its target."""
        query = self.queries.panel(key)
        return panel.title(query.title).datasource(self.ds).with_target(target(self.ds, query))

    def stat_panel(self, key: str, unit: str, width: int = 6) -> stat.Panel:
        return self._showing(stat.Panel(), key).unit(unit).reduce_options(_last_value()).height(5).span(width)

    def timeseries_panel(self, key: str, unit: str, width: int = 12, *, bars: bool = True) -> timeseries.Panel:
        return (
            self._showing(timeseries.Panel(), key)
            .unit(unit)
            .height(8)
            .span(width)
            .draw_style(common.GraphDrawStyle.BARS if bars else common.GraphDrawStyle.LINE)
            .fill_opacity(60 if bars else 10)
        )

    def table_panel(self, key: str, width: int = 12, height: int = 8) -> table.Panel:
        """A table; the query's description, if any, is the panel's."""
        panel = self._showing(table.Panel(), key).height(height).span(width)
        description = self.queries.panel(key).description
        return panel.description(description) if description else panel

    def spend_table(self, key: str, width: int = 12, height: int = 8) -> table.Panel:
        """A table whose `spend` column is in USD."""
        return currency_columns(self.table_panel(key, width=width, height=height), "spend")

    def budget_table(self, key: str, width: int = 24) -> table.Panel:
        """A table of budget figures: max_budget and remaining in USD ("unlimited" when NULL),
        the budget period's spend and the range's spend in USD."""
        panel = budget_overrides(self.table_panel(key, width=width), "max_budget", "remaining")
        return currency_columns(panel, "budget_period_spend", "spend_in_range")

    def gauge_panel(self, key: str, width: int = 6) -> gauge.Panel:
        """Percent of a budget used: green, orange from 80, red from 100; "unlimited" when NULL."""
        return (
            self._showing(gauge.Panel(), key)
            .unit("percent")
            .reduce_options(_last_value())
            .min(0)
            .max(100)
            .mappings(unlimited_when_null())
            .thresholds(
                dash.ThresholdsConfig()
                .mode(model.ThresholdsMode.ABSOLUTE)
                .steps(
                    [
                        model.Threshold(value=None, color="green"),
                        model.Threshold(value=80, color="orange"),
                        model.Threshold(value=100, color="red"),
                    ]
                )
            )
            .height(8)
            .span(width)
        )


def to_json(builder: cogbuilder.Builder[model.Dashboard]) -> dict[str, Any]:
    """The dashboard JSON model, as plain data."""
    data: dict[str, Any] = json.loads(JSONEncoder(sort_keys=True).encode(builder.build()))
    for number, panel in enumerate(data.get("panels") or [], start=1):
        panel.setdefault("id", number)
        if panel.get("options") is None:
            panel["options"] = {}  # Grafana's panel defaults apply
    return data


def _last_value() -> common_builders.ReduceDataOptions:
    return common_builders.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False)
