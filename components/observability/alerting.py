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
from typing import Any

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
from config import AlertRoutingConfig, StackConfig


@dataclass(frozen=True)
class AlertingArgs:
    rule: dict[str, Any] | None
    """The PrometheusRule, None when `alerts.enabled` is false. Its builder
    (`rules.prometheus_rule`) legitimately reads five sections (alerts, namespaces, monitoring,
    litellm, postgres), so `from_config` renders it and the component only registers it."""
    routing: AlertRoutingConfig
    """`alertmanager`: the receivers and how alerts are grouped and repeated."""
    namespace: str
    """The gateway namespace: the routing and the receivers' Secrets live there."""
    prometheus_release: str
    """kube-prometheus-stack's release label, by which Alertmanager selects the routing."""
    project: str
    """The GCP project of the receivers' GSM secrets."""
    refresh_interval: str
    """How often ESO re-reads the receivers' credentials (`secrets.refresh_interval`)."""
    store: StoreAccess
    """The receivers' ExternalSecrets read through it; its accessor is granted each receiver's secret."""

    @classmethod
    def from_config(cls, cfg: StackConfig, store: StoreAccess) -> AlertingArgs:
        return cls(
            rule=prometheus_rule(cfg) if cfg.alerts.enabled else None,
            routing=cfg.alertmanager,
            namespace=cfg.namespaces.gateway,
            prometheus_release=cfg.monitoring.prometheus_release,
            project=cfg.gcp.project,
            refresh_interval=cfg.secrets.refresh_interval,
            store=store,
        )


class Alerting(pulumi.ComponentResource):
    """Registers the PrometheusRule and, with receivers, the routing and its credentials."""

    def __init__(self, name: str, args: AlertingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-gateway:alerting:Alerting", name, None, opts)
        store = args.store
        child = pulumi.ResourceOptions(parent=self)
        if args.rule is not None:
            custom_resource(f"{name}-rules", args.rule, child)

        grants = [
            grant_referenced_secret(
                f"{name}-{secret_id}-accessor", args.project, secret_id, store.accessor_email, child
            )
            for secret_id in referenced_gsm_secrets(args.routing)
        ]
        secrets = [
            custom_resource(
                f"{name}-{receiver_secret_name(r)}",
                receiver_external_secret(r, store.ref, args.namespace, args.refresh_interval),
                pulumi.ResourceOptions(parent=self, depends_on=list(grants)),
            )
            for r in args.routing.receivers
        ]
        routing = alertmanager_config(args.routing, args.namespace, args.prometheus_release)
        if routing is not None:
            custom_resource(f"{name}-routing", routing, pulumi.ResourceOptions(parent=self, depends_on=secrets))
        self.register_outputs(
            {
                "prometheus_rule": RULE_NAME if args.rule is not None else None,
                "receivers": [r.name for r in args.routing.receivers],
            }
        )
