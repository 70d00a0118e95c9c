"""SecretStore (one NamespaceSecretStore per consuming namespace) and ManagedSecret built alone
under the mock engine, and the store's pure builders."""

from __future__ import annotations

import pulumi
import pytest

from components.secrets.eso import StoreRef, TargetSecret
from components.secrets.managed import ManagedSecret, SecretConsumer, managed_secret_args
from components.secrets.store import (
    NamespaceSecretStore,
    NamespaceStoreArgs,
    SecretStore,
    SecretStoreArgs,
    StoreAccess,
    reader_service_account_meta,
    store_manifest,
)
from config.inventory import LANGFUSE_GCS_HMAC, MASTER_KEY
from offline.mocks import is_secret_wrapper
from offline.run import ProgramRun
from tests.support.config import alone_config
from tests.support.program import run_components
from tests.support.schemas import validation_errors

STORE = StoreAccess(StoreRef(name="alone-store", namespace="ns"), "eso-alone@mock-project.iam.gserviceaccount.com")
OTHER = StoreAccess(StoreRef(name="alone-store", namespace="other"), "other@mock-project.iam.gserviceaccount.com")


@pytest.mark.parametrize("stack", ["lab", "enterprise"])
def test_store_builders_render_valid_objects_one_per_consuming_namespace(stack: str) -> None:
    cfg = alone_config(stack)
    args = SecretStoreArgs.from_config(cfg)
    assert [a.namespace for a in args.namespaces] == sorted({cfg.namespaces.gateway, cfg.namespaces.grafana})
    for ns_args in args.namespaces:
        store = store_manifest(ns_args)
        assert validation_errors(store) == []
        assert store["metadata"]["namespace"] == ns_args.namespace
        meta = reader_service_account_meta(ns_args, "x@p.iam")
        assert validation_errors({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}) == []
        # The store authenticates as exactly that service account, in its own namespace.
        auth = store["spec"]["provider"]["gcpsm"]["auth"]["workloadIdentity"]["serviceAccountRef"]
        assert auth == {"name": meta["name"]} and meta["namespace"] == ns_args.namespace
    # Each namespace its own Google service account; the gateway keeps the single store's.
    ids = {a.namespace: a.gsa_account_id for a in args.namespaces}
    assert ids == {"llm-gateway": "llm-gw-eso", "monitoring": "llm-gw-monitoring"}
    assert args.keeps_former_gsa == "llm-gateway"


def _store_alone(args: SecretStoreArgs) -> ProgramRun:
    def program() -> None:
        SecretStore("store", args)

    return run_components(program)


def test_store_alone_creates_an_identity_and_store_per_namespace() -> None:
    args = SecretStoreArgs.from_config(alone_config("lab"))
    run = _store_alone(args)
    units = {r.name for r in run.resources if r.parent == "store"}
    assert units == {"store-llm-gateway", "store-monitoring"}
    bindings = {b.plain_inputs["member"] for b in run.of_type("gcp:serviceaccount/iAMMember:IAMMember")}
    assert bindings == {
        "serviceAccount:acme-llm-lab.svc.id.goog[llm-gateway/llm-gateway-gsm]",
        "serviceAccount:acme-llm-lab.svc.id.goog[monitoring/llm-gateway-gsm]",
    }
    for ns in ("llm-gateway", "monitoring"):
        store = run.named(f"store-{ns}-secret-store")
        assert store.plain_inputs["metadata"]["namespace"] == ns
        assert set(store.options["dependencies"]) == {f"store-{ns}-workload-identity", f"store-{ns}-ksa"}
        ksa = run.named(f"store-{ns}-ksa").plain_inputs
        assert ksa["automountServiceAccountToken"] is False
        gsa = run.named(f"store-{ns}-gsa")
        assert ksa["metadata"]["annotations"] == {"iam.gke.io/gcp-service-account": gsa.outputs["email"]}
    # An existing install keeps the single store's account as the gateway namespace's (same URN).
    assert run.named("store-llm-gateway-gsa").aliases and not run.named("store-monitoring-gsa").aliases


