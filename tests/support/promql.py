"""PromQL helpers for tests: Grafana variable substitution, parsing, metric-name extraction."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import promql_parser

DATA = Path(__file__).resolve().parent.parent / "data"
LITELLM_METRICS = DATA / "litellm_metrics.txt"
CNPG_METRICS = DATA / "cnpg_metrics.txt"
LITELLM_CLEANUP_METRICS = DATA / "litellm_cleanup_metrics.txt"

# What Grafana substitutes before the query reaches Prometheus (values are placeholders
# of the right type: durations for intervals/ranges, regexes for multi-value variables).
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "30s",
    "$__range": "6h",
    "${datasource}": "prometheus",
}


def substitute_grafana_variables(expr: str) -> str:
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    # Dashboard variables ($model, ${model}, ${model:regex}) become a regex value.
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\}?", "placeholder", expr)


def parse(expr: str) -> promql_parser.Expr:
    return promql_parser.parse(substitute_grafana_variables(expr))


def metric_names(expr: str) -> set[str]:
    """Every metric name a PromQL expression selects."""
    names: set[str] = set()

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)
        return True

    promql_parser.walk(parse(expr), visit)
    return names


def _names(path: Path) -> frozenset[str]:
    return frozenset(
        line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")
    )


@cache
def litellm_metric_names() -> frozenset[str]:
    """Sample names of LiteLLM's real /metrics/ exposition (captured by tests.harness.litellm.probe)."""
    return _names(LITELLM_METRICS)


@cache
def cnpg_metric_names() -> frozenset[str]:
    """CNPG instance exporter and barman-cloud plugin names (from their documented defaults)."""
    return _names(CNPG_METRICS)


# Platform metrics from kube-prometheus-stack itself (Prometheus, kube-state-metrics, the kubelet).
PLATFORM_METRICS = frozenset(
    {
        "up",
        "kube_deployment_status_replicas_unavailable",
        "kubelet_volume_stats_used_bytes",
        "kubelet_volume_stats_capacity_bytes",
    }
)


def unknown_metrics(names: set[str]) -> set[str]:
    """Names that are neither in LiteLLM's exposition, CNPG's defaults nor the platform's."""
    known = litellm_metric_names() | cnpg_metric_names() | PLATFORM_METRICS | _names(LITELLM_CLEANUP_METRICS)
    return {n for n in names if n not in known}
