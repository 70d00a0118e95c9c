"""Operations & FinOps: the LiteLLM gateway's health, traffic, latency, tokens, spend and routing.

Every query is in `QUERIES` (Grafana variables: `$job` constant = the gateway's
scrape job, `$model` = requested models, `$__rate_interval`, `$__range`); the
dashboard below only lays them out. Latency quantiles come from LiteLLM's
histograms; bucket boundaries are never hard-coded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import table, timeseries

from dashboards.litellm_metrics import DEPLOYMENT_STATE, MODEL, deployment_state_table, model_variable, per_model_rate
from dashboards.prometheus_panels import (
    base,
    constant_variable,
    gauge_panel,
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

RI = "$__rate_interval"


def _quantile(q: float, metric: str, matcher: str) -> str:
    return f"histogram_quantile({q}, sum by (le) (rate({metric}_bucket{{{matcher}}}[{RI}])))"


def _top10(label: str, metric: str) -> str:
    """The ten values of `label` with the largest increase of the counter over the time range."""
    return f"topk(10, sum by ({label}) (increase({metric}{{{MODEL}}}[$__range])))"


QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


def _quantiles(name: str, metric: str, matcher: str, labels: tuple[str, ...] = tuple(QUANTILES)) -> dict[str, str]:
    """`<name>_p50`, ... : the histogram's quantiles over all series the matcher selects."""
    return {f"{name}_{label}": _quantile(QUANTILES[label], metric, matcher) for label in labels}


CACHE_OFF = -1
"""What the cache hit rate shows when no request went through the cache (cache off or unused)."""

QUERIES: dict[str, str] = {
    "targets_up": 'sum(up{job="$job"})',
    "request_rate": f"sum(rate(litellm_proxy_total_requests_metric_total{{{MODEL}}}[{RI}]))",
    "error_ratio": (
        f"sum(rate(litellm_proxy_failed_requests_metric_total{{{MODEL}}}[{RI}])) "
        f"/ sum(rate(litellm_proxy_total_requests_metric_total{{{MODEL}}}[{RI}]))"
    ),
    "in_flight": "sum(litellm_in_flight_requests)",
    "requests_by_model": per_model_rate("litellm_proxy_total_requests_metric_total"),
    "requests_by_status": f"sum by (status_code) (rate(litellm_proxy_total_requests_metric_total{{{MODEL}}}[{RI}]))",
    "errors_by_class": f"sum by (exception_class) (rate(litellm_proxy_failed_requests_metric_total{{{MODEL}}}[{RI}]))",
    **_quantiles("total", "litellm_request_total_latency_metric", MODEL),
    **_quantiles("llm", "litellm_llm_api_latency_metric", MODEL),
    # The overhead histogram has no requested_model label; model_group is the same public name.
    **_quantiles("overhead", "litellm_overhead_latency_metric", 'model_group=~"$model"'),
    **_quantiles("ttft", "litellm_llm_api_time_to_first_token_metric", MODEL, ("p50", "p95")),
    "input_tokens_by_model": per_model_rate("litellm_input_tokens_metric_total"),
    "output_tokens_by_model": per_model_rate("litellm_output_tokens_metric_total"),
    "spend_by_model": f"{per_model_rate('litellm_spend_metric_total')} * 3600",
    "spend_by_key": _top10("api_key_alias", "litellm_spend_metric_total"),
    "spend_by_team": _top10("team_alias", "litellm_spend_metric_total"),
    "tokens_by_key": _top10("api_key_alias", "litellm_total_tokens_metric_total"),
    "tokens_by_team": _top10("team_alias", "litellm_total_tokens_metric_total"),
    # LiteLLM counts a hit or a miss only for requests the cache looked at: with the cache off
    # neither series exists, and the panel shows CACHE_OFF ("no cached requests"), not nothing.
    "cache_hit_ratio": (
        f"(sum(rate(litellm_cache_hits_metric_total[{RI}])) or vector(0)) "
        f"/ ((sum(rate(litellm_cache_hits_metric_total[{RI}])) or vector(0)) "
        f"+ (sum(rate(litellm_cache_misses_metric_total[{RI}])) or vector(0)) > 0) or vector({CACHE_OFF})"
    ),
    "fallbacks_ok": (
        "sum by (requested_model, fallback_model) "
        f"(increase(litellm_deployment_successful_fallbacks_total{{{MODEL}}}[{RI}]))"
    ),
    "fallbacks_failed": (
        "sum by (requested_model, fallback_model) "
        f"(increase(litellm_deployment_failed_fallbacks_total{{{MODEL}}}[{RI}]))"
    ),
    "cooled_down": (
        f"sum by (litellm_model_name, exception_status) (increase(litellm_deployment_cooled_down_total[{RI}]))"
    ),
    "deployment_state": DEPLOYMENT_STATE,
}


def _latency_panel(
    title: str, name: str, labels: tuple[str, ...] = tuple(QUANTILES), width: int = 8
) -> timeseries.Panel:
    """The `_quantiles` of `name` as one graph, a line per quantile."""
    return timeseries_panel(title, [(QUERIES[f"{name}_{label}"], label) for label in labels], "s", width=width)


def _top_table(title: str, expr: str, unit: str) -> table.Panel:
    """A top-10 list over the time range (a quarter of the row wide)."""
    return table_panel(title, [(expr, "")], width=6, rename={"Value": unit})


def build(sources: DashboardSources) -> dict[str, Any]:
    q = QUERIES
    dashboard = (
        base(
            "LLM Gateway / Operations & FinOps",
            UID,
            "LiteLLM gateway health, traffic, latency, tokens, spend, cache and routing (Prometheus).",
        )
        .with_variable(constant_variable("job", sources.litellm_job))
        .with_variable(model_variable())
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
        .with_panel(_latency_panel("Total latency", "total"))
        .with_panel(_latency_panel("LLM API latency", "llm"))
        .with_panel(_latency_panel("Proxy overhead", "overhead"))
        .with_panel(_latency_panel("Time to first token (streaming)", "ttft", ("p50", "p95"), width=24))
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
        .with_panel(_top_table("Top keys by spend (time range)", q["spend_by_key"], "USD"))
        .with_panel(_top_table("Top teams by spend (time range)", q["spend_by_team"], "USD"))
        .with_panel(_top_table("Top keys by tokens (time range)", q["tokens_by_key"], "tokens"))
        .with_panel(_top_table("Top teams by tokens (time range)", q["tokens_by_team"], "tokens"))
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
        .with_panel(deployment_state_table("Deployment state per model", q["deployment_state"]))
    )
    return render(dashboard)
