"""`litellm`: the proxy's Helm release, its models, keys, settings, database use,
network policy and ingress."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, ValidationInfo, field_validator, model_validator

from config.types import (
    Cidr,
    ConfigProblemError,
    DnsLabel,
    GsmSecretId,
    Hostname,
    HttpsUrl,
    Period,
    PinnedImage,
    PinnedVersion,
    ReleaseName,
    Resources,
    Section,
    period_seconds,
)

API_PORT = 4000
"""The proxy's API port (authenticated; the metrics port must differ)."""


EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,62}$")]
ModelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")]


class ModelConfig(Section):
    """One entry of LiteLLM's `model_list`."""

    name: ModelName
    """`model_name` clients ask for."""
    model: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]+/[^\s]+$")]
    """Provider model, `provider/model` (e.g. `openai/gpt-4o`)."""
    api_key: EnvVarName | None = None
    """Name of an entry of `litellm.provider_keys` (the env var the key is mounted as)."""
    api_base: HttpsUrl | None = None
    rpm: Annotated[int, Field(ge=1)] | None = None
    tpm: Annotated[int, Field(ge=1)] | None = None
    fallbacks: list[ModelName] = []


class ProviderKeyConfig(Section):
    """A provider API key kept in GSM by the platform team (never generated here)."""

    env: EnvVarName
    gsm_secret: GsmSecretId


class LiteLLMSettingsConfig(Section):
    json_logs: bool = True
    turn_off_message_logging: bool = True
    """Never store prompts/responses in spend logs."""
    cache: bool = False
    store_audit_logs: bool = True
    drop_params: bool = True
    request_timeout_seconds: Annotated[int, Field(ge=1, le=3600)] = 600
    num_retries: Annotated[int, Field(ge=0, le=10)] = 2
    default_key_max_budget: Annotated[float, Field(gt=0)] | None = None
    """USD budget of keys generated without one."""
    default_key_budget_duration: Annotated[str, StringConstraints(pattern=r"^[0-9]+[smhd]$")] | None = None
    max_key_budget: Annotated[float, Field(gt=0)] | None = None
    """Upper bound a generated key's budget may have."""
    prometheus_exclude_labels: list[Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*$")]] = [
        "end_user",
        "client_ip",
        "user_agent",
        "user_email",
    ]
    """Labels dropped from every LiteLLM metric: caller-supplied, unbounded values
    (BerriAI/litellm#12159, #35666), and `user_email` (personal data on an unauthenticated port:
    always excluded). LiteLLM refuses to start on a name it does not define."""
    prometheus_max_series_per_metric: Annotated[int, Field(ge=1)] | None = 5000
    """LiteLLM's `prometheus_metrics_max_series_per_metric`: label sets beyond it share one
    series labelled `other` (counters, histograms) or are skipped (gauges). Bounds the series a
    flood of made-up bearer tokens creates (each is a new `hashed_api_key`); null: no cap."""
    default_key_rpm_limit: Annotated[int, Field(ge=1)] | None = None
    default_key_tpm_limit: Annotated[int, Field(ge=1)] | None = None
    public_api_docs: bool = True
    """Serve Swagger (/), ReDoc (/redoc) and /openapi.json; false sets NO_DOCS/NO_REDOC/NO_OPENAPI."""
    routing_strategy: Literal["usage-based-routing-v2", "simple-shuffle"] = "usage-based-routing-v2"
    """usage-based-routing-v2 enforces each model's rpm/tpm (counted in Redis across processes when
    `redis` is set); simple-shuffle uses them as load-balancing weights only and enforces nothing."""


def _at_least_a_day(period: str) -> str:
    if period_seconds(period) < 86400:
        raise ValueError(
            "must be at least 1d: the dashboards read today's spend logs, and the cleanup deletes every row "
            f"older than this, got {period!r}"
        )
    return period


class LiteLLMDatabaseConfig(Section):
    """How the proxy uses the stack's PostgreSQL: its connection pool and what it keeps
    (LiteLLM's general_settings; README "Scaling")."""

    connection_pool_limit: Annotated[int, Field(ge=1, le=100)] = 10
    """general_settings.database_connection_pool_limit: per worker process (LiteLLM's default 10)."""
    spend_logs_retention: Annotated[Period, AfterValidator(_at_least_a_day)] = "90d"
    """general_settings.maximum_spend_logs_retention_period: older LiteLLM_SpendLogs rows are deleted
    (the daily aggregate tables, which the dashboards read, keep their history)."""
    cleanup_interval: Period = "1d"
    """general_settings.maximum_spend_logs_retention_interval: how often the cleanup runs."""
    cleanup_batch_size: Annotated[int, Field(ge=100, le=100000)] = 1000
    """general_settings.maximum_spend_logs_cleanup_batch_size: rows per DELETE."""
    cleanup_max_batches: Annotated[int, Field(ge=1, le=100000)] = 500
    """general_settings.maximum_spend_logs_cleanup_max_batches: DELETEs per run."""
    expected_requests_per_day: Annotated[int, Field(ge=1)] = 10000
    """For the storage budget: requests (spend-log rows) a day at the busiest expected month."""
    daily_rows_per_day: Annotated[int, Field(ge=0)] = 2000
    """For the storage budget: rows a day in the daily aggregate tables (about one per
    active user x key x model, plus one per team x key x model)."""
    daily_history_days: Annotated[int, Field(ge=1, le=36500)] = 730
    """For the storage budget: how long the daily aggregate tables are planned to grow (never pruned)."""

    @model_validator(mode="after")
    def _interval_within_retention(self) -> LiteLLMDatabaseConfig:
        if period_seconds(self.cleanup_interval) > period_seconds(self.spend_logs_retention):
            raise ValueError("cleanup_interval must not be longer than spend_logs_retention")
        if period_seconds(self.cleanup_interval) < 3600:
            raise ValueError("cleanup_interval must be at least 1h (each run scans the spend logs)")
        return self


