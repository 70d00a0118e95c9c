"""LiteLLM's management API traps (docs/tenants-reconciler.md "Traps"):
for each, the fake's rule (tests/support/litellm_fake.py keeps it as the real API does) and the
reconciler's guard against it. Each reconciler test fails when its guard is removed."""

from __future__ import annotations

import hashlib
import re

import pytest

from components.tenants import reconciler
from tests.support.litellm_fake import FakeLiteLLM, IgnoredFieldError, Tenants, document, key_doc, team_doc

SEARCH = team_doc("search")
PROD = key_doc("search-prod", "search")
DOC = document([SEARCH], [PROD])
VALUE = "sk-" + "v" * 40


def _status(error: pytest.ExceptionInfo[reconciler.CallError]) -> int:
    return error.value.status


# -- key_alias is unique across all keys, and "" collides too -----------------------------------------
def test_fake_alias_is_unique_across_keys_and_an_empty_alias_collides() -> None:
    api = FakeLiteLLM()
    api.call("POST", "/key/generate", {"key": VALUE, "key_alias": "a", "team_id": "t1"})
    with pytest.raises(reconciler.CallError) as error:
        api.call("POST", "/key/generate", {"key": "sk-" + "w" * 40, "key_alias": "a", "team_id": "t2"})
    assert _status(error) == 400 and "already exists" in str(error.value)
    api.call("POST", "/key/generate", {"key": "sk-" + "x" * 40, "key_alias": ""})
    with pytest.raises(reconciler.CallError):
        api.call("POST", "/key/generate", {"key": "sk-" + "y" * 40, "key_alias": ""})
    api.call("POST", "/key/generate", {"key": "sk-" + "z" * 40})  # null aliases never collide
    api.call("POST", "/key/generate", {"key": "sk-" + "q" * 40})
    assert len(api.keys) == 4


def test_rotation_frees_the_alias_by_renaming_the_old_key_before_registering_the_new_one() -> None:
    tenants = Tenants()
    tenants.run(DOC)
    before = len(tenants.api.calls)
    assert tenants.run(document([SEARCH], [{**PROD, "rotation": 1}])).code == 0
    writes = [(path, body.get("key_alias")) for method, path, body in tenants.api.calls[before:] if method == "POST"]
    assert writes == [("/key/update", "search-prod~r0"), ("/key/generate", "search-prod")]


def test_an_alias_held_by_an_unmanaged_key_is_not_taken_over() -> None:
    tenants = Tenants()
    tenants.run(document([SEARCH], []))
    tenants.api.call("POST", "/key/generate", {"key": VALUE, "key_alias": "search-prod", "team_id": "llmgw-search"})
    run = tenants.run(DOC)
    assert run.code == 1
    assert any("held by a key without metadata.llm_gateway.managed" in line for line in run.err)
    assert tenants.key("search-prod")["token"] == hashlib.sha256(VALUE.encode()).hexdigest()  # untouched
    assert [p for m, p, _ in tenants.api.calls if p in ("/key/generate", "/key/update")] == ["/key/generate"]


def test_an_empty_or_reserved_alias_is_refused_before_any_call() -> None:
    for alias in ("", "a~r0"):
        problems = reconciler.check(document([SEARCH], [{**PROD, "key_alias": alias}]))
        assert problems == [f"keys[0].key_alias: {alias!r} is empty or holds '~'"]


# -- re-sending an existing caller-supplied key answers 200 and creates nothing (BerriAI/litellm#20494)
def test_fake_a_resent_key_value_answers_200_and_changes_nothing() -> None:
    api = FakeLiteLLM()
    api.call("POST", "/key/generate", {"key": VALUE, "key_alias": "first", "team_id": "t1", "max_budget": 1.0})
    answer = api.call("POST", "/key/generate", {"key": VALUE, "key_alias": "second", "team_id": "t2"})
    assert answer["key_alias"] == "second"  # the answer echoes the request...
    (row,) = api.keys.values()
    assert (row["key_alias"], row["team_id"], row["max_budget"]) == ("first", "t1", 1.0)  # ...nothing changed


