"""Shared pieces of the Prometheus dashboards (grafana-foundation-sdk builders).

Every Prometheus dashboard has a `datasource` variable (type prometheus) that
all panels and query variables reference as `${datasource}`, so the same JSON
works with whatever the Prometheus datasource is called in a Grafana.
`render` turns a dashboard builder into the plain JSON model Grafana loads
(unique panel ids, query refIds, `options: {}` instead of null).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import gauge, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

DATASOURCE_VARIABLE = "datasource"
DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid=f"${{{DATASOURCE_VARIABLE}}}")
TAGS = ["llm-gateway", "litellm", "prometheus"]

Target = tuple[str, str]
"""(PromQL, legend format)."""


def base(title: str, uid: str, description: str) -> db.Dashboard:
    return (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .editable()
        .refresh("1m")
        .time("now-6h", "now")
        .timezone("browser")
        .with_variable(db.DatasourceVariable(DATASOURCE_VARIABLE).label("Prometheus").type("prometheus"))
    )


def label_variable(name: str, label: str, metric: str, label_name: str) -> db.QueryVariable:
    """A multi-select variable over one label's values (All = `.*`)."""
    return (
        db.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(f"label_values({metric}, {label_name})")
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(dm.VariableOption(selected=True, text="All", value="$__all"))
    )


def constant_variable(name: str, value: str) -> db.ConstantVariable:
    return db.ConstantVariable(name).value(value)


def _query(expr: str, legend: str, *, instant: bool, table_format: bool = False) -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).datasource(DATASOURCE)
    if legend:
        q = q.legend_format(legend)
    if instant:
        q = q.instant()
    if table_format:
        q = q.format(pm.PromQueryFormat.TABLE)
    return q


def timeseries_panel(
    title: str, targets: Sequence[Target], unit: str, *, width: int = 12, height: int = 8, description: str = ""
) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).datasource(DATASOURCE).unit(unit).span(width).height(height)
    if description:
        panel = panel.description(description)
    for expr, legend in targets:
        panel = panel.with_target(_query(expr, legend, instant=False))
    return panel


def stat_panel(
    title: str, expr: str, unit: str, *, width: int = 6, height: int = 4, description: str = ""
) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(height)
        .with_target(_query(expr, "", instant=False))
    )
    return panel.description(description) if description else panel


def gauge_panel(
    title: str,
    expr: str,
    legend: str,
    unit: str,
    *,
    minimum: float = 0,
    maximum: float | None = None,
    thresholds: Sequence[tuple[float | None, str]] = (),
    width: int = 12,
    height: int = 8,
    description: str = "",
    mappings: list[dm.ValueMapping] | None = None,
) -> gauge.Panel:
    panel = (
        gauge.Panel()
        .title(title)
        .datasource(DATASOURCE)
        .unit(unit)
        .min(minimum)
        .span(width)
        .height(height)
        .with_target(_query(expr, legend, instant=True))
    )
    if maximum is not None:
        panel = panel.max(maximum)
    if thresholds:
        panel = panel.thresholds(
            db.ThresholdsConfig()
            .mode(dm.ThresholdsMode.ABSOLUTE)
            .steps([dm.Threshold(value=value, color=color) for value, color in thresholds])
        )
    if mappings:
        panel = panel.mappings(mappings)
    return panel.description(description) if description else panel


def table_panel(
    title: str,
    targets: Sequence[Target],
    *,
    width: int = 24,
    height: int = 8,
    description: str = "",
    rename: dict[str, str] | None = None,
    mappings: list[dm.ValueMapping] | None = None,
) -> table.Panel:
    """An instant table; several queries are merged into one row per label set."""
    panel = table.Panel().title(title).datasource(DATASOURCE).span(width).height(height)
    for expr, legend in targets:
        panel = panel.with_target(_query(expr, legend, instant=True, table_format=True))
    panel = panel.with_transformation(dm.DataTransformerConfig(id_val="merge", options={}))
    panel = panel.with_transformation(
        dm.DataTransformerConfig(
            id_val="organize",
            options={"excludeByName": {"Time": True}, "renameByName": dict(rename or {})},
        )
    )
    if mappings:
        panel = panel.mappings(mappings)
    return panel.description(description) if description else panel


def state_mappings(states: dict[int, tuple[str, str]]) -> list[dm.ValueMapping]:
    return [
        dm.ValueMap(
            options={
                str(value): dm.ValueMappingResult(text=text, color=color, index=i)
                for i, (value, (text, color)) in enumerate(sorted(states.items()))
            }
        )
    ]


def render(dashboard: db.Dashboard) -> dict[str, Any]:
    """The dashboard's JSON model: ids 1..n, refIds A.., no null options."""
    model: dict[str, Any] = json.loads(json.dumps(dashboard.build(), cls=JSONEncoder))
    next_id = 1
    for panel in model.get("panels", []):
        panel["id"] = next_id
        next_id += 1
        if panel.get("options") is None and panel.get("type") != "row":
            panel["options"] = {}
        for index, target in enumerate(panel.get("targets", [])):
            target["refId"] = chr(ord("A") + index)
    return model


def exprs(model: dict[str, Any]) -> list[str]:
    """Every PromQL expression a rendered dashboard runs (panel targets)."""
    return [t["expr"] for p in model.get("panels", []) for t in p.get("targets", []) if "expr" in t]