LabelKey = Annotated[
    str, StringConstraints(pattern=r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
]
LabelValue = Annotated[str, StringConstraints(pattern=r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")]


class NetworkConfig(Section):
    """Who may talk to the gateway, and where it may talk to."""

    client_namespaces: list[DnsLabel]
    """Namespaces whose pods may call the API (port 4000)."""
    prometheus_namespace: DnsLabel = "monitoring"
    prometheus_pod_labels: Annotated[dict[LabelKey, LabelValue], Field(min_length=1)] = {
        "app.kubernetes.io/name": "prometheus"
    }
    """Labels of the Prometheus server pods (prometheus-operator sets this one): the only pods of
    prometheus_namespace that may reach the unauthenticated metrics ports (LiteLLM's, CNPG's)."""
    ingress_controller_namespace: DnsLabel | None = None
    egress_cidrs: list[Cidr] = []
    """Model endpoints by CIDR (HTTPS only)."""
    egress_namespaces: list[DnsLabel] = []
    """In-cluster model servers by namespace."""


class IngressConfig(Section):
    enabled: bool = False
    host: Hostname | None = None
    class_name: DnsLabel = "nginx"
    cluster_issuer: DnsLabel | None = None
    """cert-manager ClusterIssuer for the TLS certificate."""

    @model_validator(mode="after")
    def _complete(self) -> IngressConfig:
        if self.enabled and (not self.host or not self.cluster_issuer):
            raise ValueError("an enabled ingress needs host and cluster_issuer")
        return self


class AutoscalingConfig(Section):
    enabled: bool = False
    min_replicas: Annotated[int, Field(ge=1, le=100)] = 2
    max_replicas: Annotated[int, Field(ge=1, le=100)] = 10
    target_cpu_percent: Annotated[int, Field(ge=10, le=100)] = 60

    @model_validator(mode="after")
    def _bounds(self) -> AutoscalingConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas must not exceed max_replicas")
        return self


def _not_the_api_port(port: int) -> int:
    if port == API_PORT:
        raise ValueError(f"{port} is the API port (authenticated); the metrics port must differ, e.g. 4001")
    return port


class LiteLLMConfig(Section):
    """The LiteLLM proxy Helm release."""

    release_name: ReleaseName = "litellm"
    chart: Annotated[str, StringConstraints(pattern=r"^oci://[^\s]+$")] = "oci://ghcr.io/berriai/litellm-helm"
    chart_version: PinnedVersion
    image: PinnedImage
    replicas: Annotated[int, Field(ge=1, le=100)]
    num_workers: Annotated[int, Field(ge=1, le=32)] = 1
    resources: Resources
    migration_resources: Resources
    autoscaling: AutoscalingConfig = AutoscalingConfig()
    pdb_min_available: Annotated[int, Field(ge=1)] | None = None
    spread_across_nodes: bool = False
    metrics_port: Annotated[int, Field(ge=1024, le=65535), AfterValidator(_not_the_api_port)] = 4001
    models: Annotated[list[ModelConfig], Field(min_length=1)]
    provider_keys: list[ProviderKeyConfig] = []
    settings: LiteLLMSettingsConfig = LiteLLMSettingsConfig()
    database: LiteLLMDatabaseConfig = LiteLLMDatabaseConfig()
    network: NetworkConfig
    ingress: IngressConfig = IngressConfig()

    # Field validators, not one model validator: each runs as soon as the fields it
    # reads are valid, so a reference error is reported beside unrelated field errors.
    @field_validator("models")
    @classmethod
    def _model_names(cls, models: list[ModelConfig]) -> list[ModelConfig]:
        problems = []
        names = [m.name for m in models]
        for i, m in enumerate(models):
            if names.index(m.name) != i:
                problems.append(
                    (f"[{i}].name", f"model name {m.name!r} is already used by models[{names.index(m.name)}]")
                )
            for j, fb in enumerate(m.fallbacks):
                if fb not in names or fb == m.name:
                    others = sorted(set(names) - {m.name}) or "none"
                    problems.append((f"[{i}].fallbacks[{j}]", f"{fb!r} is not another model's name (others: {others})"))
        if problems:
            raise ConfigProblemError(problems)
        return models

    @field_validator("provider_keys")
    @classmethod
    def _key_references(cls, keys: list[ProviderKeyConfig]) -> list[ProviderKeyConfig]:
        problems = []
        envs = [k.env for k in keys]
        for i, env in enumerate(envs):
            if envs.index(env) != i:
                problems.append((f"[{i}].env", f"{env!r} is already used by provider_keys[{envs.index(env)}]"))
        if problems:
            raise ConfigProblemError(problems)
        return keys

    @model_validator(mode="after")
    def _api_keys_known(self) -> LiteLLMConfig:
        keys = [k.env for k in self.provider_keys]
        problems = [
            (f"models[{i}].api_key", f"{m.api_key!r} is not one of provider_keys[].env {keys}")
            for i, m in enumerate(self.models)
            if m.api_key is not None and m.api_key not in keys
        ]
        if problems:
            raise ConfigProblemError(problems)
        return self

    @field_validator("pdb_min_available")
    @classmethod
    def _pdb_below_floor(cls, pdb: int | None, info: ValidationInfo) -> int | None:
        replicas, autoscaling = info.data.get("replicas"), info.data.get("autoscaling")
        if pdb is None or replicas is None or autoscaling is None:
            return pdb
        floor = autoscaling.min_replicas if autoscaling.enabled else replicas
        if pdb >= floor:
            raise ValueError(f"must be below the replica floor ({floor}), or no node could ever be drained")
        return pdb