def test_a_key_that_left_its_team_is_found_by_hash_and_corrected_not_resent() -> None:
    tenants = Tenants()
    tenants.run(DOC)
    tenants.key("search-prod")["team_id"] = None  # moved out in the admin UI: /team/list no longer shows it
    before = len(tenants.api.calls)
    run = tenants.run(DOC)
    assert run.code == 0, run.err
    assert "drift: key search-prod team_id unset -> llmgw-search" in run.out
    assert tenants.key("search-prod")["team_id"] == "llmgw-search"
    assert ("GET", "/key/info") in [(m, p) for m, p, _ in tenants.api.calls[before:]]
    assert "/key/generate" not in [p for _, p, _ in tenants.api.calls[before:]]


# -- /key/{key}/regenerate needs an Enterprise licence: rotate by a new key and block the old one ------
def test_fake_regenerate_is_refused_without_a_licence() -> None:
    api = FakeLiteLLM()
    for path in ("/key/regenerate", f"/key/{hashlib.sha256(VALUE.encode()).hexdigest()}/regenerate"):
        with pytest.raises(reconciler.CallError) as error:
            api.call("POST", path, {"key": VALUE})
        assert "Enterprise" in str(error.value)


def test_rotation_never_calls_regenerate() -> None:
    tenants = Tenants()
    tenants.run(DOC)
    assert tenants.run(document([SEARCH], [{**PROD, "rotation": 1}])).code == 0
    assert not [p for _, p, _ in tenants.api.calls if "regenerate" in p]
    assert len(tenants.api.keys) == 2  # the old key stays (blocked after the grace period), with its spend


# -- a budget_duration added by an update does not reset the spend already counted ------------------
def test_a_budget_duration_change_is_sent_alone_and_the_spend_counted_stays() -> None:
    tenants = Tenants()
    tenants.run(document([SEARCH], [{**PROD, "budget_duration": None}]))
    tenants.key("search-prod")["spend"] = 80.0
    before = len(tenants.api.calls)
    run = tenants.run(document([SEARCH], [{**PROD, "budget_duration": "1d"}]))
    assert "drift: key search-prod budget_duration unset -> 1d" in run.out
    (update,) = [body for _, path, body in tenants.api.calls[before:] if path == "/key/update"]
    assert set(update) == {"key", "budget_duration"}
    assert tenants.key("search-prod")["spend"] == 80.0  # the next reset, not this update, clears it


# -- deleting a team deletes its keys ----------------------------------------------------------------
def test_fake_team_delete_deletes_its_keys() -> None:
    api = FakeLiteLLM()
    api.call("POST", "/team/new", {"team_id": "t1"})
    api.call("POST", "/key/generate", {"key": VALUE, "team_id": "t1", "key_alias": "k"})
    api.call("POST", "/team/delete", {"team_ids": ["t1"]})
    assert not api.keys and not api.teams
    assert (
        api.call("GET", "/key/info", query=f"key={hashlib.sha256(VALUE.encode()).hexdigest()}")["info"]["status"]
        == "deleted"
    )


def test_a_team_is_not_deleted_while_it_holds_a_key_delete_does_not_name() -> None:
    tenants = Tenants()
    other = key_doc("search-dev", "search")
    tenants.run(document([SEARCH], [PROD, other]))
    run = tenants.run(document([], [], delete_teams=["search"], delete_keys=["search-prod"]))
    assert run.code == 1
    assert any("would delete its keys not in delete.keys: ['search-dev']" in line for line in run.err)
    assert "llmgw-search" in tenants.api.teams
    assert tenants.key("search-dev")["blocked"] is True  # removed: blocked, its spend kept
    assert [p for _, p, _ in tenants.api.calls].count("/team/delete") == 0


