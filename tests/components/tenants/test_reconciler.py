"""The tenants reconciler (components/tenants/reconciler.py) against the in-process fake of LiteLLM's
management API and of Secret Manager (tests/support/litellm_fake.py): create, a second run with no
writes, drift reported then corrected, removal blocks, deletion only when named, rotation, a failure
halfway then a rerun that completes, and no key value printed."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest

from components.tenants import reconciler
from tests.support.litellm_fake import MODEL, FakeLiteLLM, Tenants, document, key_doc, team_doc

SEARCH = team_doc("search", max_budget=500.0, tpm_limit=100000, rpm_limit=600)
ENG = team_doc(
    "eng", models=[MODEL, "claude"], metadata={"llm_gateway": {"owner": "e@acme.example", "cost_centre": "CC-2"}}
)
PROD = key_doc("search-prod", "search", max_budget=200.0)
CLI = key_doc("eng-cli", "eng", budget_duration=None, expires="2027-06-30T00:00:00Z")
DOC = document([SEARCH, ENG], [PROD, CLI])


@pytest.fixture
def tenants() -> Tenants:
    done = Tenants()
    assert done.run(DOC).code == 0
    return done


def test_a_first_run_creates_the_teams_and_registers_each_key_with_the_value_it_stored_in_gsm() -> None:
    tenants = Tenants()
    run = tenants.run(DOC)
    assert run.code == 0, run.err
    assert [c for c in tenants.api.calls if c[0] == "GET"] == [("GET", "/team/list", None)]  # a new value: no lookup
    assert sorted(tenants.api.teams) == ["llmgw-eng", "llmgw-search"]
    team = tenants.api.teams["llmgw-search"]
    assert (team["team_alias"], team["max_budget"], team["tpm_limit"], team["models"]) == (
        "search",
        500.0,
        100000,
        [MODEL],
    )
    assert team["metadata"]["llm_gateway"] == {
        "owner": "search@acme.example",
        "cost_centre": "CC-1001",
        "managed": True,
    }
    for declared in (PROD, CLI):
        versions = tenants.gsm.secrets[declared["gsm_secret"]]
        assert [v["rotation"] for v in versions] == [0]
        live = tenants.key(declared["key_alias"])
        assert live["token"] == hashlib.sha256(versions[0]["key"].encode()).hexdigest()
        assert live["team_id"] == declared["team_id"]
        assert live["metadata"] == {"llm_gateway": {"managed": True, "rotation": 0}}
    assert tenants.key("search-prod")["max_budget"] == 200.0
    assert tenants.key("eng-cli")["expires"] == "2027-06-30T00:00:00+00:00"
    assert run.out == [
        "team search: created",
        "team eng: created",
        "key search-prod: new value in GSM (r0)",
        "key search-prod: created",
        "key eng-cli: new value in GSM (r0)",
        "key eng-cli: created",
        "summary: 6 writes, 0 failed",
    ]


def test_a_second_run_with_no_change_makes_no_write_and_one_list_call(tenants: Tenants) -> None:
    before = len(tenants.api.calls)
    run = tenants.run(DOC)
    assert (run.code, run.writes, run.out) == (0, 0, ["summary: 0 writes, 0 failed"])
    assert tenants.api.calls[before:] == [("GET", "/team/list", None)]
    assert tenants.gsm.adds == 2


def test_drift_made_in_the_admin_ui_is_reported_then_corrected(tenants: Tenants) -> None:
    tenants.api.teams["llmgw-search"]["max_budget"] = 150.0
    tenants.api.teams["llmgw-search"]["metadata"]["llm_gateway"]["cost_centre"] = "CC-9"
    tenants.api.teams["llmgw-search"]["metadata"]["ui_note"] = "kept"
    tenants.key("search-prod")["models"] = [MODEL, "o3"]
    tenants.key("eng-cli")["blocked"] = True
    run = tenants.run(DOC)
    assert run.code == 0
    assert "drift: team search max_budget 150 -> 500" in run.out
    assert any(line.startswith("drift: team search metadata.llm_gateway ") for line in run.out)
    assert 'drift: key search-prod models ["gpt-4o-mini", "o3"] -> ["gpt-4o-mini"]' in run.out
    assert "drift: key eng-cli blocked True -> False" in run.out
    assert tenants.api.teams["llmgw-search"]["max_budget"] == 500.0
    assert tenants.api.teams["llmgw-search"]["metadata"]["llm_gateway"]["cost_centre"] == "CC-1001"
    assert tenants.api.teams["llmgw-search"]["metadata"]["ui_note"] == "kept"  # only our part of metadata
    assert tenants.key("search-prod")["models"] == [MODEL]
    assert not tenants.key("eng-cli")["blocked"]
    assert tenants.run(DOC).writes == 0


def test_a_declared_change_updates_only_the_fields_that_differ(tenants: Tenants) -> None:
    changed = document([{**SEARCH, "max_budget": 800.0}, ENG], [PROD, CLI])
    before = len(tenants.api.calls)
    run = tenants.run(changed)
    assert run.out[:2] == ["drift: team search max_budget 500 -> 800", "team search: updated"]
    assert tenants.api.calls[before + 1 :] == [
        ("POST", "/team/update", {"team_id": "llmgw-search", "max_budget": 800.0})
    ]


def test_what_is_removed_from_the_document_is_blocked_never_deleted(tenants: Tenants) -> None:
    tenants.key("eng-cli")["spend"] = 12.5
    run = tenants.run(document([SEARCH], [PROD]))
    assert run.code == 0
    assert "team eng: blocked" in run.out
    assert "key eng-cli: blocked (no longer declared)" in run.out
    assert tenants.api.teams["llmgw-eng"]["blocked"] is True
    assert tenants.key("eng-cli")["blocked"] is True
    assert tenants.key("eng-cli")["spend"] == 12.5
    assert not tenants.api.deleted
    assert not [c for c in tenants.api.calls if "delete" in c[1]]
    assert tenants.run(document([SEARCH], [PROD])).writes == 0
    assert tenants.run(DOC).code == 0  # declared again: unblocked
    assert tenants.api.teams["llmgw-eng"]["blocked"] is False
    assert not tenants.key("eng-cli")["blocked"]


def test_deletion_happens_only_for_what_delete_names(tenants: Tenants) -> None:
    run = tenants.run(document([SEARCH], [PROD], delete_keys=["eng-cli"]))
    assert "key eng-cli: deleted" in run.out
    assert "team eng: blocked" in run.out  # removed, not named in delete.teams
    assert "llmgw-eng" in tenants.api.teams
    run = tenants.run(document([SEARCH], [PROD], delete_teams=["eng"], delete_keys=["eng-cli"]))
    assert run.out == ["team eng: deleted", "summary: 1 writes, 0 failed"]
    assert "llmgw-eng" not in tenants.api.teams
    assert tenants.run(document([SEARCH], [PROD], delete_teams=["eng"], delete_keys=["eng-cli"])).writes == 0


def test_rotation_registers_a_new_key_and_blocks_the_old_one_after_the_grace_period(tenants: Tenants) -> None:
    old = tenants.key("search-prod")
    old_value = tenants.value(PROD)
    rotated = document([SEARCH, ENG], [{**PROD, "rotation": 1}, CLI])
    run = tenants.run(rotated)
    assert run.out == [
        "key search-prod: new value in GSM (r1)",
        "key search-prod~r0: retired (blocked after the grace period)",
        "key search-prod: rotated (r1)",
        "summary: 3 writes, 0 failed",
    ]
    new = tenants.key("search-prod")
    assert new["token"] == hashlib.sha256(tenants.value(PROD).encode()).hexdigest() != old["token"]
    assert tenants.value(PROD) != old_value
    assert [v["rotation"] for v in tenants.gsm.secrets[PROD["gsm_secret"]]] == [0, 1]
    retired = tenants.key("search-prod~r0")
    assert retired["token"] == old["token"] and not retired["blocked"]  # still works: the grace period
    assert retired["metadata"]["llm_gateway"]["retired_at"] == "2026-12-01T00:00:00Z"
    assert tenants.run(rotated, tenants.api.now + timedelta(days=6)).writes == 0
    run = tenants.run(rotated, tenants.api.now + timedelta(days=7))
    assert run.out == ["key search-prod~r0: blocked (retired, grace period over)", "summary: 1 writes, 0 failed"]
    assert tenants.key("search-prod~r0")["blocked"] is True
    assert tenants.run(rotated, tenants.api.now + timedelta(days=8)).writes == 0


def test_expiry_is_sent_as_a_duration_on_create_and_again_only_when_it_moved(tenants: Tenants) -> None:
    later = tenants.api.now + timedelta(minutes=50)  # LiteLLM would push expiry out on every `duration`
    assert tenants.run(DOC, later).writes == 0
    moved = document([SEARCH, ENG], [PROD, {**CLI, "expires": "2027-12-31T00:00:00Z"}])
    before = len(tenants.api.calls)
    run = tenants.run(moved)
    assert "drift: key eng-cli expires 2027-06-30T00:00:00+00:00 -> 2027-12-31T00:00:00Z" in run.out
    (update,) = [body for _, path, body in tenants.api.calls[before:] if path == "/key/update"]
    assert update["duration"] == f"{int((reconciler._when('2027-12-31T00:00:00Z') - tenants.api.now).total_seconds())}s"  # type: ignore[operator]
    assert tenants.key("eng-cli")["expires"] == "2027-12-31T00:00:00+00:00"
    assert tenants.run(moved).writes == 0


@pytest.mark.parametrize("fail_after", range(4))
def test_a_run_that_fails_halfway_reports_it_and_a_rerun_completes(fail_after: int) -> None:
    """A proxy that drops every call after `fail_after` writes (the first run makes 4): exit 1, then a clean rerun."""
    tenants = Tenants(api=FakeLiteLLM(fail_after_writes=fail_after))
    failed = tenants.run(DOC)
    assert failed.code == 1 and failed.err
    tenants.api.fail_after_writes = None
    assert tenants.run(DOC).code == 0
    clean = Tenants()
    clean.run(DOC)
    assert _state(tenants) == _state(clean)
    assert tenants.run(DOC).writes == 0


@pytest.mark.parametrize("fail_after", range(2))
def test_a_rotation_that_fails_halfway_completes_on_rerun_and_keeps_the_tenant_working(fail_after: int) -> None:
    tenants = Tenants()
    tenants.run(DOC)
    old_token = tenants.key("search-prod")["token"]
    rotated = document([SEARCH, ENG], [{**PROD, "rotation": 1}, CLI])
    tenants.api.fail_after_writes = len([c for c in tenants.api.calls if c[0] != "GET"]) + fail_after
    assert tenants.run(rotated).code == 1
    assert not tenants.api.keys[old_token]["blocked"]  # the old key still works
    tenants.api.fail_after_writes = None
    assert tenants.run(rotated).code == 0
    assert tenants.key("search-prod")["token"] == hashlib.sha256(tenants.value(PROD).encode()).hexdigest()
    assert tenants.api.keys[old_token]["key_alias"].startswith("search-prod~r0")
    assert tenants.run(rotated).writes == 0


def test_a_gsm_failure_leaves_the_key_alone_and_fails_the_run() -> None:
    tenants = Tenants()
    tenants.gsm.fail_adds = True
    run = tenants.run(DOC)
    assert run.code == 1
    assert not tenants.api.keys
    assert any("search-prod" in line and "503" in line for line in run.err)


def test_objects_without_the_managed_marker_are_reported_and_left_alone(tenants: Tenants) -> None:
    tenants.api.call("POST", "/team/new", {"team_id": "hand-made", "team_alias": "legacy"})
    tenants.api.call("POST", "/key/generate", {"key": "sk-" + "h" * 40, "team_id": "hand-made", "key_alias": "x"})
    run = tenants.run(DOC)
    assert run.writes == 0
    assert "unmanaged: 2 teams and keys without metadata.llm_gateway.managed, left alone" in run.out
    assert not tenants.api.teams["hand-made"]["blocked"]


def test_no_key_value_is_ever_printed(tenants: Tenants) -> None:
    tenants.run(document([SEARCH, ENG], [{**PROD, "rotation": 1}, CLI]))
    tenants.run(document([SEARCH], [{**PROD, "rotation": 1}]), tenants.api.now + timedelta(days=8))
    tenants.api.fail_after_writes = 0
    tenants.run(document([SEARCH, ENG], [{**PROD, "rotation": 2}, CLI]))
    printed = tenants.printed()
    assert tenants.values() and not [v for v in tenants.values() if v in printed or v[3:] in printed]
    assert "sk-" not in printed


def test_an_error_answer_quoting_a_key_value_is_scrubbed() -> None:
    value = "sk-" + "A1_-" * 12
    error = reconciler.CallError(400, f"Key with alias 'x' already exists: {value}")
    assert value not in str(error) and "sk-***" in str(error)
    lines: list[str] = []
    reconciler.Reconciler(FakeLiteLLM(), Tenants().gsm, FakeLiteLLM().now, err=lines.append)._fail(f"key {value}")
    assert lines == ["error: key sk-***"]


def _state(tenants: Tenants) -> dict[str, object]:
    """LiteLLM's teams and keys (values replaced by what GSM says they are), and GSM's versions' rotations."""
    owner = {
        hashlib.sha256(v.encode()).hexdigest(): n
        for n, vs in tenants.gsm.secrets.items()
        for v in [x["key"] for x in vs]
    }
    keys = sorted(({**k, "token": owner.get(k["token"], "?")} for k in tenants.api.keys.values()), key=json.dumps)
    rotations = {n: [v["rotation"] for v in vs] for n, vs in tenants.gsm.secrets.items()}
    return {"teams": tenants.api.teams, "keys": keys, "gsm": rotations}


