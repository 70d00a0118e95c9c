"""`litellm`: the proxy's Helm release, its models, keys, settings, database use,
network policy and ingress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from config.assets import LITELLM_CHART, matches_lock
from config.types import (
    Cidr,
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
    pattern,
    period_seconds,
    refuse,
    repeated_values,
)

API_PORT = 4000
"""The proxy's API port (authenticated; the metrics port must differ)."""


EnvVarName = Annotated[str, pattern(r"^[A-Z][A-Z0-9_]{0,62}$", "an environment variable name, e.g. OPENAI_API_KEY")]
KEY_ENV_PREFIX: Final = "LLMGW_"
"""Provider keys reach the proxy only under names with this prefix: LiteLLM reads none of them by
itself (no string of the installed package starts with it), so its pass-through router, which reads
`<PROVIDER>_API_KEY`, finds no company key (docs/litellm.md, "Provider pass-through")."""
ProviderKeyEnv = Annotated[
    str,
    pattern(
        rf"^{KEY_ENV_PREFIX}[A-Z0-9][A-Z0-9_]{{0,56}}$",
        f"a name LiteLLM never reads by itself: {KEY_ENV_PREFIX} and upper-case letters, e.g. LLMGW_OPENAI_KEY",
    ),
]
ModelName = Annotated[str, pattern(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$", "a model name, e.g. gpt-4o")]


class ModelConfig(Section):
    """One entry of LiteLLM's `model_list`."""

    name: ModelName = Field(description="`model_name` clients ask for.")
    model: Annotated[str, pattern(r"^[a-z0-9_-]+/[^\s]+$", "provider/model, e.g. openai/gpt-4o")] = Field(
        description="Provider model, `provider/model` (e.g. `openai/gpt-4o`)."
    )
    api_key: ProviderKeyEnv | None = Field(
        default=None,
        description="`litellm.provider_keys[].env` of the key this model uses (referenced as `os.environ/<env>`).",
    )
    api_base: HttpsUrl | None = Field(
        default=None, description="The provider endpoint, when not the provider's default."
    )
    rpm: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Requests per minute of this deployment (enforced by usage-based-routing-v2)."
    )
    tpm: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Tokens per minute of this deployment (enforced by usage-based-routing-v2)."
    )
    fallbacks: list[ModelName] = Field(default=[], description="Other models' names tried when this one fails.")


class ProviderKeyConfig(Section):
    """A provider API key kept in GSM by the platform team (never generated here)."""

    env: ProviderKeyEnv = Field(
        description=(
            "Environment variable the key is mounted as (models name it in api_key): LLMGW_ and a name, never one "
            "LiteLLM reads by itself such as OPENAI_API_KEY (its pass-through routes would spend the key)."
        )
    )
    gsm_secret: GsmSecretId = Field(description="GSM secret holding the key (created by the platform team).")


@dataclass(frozen=True)
class PassthroughProvider:
    """What opening one provider's pass-through takes (LiteLLM 1.108.7; the prefixes are captured from the
    installed package in components/litellm/passthrough.json, checked by tests/components/litellm)."""

    prefixes: tuple[str, ...]
    """Its pass-through route prefixes (the Ingress routes these to LiteLLM once opened)."""
    api_base_env: str
    """The variable its pass-through route reads the upstream from (before the provider's default)."""
    api_base_required: bool = False
    """The route refuses to run without it (Azure has no default endpoint)."""


PASSTHROUGH_PROVIDERS: Final = {
    "anthropic": PassthroughProvider(("/anthropic",), "ANTHROPIC_API_BASE"),
    "azure": PassthroughProvider(("/azure", "/azure_ai"), "AZURE_API_BASE", api_base_required=True),
    "openai": PassthroughProvider(("/openai", "/openai_passthrough"), "OPENAI_API_BASE"),
}
"""Providers whose pass-through `litellm.passthrough` may open: those whose route takes its key from
`<PROVIDER>_API_KEY`, proven on a real proxy (tests/components/litellm/test_passthrough_real_proxy.py)."""
PassthroughProviderName = Literal["anthropic", "azure", "openai"]


def passthrough_key_env(provider: str) -> str:
    """The variable LiteLLM's pass-through router reads a provider's key from (`{PROVIDER}_API_KEY`:
    PassthroughEndpointRouter._get_default_env_variable_name_passthrough_endpoint, captured as `key_env`
    in components/litellm/passthrough.json)."""
    return f"{provider.upper()}_API_KEY"


def model_provider(model: str) -> str:
    """The provider of a `provider/model` name (`openai/gpt-4o` -> `openai`)."""
    return model.split("/", 1)[0]


class PassthroughConfig(Section):
    """One provider's pass-through routes, opened (docs/litellm.md, "Provider pass-through")."""

    provider: PassthroughProviderName = Field(description="The provider whose pass-through routes open.")
    key: ProviderKeyEnv | None = Field(
        default=None,
        description=(
            "`provider_keys[].env` of the key the routes spend, set as `<PROVIDER>_API_KEY` in the proxy; default: "
            "the one key this provider's models name."
        ),
    )
    api_base: HttpsUrl | None = Field(
        default=None,
        description=(
            "Upstream of the routes (`<PROVIDER>_API_BASE`); default: the one api_base of this provider's models "
            "that use the key, if any (required for azure)."
        ),
    )


