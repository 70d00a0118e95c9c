"""`litellm`: the proxy's Helm release, its settings, database use and scaling. Its models and
provider keys (config/litellm_models.py), opened pass-through routes (config/litellm_passthrough.py),
network policy and ingress (config/litellm_network.py) are sections of their own modules."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from config.assets import LITELLM_CHART, matches_lock, restated_chart_version
from config.durations import PeriodRange
from config.litellm_models import ModelConfig, ProviderKeyConfig
from config.litellm_network import IngressConfig, NetworkConfig
from config.litellm_passthrough import OpenPassthrough, PassthroughConfig, resolve_passthrough
from config.types import (
    Period,
    PinnedImage,
    PinnedVersion,
    ReleaseName,
    Resources,
    Section,
    pattern,
    period_seconds,
    refuse,
    repeated_values,
)

API_PORT = 4000
"""The proxy's API port (authenticated; the metrics port must differ)."""


class LiteLLMSettingsConfig(Section):
    json_logs: bool = Field(default=True, description="JSON logs.")
    turn_off_message_logging: bool = Field(default=True, description="Never store prompts/responses in spend logs.")
    cache: bool = Field(default=False, description="LiteLLM's response cache.")
    store_audit_logs: bool = Field(default=True, description="Keep LiteLLM's audit log of key, team and user changes.")
    drop_params: bool = Field(
        default=True, description="Drop request parameters a provider does not support instead of failing."
    )
    request_timeout_seconds: Annotated[int, Field(ge=1, le=3600)] = Field(
        default=600, description="Timeout of a provider request."
    )
    num_retries: Annotated[int, Field(ge=0, le=10)] = Field(
        default=2, description="Retries of a failed provider request."
    )
    default_key_max_budget: Annotated[float, Field(gt=0, le=10**9)] | None = Field(
        default=None, description="USD budget of keys generated without one."
    )
    default_key_budget_duration: (
        Annotated[
            str,
            pattern(r"^[0-9]+[smhd]$", "a duration with one unit, e.g. 30d or 12h"),
            PeriodRange("1h", "365d", "a budget period; LiteLLM adds it to now to set the next reset"),
        ]
        | None
    ) = Field(default=None, description="Budget period of keys generated without one (e.g. 30d).")
    max_key_budget: Annotated[float, Field(gt=0, le=10**9)] | None = Field(
        default=None, description="Upper bound a generated key's budget may have."
    )
    prometheus_exclude_labels: list[
        Annotated[str, pattern(r"^[a-z_][a-z0-9_]*$", "a lowercase identifier, e.g. end_user")]
    ] = Field(
        default=[
            "end_user",
            "client_ip",
            "user_agent",
            "user_email",
        ],
        description=(
            "Labels dropped from every LiteLLM metric: caller-supplied, unbounded values (BerriAI/litellm#12159, "
            "#35666), and `user_email` (personal data on an unauthenticated port: always excluded). LiteLLM refuses to "
            "start on a name it does not define."
        ),
    )
    prometheus_max_series_per_metric: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(
        default=5000,
        description=(
            "LiteLLM's `prometheus_metrics_max_series_per_metric`: label sets beyond it share one series labelled "
            "`other` (counters, histograms) or are skipped (gauges). Bounds the series a flood of made-up bearer "
            "tokens creates (each is a new `hashed_api_key`); null: no cap."
        ),
    )
    default_key_rpm_limit: Annotated[int, Field(ge=1, le=10**7)] | None = Field(
        default=None, description="Requests per minute of keys generated without a limit."
    )
    default_key_tpm_limit: Annotated[int, Field(ge=1, le=10**10)] | None = Field(
        default=None, description="Tokens per minute of keys generated without a limit."
    )
    public_api_docs: bool = Field(
        default=True,
        description="Serve Swagger (/), ReDoc (/redoc) and /openapi.json; false sets NO_DOCS/NO_REDOC/NO_OPENAPI.",
    )
    routing_strategy: Literal["usage-based-routing-v2", "simple-shuffle"] = Field(
        default="usage-based-routing-v2",
        description=(
            "usage-based-routing-v2 enforces each model's rpm/tpm (counted in Redis across processes when `redis` is "
            "set); simple-shuffle uses them as load-balancing weights only and enforces nothing."
        ),
    )


