"""Validate management request bodies against the pinned LiteLLM's own request models.

Runs under the LiteLLM venv (tests/harness/litellm/install.sh), not the repository's:

    .venv-litellm/bin/python tests/harness/litellm/request_models.py < calls.json

stdin: a JSON list of {"method", "path", "body"} (what the tenants reconciler sent to the fake,
tests/components/tenants/test_reconciler_litellm.py). Each POST body is validated by the class
LiteLLM's route declares (litellm.proxy._types), and each field it holds must be one the class
declares (LiteLLM's models ignore unknown fields: a misspelled one would be dropped with a 200)
and must keep its value through validation (no coercion the reconciler does not expect).
stdout: one JSON object {"checked": N, "models": {path: class}, "problems": [...]}; exit 0.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from litellm.proxy._types import (  # after the local cost map is set: no network
    BlockKeyRequest,
    BlockTeamRequest,
    DeleteTeamRequest,
    GenerateKeyRequest,
    KeyRequest,
    NewTeamRequest,
    UpdateKeyRequest,
    UpdateTeamRequest,
)

MODELS: dict[str, Any] = {
    "/team/new": NewTeamRequest,
    "/team/update": UpdateTeamRequest,
    "/team/delete": DeleteTeamRequest,
    "/team/block": BlockTeamRequest,
    "/team/unblock": BlockTeamRequest,
    "/key/generate": GenerateKeyRequest,
    "/key/update": UpdateKeyRequest,
    "/key/block": BlockKeyRequest,
    "/key/unblock": BlockKeyRequest,
    "/key/delete": KeyRequest,
}


def problems_of(call: dict[str, Any]) -> list[str]:
    method, path, body = call["method"], call["path"], call["body"]
    where = f"{method} {path}"
    if method == "GET":
        return [] if body is None else [f"{where}: a GET with a body"]
    model = MODELS.get(path)
    if model is None:
        return [f"{where}: no request model known for this path"]
    found = [
        f"{where}: {name!r} is not a field of {model.__name__}" for name in sorted(set(body) - set(model.model_fields))
    ]
    try:
        parsed = model.model_validate(body)
    except Exception as error:  # pydantic's ValidationError, or a model validator's ValueError
        return [*found, f"{where}: {model.__name__} refuses the body: {error}"]
    dumped = parsed.model_dump()
    for name, value in body.items():
        if name in dumped and dumped[name] != value:
            found.append(f"{where}: {model.__name__}.{name} becomes {dumped[name]!r}, sent {value!r}")
    return found


def main() -> int:
    calls = json.load(sys.stdin)
    problems = [problem for call in calls for problem in problems_of(call)]
    used = sorted({c["path"] for c in calls if c["path"] in MODELS})
    print(json.dumps({"checked": len(calls), "models": {p: MODELS[p].__name__ for p in used}, "problems": problems}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
