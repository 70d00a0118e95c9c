"""The database's pure builders and shared helpers, directly: tenants, the backup bucket, the external server."""

from __future__ import annotations

import inspect

import pulumi
import pulumi_gcp as gcp
import pulumi_postgresql as postgresql
import pytest

from components.database import cnpg, cnpg_roles, server
from components.gcp import private_bucket
from components.langfuse import database as langfuse_database
from config import BackupConfig, DataSafetyConfig
from tests.support.config import alone_config
from tests.support.program import run_components
from tests.support.schemas import validation_errors

TENANT = cnpg_roles.DatabaseTenant(
    owner="tenant_owner",
    database="tenant_db",
    password_secret="tenant-db",
    comment="a tenant",
    app="tenant",
    clients={"matchLabels": {"app": "tenant-client"}},
)


@pytest.mark.parametrize("retain", [True, False])
def test_a_tenant_renders_a_valid_cluster_role_and_database(retain: bool) -> None:
    cfg = alone_config("enterprise")
    pg = cfg.postgres
    assert pg.engine == "cnpg"
    names = cnpg.CnpgNames(pg.cnpg.name, cfg.namespaces.gateway)
    cluster = cnpg.cluster_manifest(pg, pg.cnpg, names, "b@p.iam.gserviceaccount.com", [cnpg_roles.tenant_role(TENANT)])
    assert validation_errors(cluster) == []
    database = cnpg.tenant_database_manifest(TENANT, names, retain)
    assert validation_errors(database) == []
    assert database["spec"]["databaseReclaimPolicy"] == ("retain" if retain else "delete")
    # Kubernetes names allow no underscore, PostgreSQL names do.
    assert "_" not in database["metadata"]["name"] and database["spec"]["name"] == "tenant_db"


def test_langfuse_is_a_tenant_of_the_cluster_with_a_valid_database() -> None:
    cfg = alone_config("enterprise")
    tenant = langfuse_database.database_tenant(cfg)
    assert (tenant.owner, tenant.database) == (cfg.langfuse.owner, cfg.langfuse.database)
    assert validation_errors(langfuse_database.cnpg_database(cfg)) == []


@pytest.mark.parametrize("days", [1, 30, 3650])
def test_backup_bucket_arguments_are_bucket_arguments_within_gcs_limits(days: int) -> None:
    backup = BackupConfig(enabled=True, bucket="b-ucket", retention_days=days)
    bucket = cnpg.backup_bucket(backup)
    accepted = set(inspect.signature(gcp.storage.Bucket._internal_init).parameters)
    assert set(bucket) <= accepted, f"not Bucket arguments: {set(bucket) - accepted}"
    soft_delete_days = bucket["soft_delete_policy"]["retention_duration_seconds"] / 86400
    assert 7 <= soft_delete_days <= 90
    assert bucket["force_destroy"] is False and bucket["public_access_prevention"] == "enforced"


def test_a_private_bucket_cannot_be_loosened() -> None:
    with pytest.raises(ValueError, match="force_destroy"):
        private_bucket("b", "EU", force_destroy=True)
    with pytest.raises(ValueError, match="public_access_prevention"):
        private_bucket("b", "EU", public_access_prevention="inherited")


@pytest.mark.parametrize("protect", [True, False])
def test_an_owned_database_carries_the_data_safety_options_and_public_keeps_what_is_granted(protect: bool) -> None:
    safety = DataSafetyConfig(protect=protect, retain_on_delete=protect, production=False)

    def program() -> None:
        provider = postgresql.Provider("pg", host="h", username="admin", superuser=False)
        on_server = pulumi.ResourceOptions(provider=provider)
        owned = server.owned_database(
            "r", "d", owner="o", database="db", password=pulumi.Output.secret("pw"), on_server=on_server, safety=safety
        )
        server.public_database_grant("g", owned.database.name, [], on_server)

    run = run_components(program)
    (role,) = run.of_type("postgresql:index/role:Role")
    (database,) = run.of_type("postgresql:index/database:Database")
    (grant,) = run.of_type("postgresql:index/grant:Grant")
    assert (database.protect, database.retain_on_delete) == (protect, protect)
    assert not role.protect, "a role is recreated from its GSM password; only the database holds data"
    assert database.plain_inputs["owner"] == role.plain_inputs["name"] == "o"
    assert grant.plain_inputs["role"] == "public" and grant.plain_inputs["privileges"] == []
    assert "r" in database.options["dependencies"], "the database waits for its owner"