def test_a_removed_team_is_blocked_by_update_not_deleted() -> None:
    tenants = Tenants()
    tenants.run(DOC)
    before = len(tenants.api.calls)
    tenants.run(document([], []))
    assert ("POST", "/team/update", {"team_id": "llmgw-search", "blocked": True}) in tenants.api.calls[before:]
    assert "/team/delete" not in [p for _, p, _ in tenants.api.calls]


# -- team keys need the team id (LiteLLM creates a key for a missing team for a proxy admin) ---------
def test_fake_a_key_for_a_missing_team_is_created_but_listed_under_no_team() -> None:
    api = FakeLiteLLM()
    api.call("POST", "/key/generate", {"key": VALUE, "team_id": "nope"})
    assert len(api.keys) == 1 and api.call("GET", "/team/list") == []


def test_no_key_is_registered_for_a_team_that_is_not_in_place() -> None:
    tenants = Tenants()
    reserved = team_doc("dash", team_id="litellm-dashboard")  # LiteLLM refuses this team_id
    run = tenants.run(document([reserved], [key_doc("dash-k", "dash", team_id="litellm-dashboard")]))
    assert run.code == 1
    assert any("dash-k: skipped, its team litellm-dashboard is not in place" in line for line in run.err)
    assert not tenants.api.keys
    assert "/key/generate" not in [p for _, p, _ in tenants.api.calls]


# -- unknown body fields are dropped with a 200 (there is no `expires`: `duration` sets it) ----------
def test_fake_refuses_a_field_the_request_model_does_not_declare() -> None:
    with pytest.raises(IgnoredFieldError, match="expires"):
        FakeLiteLLM().call("POST", "/key/generate", {"key": VALUE, "expires": "2027-01-01T00:00:00Z"})
    with pytest.raises(IgnoredFieldError, match="team_alias"):
        FakeLiteLLM().call("POST", "/key/update", {"key": VALUE, "team_alias": "x"})


def test_an_expiry_is_registered_as_a_duration() -> None:
    tenants = Tenants()
    tenants.run(document([SEARCH], [{**PROD, "expires": "2027-06-30T00:00:00Z"}]))
    (generate,) = [body for _, path, body in tenants.api.calls if path == "/key/generate"]
    assert "expires" not in generate and re.fullmatch(r"\d+s", generate["duration"])
    assert tenants.key("search-prod")["expires"] == "2027-06-30T00:00:00+00:00"


# -- /key/block takes a raw key only in LiteLLM's raw format: the reconciler sends the hash ----------
def test_fake_block_refuses_a_raw_key_outside_its_format_and_keys_are_blocked_by_hash() -> None:
    api = FakeLiteLLM()
    odd = "sk-abc.def+ghi/jkl=mnopqrstu"
    api.call("POST", "/key/generate", {"key": odd})
    with pytest.raises(reconciler.CallError):
        api.call("POST", "/key/block", {"key": odd})
    tenants = Tenants()
    tenants.run(DOC)
    tenants.run(document([], []))
    blocks = [body["key"] for _, path, body in tenants.api.calls if path == "/key/block"]
    assert blocks and all(re.fullmatch(r"[0-9a-f]{64}", key) for key in blocks)
    assert re.fullmatch(r"sk-[A-Za-z0-9_-]{48}", reconciler.new_value())


# -- a duplicate team_id answers 400: existing teams are found in the one list call ------------------
def test_fake_a_duplicate_team_id_is_refused_and_the_reconciler_never_recreates_a_listed_team() -> None:
    api = FakeLiteLLM()
    api.call("POST", "/team/new", {"team_id": "t1"})
    with pytest.raises(reconciler.CallError) as error:
        api.call("POST", "/team/new", {"team_id": "t1"})
    assert _status(error) == 400 and "already exists" in str(error.value)
    tenants = Tenants()
    tenants.run(DOC)
    tenants.api.teams["llmgw-search"]["max_budget"] = 1.0
    tenants.run(DOC)
    assert [p for _, p, _ in tenants.api.calls].count("/team/new") == 1