def test_main_refuses_a_bad_document_listing_every_problem_and_calls_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = document(
        [SEARCH, {**SEARCH, "budget_duration": "30days"}],
        [
            {**PROD, "key_alias": ""},
            {**CLI, "team_id": "llmgw-nope", "rotation": -1},
            {**CLI, "key_alias": "ENG-CLI", "max_budget": "lots"},
        ],
        delete_keys=["eng-cli"],
    )
    path = tmp_path / "desired.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    env = {"LITELLM_URL": "http://127.0.0.1:9", "LITELLM_MASTER_KEY": "sk-master-never-used"}
    assert reconciler.main([str(path)], env) == 2
    err = capsys.readouterr().err
    assert "keys[2].max_budget: str" in err and "Traceback" not in err
    bad["keys"][2]["max_budget"] = 1.0
    path.write_text(json.dumps(bad), encoding="utf-8")
    assert reconciler.main([str(path)], env) == 2
    err = capsys.readouterr().err
    for problem in (
        "teams[1].team_id: 'llmgw-search' repeats",
        "teams[1].budget_duration: '30days'",
        "keys[0].key_alias: '' is empty",
        "keys[1].team_id: 'llmgw-nope' is not a declared team",
        "keys[1].rotation: -1 < 0",
        "keys[2].key_alias: 'ENG-CLI' repeats",
        "delete.keys: 'eng-cli' is still declared",
    ):
        assert problem in err, (problem, err)
    assert "sk-master" not in err


