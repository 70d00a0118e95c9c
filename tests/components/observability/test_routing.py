"""The alert routing builders, checked directly on the enterprise config plus a webhook receiver:
the AlertmanagerConfig and each receiver's ExternalSecret validate against their CRDs, and every
credential the routing references is a key of the Secret that receiver's ExternalSecret renders."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from components.observability import routing
from components.secrets.eso import StoreRef
from config import ReceiverConfig, StackConfig
from tests.support.config import stack_config
from tests.support.schemas import validation_errors

WEBHOOK = ReceiverConfig(name="pager", type="webhook", gsm_secret="oncall-pager-url", severities=["critical"])


def config() -> StackConfig:
    cfg = stack_config("enterprise")
    receivers = [*cfg.alertmanager.receivers, WEBHOOK]
    return cfg.model_copy(update={"alertmanager": cfg.alertmanager.model_copy(update={"receivers": receivers})})


def secret_refs(node: Any) -> Iterator[tuple[str, str]]:
    """Every {name, key} SecretKeySelector in a manifest."""
    if isinstance(node, dict):
        if set(node) == {"name", "key"}:
            yield node["name"], node["key"]
        for value in node.values():
            yield from secret_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from secret_refs(value)


def test_routing_and_receiver_secrets_validate_and_fit_together() -> None:
    cfg = config()
    manifest = routing.alertmanager_config(cfg.alertmanager, cfg.namespaces.gateway, cfg.monitoring.prometheus_release)
    assert manifest is not None
    assert validation_errors(manifest) == []
    assert {r["name"] for r in manifest["spec"]["receivers"]} == {"null", "slack-oncall", "email-oncall", "pager"}

    rendered: set[tuple[str, str]] = set()
    for receiver in cfg.alertmanager.receivers:
        es = routing.receiver_external_secret(
            receiver, StoreRef(name="gsm"), cfg.namespaces.gateway, cfg.secrets.refresh_interval
        )
        assert validation_errors(es) == []
        assert [d["remoteRef"]["key"] for d in es["spec"]["data"]] == [receiver.gsm_secret]
        rendered |= {(es["spec"]["target"]["name"], d["secretKey"]) for d in es["spec"]["data"]}
    referenced = set(secret_refs(manifest["spec"]["receivers"]))
    assert len(referenced) == 3
    assert referenced == rendered


def test_no_receivers_no_routing() -> None:
    cfg = config()
    none = cfg.model_copy(update={"alertmanager": cfg.alertmanager.model_copy(update={"receivers": []})})
    assert routing.alertmanager_config(none.alertmanager, "ns", "kps") is None
    assert routing.referenced_gsm_secrets(none.alertmanager) == []
