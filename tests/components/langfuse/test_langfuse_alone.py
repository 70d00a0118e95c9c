"""The Langfuse component built alone under the mock engine, from its Args only."""

from __future__ import annotations

import json

import pulumi
import pulumi_postgresql as postgresql
import pulumi_random as random

from components.langfuse.component import Langfuse, LangfuseArgs
from components.secrets.eso import StoreRef
from components.secrets.store import StoreAccess
from config import StackConfig
from offline.run import ProgramRun
from tests.support.config import alone_config, redis_wiring
from tests.support.program import EXTERNAL_ENGINE, run_components

STORE = StoreAccess(StoreRef(name="alone-store"), "eso-alone@mock-project.iam.gserviceaccount.com")


def langfuse_alone(cfg: StackConfig) -> ProgramRun:
    def program() -> None:
        database = pulumi.ComponentResource("test:database:Database", "db")
        server = postgresql.Provider("server", host="pg.example", username="admin", superuser=False)
        redis = pulumi.ComponentResource("test:redis:SharedState", "redis")
        random.RandomId("redis-server", byte_length=4, opts=pulumi.ResourceOptions(parent=redis))
        Langfuse("lf", LangfuseArgs.from_config(cfg, STORE, database, redis, redis_wiring(cfg), server))

    return run_components(program)


def test_langfuse_alone_on_an_external_server_with_gcs() -> None:
    cfg = alone_config(
        "enterprise",
        (
            *EXTERNAL_ENGINE,
            "llm-gateway:postgres.backup.enabled=false",
            "llm-gateway:postgres.external.max_connections=1000",
        ),
    )
    assert cfg.langfuse.blob_storage == "gcs"
    run = langfuse_alone(cfg)
    by_name = {r.name: r for r in run.resources}
    for r in run.resources:
        if r.name not in {"db", "server", "redis", "redis-server", "lf"}:
            while r.parent is not None:
                r = by_name[r.parent]
            assert r.name == "lf", "a resource registered outside the component"
    # Its database on the server: owned by its login, whose password is the one kept in GSM.
    (role,) = run.of_type("postgresql:index/role:Role")
    (database,) = run.of_type("postgresql:index/database:Database")
    assert database.plain_inputs == {"name": cfg.langfuse.database, "owner": cfg.langfuse.owner}
    versions = {
        r.parent: r.plain_inputs["secretData"] for r in run.of_type("gcp:secretmanager/secretVersion:SecretVersion")
    }
    assert role.plain_inputs["password"] == versions["lf-db-password"]
    assert not run.of_type("kubernetes:postgresql.cnpg.io/v1:Database")
    # The blob bucket's only writer is the account whose HMAC key Langfuse uses.
    (account,) = run.of_type("gcp:serviceaccount/account:Account")
    (access,) = run.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
    (hmac,) = run.of_type("gcp:storage/hmacKey:HmacKey")
    assert access.plain_inputs["member"] == account.outputs["member"]
    assert hmac.plain_inputs["serviceAccountEmail"] == account.outputs["email"]
    assert json.loads(versions["lf-gcs-hmac"]) == {
        "access_id": hmac.outputs["accessId"],
        "secret": hmac.outputs["secret"],
    }


def test_only_the_release_waits_for_the_shared_redis() -> None:
    """The release needs the shared Redis (the server and its password Secret); its secrets, database and
    ClickHouse clusters do not, so they are created while a Memorystore instance is."""
    run = langfuse_alone(alone_config("enterprise"))
    waiting = {r.name for r in run.resources if "redis-server" in r.options.get("dependencies", ())}
    assert waiting == {"lf-release"}