@dataclass(frozen=True)
class OpenPassthrough:
    """A provider whose pass-through is open, resolved from `litellm.passthrough` and the models."""

    provider: str
    key_env: str
    """`provider_keys[].env` of the key it spends."""
    gsm_secret: str
    api_base: str | None

    @property
    def spec(self) -> PassthroughProvider:
        return PASSTHROUGH_PROVIDERS[self.provider]


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
    default_key_max_budget: Annotated[float, Field(gt=0)] | None = Field(
        default=None, description="USD budget of keys generated without one."
    )
    default_key_budget_duration: (
        Annotated[str, pattern(r"^[0-9]+[smhd]$", "a duration with one unit, e.g. 30d or 12h")] | None
    ) = Field(default=None, description="Budget period of keys generated without one (e.g. 30d).")
    max_key_budget: Annotated[float, Field(gt=0)] | None = Field(
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
    prometheus_max_series_per_metric: Annotated[int, Field(ge=1)] | None = Field(
        default=5000,
        description=(
            "LiteLLM's `prometheus_metrics_max_series_per_metric`: label sets beyond it share one series labelled "
            "`other` (counters, histograms) or are skipped (gauges). Bounds the series a flood of made-up bearer "
            "tokens creates (each is a new `hashed_api_key`); null: no cap."
        ),
    )
    default_key_rpm_limit: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Requests per minute of keys generated without a limit."
    )
    default_key_tpm_limit: Annotated[int, Field(ge=1)] | None = Field(
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


def _at_least_a_day(period: str) -> str:
    if period_seconds(period) < 86400:
        raise ValueError(
            "must be at least 1d: the dashboards read today's spend logs, and the cleanup deletes every row "
            f"older than this, got {period!r}"
        )
    return period


class LiteLLMDatabaseConfig(Section):
    """How the proxy uses the stack's PostgreSQL: its connection pool and what it keeps
    (LiteLLM's general_settings; docs/scaling.md)."""

    connection_pool_limit: Annotated[int, Field(ge=1, le=100)] = Field(
        default=10,
        description="general_settings.database_connection_pool_limit: per worker process (LiteLLM's default 10).",
    )
    spend_logs_retention: Annotated[Period, AfterValidator(_at_least_a_day)] = Field(
        default="90d",
        description=(
            "general_settings.maximum_spend_logs_retention_period: older LiteLLM_SpendLogs rows are deleted (the daily "
            "aggregate tables, which the dashboards read, keep their history)."
        ),
    )
    cleanup_interval: Period = Field(
        default="1d", description="general_settings.maximum_spend_logs_retention_interval: how often the cleanup runs."
    )
    cleanup_batch_size: Annotated[int, Field(ge=100, le=100000)] = Field(
        default=1000, description="general_settings.maximum_spend_logs_cleanup_batch_size: rows per DELETE."
    )
    cleanup_max_batches: Annotated[int, Field(ge=1, le=100000)] = Field(
        default=500, description="general_settings.maximum_spend_logs_cleanup_max_batches: DELETEs per run."
    )
    expected_requests_per_day: Annotated[int, Field(ge=1)] = Field(
        default=10000,
        description="For the storage budget: requests (spend-log rows) a day at the busiest expected month.",
    )
    daily_rows_per_day: Annotated[int, Field(ge=0)] = Field(
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
        if period_seconds(self.cleanup_interval) < 3600:
            raise ValueError("cleanup_interval must be at least 1h (each run scans the spend logs)")
        return self


LabelKey = Annotated[
    str,
    pattern(
        r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$",
        "a label key, e.g. app.kubernetes.io/name",
    ),
]
LabelValue = Annotated[
    str,
    pattern(
        r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$",
        "a label value: up to 63 letters, digits, '-_.', e.g. web",
    ),
]


class NetworkConfig(Section):
    """Who may talk to the gateway, and where it may talk to."""

    client_namespaces: list[DnsLabel] = Field(
        description=(
            "Other namespaces whose pods may call the API (port 4000). Not the gateway namespace: its pods are the "
            "stack's own (Langfuse, ClickHouse, the reporting job...); name its callers in gateway_client_pods."
        )
    )
    prometheus_namespace: DnsLabel = Field(
        default="monitoring", description="Namespace of the Prometheus that scrapes the metrics ports."
    )
    prometheus_pod_labels: Annotated[dict[LabelKey, LabelValue], Field(min_length=1)] = Field(
        default={"app.kubernetes.io/name": "prometheus"},
        description=(
            "Labels of the Prometheus server pods (prometheus-operator sets this one): the only pods of "
            "prometheus_namespace that may reach the unauthenticated metrics ports (LiteLLM's, CNPG's)."
        ),
    )
    ingress_controller_namespace: DnsLabel | None = Field(
        default=None,
        description="The ingress controller's namespace (admitted to the API port and, with sso, to oauth2-proxy).",
    )
    gateway_client_pods: list[Annotated[dict[LabelKey, LabelValue], Field(min_length=1)]] = Field(
        default=[],
        description=(
            "Labels of pods in the gateway namespace that may call the API (port 4000), one selector each. "
            "oauth2-proxy (sso) is admitted by its own policy; nothing else the stack runs calls LiteLLM."
        ),
    )
    egress_cidrs: list[Cidr] = Field(
        default=[],
        description=(
            "Model endpoints by CIDR (HTTPS only). Kubernetes NetworkPolicy has no host names: 0.0.0.0/0 is the "
            "one open rule for public provider APIs (docs/security.md)."
        ),
    )
    egress_namespaces: list[DnsLabel] = Field(default=[], description="In-cluster model servers by namespace.")


class IngressConfig(Section):
    enabled: bool = Field(
        default=False, description="A TLS Ingress for the gateway (sets PROXY_BASE_URL=https://<host>)."
    )
    host: Hostname | None = Field(default=None, description="The gateway's host name (required when enabled).")
    class_name: DnsLabel = Field(default="nginx", description="IngressClass of the Ingress.")
    cluster_issuer: DnsLabel | None = Field(
        default=None, description="cert-manager ClusterIssuer for the TLS certificate."
    )

    @model_validator(mode="after")
    def _complete(self) -> IngressConfig:
        if self.enabled and (not self.host or not self.cluster_issuer):
            raise ValueError("an enabled ingress needs host and cluster_issuer")
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


class LiteLLMConfig(Section):
    """The LiteLLM proxy Helm release."""

    release_name: ReleaseName = Field(
        default="litellm", description="Helm release (and Service) name: a leading letter, 53 characters at most."
    )
    chart_version: Annotated[PinnedVersion, AfterValidator(matches_lock(LITELLM_CHART))] | None = Field(
        default=None,
        description=(
            "Optional: restates the version of the chart the release installs, `chart/litellm-helm` in "
            "assets.lock.json (docs/versions.md); refused when it differs. Unset: the lock decides."
        ),
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
    pdb_min_available: Annotated[int, Field(ge=1)] | None = Field(
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

    @field_validator("provider_keys")
    @classmethod
    def _key_references(cls, keys: list[ProviderKeyConfig]) -> list[ProviderKeyConfig]:
        refuse(repeated_values([k.env for k in keys], "provider_keys", "env"))
        return keys

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

    @field_validator("passthrough")
    @classmethod
    def _one_entry_per_provider(cls, entries: list[PassthroughConfig]) -> list[PassthroughConfig]:
        refuse(repeated_values([e.provider for e in entries], "passthrough", "provider"))
        return entries

    @model_validator(mode="after")
    def _passthrough_resolves(self) -> LiteLLMConfig:
        refuse([problem for i in range(len(self.passthrough)) for problem in self._passthrough(i)[1]])
        return self

    def _passthrough(self, index: int) -> tuple[OpenPassthrough | None, list[tuple[str, str]]]:
        """The open pass-through of entry `index` (its key and upstream), or the problems that prevent it."""
        where = f"passthrough[{index}]"
        setting = self.passthrough[index]
        provider = setting.provider
        spec = PASSTHROUGH_PROVIDERS[provider]
        models = [m for m in self.models if model_provider(m.model) == provider]
        keys = {k.env: k.gsm_secret for k in self.provider_keys}
        named = list(dict.fromkeys(m.api_key for m in models if m.api_key is not None))
        if setting.key is not None and setting.key not in keys:
            return None, [(f"{where}.key", f"{setting.key!r} is not one of provider_keys[].env {sorted(keys)}")]
        if setting.key is None and not named:
            return None, [
                (
                    where,
                    f"the stack has no key for {provider}: no model of provider {provider} names an api_key (add "
                    f"one, or set {where}.key to one of provider_keys[].env), or remove this entry",
                )
            ]
        if setting.key is None and len(named) > 1:
            return None, [(f"{where}.key", f"{provider}'s models use {named}: name the one the routes spend")]
        key = setting.key or named[0]
        bases = list(dict.fromkeys(m.api_base for m in models if m.api_key == key and m.api_base is not None))
        if setting.api_base is None and len(bases) > 1:
            return None, [(f"{where}.api_base", f"the models using {key} have several api_base {bases}: name one")]
        api_base = setting.api_base or (bases[0] if bases else None)
        if api_base is None and spec.api_base_required:
            return None, [(f"{where}.api_base", f"is required: {provider}'s pass-through has no default upstream")]
        if api_base is not None:
            # LiteLLM also takes <PROVIDER>_API_BASE as the default endpoint of the provider's models.
            unset = [m.name for m in models if m.api_base is None]
            if unset:
                return None, [
                    (
                        f"{where}.api_base",
                        f"{spec.api_base_env}={api_base} would also become the endpoint of {unset}, which set no "
                        "api_base: give them one",
                    )
                ]
        return OpenPassthrough(provider, key, keys[key], api_base), []

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
