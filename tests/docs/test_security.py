"""docs/security.md stays true: its secrets inventory is the program's."""

from __future__ import annotations

import re

from config import parse_config
from config.inventory import secret_inventory
from tests.support import ROOT
from tests.support.config import namespace

SECURITY = (ROOT / "docs" / "security.md").read_text()


def test_secrets_inventory_lists_every_generated_secret() -> None:
    rows = re.findall(r"^\| `([a-z0-9-]+)`[^|]*\| `([a-z0-9-]+)` \|", SECURITY, flags=re.MULTILINE)
    documented = {(gsm, key) for gsm, key in rows}
    raw = namespace("lab")
    raw["postgres"] = {
        **raw["postgres"],
        "engine": "external",
        "cnpg": None,
        "external": {"host": "pg.example", "admin_user": "admin", "server_cidrs": ["10.0.0.5/32"]},
    }
    configs = [parse_config(namespace(s)) for s in ("lab", "enterprise")]
    configs.append(parse_config(raw, frozenset({"postgresAdminPassword"})))
    configs.append(parse_config({**namespace("enterprise"), "redis": {"mode": "in_cluster"}}))
    generated = {(spec.gsm_name, spec.key) for cfg in configs for spec in secret_inventory(cfg)}
    assert generated == documented
