"""The External Secrets builders called directly (no program run): every shape they build is
valid for the pinned ESO CRDs; a SecretStore acts as a service account of its own namespace and
serves ExternalSecrets of that namespace only."""

from __future__ import annotations

from typing import Any

import pytest

from components.secrets import eso
from tests.support.schemas import validation_errors

STORE = eso.StoreRef("llm-gateway-gsm", namespace="llm-gateway")
ENTRIES = [eso.RemoteEntry("password", "litellm-db-password"), eso.RemoteEntry("host", "db-host", version="3")]
TARGETS = {
    "plain": eso.TargetSecret("litellm-db", "llm-gateway"),
    "templated": eso.TargetSecret(
        "litellm-db-app",
        "llm-gateway",
        secret_type="kubernetes.io/basic-auth",
        labels={"cnpg.io/reload": "true"},
        template_data={"username": "litellm", "password": "{{ .password }}", "uri": "postgresql://{{ .host }}"},
    ),
}


def _external_secret(target: eso.TargetSecret, entries: list[eso.RemoteEntry] = ENTRIES) -> dict[str, Any]:
    return eso.external_secret(
        name=f"{target.name}-es", store=STORE, entries=entries, target=target, refresh_interval="1h"
    )


@pytest.mark.parametrize("target", TARGETS.values(), ids=list(TARGETS))
def test_external_secret_validates_against_the_crd(target: eso.TargetSecret) -> None:
    assert validation_errors(_external_secret(target)) == []


def test_the_crd_check_catches_a_misspelt_field() -> None:
    es = _external_secret(TARGETS["plain"])
    es["spec"]["target"]["creationPolicie"] = "Owner"
    assert validation_errors(es) != []


def test_each_entry_is_read_into_its_key_at_its_version() -> None:
    spec = _external_secret(TARGETS["templated"])["spec"]
    assert [(d["secretKey"], d["remoteRef"]["key"], d["remoteRef"]["version"]) for d in spec["data"]] == [
        ("password", "litellm-db-password", "latest"),
        ("host", "db-host", "3"),
    ]
    assert spec["secretStoreRef"] == {"name": STORE.name, "kind": STORE.kind}


def test_target_labels_and_template_reach_the_rendered_secret() -> None:
    template = _external_secret(TARGETS["templated"])["spec"]["target"]["template"]
    assert template["type"] == "kubernetes.io/basic-auth"
    assert template["metadata"]["labels"]["cnpg.io/reload"] == "true"
    assert template["data"] == dict(TARGETS["templated"].template_data)
    # Without templates the Secret holds the entries under their own keys: no `data` template.
    assert "data" not in _external_secret(TARGETS["plain"])["spec"]["target"]["template"]


def test_an_external_secret_needs_an_entry() -> None:
    with pytest.raises(ValueError, match="at least one remote entry"):
        _external_secret(TARGETS["plain"], entries=[])


def _store() -> dict[str, Any]:
    return eso.secret_store(
        name="gcp-secret-manager",
        namespace="monitoring",
        project_id="acme-llm-lab",
        cluster_location="europe-west1",
        cluster_name="lab",
        service_account="llm-gateway-gsm",
    )


def test_secret_store_validates_and_names_a_service_account_of_its_own_namespace() -> None:
    store = _store()
    assert validation_errors(store) == []
    assert store["kind"] == "SecretStore" and store["metadata"]["namespace"] == "monitoring"
    # No namespace on the ref: ESO ignores one on a SecretStore; the KSA is the store's namespace's.
    auth = store["spec"]["provider"]["gcpsm"]["auth"]["workloadIdentity"]
    assert auth["serviceAccountRef"] == {"name": "llm-gateway-gsm"}
    assert auth["clusterProjectID"] == store["spec"]["provider"]["gcpsm"]["projectID"] == "acme-llm-lab"


def test_an_external_secret_outside_the_stores_namespace_is_refused() -> None:
    elsewhere = eso.TargetSecret("x", "monitoring")
    with pytest.raises(ValueError, match="a SecretStore serves its own namespace only"):
        _external_secret(elsewhere)
    # A ref whose namespace is not known (a unit test's) or a ClusterSecretStore is not checked.
    for store in (eso.StoreRef("s"), eso.StoreRef("s", "ClusterSecretStore", "llm-gateway")):
        eso.external_secret(name="x", store=store, entries=ENTRIES, target=elsewhere, refresh_interval="1h")
