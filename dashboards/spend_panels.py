"""Shared pieces of the spend dashboards (pure builders on grafana-foundation-sdk).

The datasource reference (type + the uid from `grafana.datasource_uid`, the one
the provisioned datasource carries), targets made from `spend_queries`
entries, template variables, and panel helpers. Every panel takes its SQL from a
`PanelQuery`, never from a string of its own.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import gauge, stat, table, text, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import text as text_model

from dashboards.postgres_query import DATASOURCE_TYPE, Dataquery
from dashboards.spend_sql import PanelQuery, Variable

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


def stat_panel(ds: model.DataSourceRef, query: PanelQuery, unit: str, width: int = 6) -> stat.Panel:
    return (
        stat.Panel()
        .title(query.title)
        .datasource(ds)
        .with_target(target(ds, query))
        .unit(unit)
        .reduce_options(_last_value())
        .height(5)
        .span(width)
    )


def timeseries_panel(
    ds: model.DataSourceRef, query: PanelQuery, unit: str, width: int = 12, *, bars: bool = True
) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(query.title)
        .datasource(ds)
        .with_target(target(ds, query))
        .unit(unit)
        .height(8)
        .span(width)
        .draw_style(common.GraphDrawStyle.BARS if bars else common.GraphDrawStyle.LINE)
        .fill_opacity(60 if bars else 10)
    )


def table_panel(ds: model.DataSourceRef, query: PanelQuery, width: int = 12, height: int = 8) -> table.Panel:
    panel = table.Panel().title(query.title).datasource(ds).with_target(target(ds, query)).height(height).span(width)
    return panel.description(query.description) if query.description else panel


def gauge_panel(ds: model.DataSourceRef, query: PanelQuery, width: int = 6) -> gauge.Panel:
    return (
        gauge.Panel()
        .title(query.title)
        .datasource(ds)
        .with_target(target(ds, query))
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