class LiteLLMDatabaseConfig(Section):
    """How the proxy uses the stack's PostgreSQL: its connection pool and what it keeps
    (LiteLLM's general_settings; docs/scaling.md)."""

    connection_pool_limit: Annotated[int, Field(ge=1, le=100)] = Field(
        default=10,
        description="general_settings.database_connection_pool_limit: per worker process (LiteLLM's default 10).",
    )
    spend_logs_retention: Annotated[
        Period,
        PeriodRange(
            "1d",
            "3650d",
            "at least 1d: the dashboards read today's spend logs, and the cleanup deletes every older row",
        ),
    ] = Field(
        default="90d",
        description=(
            "general_settings.maximum_spend_logs_retention_period: older LiteLLM_SpendLogs rows are deleted (the daily "
            "aggregate tables, which the dashboards read, keep their history)."
        ),
    )
    cleanup_interval: Annotated[
        Period, PeriodRange("1h", "30d", "each run scans the spend logs; it must not be longer than the retention")
    ] = Field(
        default="1d", description="general_settings.maximum_spend_logs_retention_interval: how often the cleanup runs."
    )
    cleanup_batch_size: Annotated[int, Field(ge=100, le=100000)] = Field(
        default=1000, description="general_settings.maximum_spend_logs_cleanup_batch_size: rows per DELETE."
    )
    cleanup_max_batches: Annotated[int, Field(ge=1, le=100000)] = Field(
        default=500, description="general_settings.maximum_spend_logs_cleanup_max_batches: DELETEs per run."
    )
    expected_requests_per_day: Annotated[int, Field(ge=1, le=10**9)] = Field(
        default=10000,
        description="For the storage budget: requests (spend-log rows) a day at the busiest expected month.",
    )
    daily_rows_per_day: Annotated[int, Field(ge=0, le=10**8)] = Field(
        default=2000,
        description=(
            "For the storage budget: rows a day in the daily aggregate tables (about one per active user x key x "
            "model, plus one per team x key x model)."
        ),
    )
    daily_history_days: Annotated[int, Field(ge=1, le=36500)] = Field(
        default=730,
        description="For the storage budget: how long the daily aggregate tables are planned to grow (never pruned).",
    )

    @model_validator(mode="after")
    def _interval_within_retention(self) -> LiteLLMDatabaseConfig:
        if period_seconds(self.cleanup_interval) > period_seconds(self.spend_logs_retention):
            raise ValueError("cleanup_interval must not be longer than spend_logs_retention")
        return self


class AutoscalingConfig(Section):
    enabled: bool = Field(
        default=False, description="A HorizontalPodAutoscaler (the chart's autoscaling) instead of fixed replicas."
    )
    min_replicas: Annotated[int, Field(ge=1, le=100)] = Field(default=2, description="The HPA's floor.")
    max_replicas: Annotated[int, Field(ge=1, le=100)] = Field(
        default=10, description="The HPA's ceiling (counted in the connection budget)."
    )
    target_cpu_percent: Annotated[int, Field(ge=10, le=100)] = Field(
        default=60, description="The HPA's CPU utilization target."
    )

    @model_validator(mode="after")
    def _bounds(self) -> AutoscalingConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas must not exceed max_replicas")
        return self


ROOT_IMAGES: Final = frozenset({"litellm", "litellm-database", "litellm-alpine"})
"""LiteLLM's image variants built to run as root; `litellm-non_root` runs as nobody (uid 65534)."""
NON_ROOT_UID: Final = 65534
"""`nobody` in ghcr.io/berriai/litellm-non_root (docker/Dockerfile.non_root: `USER nobody`, HOME=/app)."""


def _non_root_image(image: str) -> str:
    repository = image.split("@", 1)[0].rpartition(":")[0]
    name = repository.rpartition("/")[2]
    if name in ROOT_IMAGES:
        tag = image.split("@", 1)[0].rpartition(":")[2]
        raise ValueError(
            f"{name} is built to run as root, and the pods run as uid {NON_ROOT_UID} with a read-only root "
            f"filesystem (the migration hook would not start): use the same version of the non-root variant, "
            f"{repository.rpartition('/')[0] or 'ghcr.io/berriai'}/litellm-non_root:{tag}"
        )
    return image


def _not_the_api_port(port: int) -> int:
    if port == API_PORT:
        raise ValueError(f"{port} is the API port (authenticated); the metrics port must differ, e.g. 4001")
    return port


_ENTRY_KEYS: Final = {"provider_keys": "env", "passthrough": "provider"}
"""The lists of `litellm` whose entries one key identifies: no two entries may share it."""


