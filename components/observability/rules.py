"""Pure builders of the gateway's Prometheus alert rules (no Pulumi calls).

One `PrometheusRule` (monitoring.coreos.com/v1) in the gateway namespace, labelled
`release: <monitoring.prometheus_release>` so kube-prometheus-stack's Prometheus loads it,
with the groups availability, performance, usage, cost, budgets, providers, (CNPG engine
only) database and retention; thresholds and `for` durations come from `alerts.*`. Every
alert carries `severity` and `namespace` (the gateway namespace, which the
AlertmanagerConfig's implicit namespace matcher needs) and the annotations summary,
description (naming the offending labels) and runbook_url (`docs/alerts.md#alert-<name>`).
"""

from __future__ import annotations

from typing import Any

from components.kit import metadata
from components.observability.alerts.alert import Alert
from components.observability.alerts.database import database_alerts
from components.observability.alerts.spend import budget_alerts, cost_alerts, retention_alerts
from components.observability.alerts.traffic import (
    availability_alerts,
    performance_alerts,
    provider_alerts,
    usage_alerts,
)
from config import AlertsConfig, StackConfig

RULE_NAME = "llm-gateway-alerts"
APP = "llm-gateway-alerting"


def runbook_url(alerts: AlertsConfig, name: str) -> str:
    return f"{alerts.runbook_base_url}#alert-{name.lower()}"


def rule(alert: Alert, alerts: AlertsConfig, namespace: str) -> dict[str, Any]:
    return {
        "alert": alert.name,
        "expr": alert.expr,
        "for": alert.for_,
        "labels": {"severity": alert.severity, "namespace": namespace},
        "annotations": {
            "summary": alert.summary,
            "description": alert.description,
            "runbook_url": runbook_url(alerts, alert.name),
        },
    }


GROUPS = (
    ("availability", availability_alerts),
    ("performance", performance_alerts),
    ("usage", usage_alerts),
    ("cost", cost_alerts),
    ("budgets", budget_alerts),
    ("providers", provider_alerts),
    ("database", database_alerts),
    ("retention", retention_alerts),
)


def rule_groups(cfg: StackConfig) -> list[dict[str, Any]]:
    """The Prometheus rule groups (empty groups are left out)."""
    ns = cfg.namespaces.gateway
    groups = []
    for group, build in GROUPS:
        alerts = build(cfg)
        if alerts:
            groups.append({"name": f"llm-gateway.{group}", "rules": [rule(a, cfg.alerts, ns) for a in alerts]})
    return groups


def prometheus_rule(cfg: StackConfig) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata(
            RULE_NAME,
            cfg.namespaces.gateway,
            app=APP,
            extra_labels={"release": cfg.monitoring.prometheus_release},
        ),
        "spec": {"groups": rule_groups(cfg)},
    }
