"""Each runbook in docs/runbooks/, applied to the program: the plan is what the runbook says.

A runbook's config change runs through the mock engine before and after
(`tests/support/plan.py` compares the two runs the way `pulumi preview` compares state and
program). A runbook that promises a clean `pulumi up` must not delete or replace a
protected resource; one that says `pulumi up` stops must name what stops it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from offline.run import ProgramRun
from tests.support import ROOT
from tests.support.plan import Plan, plan
from tests.support.program import EXTERNAL_ENGINE, LAB_LANGFUSE, run_cached

RUNBOOKS = ROOT / "docs" / "runbooks"


def runbook(title: str) -> str:
    """The text of the runbook titled `title` (its file's first heading), the heading excluded."""
    found = [p for p in sorted(RUNBOOKS.glob("*.md")) if p.read_text().startswith(f"# {title}\n")]
    assert len(found) == 1, f"docs/runbooks/ has no runbook {title!r}"
    return found[0].read_text().split("\n", 1)[1]


def descendants(run: ProgramRun, root: str) -> set[str]:
    out = {root}
    grew = True
    while grew:
        more = {r.name for r in run.resources if r.parent in out} - out
        out |= more
        grew = bool(more)
    return out


def diff(stack: str, base: tuple[str, ...], change: tuple[str, ...]) -> Plan:
    return plan(run_cached(stack, *base), run_cached(stack, *base, *change))


# --- Rotate a password / Rotate the master key -------------------------------


@pytest.mark.parametrize(("stack", "base"), [("enterprise", ()), ("lab", ()), ("lab", EXTERNAL_ENGINE)])
def test_rotate_a_password(stack: str, base: tuple[str, ...]) -> None:
    text = runbook("Rotate a password (e.g. grafana_ro)")
    assert "secrets.rotation.grafana-ro-password' 1" in text
    p = diff(stack, base, ("llm-gateway:secrets.rotation={grafana-ro-password: 1}",))
    replaced = {"llm-gateway-database-grafana-ro-value", "llm-gateway-database-grafana-ro-version"}
    # "RandomPassword and SecretVersion replaced, nothing else (on an external server also
    # the postgresql.Role's password updated)".
    expected: dict[str, set[str]] = {"replace": replaced}
    if base == EXTERNAL_ENGINE:
        expected["update"] = {"llm-gateway-database-grafana-ro-role"}
    assert p.changes == expected
    assert p.refused == set()


def test_rotate_the_master_key() -> None:
    text = runbook("Rotate the master key")
    assert "secrets.rotation.litellm-master-key' 1" in text and "LITELLM_SALT_KEY" in text
    p = diff("enterprise", (), ("llm-gateway:secrets.rotation={litellm-master-key: 1}",))
    assert p.changes == {"replace": {"llm-gateway-master-key-value", "llm-gateway-master-key-version"}}
    assert p.refused == set()


# --- Turn a feature off ------------------------------------------------------


def test_turn_sso_off() -> None:
    """Everything of oauth2-proxy goes, the Ingress sends /ui to LiteLLM again, nothing is refused."""
    assert "**`sso.enabled: false`**" in runbook("Turn a feature off (`langfuse.enabled`, `sso.enabled`)")
    before = run_cached("enterprise")
    p = diff("enterprise", (), ("llm-gateway:sso.enabled=false",))
    assert p.changes == {"delete": descendants(before, "llm-gateway-sso"), "update": {"llm-gateway-litellm-ingress"}}
    assert p.refused == set()


def test_turn_langfuse_off_where_data_is_protected() -> None:
    """`pulumi up` stops on exactly what keeps the traces readable (the runbook lists it)."""
    text = runbook("Turn a feature off (`langfuse.enabled`, `sso.enabled`)")
    assert "pulumi state unprotect '<urn>'" in text
    before = run_cached("enterprise")
    p = diff("enterprise", (), ("llm-gateway:langfuse.enabled=false",))
    langfuse = descendants(before, "llm-gateway-langfuse")
    assert p.names("delete") == langfuse
    assert p.names("create") == p.names("replace") == set()
    # Only LiteLLM's wiring to Langfuse, the role list of the cluster and the instances'
    # PostgreSQL clients (Langfuse's pods no longer among them) change elsewhere.
    assert p.names("update") == {
        "llm-gateway-litellm-release",
        "llm-gateway-litellm-litellm-egress",
        "llm-gateway-database-cluster",
        "llm-gateway-database-litellm-pg-ingress",
    }
    kept_secrets = {
        s.name
        for s in before.of_type("gcp:secretmanager/secret:Secret")
        if s.name in langfuse and "nextauth" not in s.name
    }
    never_rotate = {
        f"llm-gateway-langfuse-{k}-{part}" for k in ("salt", "encryption-key") for part in ("value", "version")
    }
    assert p.refused == {
        "llm-gateway-langfuse-release",  # Valkey, MinIO volumes
        "llm-gateway-langfuse-clickhouse",  # the operator's ClickHouse: the traces
        "llm-gateway-langfuse-keeper",
        "llm-gateway-langfuse-database",  # the CNPG Database
        "llm-gateway-langfuse-bucket",
        *kept_secrets,
        *never_rotate,
    }
    for words in (
        "the release",
        "`ClickHouseCluster` and `KeeperCluster`",
        "CNPG `Database`",
        "the bucket",
        "the GSM secrets",
        "salt and encryption key",
    ):
        assert words in text


def test_turn_langfuse_off_where_data_is_not_protected() -> None:
    """Lab: everything goes, the database with the salt and key its rows depend on."""
    before = run_cached("lab", *LAB_LANGFUSE)
    p = diff("lab", LAB_LANGFUSE, ("llm-gateway:langfuse.enabled=false",))
    # With it goes the shared Redis's policy that admitted Langfuse's pods (the Redis itself stays).
    admitted = {"llm-gateway-redis-litellm-redis-from-langfuse"}
    assert p.names("delete") == descendants(before, "llm-gateway-langfuse") | admitted
    assert p.refused == set()
    (db,) = [d for d in before.custom_resources("Database") if d["spec"]["name"] == "langfuse"]
    assert db["spec"]["databaseReclaimPolicy"] == "delete"
    assert "`databaseReclaimPolicy: delete`" in runbook("Turn a feature off (`langfuse.enabled`, `sso.enabled`)")


# --- Rename ------------------------------------------------------------------


def test_rename_a_stateless_release_is_recreated() -> None:
    assert "`litellm.release_name`" in runbook("Rename")
    p = diff("enterprise", (), ("llm-gateway:litellm.release_name=gateway",))
    assert "llm-gateway-litellm-release" in p.names("replace")
    assert p.refused == set()


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        (
            "llm-gateway:namespaces.gateway=llm-gw",
            {
                "llm-gateway-namespace",
                "llm-gateway-database-cluster",
                "llm-gateway-langfuse-release",
                "llm-gateway-langfuse-database",
            },
        ),
        (
            "llm-gateway:postgres.cnpg.name=litellm-pg2",
            {"llm-gateway-database-cluster", "llm-gateway-langfuse-database"},
        ),
        ("llm-gateway:secrets.prefix=prod-", {"llm-gateway-master-key-gsm", "llm-gateway-salt-key-gsm"}),
    ],
)
def test_rename_where_data_lives_is_refused(change: str, refused: set[str]) -> None:
    text = runbook("Rename")
    assert f"`{change.split(':', 1)[1].split('=')[0]}`" in text
    p = diff("enterprise", (), (change,))
    assert refused <= p.refused
    # Nothing unprotected in the list: each refused step is a protected delete or replace.
    assert all(s.protected for s in p.steps if s.name in p.refused)


