"""Pure builders of the alerts' routing (no Pulumi calls).

When `alertmanager.receivers` is not empty: an `AlertmanagerConfig`
(monitoring.coreos.com/v1alpha1) routing by severity to Slack, email or webhook
receivers, and an `ExternalSecret` per receiver rendering its credential from Google
Secret Manager into the Secret the receiver references. The GSM secrets are created
by the on-call team and referenced by name; the program never generates them and the
stack file never holds their values.
"""

from __future__ import annotations

from typing import Any

from components.kit import metadata
from components.observability.rules import APP
from components.secrets.eso import RemoteEntry, StoreRef, TargetSecret, external_secret
from config import AlertRoutingConfig, ReceiverConfig

ROUTING_NAME = "llm-gateway-alert-routing"
NULL_RECEIVER = "null"
RECEIVER_SECRET_KEYS = {"slack": "url", "webhook": "url", "email": "password"}


def receiver_secret_name(receiver: ReceiverConfig) -> str:
    return f"alertmanager-{receiver.name}"


def receiver_external_secret(
    receiver: ReceiverConfig, store: StoreRef, namespace: str, refresh_interval: str
) -> dict[str, Any]:
    """The ExternalSecret rendering one receiver's credential from GSM (same namespace as the routing)."""
    return external_secret(
        name=receiver_secret_name(receiver),
        store=store,
        entries=[RemoteEntry(secret_key=RECEIVER_SECRET_KEYS[receiver.type], gsm_secret_id=receiver.gsm_secret)],
        target=TargetSecret(name=receiver_secret_name(receiver), namespace=namespace),
        refresh_interval=refresh_interval,
    )


def referenced_gsm_secrets(routing: AlertRoutingConfig) -> list[str]:
    """GSM secret ids the receivers read, each once, in config order."""
    return list(dict.fromkeys(r.gsm_secret for r in routing.receivers))


def _slack(receiver: ReceiverConfig) -> dict[str, Any]:
    return {
        "apiURL": {"name": receiver_secret_name(receiver), "key": RECEIVER_SECRET_KEYS["slack"]},
        "channel": receiver.channel,
        "sendResolved": receiver.send_resolved,
        "title": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})",
        "text": (
            "{{ range .Alerts }}*{{ .Annotations.summary }}*\n{{ .Annotations.description }}\n"
            "Runbook: {{ .Annotations.runbook_url }}\n{{ end }}"
        ),
    }


def _email(receiver: ReceiverConfig) -> dict[str, Any]:
    return {
        "to": receiver.to,
        "from": receiver.from_address,
        "smarthost": receiver.smarthost,
        "authUsername": receiver.auth_username,
        "authPassword": {"name": receiver_secret_name(receiver), "key": RECEIVER_SECRET_KEYS["email"]},
        "requireTLS": True,
        "sendResolved": receiver.send_resolved,
    }


def _webhook(receiver: ReceiverConfig) -> dict[str, Any]:
    return {
        "urlSecret": {"name": receiver_secret_name(receiver), "key": RECEIVER_SECRET_KEYS["webhook"]},
        "sendResolved": receiver.send_resolved,
    }


def receiver_manifest(receiver: ReceiverConfig) -> dict[str, Any]:
    if receiver.type == "slack":
        return {"name": receiver.name, "slackConfigs": [_slack(receiver)]}
    if receiver.type == "email":
        return {"name": receiver.name, "emailConfigs": [_email(receiver)]}
    return {"name": receiver.name, "webhookConfigs": [_webhook(receiver)]}


def _severity_matcher(severities: list[str]) -> dict[str, str]:
    if len(severities) == 1:
        return {"name": "severity", "matchType": "=", "value": severities[0]}
    return {"name": "severity", "matchType": "=~", "value": "|".join(severities)}


def alertmanager_config(routing: AlertRoutingConfig, namespace: str, prometheus_release: str) -> dict[str, Any] | None:
    """Route by severity; every matching receiver is notified (`continue`). None without receivers."""
    if not routing.receivers:
        return None
    return {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": metadata(
            ROUTING_NAME,
            namespace,
            app=APP,
            extra_labels={"release": prometheus_release},
        ),
        "spec": {
            "route": {
                "receiver": NULL_RECEIVER,
                "groupBy": list(routing.group_by),
                "groupWait": routing.group_wait,
                "groupInterval": routing.group_interval,
                "repeatInterval": routing.repeat_interval,
                "routes": [
                    {
                        "receiver": r.name,
                        "matchers": [_severity_matcher(list(r.severities))],
                        "continue": True,
                    }
                    for r in routing.receivers
                ],
            },
            "receivers": [{"name": NULL_RECEIVER}, *(receiver_manifest(r) for r in routing.receivers)],
            # A critical alert silences the warning of the same name (e.g. LiteLLMHighErrorRate).
            "inhibitRules": [
                {
                    "sourceMatch": [{"name": "severity", "matchType": "=", "value": "critical"}],
                    "targetMatch": [{"name": "severity", "matchType": "=", "value": "warning"}],
                    "equal": ["alertname", "namespace"],
                }
            ],
        },
    }
