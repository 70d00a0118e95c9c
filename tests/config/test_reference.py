"""docs/configuration.md is the model's: generated, complete, and every key documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from config import StackConfig
from tests.support import ROOT
from tools import config_reference


def _schema_leaves(schema: dict[str, Any], defs: dict[str, Any], prefix: str) -> set[str]:
    """Leaf key paths of a JSON schema (the model's, as pydantic publishes it)."""
    if "$ref" in schema:
        return _schema_leaves(defs[schema["$ref"].rsplit("/", 1)[1]], defs, prefix)
    variants = schema.get("anyOf") or schema.get("oneOf")
    if variants:
        found = [_schema_leaves(v, defs, prefix) for v in variants if v.get("type") != "null"]
        sections = [f for f in found if f != {prefix}]
        return set().union(*sections) if sections else {prefix}
    if schema.get("type") == "array" and "$ref" in schema.get("items", {}):
        return _schema_leaves(schema["items"], defs, f"{prefix}[]")
    if "properties" in schema:
        return set().union(*(_schema_leaves(s, defs, f"{prefix}.{k}") for k, s in schema["properties"].items()))
    if schema.get("type") == "object":
        return {f"{prefix}.<name>"}
    return {prefix}


def test_docs_configuration_holds_the_generated_reference() -> None:
    document = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert config_reference.replaced(document, config_reference.render()) == document, (
        "docs/configuration.md is out of date: python -m tools.config_reference --write"
    )


def test_the_cli_compares_and_writes_docs_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text(f"intro\n\n{config_reference.BEGIN}\n| old |\n{config_reference.END}\n\nafter\n", encoding="utf-8")
    monkeypatch.setattr(config_reference, "REFERENCE", stale)
    assert config_reference.main([]) == 1
    assert config_reference.main(["--write"]) == 0
    assert config_reference.main([]) == 0
    text = stale.read_text(encoding="utf-8")
    assert text.startswith("intro\n\n") and text.endswith("\n\nafter\n") and "| `gcp.project` |" in text


def test_the_reference_lists_every_leaf_key() -> None:
    schema = StackConfig.model_json_schema()
    expected = {key.lstrip(".") for key in _schema_leaves(schema, schema["$defs"], "")}
    table = config_reference.render()
    documented = set(re.findall(r"^\| `([^`]+)` \|", table, flags=re.MULTILINE))
    assert documented == expected


def test_every_field_is_described() -> None:
    undocumented = []
    pending: list[type[BaseModel]] = [StackConfig]
    seen: set[type[BaseModel]] = set()
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            if not info.description:
                undocumented.append(f"{model.__name__}.{name}")
            pending += config_reference.section_models(info.annotation)
            pending += [
                m for arg in getattr(info.annotation, "__args__", ()) for m in config_reference.section_models(arg)
            ]
    assert undocumented == []


def test_docs_configuration_names_every_section() -> None:
    table = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [name for name in StackConfig.model_fields if f"`{name}." not in table and f"`{name}`" not in table]
    assert missing == []


def test_every_number_and_duration_states_its_accepted_range() -> None:
    """A reader of docs/configuration.md learns each bound before preview refuses it."""
    unbounded = [
        f"{leaf.key}: {leaf.type}"
        for leaf in config_reference.leaves()
        if re.search(r"\b(int|number|duration|period)\b", leaf.type)
        and not re.search(r"[–≤<]", leaf.type)  # an upper bound
    ]
    assert unbounded == []
