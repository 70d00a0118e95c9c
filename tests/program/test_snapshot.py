"""Stability: the (type, name, parent) of every resource is committed per stack.

A difference means a rename or reparent (Pulumi would delete and recreate the
resource, data included) or a new/removed resource. Review it; for a rename add
an `Alias`; then run `python -m tests.support.snapshot --write`.
"""

from __future__ import annotations

import json

import pytest

from offline.run import run_stack
from tests.support.snapshot import SECRETS, path_for, snapshot, targets


@pytest.mark.parametrize("name", sorted(targets()))
def test_resource_tree_matches_the_committed_snapshot(name: str) -> None:
    stack, overrides = targets()[name]
    current = snapshot(run_stack(stack, overrides, extra_config=SECRETS))
    committed = json.loads(path_for(name).read_text())
    added = [e for e in current if e not in committed]
    removed = [e for e in committed if e not in current]
    assert (added, removed) == ([], []), (
        "resource tree changed: review, add Alias for renames, run python -m tests.support.snapshot --write"
    )


def test_every_resource_has_a_parent_below_the_root() -> None:
    data = snapshot(run_stack("enterprise"))
    roots = [e for e in data if e["parent"] is None]
    assert [r["type"] for r in roots] == ["llm-gateway:gateway:LlmGateway"]