def test_a_namespace_store_alone_is_the_unit_a_tenant_reuses() -> None:
    args = NamespaceStoreArgs.from_config(alone_config("lab"), "tenant-a")

    def program() -> None:
        NamespaceSecretStore("tenant-a-store", args)

    run = run_components(program)
    (gsa,) = run.of_type("gcp:serviceaccount/account:Account")
    assert gsa.plain_inputs["accountId"] == "llm-gw-tenant-a"
    assert {r.name for r in run.resources} == {
        "tenant-a-store",
        "tenant-a-store-gsa",
        "tenant-a-store-workload-identity",
        "tenant-a-store-ksa",
        "tenant-a-store-secret-store",
    }


def test_managed_secret_alone_provider_value_stays_secret_and_is_granted_to_the_store_only() -> None:
    cfg = alone_config("enterprise")
    consumer = SecretConsumer(
        resource_name="hmac-consumer", secret_key="hmac", target=TargetSecret(name="hmac", namespace="ns")
    )

    def program() -> None:
        value = pulumi.Output.secret('{"access_id": "A", "secret": "S3cr3t"}')
        ManagedSecret("hmac", managed_secret_args(cfg, LANGFUSE_GCS_HMAC, STORE, (consumer,), value))

    run = run_components(program)
    (version,) = run.of_type("gcp:secretmanager/secretVersion:SecretVersion")
    assert is_secret_wrapper(version.inputs["secretData"])
    assert "S3cr3t" in version.plain_inputs["secretData"]
    assert not run.of_type("random:index/randomPassword:RandomPassword"), "a provider value is never generated"
    (grant,) = run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert grant.plain_inputs["member"] == f"serviceAccount:{STORE.accessor_email}"
    (external,) = run.of_type("kubernetes:external-secrets.io/v1:ExternalSecret")
    assert external.plain_inputs["spec"]["secretStoreRef"] == {"name": STORE.ref.name, "kind": "SecretStore"}


def test_managed_secret_grants_every_reading_namespace_once() -> None:
    """The consumers' namespace (`<name>-accessor`) and each other reader (`<name>-accessor-<ns>`)."""
    cfg = alone_config("lab")
    consumer = SecretConsumer(resource_name="mk", secret_key="k", target=TargetSecret(name="mk", namespace="ns"))

    def program() -> None:
        args = managed_secret_args(cfg, MASTER_KEY, STORE, (consumer,), other_readers=(OTHER, STORE, OTHER))
        ManagedSecret("mk", args)

    run = run_components(program)
    grants = {
        g.name: g.plain_inputs["member"] for g in run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    }
    assert grants == {
        "mk-accessor": f"serviceAccount:{STORE.accessor_email}",
        "mk-accessor-other": f"serviceAccount:{OTHER.accessor_email}",
    }


def test_a_consumer_outside_the_stores_namespace_is_refused() -> None:
    """A SecretStore serves its own namespace: the ExternalSecret would never sync."""
    cfg = alone_config("lab")
    consumer = SecretConsumer(resource_name="mk", secret_key="k", target=TargetSecret(name="mk", namespace="other"))

    def program() -> None:
        ManagedSecret("mk", managed_secret_args(cfg, MASTER_KEY, STORE, (consumer,)))

    with pytest.raises(Exception, match="cannot read through SecretStore ns/alone-store"):
        run_components(program)


def test_managed_secret_refuses_a_value_for_a_generated_spec() -> None:
    cfg = alone_config("lab")

    def program() -> None:
        ManagedSecret("mk", managed_secret_args(cfg, MASTER_KEY, STORE, value=pulumi.Output.secret("given")))

    with pytest.raises(Exception, match="exactly for generator 'provider'"):
        run_components(program)
