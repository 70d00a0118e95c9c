"""Alerting: Prometheus alert rules for the gateway and its database, and their routing.

Registers the `PrometheusRule` of `components.observability.rules` (when
`alerts.enabled`) and, when `alertmanager.receivers` is not empty, the routing of
`components.observability.routing`: the `AlertmanagerConfig`, one `ExternalSecret`
per receiver, and a `roles/secretmanager.secretAccessor` grant for the secret
store's Google service account on each referenced GSM secret (per secret, never
project-wide).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.kit import custom_resource
from components.observability.routing import (
    alertmanager_config,
    receiver_external_secret,
    receiver_secret_name,
    referenced_gsm_secrets,
)
from components.observability.rules import RULE_NAME, prometheus_rule
from components.secrets.store import StoreAccess, grant_referenced_secret
from config import StackConfig


@dataclass(frozen=True)
class AlertingArgs:
    config: StackConfig
    """The rules read alerts, namespaces, monitoring, litellm and postgres; the routing alertmanager,
    gcp and secrets."""
    store: StoreAccess
    """The receivers' ExternalSecrets read through it; its accessor is granted each receiver's secret."""


class Alerting(pulumi.ComponentResource):
    """Registers the PrometheusRule and, with receivers, the routing and its credentials."""

    def __init__(self, name: str, args: AlertingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-gateway:alerting:Alerting", name, None, opts)
        cfg, store = args.config, args.store
        child = pulumi.ResourceOptions(parent=self)
        if cfg.alerts.enabled:
            custom_resource(f"{name}-rules", prometheus_rule(cfg), child)

        grants = [
            grant_referenced_secret(
                f"{name}-{secret_id}-accessor", cfg.gcp.project, secret_id, store.accessor_email, child
            )
            for secret_id in referenced_gsm_secrets(cfg)
        ]
        secrets = [
            custom_resource(
                f"{name}-{receiver_secret_name(r)}",
                receiver_external_secret(cfg, r, store.ref),
                pulumi.ResourceOptions(parent=self, depends_on=list(grants)),
            )
            for r in cfg.alertmanager.receivers
        ]
        routing = alertmanager_config(cfg)
        if routing is not None:
            custom_resource(f"{name}-routing", routing, pulumi.ResourceOptions(parent=self, depends_on=secrets))
        self.register_outputs(
            {
                "prometheus_rule": RULE_NAME if cfg.alerts.enabled else None,
                "receivers": [r.name for r in cfg.alertmanager.receivers],
            }
        )
