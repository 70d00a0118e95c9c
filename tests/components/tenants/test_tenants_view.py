"""What the preview and the PR diff show of the tenants: readable lines, never a key
value, a lowered rotation refused with exit 2. No cloud credentials: the diff reads preview folders."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from components.tenants.view import RotationError, tenant_changes, tenants_output, tenants_table
from config import parse_config
from tests.support.config import namespace
from tools.diff import main as diff_main


def _output(edit: Any = None) -> dict[str, Any]:
    """The lab's `tenants` output, after `edit(raw tenants section)`."""
    raw = copy.deepcopy(namespace("lab"))
    if edit is not None:
        edit(raw["tenants"])
    cfg = parse_config(raw)
    return tenants_output(cfg.tenants, cfg.litellm)


def _team(tenants: dict[str, Any]) -> dict[str, Any]:
    team: dict[str, Any] = tenants["teams"][0]
    return team


def test_each_kind_of_change_is_one_readable_line() -> None:
    base = _output()

    def edit(t: dict[str, Any]) -> None:
        _team(t)["max_budget"] = 45
        keys = _team(t)["keys"]
        keys[1]["rotation"] = 1
        keys[0]["max_budget"] = 25
        keys.append({"alias": "platform-cline", "max_budget": 5, "deliver": "gsm_only"})
        t["teams"].append(
            {
                "alias": "search",
                "owner": "s@lab.home.arpa",
                "cost_centre": "LAB-2",
                "max_budget": 5,
                "models": ["gpt-4o-mini"],
            }
        )

    lines = tenant_changes(base, _output(edit))
    assert lines == [
        "team platform: max_budget 40 → 45",
        "team search: new",
        "key platform-cli: max_budget 20 → 25",
        "key platform-cline: new",
        "key platform-notebook: rotation 0 → 1 (rotates)",
    ]

    def add(t: dict[str, Any]) -> None:
        edit(t)
        _team(t)["keys"][1]["rotation"] = 0

    removed = tenant_changes(_output(add), base)
    assert "key platform-cline: removed (blocked by the reconciler)" in removed
    assert "team search: removed (blocked by the reconciler)" in removed
    assert tenant_changes(base, base) == [] and tenant_changes(None, None) == []
    assert tenant_changes(None, base)[0] == "team platform: new"


def test_a_deletion_says_so() -> None:
    base = _output()

    def edit(t: dict[str, Any]) -> None:
        _team(t)["keys"].pop(1)
        t["delete"] = {"keys": ["platform-notebook"]}

    assert tenant_changes(base, _output(edit)) == ["key platform-notebook: deleted (delete.keys)"]


def test_a_lower_rotation_is_refused() -> None:
    def bump(t: dict[str, Any]) -> None:
        _team(t)["keys"][1]["rotation"] = 2

    with pytest.raises(RotationError, match=r"key platform-notebook: rotation 2 → 0 is lower than the base's"):
        tenant_changes(_output(bump), _output())


def test_the_table_shows_teams_keys_and_where_they_go() -> None:
    lines = tenants_table(_output())
    assert lines[0].startswith("team platform (llmgw-platform, LAB-0001, ")
    assert lines[1].endswith("rotation 0 -> dev-tools/litellm-key")
    assert lines[2].endswith("rotation 0 -> gsm_only")
    assert tenants_table({"teams": {}, "keys": {}}) == ["(no teams declared)"]


def _preview_folder(root: Path, name: str, tenants: dict[str, Any]) -> Path:
    folder = root / name / "lab"
    folder.mkdir(parents=True)
    # A change of tenants changes the reconciler's ConfigMap (its document) too.
    config_map = {
        "type": "kubernetes:core/v1:ConfigMap",
        "name": "llm-gateway-tenants-config",
        "parent": "llm-gateway-tenants",
        "inputs": {"data": {"desired.json": json.dumps(tenants, sort_keys=True)}},
        "options": {},
    }
    (folder / "resources.json").write_text(json.dumps([config_map]))
    (folder / "outputs.json").write_text(json.dumps({"tenants": tenants}))
    return folder


def test_the_diff_prints_a_tenants_section_and_refuses_a_lower_rotation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def bump(t: dict[str, Any]) -> None:
        _team(t)["keys"][1]["rotation"] = 3

    base = _preview_folder(tmp_path, "base", _output())
    head = _preview_folder(tmp_path, "head", _output(bump))
    assert diff_main([str(base), str(head), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "**Tenants**" in out and "- key platform-notebook: rotation 0 → 3 (rotates)" in out
    assert "sk-" not in out
    assert diff_main([str(head), str(base), "--out", str(tmp_path / "out2")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: key platform-notebook: rotation 3 → 0") and "Traceback" not in err


def test_a_rename_or_a_move_says_it_is_a_new_key_and_the_old_value_is_blocked() -> None:
    """Aliases are identities (the GSM secret is `tenant-<team>-<key>`): the diff makes a rename visible."""
    base = _output()

    def rename_key(t: dict[str, Any]) -> None:
        _team(t)["keys"][1]["alias"] = "platform-jupyter"

    lines = tenant_changes(base, _output(rename_key))
    assert "key platform-notebook → platform-jupyter? a rename is a new key: platform-notebook's value is blocked" in (
        lines
    )

    def rename_team(t: dict[str, Any]) -> None:
        _team(t)["alias"] = "infra"
        _team(t)["id"] = "llmgw-platform"

    assert (
        "team platform → infra? a rename is a new team: its keys get new GSM secrets and values, platform's are blocked"
        in tenant_changes(base, _output(rename_team))
    )

    def move(t: dict[str, Any]) -> None:
        t["teams"].append({**_team(t), "alias": "ml", "keys": [_team(t)["keys"].pop(1)]})

    assert (
        "key platform-notebook: a move to another team is a new GSM secret: a new value, the old one blocked after the grace period"
        in tenant_changes(base, _output(move))
    )
