"""The typed stack configuration: one pydantic model for the `llm-gateway:` namespace.

Every difference between stacks is a setting here ("Settings, not stack names" in
docs/design.md) and every key is validated before a single resource is registered
("Refuse bad config early"). `StackConfig` holds one section model per top-level
key and the rules between two sections that need nothing but the sections (the
gateway's ingress for Langfuse and SSO, shared state for several processes).

The rules across the whole stack (secret rotation and inventory, names that must
differ, capacity and database budgets) read a finished `StackConfig`: they are in
config/checks.py, above this module, and `parse_config` (config/load.py) runs both.
"""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from config.langfuse import LangfuseConfig
from config.litellm import LiteLLMConfig
from config.observability import AlertRoutingConfig, AlertsConfig, GrafanaConfig, MonitoringConfig
from config.platform import DataSafetyConfig, GcpConfig, GkeConfig, NamespacesConfig
from config.postgres import PostgresConfig, ReportingConfig
from config.redis import REDIS_NEEDED, RedisConfig, langfuse_redis_problems
from config.secrets import SecretsConfig
from config.sso import SsoConfig
from config.tenants import TenantsConfig
from config.tenants_rules import tenant_problems
from config.types import ConfigProblemError, ResourceAmounts, Section, refuse


class StackConfig(Section):
    """The whole `llm-gateway:` namespace of a stack file."""

    gcp: GcpConfig = Field(description="The GCP project and region.")
    gke: GkeConfig = Field(description="The GKE cluster.")
    namespaces: NamespacesConfig = Field(description="The namespaces the program deploys to.")
    secrets: SecretsConfig = Field(description="Google Secret Manager and External Secrets Operator.")
    data_safety: DataSafetyConfig = Field(description="Resource options of stateful resources.")
    postgres: PostgresConfig = Field(description="LiteLLM's PostgreSQL: a CNPG cluster or an external server.")
    reporting: ReportingConfig = Field(
        default=ReportingConfig(), description="The job that keeps the reporting rollups fresh."
    )
    monitoring: MonitoringConfig = Field(
        default=MonitoringConfig(), description="How kube-prometheus-stack finds the monitors, rules and dashboards."
    )
    grafana: GrafanaConfig = Field(default=GrafanaConfig(), description="Grafana's PostgreSQL datasource.")
    alerts: AlertsConfig = Field(default=AlertsConfig(), description="Prometheus alert rules.")
    alertmanager: AlertRoutingConfig = Field(
        default=AlertRoutingConfig(), description="Alert routing (AlertmanagerConfig)."
    )
    litellm: LiteLLMConfig = Field(description="The LiteLLM proxy.")
    langfuse: LangfuseConfig = Field(default=LangfuseConfig(), description="Self-hosted Langfuse v3 (tracing).")
    sso: SsoConfig = Field(default=SsoConfig(), description="Single sign-on for the admin UI (oauth2-proxy).")
    redis: RedisConfig = Field(default=RedisConfig(), description="Shared state for LiteLLM's processes.")
    tenants: TenantsConfig = Field(
        default=TenantsConfig(),
        description="Teams, budgets and virtual keys, reconciled with LiteLLM (docs/tenants.md); default: none.",
    )
    # The cluster's allocatable CPU and memory for this program's workloads: the
    # stack's summed requests (config/footprint.py) must fit, or parse fails.
    capacity: ResourceAmounts = Field(
        description=(
            "The cluster's allocatable CPU and memory for this program: the stack's summed requests must fit "
            "(docs/scaling.md, Footprint)."
        )
    )

    @property
    def kube_context(self) -> str:
        return self.gke.kube_context or f"gke_{self.gcp.project}_{self.gke.location}_{self.gke.cluster_name}"

    @field_validator("litellm")
    @classmethod
    def _clients_outside_the_gateway(cls, lit: LiteLLMConfig, info: ValidationInfo) -> LiteLLMConfig:
        """A namespace peer admits every pod of it: naming the gateway namespace would open port 4000
        to the stack's own pods (Langfuse, ClickHouse, the reporting job) again."""
        namespaces = info.data.get("namespaces")
        if namespaces is not None and namespaces.gateway in lit.network.client_namespaces:
            raise ConfigProblemError(
                [
                    (
                        "network.client_namespaces",
                        f"must not name the gateway namespace {namespaces.gateway!r} (it would admit every pod "
                        "of it to port 4000); name its callers by label in network.gateway_client_pods",
                    )
                ]
            )
        return lit

    # Field validators reading the (already validated) litellm section: they run,
    # and are reported, even when an unrelated section has errors.
    @field_validator("langfuse")
    @classmethod
    def _langfuse_ingress(cls, lf: LangfuseConfig, info: ValidationInfo) -> LangfuseConfig:
        litellm = info.data.get("litellm")
        if litellm is not None and lf.enabled and lf.ingress_host and not litellm.ingress.cluster_issuer:
            raise ConfigProblemError(
                [("ingress_host", "needs litellm.ingress.cluster_issuer (the UI's TLS uses the gateway's issuer)")]
            )
        return lf

    @field_validator("redis")
    @classmethod
    def _shared_state(cls, redis: RedisConfig, info: ValidationInfo) -> RedisConfig:
        """A shared Redis for several LiteLLM processes, and one that never evicts for Langfuse's queues."""
        lf, lit = info.data.get("langfuse"), info.data.get("litellm")
        problems = langfuse_redis_problems(redis) if lf is not None and lf.enabled else []
        if lit is not None and redis.mode == "none":
            pods = lit.autoscaling.max_replicas if lit.autoscaling.enabled else lit.replicas
            processes = pods * lit.num_workers
            if processes > 1:
                what = "autoscaling.max_replicas" if lit.autoscaling.enabled else "replicas"
                problems.append(
                    (
                        "mode",
                        f"none with litellm.{what} ({pods}) x litellm.num_workers ({lit.num_workers}) = "
                        f"{processes} processes; set redis.mode memorystore or in_cluster. "
                        + REDIS_NEEDED.format(processes=processes),
                    )
                )
        refuse(problems)
        return redis

    @field_validator("tenants")
    @classmethod
    def _tenants_within_the_stack(cls, tenants: TenantsConfig, info: ValidationInfo) -> TenantsConfig:
        """Models the stack serves, namespaces it may deliver into, LiteLLM's key defaults and ceiling."""
        lit, namespaces = info.data.get("litellm"), info.data.get("namespaces")
        if lit is not None and namespaces is not None:
            refuse(tenant_problems(tenants, lit, namespaces))
        return tenants

    @field_validator("sso")
    @classmethod
    def _sso_behind_the_ingress(cls, sso: SsoConfig, info: ValidationInfo) -> SsoConfig:
        litellm = info.data.get("litellm")
        if litellm is None or not sso.enabled:
            return sso
        missing = []
        if not litellm.ingress.enabled:
            missing.append("litellm.ingress.enabled (the UI is served on the gateway's ingress host)")
        if not litellm.network.ingress_controller_namespace:
            missing.append("litellm.network.ingress_controller_namespace (the only client of oauth2-proxy)")
        if missing:
            raise ConfigProblemError([("enabled", "needs " + " and ".join(missing))])
        return sso
