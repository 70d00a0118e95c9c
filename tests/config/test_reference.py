"""README's config reference is the model's: generated, complete, and every key documented."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from config import StackConfig
from tools import config_reference
from tools.offline import ROOT


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


def test_readme_holds_the_generated_reference() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert config_reference.replaced(readme, config_reference.render()) == readme, (
        "README.md's config reference is out of date: python -m tools.config_reference --write"
    )


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
