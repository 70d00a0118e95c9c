"""The README stays true: the secrets inventory and the test command."""

from __future__ import annotations

import re

import pytest

from components.config import StackConfig, parse_config
from components.inventory import secret_inventory
from tests.test_config import namespace
from tools.offline import ROOT

README = (ROOT / "README.md").read_text()


def test_secrets_inventory_lists_every_generated_secret() -> None:
    rows = re.findall(r"^\| `([a-z0-9-]+)`[^|]*\| `([a-z0-9-]+)` \|", README, flags=re.MULTILINE)
    documented = {(gsm, key) for gsm, key in rows}
    raw = namespace("lab")
    raw["postgres"] = {
        **raw["postgres"],
        "engine": "external",
        "cnpg": None,
        "external": {"host": "pg.example", "admin_user": "admin"},
    }
    configs = [parse_config(namespace(s)) for s in ("lab", "enterprise")]
    configs.append(parse_config(raw, frozenset({"postgresAdminPassword"})))
    configs.append(parse_config({**namespace("enterprise"), "redis": {"mode": "in_cluster"}}))
    generated = {(spec.gsm_name, spec.key) for cfg in configs for spec in secret_inventory(cfg)}
    assert generated == documented


@pytest.mark.parametrize("line", ["venv/bin/python -m pytest -q"])
def test_ci_runs_the_readme_test_command(line: str) -> None:
    assert line in README
    assert (ROOT / ".ci" / "run").read_text().rstrip().endswith(line)


def test_config_reference_names_every_section() -> None:
    table = README.split("## Config reference", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in StackConfig.model_fields if f"`{name}." not in table and f"`{name}`" not in table]
    assert missing == []
