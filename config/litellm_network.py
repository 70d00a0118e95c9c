"""`litellm.network` and `litellm.ingress`: who may reach the proxy, where it may go, and its TLS Ingress."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from config.types import Cidr, DnsLabel, Hostname, Section, pattern

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
