"""The spend dashboards as delivered: ConfigMaps for Grafana's sidecar, JSON that
carries exactly the queries of `dashboards.spend_queries`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.observability.dashboards import DashboardsArgs
from dashboards import chargeback, spend_overview, team_view
from dashboards.spend_panels import FRESHNESS
from dashboards.spend_queries import CHARGEBACK, OVERVIEW, TEAM_VIEW
from dashboards.spend_sql import ALL_VALUE, DashboardQueries
from tests.support.config import stack_config
from tests.support.program import run_cached
from tools.preview import main as preview_main

SPEND_FILES = {spend_overview.FILENAME: OVERVIEW, team_view.FILENAME: TEAM_VIEW, chargeback.FILENAME: CHARGEBACK}


def query_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Panels that run a query (not the freshness note)."""
    return [p for p in dashboard["panels"] if p.get("type") != "text"]


def spend_configmaps(stack: str) -> dict[str, dict[str, Any]]:
    out = {}
    for r in run_cached(stack).of_type("kubernetes:core/v1:ConfigMap"):
        body = r.plain_inputs
        for key in body.get("data") or {}:
            if key in SPEND_FILES:
                out[key] = body
    return out


@pytest.mark.parametrize("stack", ["lab", "enterprise"])
def test_delivered_as_sidecar_configmaps(stack: str) -> None:
    maps = spend_configmaps(stack)
    assert sorted(maps) == sorted(SPEND_FILES)
    for body in maps.values():
        meta = body["metadata"]
        assert meta["namespace"] == "monitoring"
        assert meta["labels"]["grafana_dashboard"] == "1"
        assert meta["annotations"]["grafana_folder"] == "LLM Gateway"


@pytest.mark.parametrize("filename", sorted(SPEND_FILES))
def test_dashboard_runs_exactly_the_registered_queries(filename: str) -> None:
    queries: DashboardQueries = SPEND_FILES[filename]
    dashboard = json.loads(spend_configmaps("lab")[filename]["data"][filename])
    targets = [t for p in query_panels(dashboard) for t in p["targets"]]
    # Every registered query is on exactly one panel, as is, and nothing else is.
    assert sorted((t["rawSql"], t["format"]) for t in targets) == sorted(
        (q.sql, q.format.value) for q in queries.panels
    )
    titles = {p["title"]: p["targets"][0]["rawSql"] for p in query_panels(dashboard)}
    assert titles == {q.title: q.sql for q in queries.panels}
    assert all(t["rawQuery"] is True and t["editorMode"] == "code" for t in targets)
    assert {json.dumps(t["datasource"], sort_keys=True) for t in targets} == {
        json.dumps({"type": "grafana-postgresql-datasource", "uid": "llm-gateway-spend-pg"}, sort_keys=True)
    }
    variables = dashboard["templating"].get("list") or []
    assert [(v["name"], v["query"]) for v in variables] == [(v.name, v.sql) for v in queries.variables]
    for var, spec in zip(variables, queries.variables, strict=True):
        assert var["multi"] is spec.multi and var["includeAll"] is spec.include_all
        assert var.get("allValue") == (ALL_VALUE if spec.include_all else None)
    assert [v["name"] for v in variables] == (["team", "key_alias", "model"] if queries.variables else [])
    (note,) = [p for p in dashboard["panels"] if p.get("type") == "text"]
    assert FRESHNESS in note["options"]["content"]


def test_chargeback_is_a_plain_table_for_csv_export() -> None:
    dashboard = chargeback.build(DashboardsArgs.from_config(stack_config("lab")).sources)
    (panel,) = query_panels(dashboard)
    assert panel["type"] == "table" and panel["targets"][0]["format"] == "table"
    assert "Download CSV" in panel["description"]
    assert not panel.get("transformations")  # the exported rows are the query's rows


def test_panels_have_unique_ids_and_fit_the_grid() -> None:
    for filename in SPEND_FILES:
        dashboard = json.loads(spend_configmaps("lab")[filename]["data"][filename])
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids))
        for panel in dashboard["panels"]:
            pos = panel["gridPos"]
            assert pos["x"] + pos["w"] <= 24 and panel["options"] is not None


def test_overview_has_the_issue_s_panels() -> None:
    assert {q.key for q in OVERVIEW.panels} >= {
        "spend_over_time",
        "spend_by_model",
        "spend_by_key",
        "spend_by_team",
        "tokens_over_time",
        "requests_over_time",
        "top_users",
        "key_budgets",
        "team_budgets",
    }
    assert {q.key for q in TEAM_VIEW.panels} >= {"budget_gauge", "spend_vs_budget", "usage_by_model", "usage_by_key"}


def test_budget_columns_map_null_to_unlimited() -> None:
    dashboard = spend_overview.build(DashboardsArgs.from_config(stack_config("lab")).sources)
    panel = next(p for p in dashboard["panels"] if p["title"] == "Remaining budget per key")
    remaining = next(o for o in panel["fieldConfig"]["overrides"] if o["matcher"]["options"] == "remaining")
    mappings = next(p["value"] for p in remaining["properties"] if p["id"] == "mappings")
    assert mappings == [{"type": "special", "options": {"match": "null", "result": {"text": "unlimited", "index": 0}}}]


def test_preview_writes_the_dashboards(tmp_path: Path) -> None:
    assert preview_main(["lab", "--out", str(tmp_path)]) == 0
    for filename in SPEND_FILES:
        written = json.loads((tmp_path / "dashboards" / filename).read_text())
        assert written["uid"] in (spend_overview.UID, team_view.UID, chargeback.UID)
