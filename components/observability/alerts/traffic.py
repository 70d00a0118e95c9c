"""The gateway's traffic alerts, from LiteLLM's own metrics: availability (the target and its
readiness), performance (latency, server-side error rate), usage (per-key request and token
rates) and providers (failure ratio, rate limiting, a deployment's outage).
"""

from __future__ import annotations

from components.litellm.names import deployment_name, scrape_job
from components.observability.alerts.alert import Alert, selector, threshold
from config import StackConfig


def availability_alerts(cfg: StackConfig) -> list[Alert]:
    a = cfg.alerts
    ns = cfg.namespaces.gateway
    up = f"up{{{selector(namespace=ns, job=scrape_job(cfg.litellm))}}}"
    return [
        Alert(
            name="LiteLLMGatewayDown",
            expr=f"{up} == 0 or absent({up})",
            for_=a.availability.gateway_down_for,
            severity="critical",
            summary="LiteLLM gateway target is down or missing",
            description=(
                "Prometheus cannot scrape LiteLLM target {{ $labels.instance }} (job {{ $labels.job }}, "
                "namespace {{ $labels.namespace }}), or no such target exists, for "
                f"{a.availability.gateway_down_for}."
            ),
        ),
        Alert(
            name="LiteLLMReadinessFailing",
            expr=(
                "kube_deployment_status_replicas_unavailable"
                f"{{{selector(namespace=ns, deployment=deployment_name(cfg.litellm))}}} > 0"
            ),
            for_=a.availability.readiness_for,
            severity="warning",
            summary="LiteLLM replicas are not ready",
            description=(
                "{{ $value }} replica(s) of deployment {{ $labels.deployment }} in {{ $labels.namespace }} "
                "fail their readiness probe (/health/readiness answers 503 when the database is unreachable)."
            ),
        ),
    ]


def performance_alerts(cfg: StackConfig) -> list[Alert]:
    p = cfg.alerts.performance
    ns = selector(namespace=cfg.namespaces.gateway)
    # Client mistakes (4xx: unknown model, bad key, budget, the key's own rate limit) are not
    # the gateway's errors; provider 429s have LiteLLMProviderRateLimited.
    server = selector(namespace=cfg.namespaces.gateway, exception_status_nre="4..")
    failed = f"sum by (namespace) (rate(litellm_proxy_failed_requests_metric_total{{{server}}}[5m]))"
    total = f"sum by (namespace) (rate(litellm_proxy_total_requests_metric_total{{{ns}}}[5m]))"

    def error_rate(ratio: float, severity: str, level: str) -> Alert:
        """One tier of the server-side error rate (warning and critical share everything else)."""
        return Alert(
            name="LiteLLMHighErrorRate",
            expr=f"{failed} / {total} > {threshold(ratio)}",
            for_=p.error_rate_for,
            severity=severity,
            summary=f"LiteLLM error rate is {level}",
            description=(
                "{{ $value | humanizePercentage }} of LiteLLM requests in {{ $labels.namespace }} failed with a "
                f"gateway or provider error (not 4xx) over the last 5 minutes (threshold {threshold(ratio * 100)}%); "
                "see the error rate by exception class on the Operations dashboard."
            ),
        )

    return [
        Alert(
            name="LiteLLMHighLatencyP95",
            expr=(
                "histogram_quantile(0.95, sum by (le, namespace, requested_model) "
                f"(rate(litellm_request_total_latency_metric_bucket{{{ns}}}[5m]))) "
                f"> {threshold(p.latency_p95_seconds)}"
            ),
            for_=p.latency_for,
            severity="warning",
            summary="LiteLLM p95 request latency is high",
            description=(
                "p95 end-to-end latency of model {{ $labels.requested_model }} is {{ $value | humanize }}s "
                f"(threshold {threshold(p.latency_p95_seconds)}s)."
            ),
        ),
        error_rate(p.error_rate_warning, "warning", "elevated"),
        error_rate(p.error_rate_critical, "critical", "critical"),
    ]


