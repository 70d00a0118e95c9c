"""The reporting CronJob: its exact command on real PostgreSQL, and its manifests.

The job's container command (psql, the three mounted SQL files, one transaction) is
run as rendered, with the rendered environment pointed at a throwaway server holding
LiteLLM's real schema: twice, to prove the DDL is idempotent and the refresh repeatable.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql

from components.database.endpoint import CA_FILE, endpoint
from components.reporting import component as reporting
from components.reporting.sql import REPORTING_ROLE, SCHEMA
from config import DEFAULT_REPORTING_IMAGE, ConfigError
from tests.harness.pglab import spend_seed
from tests.harness.pglab.server import LiteLLMDatabase
from tests.support.config import cnpg_section, scenario_config
from tests.support.program import EXTERNAL_ENGINE, run_cached
from tests.support.reporting_db import REPORTING_PASSWORD, create_grafana_ro, database_copy

DBNAME = "reporting_job"


def _one(stack: str, kind: str, *overrides: str) -> dict[str, Any]:
    (obj,) = [m for m in run_cached(stack, *overrides).custom_resources(kind) if "reporting" in m["metadata"]["name"]]
    return obj


@pytest.fixture
def job_database(litellm_database: LiteLLMDatabase) -> Iterator[LiteLLMDatabase]:
    with database_copy(litellm_database, DBNAME, roles=("grafana_ro", REPORTING_ROLE)):
        yield litellm_database


def _resolved_env(container: dict[str, Any], secrets: dict[str, dict[str, str]]) -> dict[str, str]:
    """The container's environment as the kubelet makes it: values, and Secret keys from `secrets`."""
    env = {}
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = str(item["value"])
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secrets[ref["name"]][ref["key"]]
    return env


@pytest.fixture
def sql_dir(tmp_path: Path) -> Iterator[Path]:
    """Where the test puts the mounted SQL files: world-readable like the ConfigMap volume, with every
    folder to it, when psql runs as another uid (pytest's own tmp_path is private to its user)."""
    if os.geteuid() != 0:
        yield tmp_path
        return
    with tempfile.TemporaryDirectory(prefix="reporting-sql-") as folder:
        Path(folder).chmod(0o755)
        yield Path(folder)


def test_the_job_command_applies_the_schema_and_refreshes_twice(job_database: LiteLLMDatabase, sql_dir: Path) -> None:
    """The pod as rendered: the init container as LiteLLM's owner (from the owner's Secret), then
    the refresh as `reporting`, a role with no memberships: twice. Run as root (CI), psql runs as the
    pod's uid and gid, a user no /etc/passwd names, with HOME `/` (what the kubelet gives such a uid)."""
    server = job_database.server
    with server.connect_as(job_database.owner, job_database.owner_password, DBNAME) as conn:
        spend_seed.seed(conn)
    create_grafana_ro(job_database, DBNAME, "grafana-pw")
    with server.superuser_connection() as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(REPORTING_ROLE), sql.Literal(REPORTING_PASSWORD)
            )
        )
    with server.superuser_connection(DBNAME) as conn:  # what CNPG's Database `schemas[]` does
        conn.execute(
            sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(sql.Identifier(SCHEMA), sql.Identifier(REPORTING_ROLE))
        )

    cfg = scenario_config("lab")
    ep = endpoint(cfg, "unused")
    job = reporting.cronjob_manifest(reporting.ReportingArgs.from_config(cfg, ep))
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (grants,) = pod["initContainers"]
    (container,) = pod["containers"]
    uid, gid = pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]
    assert uid >= 10000 and gid >= 10000  # Checkov's CKV_K8S_40: outside the node's users
    as_pod = os.geteuid() == 0
    for name, text in reporting.sql_files(cfg.reporting).items():
        (sql_dir / name).write_text(text)
        (sql_dir / name).chmod(0o644)
    secrets = {
        ep.app_secret: {"username": job_database.owner, "password": job_database.owner_password},
        ep.reporting_secret: {"username": REPORTING_ROLE, "password": REPORTING_PASSWORD},
    }
    runs = []
    for step in (grants, container):
        argv = [a.replace(reporting.SQL_DIR + "/", f"{sql_dir}/") for a in step["command"]]
        argv[0] = str(server.bindir / "psql")
        env = _resolved_env(step, secrets)
        # TLS against the CNPG cluster (test_grafana_ro_privileges.py proves it on a TLS server).
        assert env["PGDATABASE"] == "litellm" and env["PGSSLMODE"] == "verify-full"
        assert env["PGSSLROOTCERT"] == CA_FILE and ep.ca_volume_mount() in step["volumeMounts"]
        env.update(PGHOST=server.host, PGPORT=str(server.port), PGDATABASE=DBNAME, PGSSLMODE="disable")
        del env["PGSSLROOTCERT"]
        runs.append((argv, env))
    assert runs[0][1]["PGUSER"] == job_database.owner and runs[1][1]["PGUSER"] == REPORTING_ROLE
    assert [a for a in runs[0][0] if a.endswith(".sql")] == [f"{sql_dir}/{reporting.OWNER_SQL_FILE}"]
    user: dict[str, Any] = {"user": uid, "group": gid, "extra_groups": []} if as_pod else {}
    base = {**os.environ, "HOME": "/"} if as_pod else dict(os.environ)
    for _ in range(2):
        for argv, env in runs:
            done = subprocess.run(argv, env={**base, **env}, capture_output=True, text=True, timeout=60, **user)
            assert done.returncode == 0, done.stderr
    with server.connect_as("grafana_ro", "grafana-pw", DBNAME) as conn:
        assert conn.execute("SELECT sum(spend) FROM reporting.daily_model").fetchone() == (22.625,)
        assert conn.execute("SELECT window_days FROM reporting.refresh_state").fetchone() == (
            cfg.reporting.window_days,
        )


