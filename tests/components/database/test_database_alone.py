"""The Database component built alone under the mock engine, from its Args only (no root, no pulumi.Config)."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.database.args import DatabaseArgs
from components.database.component import Database
from components.langfuse.database import database_tenant
from components.litellm.names import selector_labels
from components.secrets.eso import StoreRef
from components.secrets.store import StoreAccess
from config import StackConfig
from offline.mocks import is_secret_wrapper
from offline.run import ProgramRun, Recorded
from tests.support.config import alone_config
from tests.support.program import EXTERNAL_ENGINE, run_components, walk_strings

STORE = StoreAccess(StoreRef(name="alone-store"), "eso-alone@mock-project.iam.gserviceaccount.com")
ADMIN = "Alone-@dmin:pw/?#"
TENANT = database_tenant(alone_config("lab"))
"""The tenant the root passes when Langfuse is on: its database on the cluster."""


def build(cfg: StackConfig, **args: Any) -> ProgramRun:
    """Database "db" alone; Outputs in its Args (the admin password) are made inside the engine's run."""

    def program() -> None:
        password = pulumi.Output.secret(ADMIN) if args.pop("admin_password", False) else None
        Database(
            "db", DatabaseArgs.from_config(cfg, STORE, selector_labels(cfg.litellm), admin_password=password, **args)
        )

    return run_components(program)


def top(run: ProgramRun, r: Recorded) -> str:
    by_name = {x.name: x for x in run.resources}
    while r.parent is not None:
        r = by_name[r.parent]
    return r.name


def test_external_server_alone_everything_under_the_component_and_the_admin_password_only_in_the_provider() -> None:
    cfg = alone_config("lab", EXTERNAL_ENGINE)
    run = build(cfg, admin_password=True)
    assert {top(run, r) for r in run.resources} == {"db"}, "a resource registered outside the component"
    (provider,) = run.of_type("pulumi:providers:postgresql")
    assert is_secret_wrapper(provider.inputs["password"])
    assert provider.plain_inputs["password"] == ADMIN
    others = [r for r in run.resources if r is not provider]
    assert not [r.name for r in others if any(ADMIN in s for s in walk_strings(r.plain_inputs))]
    # Every login's password is the value kept in GSM (and synced by ESO), not a second one.
    versions = {
        r.parent: r.plain_inputs["secretData"] for r in run.of_type("gcp:secretmanager/secretVersion:SecretVersion")
    }
    roles = {r.plain_inputs["name"]: r.plain_inputs["password"] for r in run.of_type("postgresql:index/role:Role")}
    assert roles == {
        cfg.postgres.owner: versions["db-owner-password"],
        "grafana_ro": versions["db-grafana-ro"],
        "reporting": versions["db-reporting"],
    }
    # Each grant secret's accessor is the store's service account from the Args.
    members = {r.plain_inputs["member"] for r in run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")}
    assert members == {f"serviceAccount:{STORE.accessor_email}"}


def test_external_server_without_the_admin_password_is_refused() -> None:
    cfg = alone_config("lab", EXTERNAL_ENGINE)
    with pytest.raises(Exception, match="postgresAdminPassword"):  # raised in the constructor, wrapped by the engine
        build(cfg)


def test_cnpg_alone_a_tenant_gets_a_managed_role_and_reaches_the_instances() -> None:
    run = build(alone_config("lab"), tenants=(TENANT,))
    (cluster,) = run.of_type("kubernetes:postgresql.cnpg.io/v1:Cluster")
    roles = {r["name"]: r for r in cluster.plain_inputs["spec"]["managed"]["roles"]}
    assert roles[TENANT.owner]["passwordSecret"] == {"name": TENANT.password_secret}
    assert roles[TENANT.owner]["login"] and not roles[TENANT.owner]["superuser"]
    ingress = [
        r.plain_inputs["spec"]
        for r in run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if "Ingress" in r.plain_inputs["spec"]["policyTypes"] and r.plain_inputs["spec"].get("ingress")
    ]
    peers = [peer for spec in ingress for rule in spec["ingress"] for peer in rule.get("from", [])]
    assert {"podSelector": dict(TENANT.clients)} in peers
    without = build(alone_config("lab"))
    (plain,) = without.of_type("kubernetes:postgresql.cnpg.io/v1:Cluster")
    assert TENANT.owner not in {r["name"] for r in plain.plain_inputs["spec"]["managed"]["roles"]}