def usage_alerts(cfg: StackConfig) -> list[Alert]:
    u = cfg.alerts.usage
    ns = selector(namespace=cfg.namespaces.gateway)
    by_key = "namespace, hashed_api_key, api_key_alias"
    return [
        Alert(
            name="LiteLLMKeyRequestRateHigh",
            expr=(
                f"sum by ({by_key}) (rate(litellm_proxy_total_requests_metric_total{{{ns}}}[5m])) "
                f"> {threshold(u.key_requests_per_second)}"
            ),
            for_=u.key_requests_for,
            severity="warning",
            summary="An API key sends an unusual number of requests",
            description=(
                "API key {{ $labels.api_key_alias }} (hash {{ $labels.hashed_api_key }}) sends "
                "{{ $value | humanize }} requests/s "
                f"(threshold {threshold(u.key_requests_per_second)}/s)."
            ),
        ),
        Alert(
            name="LiteLLMKeyTokenBurnHigh",
            expr=(
                f"sum by ({by_key}) (increase(litellm_total_tokens_metric_total{{{ns}}}[1h])) > {u.key_tokens_per_hour}"
            ),
            for_=u.key_tokens_for,
            severity="warning",
            summary="An API key burns tokens fast",
            description=(
                "API key {{ $labels.api_key_alias }} (hash {{ $labels.hashed_api_key }}) used "
                "{{ $value | humanize }} tokens in the last hour "
                f"(threshold {u.key_tokens_per_hour})."
            ),
        ),
    ]


def provider_alerts(cfg: StackConfig) -> list[Alert]:
    p = cfg.alerts.providers
    # Only series that name a provider: requests refused before routing (unknown model, bad
    # key) are counted in the deployment counters without one.
    sel = selector(namespace=cfg.namespaces.gateway, api_provider_ne="")
    limited_sel = selector(namespace=cfg.namespaces.gateway, api_provider_ne="", exception_status="429")
    failures = f"rate(litellm_deployment_failure_responses_total{{{sel}}}[5m])"
    requests = f"rate(litellm_deployment_total_requests_total{{{sel}}}[5m])"
    limited = f"rate(litellm_deployment_failure_responses_total{{{limited_sel}}}[5m])"
    deployment = "namespace, api_provider, litellm_model_name, model_id"
    return [
        Alert(
            name="LiteLLMProviderFailureRatioHigh",
            expr=(
                f"sum by (namespace, api_provider) ({failures}) / sum by (namespace, api_provider) ({requests}) "
                f"> {threshold(p.failure_ratio)}"
            ),
            for_=p.failure_for,
            severity="warning",
            summary="A provider fails many requests",
            description=(
                "{{ $value | humanizePercentage }} of requests to provider {{ $labels.api_provider }} failed "
                f"over 5 minutes (threshold {threshold(p.failure_ratio * 100)}%)."
            ),
        ),
        Alert(
            name="LiteLLMProviderRateLimited",
            expr=(
                f"sum by (namespace, api_provider, litellm_model_name) ({limited}) * 60 "
                f"> {threshold(p.rate_limited_per_minute)}"
            ),
            for_=p.rate_limited_for,
            severity="warning",
            summary="A provider is rate limiting the gateway (HTTP 429)",
            description=(
                "Provider {{ $labels.api_provider }} answers {{ $value | humanize }} HTTP 429/min for "
                "deployment {{ $labels.litellm_model_name }} "
                f"(threshold {threshold(p.rate_limited_per_minute)}/min)."
            ),
        ),
        Alert(
            name="LiteLLMDeploymentOutage",
            # From the counters, not litellm_deployment_state: LiteLLM cools a single-deployment
            # group down only after 1000 requests in a minute all failed, and the state gauge is
            # per worker (a dead worker's value stays exported).
            expr=(
                f"sum by ({deployment}) ({failures}) / sum by ({deployment}) ({requests}) "
                f">= {threshold(p.outage_failure_ratio)} "
                f"and sum by ({deployment}) ({requests}) * 300 >= {p.outage_min_requests}"
            ),
            for_=p.outage_for,
            severity="warning",
            summary="A model deployment is in outage",
            description=(
                "{{ $value | humanizePercentage }} of requests to deployment {{ $labels.litellm_model_name }} "
                "(model_id {{ $labels.model_id }}, provider {{ $labels.api_provider }}) failed over 5 minutes "
                f"(threshold {threshold(p.outage_failure_ratio * 100)}%, at least {p.outage_min_requests} requests); "
                "requests use fallbacks if configured."
            ),
        ),
    ]
