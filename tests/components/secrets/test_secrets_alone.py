"""SecretStore and ManagedSecret built alone under the mock engine, and the store's pure builders."""

from __future__ import annotations

import pulumi
import pytest

from components.secrets.eso import StoreRef, TargetSecret
from components.secrets.managed import ManagedSecret, SecretConsumer, managed_secret_args
from components.secrets.store import (
    SecretStore,
    SecretStoreArgs,
    StoreAccess,
    eso_service_account_meta,
    store_manifest,
)
from config import StoreConfig
from config.inventory import LANGFUSE_GCS_HMAC, MASTER_KEY
from tests.support.eso import store_admits
from tests.support.schemas import validation_errors
from tools.offline import (
    ProgramRun,
    is_secret_wrapper,
    run_components,
    stack_config,
)

STORE = StoreAccess(StoreRef(name="alone-store"), "eso-alone@mock-project.iam.gserviceaccount.com")


@pytest.mark.parametrize("stack", ["lab", "enterprise"])
def test_store_builders_render_valid_objects_admitting_exactly_the_program_namespaces(stack: str) -> None:
    args = SecretStoreArgs.from_config(stack_config(stack))
    store = store_manifest(args)
    assert validation_errors(store) == []
    assert all(store_admits(store, ns) for ns in args.namespaces)
    assert not store_admits(store, "kube-system")
    meta = eso_service_account_meta(args.eso, "x@p.iam")
    assert validation_errors({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}) == []
    # The store authenticates as exactly that service account.
    auth = store["spec"]["provider"]["gcpsm"]["auth"]["workloadIdentity"]["serviceAccountRef"]
    assert (auth["name"], auth["namespace"]) == (meta["name"], meta["namespace"])


def _store_alone(args: SecretStoreArgs) -> ProgramRun:
    def program() -> None:
        SecretStore("store", args)

    return run_components(program)


def test_store_alone_creates_its_identity_and_store_or_nothing_for_an_existing_one() -> None:
    args = SecretStoreArgs.from_config(stack_config("lab"))
    run = _store_alone(args)
    assert {r.parent for r in run.resources if r.name != "store"} == {"store"}
    (binding,) = run.of_type("gcp:serviceaccount/iAMMember:IAMMember")
    eso = args.eso
    assert binding.plain_inputs["member"].endswith(f".svc.id.goog[{eso.namespace}/{eso.service_account}]")
    (store,) = run.of_type("kubernetes:external-secrets.io/v1:ClusterSecretStore")
    assert set(store.options["dependencies"]) == {"store-workload-identity", "store-ksa"}

    existing = StoreConfig(create=False, name="shared", gsa_email="eso@other.iam.gserviceaccount.com")
    run = _store_alone(SecretStoreArgs(args.project, args.gke, existing, args.eso, args.namespaces))
    assert [r.name for r in run.resources] == ["store"], "an existing store needs nothing created"


def test_managed_secret_alone_provider_value_stays_secret_and_is_granted_to_the_store_only() -> None:
    cfg = stack_config("enterprise")
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
    assert external.plain_inputs["spec"]["secretStoreRef"]["name"] == STORE.ref.name


def test_managed_secret_refuses_a_value_for_a_generated_spec() -> None:
    cfg = stack_config("lab")

    def program() -> None:
        ManagedSecret("mk", managed_secret_args(cfg, MASTER_KEY, STORE, value=pulumi.Output.secret("given")))

    with pytest.raises(Exception, match="exactly for generator 'provider'"):
        run_components(program)
