"""LiteLLM's own config.yaml (the chart's `proxy_config`): the models, the proxy's settings, the
connection pool and spend-log retention, and the sections that put its shared state in Redis.

Pure data from `LiteLLMConfig`; a real LiteLLM proxy on loopback reads exactly this in the tests.
Names as read by LiteLLM 1.108.7.
"""

from __future__ import annotations

from typing import Any

from components.litellm import passthrough
from config import LiteLLMConfig

MASTER_KEY_ENV = "PROXY_MASTER_KEY"
"""The chart exports the master key Secret as this variable."""
REDIS_ENV = {"host": "REDIS_HOST", "port": "REDIS_PORT", "password": "REDIS_PASSWORD"}
"""LiteLLM's own REDIS_* variables (litellm._redis reads REDIS_<arg> for every redis client it builds)."""


def proxy_config(lit: LiteLLMConfig, tracing: bool = False, redis: bool = False) -> dict[str, Any]:
    """LiteLLM's config.yaml (the chart's `proxy_config`); `tracing` adds the `langfuse_otel` callback,
    `redis` puts the router's counters, the cache and the spend buffer in the shared Redis."""
    models = []
    for m in lit.models:
        params: dict[str, Any] = {"model": m.model}
        if m.api_key:
            params["api_key"] = f"os.environ/{m.api_key}"
        if m.api_base:
            params["api_base"] = m.api_base
        if m.rpm is not None:
            params["rpm"] = m.rpm
        if m.tpm is not None:
            params["tpm"] = m.tpm
        models.append({"model_name": m.name, "litellm_params": params})
    s = lit.settings
    litellm_settings: dict[str, Any] = {
        "callbacks": ["prometheus", "langfuse_otel"] if tracing else ["prometheus"],
        # Budget gauges for every key and team from the start (the budget alerts need them).
        "prometheus_initialize_budget_metrics": True,
        "json_logs": s.json_logs,
        "turn_off_message_logging": s.turn_off_message_logging,
        "cache": s.cache,
        "drop_params": s.drop_params,
        "request_timeout": s.request_timeout_seconds,
        "num_retries": s.num_retries,
        "store_audit_logs": s.store_audit_logs,
    }
    # user_email is personal data on the unauthenticated metrics port: excluded whatever the list says.
    litellm_settings["prometheus_exclude_labels"] = list(dict.fromkeys([*s.prometheus_exclude_labels, "user_email"]))
    if s.prometheus_max_series_per_metric is not None:
        litellm_settings["prometheus_metrics_max_series_per_metric"] = s.prometheus_max_series_per_metric
    defaults = {
        "max_budget": s.default_key_max_budget,
        "budget_duration": s.default_key_budget_duration,
        "rpm_limit": s.default_key_rpm_limit,
        "tpm_limit": s.default_key_tpm_limit,
    }
    if any(v is not None for v in defaults.values()):
        litellm_settings["default_key_generate_params"] = {k: v for k, v in defaults.items() if v is not None}
    if s.max_key_budget is not None:
        litellm_settings["upperbound_key_generate_params"] = {"max_budget": s.max_key_budget}
    config: dict[str, Any] = {
        "model_list": models,
        "litellm_settings": litellm_settings,
        "general_settings": {
            "master_key": f"os.environ/{MASTER_KEY_ENV}",
            "database_url": "os.environ/DATABASE_URL",
            **database_settings(lit),
            # Every closed provider pass-through prefix without client routes below it, claimed by a route
            # that refuses every key (components.litellm.passthrough): LiteLLM has no switch for them.
            "pass_through_endpoints": passthrough.claims(lit, tracing),
        },
    }
    router_settings: dict[str, Any] = {"routing_strategy": s.routing_strategy}
    fallbacks = [{m.name: list(m.fallbacks)} for m in lit.models if m.fallbacks]
    if fallbacks:
        router_settings["fallbacks"] = fallbacks
    config["router_settings"] = router_settings
    if redis:
        for section, entries in redis_settings(lit).items():
            config[section].update(entries)
    return config


def database_settings(lit: LiteLLMConfig) -> dict[str, Any]:
    """general_settings for the connection pool and the spend-log retention (names checked in
    LiteLLM 1.108.7: proxy/_types.py ConfigGeneralSettings, proxy_server.py's cleanup scheduling)."""
    db = lit.database
    return {
        # Per worker process: pods x num_workers x this must fit the budget (config/budget.py).
        "database_connection_pool_limit": db.connection_pool_limit,
        # Rows of LiteLLM_SpendLogs older than this are deleted; the daily tables are not.
        "maximum_spend_logs_retention_period": db.spend_logs_retention,
        # The cleanup runs every interval (+ up to 60 s jitter) on every pod without a Redis lock.
        "maximum_spend_logs_retention_interval": db.cleanup_interval,
        "maximum_spend_logs_cleanup_batch_size": db.cleanup_batch_size,
        "maximum_spend_logs_cleanup_max_batches": db.cleanup_max_batches,
    }


def redis_settings(lit: LiteLLMConfig) -> dict[str, dict[str, Any]]:
    """The proxy config sections that put LiteLLM's shared state in Redis (names as read by 1.108.7:
    Router(redis_host/redis_port/redis_password), litellm_settings.cache + cache_params (RedisCache),
    general_settings.use_redis_transaction_buffer). TLS and its CA come from REDIS_SSL/REDIS_SSL_CA_CERTS."""
    ref = {k: f"os.environ/{v}" for k, v in REDIS_ENV.items()}
    return {
        "router_settings": {f"redis_{k}": v for k, v in ref.items()},
        "litellm_settings": {
            "cache": True,
            # settings.cache chooses whether every response is cached, or only on request (`cache: {use-cache}`).
            "cache_params": {"type": "redis", **ref, "mode": "default_on" if lit.settings.cache else "default_off"},
        },
        "general_settings": {"use_redis_transaction_buffer": True},
    }
