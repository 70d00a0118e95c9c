"""components/litellm/openapi.json: what the pinned proxy serves at /openapi.json (tests/harness/litellm/openapi.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.harness.litellm import openapi
from tests.support.components import require

# What a tenants reconciler calls: teams and keys created, updated, blocked and listed.
RECONCILER_OPERATIONS = {
    ("POST", "/team/new"),
    ("POST", "/team/update"),
    ("POST", "/team/delete"),
    ("POST", "/team/block"),
    ("POST", "/team/unblock"),
    ("GET", "/team/list"),
    ("GET", "/v2/team/list"),
    ("GET", "/team/info"),
    ("PATCH", "/team/{team_id}"),
    ("POST", "/key/generate"),
    ("POST", "/key/update"),
    ("POST", "/key/delete"),
    ("POST", "/key/block"),
    ("POST", "/key/unblock"),
    ("POST", "/key/regenerate"),
    ("POST", "/key/{key}/regenerate"),
    ("GET", "/key/list"),
    ("GET", "/key/info"),
    ("GET", "/key/aliases"),
}


def committed() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(openapi.OUTPUT.read_text(encoding="utf-8"))
    return data


def test_the_capture_holds_every_route_and_the_management_api_with_its_schemas() -> None:
    capture = committed()
    assert capture["info_version"] == capture["litellm_version"]
    assert len(capture["paths"]) > 500
    ops = {(m, p) for p, methods in capture["management"].items() for m in methods}
    assert ops >= RECONCILER_OPERATIONS, sorted(RECONCILER_OPERATIONS - ops)
    for path, methods in capture["management"].items():
        assert set(methods) <= set(capture["paths"][path]), path
    generate = capture["management"]["/key/generate"]["POST"]
    assert generate["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/GenerateKeyRequest"
    }
    assert "litellm-changed-by" in {p["name"] for p in generate["parameters"]}
    assert {"GenerateKeyRequest", "UpdateKeyRequest", "NewTeamRequest", "UpdateTeamRequest"} <= set(capture["schemas"])
    assert "key_alias" in capture["schemas"]["GenerateKeyRequest"]["properties"]
    # Every reference resolves: the schemas are closed under $ref.
    assert set(openapi._refs([capture["management"], capture["schemas"]])) <= set(capture["schemas"])


def test_trim_keeps_methods_the_management_operations_and_the_schemas_they_reach() -> None:
    ref = {"$ref": "#/components/schemas/NewTeamRequest"}
    document = {
        "openapi": "3.1.0",
        "info": {"version": "9.9.9", "description": "long"},
        "paths": {
            "/team/new": {
                "post": {"tags": ["team management"], "description": "prose", "requestBody": {"content": ref}},
                "parameters": [],
            },
            "/v1/models": {"get": {"tags": ["models"], "requestBody": {"content": {"$ref": "#/x/Unused"}}}},
        },
        "components": {
            "schemas": {
                "NewTeamRequest": {"description": "d", "properties": {"b": {"$ref": "#/components/schemas/Budget"}}},
                "Budget": {"type": "number", "examples": [1]},
                "Unused": {"type": "string"},
            }
        },
    }
    trimmed = openapi.trim(document, "9.9.9")
    assert trimmed["paths"] == {"/team/new": ["POST"], "/v1/models": ["GET"]}
    assert trimmed["management"] == {
        "/team/new": {"POST": {"tags": ["team management"], "requestBody": {"content": ref}}}
    }
    assert trimmed["schemas"] == {
        "Budget": {"type": "number"},
        "NewTeamRequest": {"properties": {"b": {"$ref": "#/components/schemas/Budget"}}},
    }
    assert trimmed["litellm_version"] == trimmed["info_version"] == "9.9.9"


@pytest.mark.real_proxy
def test_the_committed_capture_is_what_the_installed_proxy_serves() -> None:
    """One proxy start (about 10 s idle, 30 s under load); a difference: python -m tests.harness.litellm.openapi --write."""
    now = openapi.text(openapi.capture(require("litellm")))
    assert now == openapi.OUTPUT.read_text(encoding="utf-8"), (
        "components/litellm/openapi.json differs from the installed LiteLLM's /openapi.json: "
        "venv/bin/python -m tests.harness.litellm.openapi (the diff), then --write"
    )
