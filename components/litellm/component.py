"""LiteLLM: the proxy as a pinned Helm release, wired to the database and its keys.

Encapsulates:
- `litellm-helm` from its OCI registry as a `helm.v3.Release` (chart and image
  pinned in config; values from `components.litellm.values.helm_values`);
- the provider API keys: GSM secrets created by the platform team, granted to
  ESO's service account one by one, synced into one Secret that the release
  mounts with `environmentSecrets` under `LLMGW_*` names LiteLLM never reads by
  itself; an opened provider pass-through (`litellm.passthrough`) gets its key
  a second time as `<PROVIDER>_API_KEY` (components.litellm.passthrough);
- the pods' ServiceAccount, with no API token mounted (the chart's `default` would mount one);
- a metrics Service and ServiceMonitor on `PROMETHEUS_METRICS_PORT` (metrics
  never need the master key; only Prometheus's namespace may reach the port);
- NetworkPolicies (default deny; API from the configured namespaces and pods; egress
  to DNS, the database and the model endpoints) and, when enabled, a TLS Ingress
  (API client routes to LiteLLM, the admin surface through oauth2-proxy with SSO,
  `/metrics` and the closed pass-through prefixes to a Service without endpoints).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.kit import custom_resource, helm_release, ingress, network_policies, object_meta, service_host
from components.litellm import network, values
from components.litellm.names import service_name
from components.litellm.wiring import GatewayWiring
from components.secrets.store import StoreAccess, grant_referenced_secret
from config import LiteLLMConfig, PostgresConfig, StackConfig


@dataclass(frozen=True)
class LiteLLMArgs:
    litellm: LiteLLMConfig
    """The release: chart, image, proxy settings, provider keys, network, ingress."""
    postgres: PostgresConfig
    """Read for an external server's CIDRs (the database egress rule)."""
    wiring: GatewayWiring
    """Names and Outputs of the other components the release is wired to (and its namespace)."""
    project: str
    """The GCP project of the provider keys' GSM secrets."""
    refresh_interval: str
    """How often ESO re-reads the provider keys (`secrets.refresh_interval`)."""
    prometheus_release: str
    """kube-prometheus-stack's release label, by which Prometheus selects the ServiceMonitor."""
    store: StoreAccess
    """The provider keys' ExternalSecret reads through it; its accessor is granted each key."""

    @classmethod
    def from_config(cls, cfg: StackConfig, wiring: GatewayWiring, store: StoreAccess) -> LiteLLMArgs:
        return cls(
            litellm=cfg.litellm,
            postgres=cfg.postgres,
            wiring=wiring,
            project=cfg.gcp.project,
            refresh_interval=cfg.secrets.refresh_interval,
            prometheus_release=cfg.monitoring.prometheus_release,
            store=store,
        )


class LiteLLM(pulumi.ComponentResource):
    service_host: str

    def __init__(self, name: str, args: LiteLLMArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-gateway:litellm:LiteLLM", name, None, opts)
        lit, wired = args.litellm, args.wiring
        ns = wired.namespace
        store, accessor_email = args.store.ref, args.store.accessor_email
        child = pulumi.ResourceOptions(parent=self)
        depends: list[pulumi.Resource] = []

        grants = [
            grant_referenced_secret(
                f"{name}-key-accessor-{key.gsm_secret}", args.project, key.gsm_secret, accessor_email, child
            )
            for key in lit.provider_keys
        ]
        keys = values.provider_keys_secret(lit, store, ns, args.refresh_interval)
        if keys is not None:
            depends.append(
                custom_resource(
                    f"{name}-provider-keys", keys, pulumi.ResourceOptions(parent=self, depends_on=list(grants))
                )
            )
        # The opened pass-through providers' keys, under the names LiteLLM reads (same GSM secrets).
        opened = values.passthrough_keys_secret(lit, store, ns, args.refresh_interval)
        if opened is not None:
            depends.append(
                custom_resource(
                    f"{name}-passthrough-keys", opened, pulumi.ResourceOptions(parent=self, depends_on=list(grants))
                )
            )

        network_policies(name, network.network_policies(lit, args.postgres, wired), child)
        account = values.service_account(lit, ns)
        depends.append(
            k8s.core.v1.ServiceAccount(
                f"{name}-service-account",
                metadata=object_meta(account["metadata"]),
                automount_service_account_token=account["automountServiceAccountToken"],
                opts=child,
            )
        )

        release = helm_release(
            f"{name}-release",
            lit.release_name,
            ns,
            values.helm_chart(lit),
            values.helm_values(lit, wired),
            pulumi.ResourceOptions(parent=self, depends_on=depends),
        )

        service = values.metrics_service(lit, ns)
        k8s.core.v1.Service(
            f"{name}-metrics",
            metadata=object_meta(service["metadata"]),
            spec=service["spec"],
            opts=child,
        )
        custom_resource(f"{name}-service-monitor", values.service_monitor(lit, ns, args.prometheus_release), child)

        blocked = network.blocked_service(lit, ns)
        if blocked is not None:
            k8s.core.v1.Service(
                f"{name}-blocked", metadata=object_meta(blocked["metadata"]), spec=blocked["spec"], opts=child
            )
        ingress(
            f"{name}-ingress",
            network.ingress(lit, ns, wired.admin),
            pulumi.ResourceOptions(parent=self, depends_on=[release]),
        )
        self.service_host = service_host(service_name(lit), ns)
        self.register_outputs({"service_host": self.service_host, "release": lit.release_name})
