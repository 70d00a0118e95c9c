"""The PrometheusRule builder called directly from a config (no program run), for settings the
stack files do not cover (renamed namespace, release and cluster; replicas; the external
engine): the object is valid for the pinned CRD, `promtool check rules` accepts its groups,
and every selector names the configured namespace, job, deployment and cluster."""

from __future__ import annotations

import subprocess
from pathlib import Path

import promql_parser
import pytest
import yaml

from components.litellm.names import deployment_name, scrape_job
from components.observability.rules import prometheus_rule
from config import StackConfig
from tests.support.components import require
from tests.support.config import cnpg_section, scenario_config
from tests.support.promql import metric_names, parse, unknown_metrics
from tests.support.schemas import validation_errors

EXTERNAL_ENTERPRISE = (
    "llm-gateway:postgres.engine=external",
    "llm-gateway:postgres.cnpg=null",
    "llm-gateway:postgres.backup.enabled=false",
    "llm-gateway:postgres.external={host: pg.home.arpa, admin_user: pgadmin, server_cidrs: [192.168.10.5/32],"
    " max_connections: 200}",
)
RENAMED = (
    "llm-gateway:namespaces.gateway=llm-gw",
    "llm-gateway:litellm.release_name=gateway",
    "llm-gateway:postgres.cnpg.name=spend-pg",
    "llm-gateway:postgres.cnpg.instances=2",
)
CASES = {
    "lab": ("lab", ()),
    "enterprise": ("enterprise", ()),
    "enterprise-external": ("enterprise", EXTERNAL_ENTERPRISE),
    "lab-renamed-replicas": ("lab", RENAMED),
}


def _config(case: str) -> StackConfig:
    stack, overrides = CASES[case]
    return scenario_config(stack, *overrides)


def _matchers(expr: str) -> list[tuple[str, str, str]]:
    """(label, operator, value) of every matcher of every selector in `expr`."""
    found: list[tuple[str, str, str]] = []

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            found.extend((m.name, str(m.op).rsplit(".", 1)[-1], m.value) for m in node.matchers.matchers)
        return True

    promql_parser.walk(parse(expr), visit)
    return found


@pytest.mark.parametrize("case", CASES)
def test_the_rule_validates_against_the_crd(case: str) -> None:
    cfg = _config(case)
    rule = prometheus_rule(cfg)
    assert validation_errors(rule) == []
    assert rule["metadata"]["namespace"] == cfg.namespaces.gateway
    assert rule["metadata"]["labels"]["release"] == cfg.monitoring.prometheus_release


@pytest.mark.parametrize("case", CASES)
def test_promtool_accepts_the_groups(case: str, tmp_path: Path) -> None:
    promtool = require("promtool")
    groups = prometheus_rule(_config(case))["spec"]["groups"]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {sum(len(g['rules']) for g in groups)} rules found" in result.stdout


@pytest.mark.parametrize("case", CASES)
def test_selectors_name_the_configured_objects_and_real_metrics(case: str) -> None:
    cfg = _config(case)
    rules = [r for g in prometheus_rule(cfg)["spec"]["groups"] for r in g["rules"]]
    expected = {
        "namespace": {cfg.namespaces.gateway},
        "job": {scrape_job(cfg.litellm)},
        "deployment": {deployment_name(cfg.litellm)},
    }
    used: set[str] = set()
    for r in rules:
        used |= metric_names(r["expr"])
        assert r["labels"]["namespace"] == cfg.namespaces.gateway
        for label, op, value in _matchers(r["expr"]):
            if label in expected and op == "Equal":
                assert value in expected[label], (r["alert"], label, value)
            if label in ("pod", "persistentvolumeclaim") and r["alert"].startswith("Cnpg"):
                assert value.startswith(f"{cnpg_section(cfg).name}-"), (r["alert"], value)
    assert unknown_metrics(used) == set()


def test_the_database_group_follows_the_engine_and_the_instances() -> None:
    def database_alerts(case: str) -> set[str]:
        groups = prometheus_rule(_config(case))["spec"]["groups"]
        return {r["alert"] for g in groups if g["name"] == "llm-gateway.database" for r in g["rules"]}

    assert database_alerts("enterprise-external") == set()
    one, two = database_alerts("lab"), database_alerts("lab-renamed-replicas")
    assert one and one < two  # replicas add the replication alerts
