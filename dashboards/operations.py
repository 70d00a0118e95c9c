"""Operations & FinOps: the LiteLLM gateway's health, traffic, latency, tokens, spend and routing.

Every query is in `QUERIES` (Grafana variables: `$job` constant = the gateway's
scrape job, `$model` = requested models, `$__rate_interval`, `$__range`); the
dashboard below only lays them out. Latency quantiles come from LiteLLM's
histograms; bucket boundaries are never hard-coded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grafana_foundation_sdk.builders import dashboard as db

from dashboards.prometheus_panels import (
    base,
    constant_variable,
    gauge_panel,
    label_variable,
    render,
    stat_panel,
    state_mappings,
    table_panel,
    timeseries_panel,
)

if TYPE_CHECKING:
    from dashboards.sources import DashboardSources

UID = "llm-gateway-operations"
FILENAME = "llm-gateway-operations.json"

M = 'requested_model=~"$model"'
RI = "$__rate_interval"


def _quantile(q: float, metric: str, matcher: str) -> str:
    return f"histogram_quantile({q}, sum by (le) (rate({metric}_bucket{{{matcher}}}[{RI}])))"


# One row per deployment (model_id), its worst state over the workers: LiteLLM reports a
# cooled-down deployment under the model group's name as well as the provider model's, and
# every worker (pid) has its own gauge.
DEPLOYMENT_STATE = (
    "topk by (model_id) (1, max by (model_id, litellm_model_name, api_provider) (litellm_deployment_state))"
)

CACHE_OFF = -1
"""What the cache hit rate shows when no request went through the cache (cache off or unused)."""

QUERIES: dict[str, str] = {
    "targets_up": 'sum(up{job="$job"})',
    "request_rate": f"sum(rate(litellm_proxy_total_requests_metric_total{{{M}}}[{RI}]))",
    "error_ratio": (
        f"sum(rate(litellm_proxy_failed_requests_metric_total{{{M}}}[{RI}])) "
        f"/ sum(rate(litellm_proxy_total_requests_metric_total{{{M}}}[{RI}]))"
    ),
    "in_flight": "sum(litellm_in_flight_requests)",
    "requests_by_model": f"sum by (requested_model) (rate(litellm_proxy_total_requests_metric_total{{{M}}}[{RI}]))",
    "requests_by_status": f"sum by (status_code) (rate(litellm_proxy_total_requests_metric_total{{{M}}}[{RI}]))",
    "errors_by_class": f"sum by (exception_class) (rate(litellm_proxy_failed_requests_metric_total{{{M}}}[{RI}]))",
    "total_p50": _quantile(0.5, "litellm_request_total_latency_metric", M),
    "total_p95": _quantile(0.95, "litellm_request_total_latency_metric", M),
    "total_p99": _quantile(0.99, "litellm_request_total_latency_metric", M),
    "llm_p50": _quantile(0.5, "litellm_llm_api_latency_metric", M),
    "llm_p95": _quantile(0.95, "litellm_llm_api_latency_metric", M),
    "llm_p99": _quantile(0.99, "litellm_llm_api_latency_metric", M),
    # The overhead histogram has no requested_model label; model_group is the same public name.
    "overhead_p50": _quantile(0.5, "litellm_overhead_latency_metric", 'model_group=~"$model"'),
    "overhead_p95": _quantile(0.95, "litellm_overhead_latency_metric", 'model_group=~"$model"'),
    "overhead_p99": _quantile(0.99, "litellm_overhead_latency_metric", 'model_group=~"$model"'),
    "ttft_p50": _quantile(0.5, "litellm_llm_api_time_to_first_token_metric", M),
    "ttft_p95": _quantile(0.95, "litellm_llm_api_time_to_first_token_metric", M),
    "input_tokens_by_model": f"sum by (requested_model) (rate(litellm_input_tokens_metric_total{{{M}}}[{RI}]))",
    "output_tokens_by_model": f"sum by (requested_model) (rate(litellm_output_tokens_metric_total{{{M}}}[{RI}]))",
    "spend_by_model": f"sum by (requested_model) (rate(litellm_spend_metric_total{{{M}}}[{RI}])) * 3600",
    "spend_by_key": f"topk(10, sum by (api_key_alias) (increase(litellm_spend_metric_total{{{M}}}[$__range])))",
    "spend_by_team": f"topk(10, sum by (team_alias) (increase(litellm_spend_metric_total{{{M}}}[$__range])))",
    "tokens_by_key": f"topk(10, sum by (api_key_alias) (increase(litellm_total_tokens_metric_total{{{M}}}[$__range])))",
    "tokens_by_team": f"topk(10, sum by (team_alias) (increase(litellm_total_tokens_metric_total{{{M}}}[$__range])))",
    # LiteLLM counts a hit or a miss only for requests the cache looked at: with the cache off
    # neither series exists, and the panel shows CACHE_OFF ("no cached requests"), not nothing.
    "cache_hit_ratio": (
        f"(sum(rate(litellm_cache_hits_metric_total[{RI}])) or vector(0)) "
        f"/ ((sum(rate(litellm_cache_hits_metric_total[{RI}])) or vector(0)) "
        f"+ (sum(rate(litellm_cache_misses_metric_total[{RI}])) or vector(0)) > 0) or vector({CACHE_OFF})"
    ),
    "fallbacks_ok": (
        "sum by (requested_model, fallback_model) "
        f"(increase(litellm_deployment_successful_fallbacks_total{{{M}}}[{RI}]))"
    ),
    "fallbacks_failed": (
        f"sum by (requested_model, fallback_model) (increase(litellm_deployment_failed_fallbacks_total{{{M}}}[{RI}]))"
    ),
    "cooled_down": (
        f"sum by (litellm_model_name, exception_status) (increase(litellm_deployment_cooled_down_total[{RI}]))"
    ),
    "deployment_state": DEPLOYMENT_STATE,
}

DEPLOYMENT_STATES = {0: ("healthy", "green"), 1: ("partial outage", "orange"), 2: ("outage", "red")}


def build(sources: DashboardSources) -> dict[str, Any]:
    q = QUERIES
    dashboard = (
        base(
            "LLM Gateway / Operations & FinOps",
            UID,
            "LiteLLM gateway health, traffic, latency, tokens, spend, cache and routing (Prometheus).",
        )
        .with_variable(constant_variable("job", sources.litellm_job))
        .with_variable(label_variable("model", "Model", "litellm_proxy_total_requests_metric_total", "requested_model"))
        .with_row(db.Row("Overview"))
        .with_panel(stat_panel("Gateway targets up", q["targets_up"], "none", description="Scraped LiteLLM pods"))
        .with_panel(stat_panel("Request rate", q["request_rate"], "reqps"))
        .with_panel(stat_panel("Error rate", q["error_ratio"], "percentunit"))
        .with_panel(stat_panel("In-flight requests", q["in_flight"], "none"))
        .with_row(db.Row("Traffic and errors"))
        .with_panel(timeseries_panel("Requests by model", [(q["requests_by_model"], "{{requested_model}}")], "reqps"))
        .with_panel(
            timeseries_panel("Requests by status code", [(q["requests_by_status"], "{{status_code}}")], "reqps")
        )
        .with_panel(
            timeseries_panel(
                "Errors by exception class", [(q["errors_by_class"], "{{exception_class}}")], "reqps", width=24
            )
        )
        .with_row(db.Row("Latency"))
        .with_panel(
            timeseries_panel(
                "Total latency",
                [(q["total_p50"], "p50"), (q["total_p95"], "p95"), (q["total_p99"], "p99")],
                "s",
                width=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "LLM API latency",
                [(q["llm_p50"], "p50"), (q["llm_p95"], "p95"), (q["llm_p99"], "p99")],
                "s",
                width=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Proxy overhead",
                [(q["overhead_p50"], "p50"), (q["overhead_p95"], "p95"), (q["overhead_p99"], "p99")],
                "s",
                width=8,
            )
        )
        .with_panel(
            timeseries_panel(
                "Time to first token (streaming)",
                [(q["ttft_p50"], "p50"), (q["ttft_p95"], "p95")],
                "s",
                width=24,
            )
        )
        .with_row(db.Row("Tokens and spend"))
        .with_panel(
            timeseries_panel(
                "Tokens by model",
                [
                    (q["input_tokens_by_model"], "{{requested_model}} in"),
                    (q["output_tokens_by_model"], "{{requested_model}} out"),
                ],
                "short",
                description="Tokens per second",
            )
        )
        .with_panel(
            timeseries_panel(
                "Spend by model",
                [(q["spend_by_model"], "{{requested_model}}")],
                "currencyUSD",
                description="USD per hour",
            )
        )
        .with_panel(
            table_panel("Top keys by spend (time range)", [(q["spend_by_key"], "")], width=6, rename={"Value": "USD"})
        )
        .with_panel(
            table_panel("Top teams by spend (time range)", [(q["spend_by_team"], "")], width=6, rename={"Value": "USD"})
        )
        .with_panel(
            table_panel(
                "Top keys by tokens (time range)", [(q["tokens_by_key"], "")], width=6, rename={"Value": "tokens"}
            )
        )
        .with_panel(
            table_panel(
                "Top teams by tokens (time range)", [(q["tokens_by_team"], "")], width=6, rename={"Value": "tokens"}
            )
        )
        .with_row(db.Row("Cache and routing"))
        .with_panel(
            gauge_panel(
                "Cache hit rate",
                q["cache_hit_ratio"],
                "",
                "percentunit",
                maximum=1,
                width=6,
                mappings=state_mappings({CACHE_OFF: ("no cached requests (cache off)", "text")}),
            )
        )
        .with_panel(
            timeseries_panel(
                "Fallbacks",
                [
                    (q["fallbacks_ok"], "ok {{requested_model}} -> {{fallback_model}}"),
                    (q["fallbacks_failed"], "failed {{requested_model}} -> {{fallback_model}}"),
                ],
                "short",
                width=9,
            )
        )
        .with_panel(
            timeseries_panel(
                "Cooled-down deployments",
                [(q["cooled_down"], "{{litellm_model_name}} ({{exception_status}})")],
                "short",
                width=9,
            )
        )
        .with_panel(
            table_panel(
                "Deployment state per model",
                [(q["deployment_state"], "")],
                rename={"Value": "state", "litellm_model_name": "deployment"},
                mappings=state_mappings(DEPLOYMENT_STATES),
            )
        )
    )
    return render(dashboard)