class LiteLLMConfig(Section):
    """The LiteLLM proxy Helm release."""

    release_name: ReleaseName = Field(
        default="litellm", description="Helm release (and Service) name: a leading letter, 53 characters at most."
    )
    chart_version: Annotated[PinnedVersion, AfterValidator(matches_lock(LITELLM_CHART))] | None = (
        restated_chart_version(LITELLM_CHART)
    )
    image: Annotated[PinnedImage, AfterValidator(_non_root_image)] = Field(
        description=(
            "Exact proxy image (repository:tag; latest, main-latest, main-stable... refused): the non-root variant "
            "ghcr.io/berriai/litellm-non_root (uid 65534), not litellm or litellm-database (root)."
        )
    )
    read_only_root_filesystem: bool = Field(
        default=True,
        description=(
            "The proxy's and the migration Job's root filesystem is read-only; they write only to their emptyDirs "
            "(docs/security.md). false needs writable_root_filesystem_reason."
        ),
    )
    writable_root_filesystem_reason: Annotated[str, Field(min_length=10, max_length=300)] | None = Field(
        default=None,
        description="Why the pods need a writable root filesystem (required when read_only_root_filesystem is false).",
    )
    replicas: Annotated[int, Field(ge=1, le=100)] = Field(description="Proxy replicas (without autoscaling).")
    num_workers: Annotated[int, Field(ge=1, le=32)] = Field(default=1, description="uvicorn worker processes per pod.")
    resources: Resources = Field(description="Requests and limits of the proxy container.")
    migration_resources: Resources = Field(description="Requests and limits of the chart's migration Job.")
    autoscaling: AutoscalingConfig = Field(
        default=AutoscalingConfig(), description="The chart's HorizontalPodAutoscaler."
    )
    pdb_min_available: Annotated[int, Field(ge=1, le=99)] | None = Field(
        default=None, description="PodDisruptionBudget minAvailable; must be below the replica floor. Unset: no PDB."
    )
    spread_across_nodes: bool = Field(
        default=False, description="Topology spread of the proxy pods over nodes (hard) and zones (soft)."
    )
    metrics_port: Annotated[int, Field(ge=1024, le=65535), AfterValidator(_not_the_api_port)] = Field(
        default=4001,
        description="PROMETHEUS_METRICS_PORT: /metrics/ without the master key (must differ from the API port 4000).",
    )
    models: Annotated[list[ModelConfig], Field(min_length=1)] = Field(
        description="LiteLLM's model_list (at least one)."
    )
    provider_keys: list[ProviderKeyConfig] = Field(
        default=[], description="Provider API keys kept in GSM, mounted as environment variables."
    )
    settings: LiteLLMSettingsConfig = Field(
        default=LiteLLMSettingsConfig(),
        description="LiteLLM's litellm_settings, router_settings and general_settings the program sets.",
    )
    database: LiteLLMDatabaseConfig = Field(
        default=LiteLLMDatabaseConfig(),
        description="How the proxy uses the stack's PostgreSQL (pool, spend-log retention, storage budget inputs).",
    )
    passthrough: list[PassthroughConfig] = Field(
        default=[],
        description=(
            "Providers whose pass-through routes (/openai/..., /anthropic/..., /azure/...) are open: their key is "
            "set as <PROVIDER>_API_KEY and their prefixes are routed on the Ingress. Any virtual key may call them "
            "unless its allowed_routes exclude them, and LiteLLM tracks no cost on most of them (docs/litellm.md). "
            "Empty: every pass-through route is refused. One entry per provider."
        ),
    )
    network: NetworkConfig = Field(description="The proxy's NetworkPolicies: who may reach it and where it may go.")
    ingress: IngressConfig = Field(default=IngressConfig(), description="The gateway's TLS Ingress.")

    # Field validators, not one model validator: each runs as soon as the fields it
    # reads are valid, so a reference error is reported beside unrelated field errors.
    @field_validator("models")
    @classmethod
    def _model_names(cls, models: list[ModelConfig]) -> list[ModelConfig]:
        names = [m.name for m in models]
        problems = repeated_values(names, "models", "name", what="model name ")
        for i, m in enumerate(models):
            for j, fb in enumerate(m.fallbacks):
                if fb not in names or fb == m.name:
                    others = sorted(set(names) - {m.name}) or "none"
                    problems.append((f"[{i}].fallbacks[{j}]", f"{fb!r} is not another model's name (others: {others})"))
        refuse(problems)
        return models

    @field_validator(*_ENTRY_KEYS)
    @classmethod
    def _one_entry_per_key(cls, entries: list[Any], info: ValidationInfo) -> list[Any]:
        field = str(info.field_name)
        refuse(repeated_values([getattr(e, _ENTRY_KEYS[field]) for e in entries], field, _ENTRY_KEYS[field]))
        return entries

    @model_validator(mode="after")
    def _api_keys_known(self) -> LiteLLMConfig:
        keys = [k.env for k in self.provider_keys]
        problems = [
            (f"models[{i}].api_key", f"{m.api_key!r} is not one of provider_keys[].env {keys}")
            for i, m in enumerate(self.models)
            if m.api_key is not None and m.api_key not in keys
        ]
        refuse(problems)
        return self

    @model_validator(mode="after")
    def _writable_root_has_a_reason(self) -> LiteLLMConfig:
        if not self.read_only_root_filesystem and self.writable_root_filesystem_reason is None:
            refuse(
                [
                    (
                        "writable_root_filesystem_reason",
                        "is required when read_only_root_filesystem is false: say why the pods must write outside "
                        "their emptyDirs",
                    )
                ]
            )
        return self

    @model_validator(mode="after")
    def _passthrough_resolves(self) -> LiteLLMConfig:
        refuse([problem for i in range(len(self.passthrough)) for problem in self._passthrough(i)[1]])
        return self

    def _passthrough(self, index: int) -> tuple[OpenPassthrough | None, list[tuple[str, str]]]:
        """The open pass-through of entry `index` (its key and upstream), or the problems that prevent it."""
        return resolve_passthrough(self.passthrough[index], f"passthrough[{index}]", self.models, self.provider_keys)

    def open_passthrough(self) -> tuple[OpenPassthrough, ...]:
        """The providers whose pass-through is open (validated: every entry resolves)."""
        resolved = [self._passthrough(i)[0] for i in range(len(self.passthrough))]
        return tuple(sorted((p for p in resolved if p is not None), key=lambda p: p.provider))

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