def test_cronjob_is_pinned_restricted_and_scheduled_from_config() -> None:
    job = _one("lab", "CronJob")
    spec = job["spec"]
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    (grants,) = pod["initContainers"]
    (container,) = pod["containers"]
    assert spec["schedule"] == "*/10 * * * *" and spec["concurrencyPolicy"] == "Forbid"
    # The owner's login (CNPG's app Secret) is the init container's only, for the column grants.
    assert {e["name"]: e["valueFrom"]["secretKeyRef"] for e in grants["env"] if "valueFrom" in e} == {
        "PGUSER": {"name": "litellm-pg-app", "key": "username"},
        "PGPASSWORD": {"name": "litellm-pg-app", "key": "password"},
    }
    assert grants["securityContext"] == container["securityContext"] and grants["image"] == container["image"]
    # Both verify the server against the CA certificate alone (never the Secret holding the CA's key).
    (ca,) = [v for v in pod["volumes"] if v["name"] == "postgres-ca"]
    assert ca["secret"] == {"secretName": "litellm-pg-ca-cert", "items": [{"key": "ca.crt", "path": "ca.crt"}]}
    for step in (grants, container):
        tls = {e["name"]: e.get("value") for e in step["env"] if e["name"] in ("PGSSLMODE", "PGSSLROOTCERT")}
        assert tls == {"PGSSLMODE": "verify-full", "PGSSLROOTCERT": "/etc/llm-gateway/postgres-ca/ca.crt"}
    assert container["image"] == cnpg_section(scenario_config("lab")).image  # one source: the cluster's image
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False
    password = next(e for e in container["env"] if e["name"] == "PGPASSWORD")
    assert password["valueFrom"]["secretKeyRef"] == {"name": "litellm-pg-reporting", "key": "password"}
    other = _one("lab", "CronJob", "llm-gateway:reporting={schedule: '5 * * * *', window_days: 5}")
    assert other["spec"]["schedule"] == "5 * * * *"
    (cm,) = [
        m for m in run_cached("lab").custom_resources("ConfigMap") if m["metadata"]["name"] == reporting.CONFIG_MAP
    ]
    assert cm["data"]["refresh.sql"].endswith("\nSELECT * FROM reporting.refresh(3);\n")
    assert "GRANT SELECT (" in cm["data"][reporting.OWNER_SQL_FILE]


def test_external_engine_job_uses_the_pinned_default_image_and_its_own_secret() -> None:
    job = _one("lab", "CronJob", *EXTERNAL_ENGINE)
    (container,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == DEFAULT_REPORTING_IMAGE
    env = {e["name"]: e for e in container["env"]}
    assert env["PGHOST"]["value"] == "pg.home.arpa" and env["PGSSLMODE"]["value"] == "verify-full"
    # verify-full and no CA in the config: the image's trust store (libpq 16+).
    assert env["PGSSLROOTCERT"]["value"] == "system"
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "litellm-db-reporting"
    (grants,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["initContainers"]
    owner = {e["name"]: e for e in grants["env"]}
    assert owner["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "litellm-db-app", "key": "password"}


@pytest.mark.parametrize("overrides", [(), EXTERNAL_ENGINE])
def test_network_policy_allows_only_dns_and_postgres(overrides: tuple[str, ...]) -> None:
    policies = [
        p
        for p in run_cached("lab", *overrides).custom_resources("NetworkPolicy")
        if p["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": reporting.APP}}
    ]
    assert sorted(p["metadata"]["name"] for p in policies) == [
        "litellm-reporting-default-deny",
        "litellm-reporting-egress",
    ]
    assert all("ingress" not in p["spec"] for p in policies)
    (egress,) = [p["spec"]["egress"] for p in policies if "egress" in p["spec"]]
    ports = sorted((port["protocol"], port["port"]) for rule in egress for port in rule["ports"])
    assert ports == [("TCP", 53), ("TCP", 5432), ("UDP", 53)]
    if not overrides:
        assert egress[1]["to"] == [{"podSelector": {"matchLabels": {"cnpg.io/cluster": "litellm-pg"}}}]


def test_bad_reporting_config_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"reporting\.window_days"):
        scenario_config("lab", "llm-gateway:reporting.window_days=1")
