"""The Prometheus dashboards (Operations & FinOps, Model comparison, Budgets), as shipped.

The dashboards are read back from the ConfigMaps the real program registers
(mock run of both stacks), so the PromQL checked here is exactly what Grafana runs.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import promql_parser
import pytest

from dashboards import budgets, models, operations
from dashboards.prometheus_panels import exprs
from tests.support.program import STACKS, run_cached
from tests.support.promql import DATA, metric_names, parse, substitute_grafana_variables, unknown_metrics

MODULES = (operations, models, budgets)
FILENAMES = {m.FILENAME for m in MODULES}
# Labels Prometheus adds to every scraped LiteLLM sample (ServiceMonitor target labels).
TARGET_LABELS = {"namespace", "pod", "instance", "job", "service", "endpoint", "container", "le"}


@cache
def litellm_labels() -> dict[str, frozenset[str]]:
    out = {}
    for line in (DATA / "litellm_metric_labels.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, labels = line.partition(" ")
        out[name] = frozenset(filter(None, labels.strip().split(",")))
    return out


def shipped(stack: str) -> dict[str, dict[str, Any]]:
    """filename -> dashboard JSON, from the program's grafana_dashboard ConfigMaps."""
    out = {}
    for cm in run_cached(stack).kubernetes_objects():
        if cm["kind"] == "ConfigMap" and cm["metadata"].get("labels", {}).get("grafana_dashboard") == "1":
            for key, text in cm["data"].items():
                if key in FILENAMES:
                    out[key] = json.loads(text)
    return out


@pytest.fixture(params=STACKS)
def dashboards(request: pytest.FixtureRequest) -> dict[str, dict[str, Any]]:
    return shipped(request.param)


def test_all_three_are_shipped_in_both_stacks(dashboards: dict[str, dict[str, Any]]) -> None:
    assert set(dashboards) == FILENAMES
    assert {d["uid"] for d in dashboards.values()} == {m.UID for m in MODULES}


def test_configmaps_are_labelled_for_the_sidecar() -> None:
    cms = [
        o
        for o in run_cached("lab").kubernetes_objects()
        if o["kind"] == "ConfigMap" and set(o.get("data", {})) & FILENAMES
    ]
    assert len(cms) == 3
    for cm in cms:
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert cm["metadata"]["namespace"] == "monitoring"
        assert cm["metadata"]["annotations"]["grafana_folder"]


def test_prometheus_datasource_variable_is_used_everywhere(dashboards: dict[str, dict[str, Any]]) -> None:
    for name, d in dashboards.items():
        variables = {v["name"]: v for v in d["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        for panel in d["panels"]:
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, (name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for v in variables.values():
            if v["type"] == "query":
                assert v["datasource"]["uid"] == "${datasource}"


def test_panels_have_unique_ids_and_ref_ids(dashboards: dict[str, dict[str, Any]]) -> None:
    for d in dashboards.values():
        ids = [p["id"] for p in d["panels"]]
        assert len(ids) == len(set(ids)) and 0 not in ids
        for panel in d["panels"]:
            refs = [t["refId"] for t in panel.get("targets", [])]
            assert len(refs) == len(set(refs)) and all(refs)


def test_the_query_dicts_are_what_grafana_runs() -> None:
    """One place per dashboard: every QUERIES entry is used, and nothing else is."""
    for stack in STACKS:
        shipped_dashboards = shipped(stack)
        for module in MODULES:
            assert set(exprs(shipped_dashboards[module.FILENAME])) == set(module.QUERIES.values()), module.__name__


def test_every_expression_parses(dashboards: dict[str, dict[str, Any]]) -> None:
    for d in dashboards.values():
        for expr in exprs(d):
            parse(expr)


def test_variable_queries_name_real_metrics_and_labels(dashboards: dict[str, dict[str, Any]]) -> None:
    for d in dashboards.values():
        for v in d["templating"]["list"]:
            if v["type"] != "query":
                continue
            match = re.fullmatch(r"label_values\((\w+), (\w+)\)", v["query"])
            assert match, v["query"]
            metric, label = match.groups()
            assert label in litellm_labels()[metric]


def test_only_real_litellm_metric_names(dashboards: dict[str, dict[str, Any]]) -> None:
    used: set[str] = set()
    for d in dashboards.values():
        for expr in exprs(d):
            used |= metric_names(expr)
    assert unknown_metrics(used) == set()


def _check_labels(node: Any, problems: list[str], expr: str) -> bool:
    """Selector matchers and `by` labels must exist on the metrics they apply to."""
    known = litellm_labels()
    if isinstance(node, promql_parser.VectorSelector) and node.name in known:
        for m in node.matchers.matchers:
            if m.name not in known[node.name] | TARGET_LABELS:
                problems.append(f"{node.name} has no label {m.name}: {expr}")
    if isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
        inner: set[str] = set()

        def collect(n: Any) -> bool:
            if isinstance(n, promql_parser.VectorSelector) and n.name:
                inner.add(n.name)
            return True

        promql_parser.walk(node.expr, collect)
        available = set(TARGET_LABELS)
        for name in inner & set(known):
            available |= known[name]
        if inner <= set(known) and node.modifier.type == promql_parser.AggModifierType.By:
            missing = set(node.modifier.labels) - available
            if missing:
                problems.append(f"by {sorted(missing)} not on {sorted(inner)}: {expr}")
    return True


def test_labels_exist_on_the_metrics(dashboards: dict[str, dict[str, Any]]) -> None:
    problems: list[str] = []
    for d in dashboards.values():
        for expr in exprs(d):
            tree = promql_parser.parse(substitute_grafana_variables(expr))

            def visit(node: Any, expr: str = expr) -> bool:
                return _check_labels(node, problems, expr)

            promql_parser.walk(tree, visit)
    assert problems == []


def test_rate_windows_are_grafana_intervals_and_no_hard_coded_buckets(dashboards: dict[str, dict[str, Any]]) -> None:
    for d in dashboards.values():
        for expr in exprs(d):
            assert "le=" not in expr.replace(" ", ""), expr
            for window in re.findall(r"\[([^\]]+)\]", expr):
                assert window in ("$__rate_interval", "$__range"), expr
            if "rate(" in expr and "$__range" not in expr:
                assert "$__rate_interval" in expr, expr


def test_operations_covers_the_operational_signals() -> None:
    q = operations.QUERIES
    joined = " ".join(q.values())
    for metric in (
        "up",
        "litellm_proxy_total_requests_metric_total",
        "litellm_proxy_failed_requests_metric_total",
        "litellm_request_total_latency_metric_bucket",
        "litellm_llm_api_latency_metric_bucket",
        "litellm_overhead_latency_metric_bucket",
        "litellm_llm_api_time_to_first_token_metric_bucket",
        "litellm_in_flight_requests",
        "litellm_total_tokens_metric_total",
        "litellm_spend_metric_total",
        "litellm_cache_hits_metric_total",
        "litellm_deployment_successful_fallbacks_total",
        "litellm_deployment_failed_fallbacks_total",
        "litellm_deployment_cooled_down_total",
        "litellm_deployment_state",
    ):
        assert metric in joined, metric
    assert "by (exception_class)" in q["errors_by_class"]
    for quantile in ("0.5", "0.95", "0.99"):
        assert f"histogram_quantile({quantile}," in q[f"total_p{quantile[2:].ljust(2, '0')}"]


def test_job_constant_follows_config() -> None:
    d = shipped("lab")[operations.FILENAME]
    job = next(v for v in d["templating"]["list"] if v["name"] == "job")
    assert job["type"] == "constant" and job["query"] == "litellm"