def test_main_needs_the_document_and_the_environment(capsys: pytest.CaptureFixture[str]) -> None:
    assert reconciler.main([], {"LITELLM_URL": "u", "LITELLM_MASTER_KEY": "k"}) == 2
    assert reconciler.main(["desired.json"], {"LITELLM_URL": "u"}) == 2
    assert "usage:" in capsys.readouterr().err


def test_a_key_whose_blocked_is_null_counts_as_not_blocked(tenants: Tenants) -> None:
    """LiteLLM stores `blocked` null for a key registered without it (by hand, by an earlier version)."""
    tenants.key("search-prod")["blocked"] = None
    assert tenants.run(DOC).writes == 0


def test_a_rotation_of_a_key_whose_declared_expiry_has_passed_writes_nothing(tenants: Tenants) -> None:
    """Computed before storing: no GSM version LiteLLM does not know (ESO would deliver it), one line naming
    the key and the remedy, and the run still succeeds (a config does not turn invalid as time passes)."""
    later = tenants.api.now + timedelta(days=800)  # past eng-cli's 2027-06-30
    before = {name: list(versions) for name, versions in tenants.gsm.secrets.items()}
    keys = dict(tenants.api.keys)
    run = tenants.run(document([SEARCH, ENG], [PROD, {**CLI, "rotation": 1}]), later)
    assert run.code == 0, run.err
    assert tenants.gsm.secrets == before and tenants.api.keys == keys
    assert [line for line in run.out if "eng-cli" in line] == [
        "key eng-cli: expired 2027-06-30T00:00:00Z, nothing written (extend its expires or remove the key)"
    ]
    assert run.writes == 0
