"""Proof against LiteLLM itself, without a database-backed proxy: every request the reconciler sends
(across create, drift, update, removal, deletion, rotation and its grace period, expiry, a failure
halfway) is a route the pinned proxy serves (components/litellm/openapi.json, the committed capture
a real-proxy test keeps current), and every body validates against the pinned LiteLLM's own request
model (litellm.proxy._types, in .venv-litellm) with no field it would drop."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import cache
from typing import Any

import pytest

from tests.harness.litellm import openapi
from tests.support.litellm_fake import FakeLiteLLM, Tenants, document, key_doc, served_routes, team_doc
from tests.support.litellm_python import litellm_python_report

SCRIPT = openapi.ROOT / "tests" / "harness" / "litellm" / "request_models.py"


@cache
def every_call() -> tuple[tuple[str, str, Any], ...]:
    """The calls of every scenario the reconciler knows, in order."""
    search = team_doc("search", tpm_limit=1000, rpm_limit=60)
    eng = team_doc("eng", budget_duration=None)
    prod, cli = (
        key_doc("search-prod", "search", tpm_limit=10),
        key_doc("eng-cli", "eng", expires="2027-06-30T00:00:00Z"),
    )
    full = document([search, eng], [prod, cli])
    tenants = Tenants(api=FakeLiteLLM(fail_after_writes=2))
    tenants.run(full)  # fails halfway
    tenants.api.fail_after_writes = None
    tenants.run(full)
    tenants.api.teams["llmgw-search"]["max_budget"] = 1.0  # drift
    tenants.key("eng-cli")["blocked"] = True
    tenants.key("search-prod")["team_id"] = None  # out of its team: /key/info
    tenants.run(full)
    tenants.run(document([search, eng], [prod, {**cli, "expires": "2027-12-31T00:00:00Z", "budget_duration": "1d"}]))
    rotated = document([search, eng], [{**prod, "rotation": 1}, cli])
    tenants.run(rotated)
    tenants.run(rotated, tenants.api.now + timedelta(days=8))
    tenants.run(document([search], [{**prod, "rotation": 1}]), tenants.api.now + timedelta(days=8))  # removal
    tenants.run(document([search], [{**prod, "rotation": 1}], delete_teams=["eng"], delete_keys=["eng-cli"]))
    return tuple(tenants.api.calls)


def test_the_scenarios_exercise_every_call_the_reconciler_makes() -> None:
    paths = {(method, path) for method, path, _ in every_call()}
    assert paths == {
        ("GET", "/team/list"),
        ("GET", "/key/info"),
        ("POST", "/team/new"),
        ("POST", "/team/update"),
        ("POST", "/team/delete"),
        ("POST", "/key/generate"),
        ("POST", "/key/update"),
        ("POST", "/key/block"),
        ("POST", "/key/delete"),
    }


def test_every_route_the_reconciler_calls_is_served_by_the_pinned_proxy() -> None:
    served = served_routes()
    capture = json.loads(openapi.OUTPUT.read_text(encoding="utf-8"))
    for method, path, _ in every_call():
        assert (method, path) in served, f"{method} {path} is not in components/litellm/openapi.json"
        assert method in capture["management"][path], f"{method} {path} is not a key/team management operation"


def test_every_query_parameter_the_reconciler_sends_is_declared() -> None:
    """/key/info?key=<hash> is the only query; the capture declares `key` on it."""
    capture = json.loads(openapi.OUTPUT.read_text(encoding="utf-8"))
    declared = {p["name"] for p in capture["management"]["/key/info"]["GET"]["parameters"] if p["in"] == "query"}
    assert "key" in declared


@pytest.mark.real_proxy
def test_every_body_validates_against_the_pinned_litellm_request_models() -> None:
    calls = [{"method": m, "path": p, "body": b} for m, p, b in every_call()]
    report = litellm_python_report([str(SCRIPT)], stdin=json.dumps(calls), timeout=300)
    assert report["checked"] == len(calls)
    assert report["models"] == {
        "/key/block": "BlockKeyRequest",
        "/key/delete": "KeyRequest",
        "/key/generate": "GenerateKeyRequest",
        "/key/update": "UpdateKeyRequest",
        "/team/delete": "DeleteTeamRequest",
        "/team/new": "NewTeamRequest",
        "/team/update": "UpdateTeamRequest",
    }
    assert report["problems"] == []


@pytest.mark.real_proxy
def test_the_validation_script_catches_a_dropped_field_and_a_refused_body() -> None:
    """The control: what the real models refuse or drop is reported (so an empty report means something)."""
    calls = [
        {"method": "POST", "path": "/key/generate", "body": {"key": "sk-" + "a" * 40, "expires": "2027-01-01"}},
        {"method": "POST", "path": "/team/update", "body": {"max_budget": 1.0}},
        {"method": "POST", "path": "/key/update", "body": {"models": ["m"]}},
    ]
    problems = litellm_python_report([str(SCRIPT)], stdin=json.dumps(calls), timeout=300)["problems"]
    assert any("'expires' is not a field of GenerateKeyRequest" in p for p in problems), problems
    assert any("UpdateTeamRequest refuses the body" in p for p in problems), problems
    assert any("UpdateKeyRequest refuses the body" in p for p in problems), problems