def test_rename_in_code_names_the_alias() -> None:
    assert "pulumi.Alias(name=" in runbook("Rename")


# --- Offboard a team -----------------------------------------------------------


def _tenants_with(stack: str, change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> str:
    """`llm-gateway:tenants=` the stack file's section with its teams changed."""
    section = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]["llm-gateway:tenants"]
    return "llm-gateway:tenants=" + json.dumps({**section, "teams": change(copy.deepcopy(section["teams"]))})


@pytest.mark.parametrize("stack", ["enterprise", "lab"])
def test_offboard_a_team_blocks_then_forgets_and_keeps_every_key_value(stack: str) -> None:
    """Blocking replaces and deletes nothing; removing the team from config deletes no GSM secret from GCP
    (retain_on_delete: the secret is the key value's only copy) and is not refused."""
    text = runbook("Offboard a team")
    assert "blocked: true" in text and "pulumi import" in text and "gcp:secretmanager/secret:Secret" in text
    team = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]["llm-gateway:tenants"]["teams"][0]

    def block(teams: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**teams[0], "blocked": True}, *teams[1:]]

    p = diff(stack, (), (_tenants_with(stack, block),))
    # The desired document changes, so a new reconciler Job runs; nothing else changes.
    assert p.changes == {"update": {"llm-gateway-tenants-config"}, "replace": {"llm-gateway-tenants-run"}}
    before = run_cached(stack)
    p = diff(stack, (), (_tenants_with(stack, lambda teams: teams[1:]),))
    gone = {
        s.name
        for s in before.of_type("gcp:secretmanager/secret:Secret")
        if (s.inputs.get("labels") or {}).get("team") == team["alias"]
    }
    assert gone and gone <= p.names("delete")
    assert p.destroyed & gone == set()  # forgotten by Pulumi, kept in GSM
    assert p.refused == set()
    assert not p.destroyed & {s.name for s in before.of_type("gcp:secretmanager/secret:Secret")}
