"""Model comparison: every requested model side by side (requests, spend, cost per 1K
tokens, median and p95 latency, success rate, fallbacks) and each deployment's health.

Every query is in `QUERIES`; table queries cover the dashboard's time range
(`$__range`), graphs use `$__rate_interval`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grafana_foundation_sdk.builders import dashboard as db

from dashboards.litellm_metrics import DEPLOYMENT_STATE, MODEL, deployment_state_table, model_variable, per_model_rate
from dashboards.prometheus_panels import (
    base,
    render,
    table_panel,
    timeseries_panel,
)

if TYPE_CHECKING:
    from dashboards.sources import DashboardSources

UID = "llm-gateway-models"
FILENAME = "llm-gateway-models.json"

BY = "sum by (requested_model)"


def _increase(metric: str, window: str) -> str:
    return f"{BY} (increase({metric}{{{MODEL}}}[{window}]))"


def _quantile(q: float, window: str) -> str:
    return (
        f"histogram_quantile({q}, sum by (le, requested_model) "
        f"(rate(litellm_request_total_latency_metric_bucket{{{MODEL}}}[{window}])))"
    )


def _success_ratio(window: str, rate: str) -> str:
    total = f"{BY} ({rate}(litellm_proxy_total_requests_metric_total{{{MODEL}}}[{window}]))"
    failed = f"{BY} ({rate}(litellm_proxy_failed_requests_metric_total{{{MODEL}}}[{window}]))"
    # A model without failures has no failed series: count it as zero failures.
    return f"1 - ({failed} or {total} * 0) / {total}"


QUERIES: dict[str, str] = {
    "requests": _increase("litellm_proxy_total_requests_metric_total", "$__range"),
    "spend": _increase("litellm_spend_metric_total", "$__range"),
    "cost_per_1k_tokens": (
        f"{_increase('litellm_spend_metric_total', '$__range')} "
        f"/ {_increase('litellm_total_tokens_metric_total', '$__range')} * 1000"
    ),
    "latency_p50": _quantile(0.5, "$__range"),
    "latency_p95": _quantile(0.95, "$__range"),
    "success_ratio": _success_ratio("$__range", "increase"),
    "fallbacks_ok": _increase("litellm_deployment_successful_fallbacks_total", "$__range"),
    "fallbacks_failed": _increase("litellm_deployment_failed_fallbacks_total", "$__range"),
    "request_rate": per_model_rate("litellm_proxy_total_requests_metric_total"),
    "spend_rate": f"{per_model_rate('litellm_spend_metric_total')} * 3600",
    "latency_p95_graph": _quantile(0.95, "$__rate_interval"),
    "success_ratio_graph": _success_ratio("$__rate_interval", "rate"),
    "deployment_health": DEPLOYMENT_STATE,
}


def build(sources: DashboardSources) -> dict[str, Any]:
    q = QUERIES
    dashboard = (
        base(
            "LLM Gateway / Model comparison",
            UID,
            "Requested models side by side over the selected time range (Prometheus).",
        )
        .with_variable(model_variable())
        .with_row(db.Row("Side by side (time range)"))
        .with_panel(
            table_panel(
                "Models",
                [
                    (q["requests"], ""),
                    (q["spend"], ""),
                    (q["cost_per_1k_tokens"], ""),
                    (q["latency_p50"], ""),
                    (q["latency_p95"], ""),
                    (q["success_ratio"], ""),
                    (q["fallbacks_ok"], ""),
                    (q["fallbacks_failed"], ""),
                ],
                height=10,
                rename={
                    "requested_model": "model",
                    "Value #A": "requests",
                    "Value #B": "spend (USD)",
                    "Value #C": "USD / 1K tokens",
                    "Value #D": "median latency (s)",
                    "Value #E": "p95 latency (s)",
                    "Value #F": "success rate",
                    "Value #G": "fallbacks ok",
                    "Value #H": "fallbacks failed",
                },
            )
        )
        .with_row(db.Row("Over time"))
        .with_panel(timeseries_panel("Requests", [(q["request_rate"], "{{requested_model}}")], "reqps"))
        .with_panel(
            timeseries_panel(
                "Spend", [(q["spend_rate"], "{{requested_model}}")], "currencyUSD", description="USD per hour"
            )
        )
        .with_panel(timeseries_panel("p95 latency", [(q["latency_p95_graph"], "{{requested_model}}")], "s"))
        .with_panel(
            timeseries_panel("Success rate", [(q["success_ratio_graph"], "{{requested_model}}")], "percentunit")
        )
        .with_row(db.Row("Health"))
        .with_panel(deployment_state_table("Deployment health", q["deployment_health"]))
    )
    return render(dashboard)
