"""Deterministic YAML for the preview's files (manifests, Helm values, rendered chart objects).

The top level keeps the caller's order (`apiVersion`, `kind`, `metadata` first);
every mapping below it is sorted, as the mock engine does not keep insertion
order. The bytes are PyYAML's own emitter's: libyaml's folds long double-quoted
strings at other places. libyaml writes an object ten times faster, though, so an
object whose strings are all printable ASCII (never double-quoted: a tenant key's
ExternalSecret, a namespace's store) goes to libyaml, whose bytes are then the
same; tests/tools/test_yamlout.py holds the two to that, PyYAML's as the referee.
"""

from __future__ import annotations

from typing import Any

import yaml

_LIBYAML: Any = getattr(yaml, "CSafeDumper", None)


def sorted_keys(data: Any) -> Any:
    """Nested mappings in key order: the mock engine does not keep insertion order."""
    if isinstance(data, dict):
        return {k: sorted_keys(data[k]) for k in sorted(data)}
    if isinstance(data, list):
        return [sorted_keys(v) for v in data]
    return data


_SIMPLE_KEY = 100
"""Mapping keys up to this long: PyYAML writes a key of 123 characters or more as `? key` (its limit
counts the implicit tag), libyaml only past 128."""


def _printable(text: str) -> bool:
    return text.isascii() and text.isprintable()


def emitted_alike(data: Any) -> bool:
    """Whether libyaml writes `data` as PyYAML does: when every string in it is printable ASCII (a line
    break, a tab or a non-ASCII character makes a string double-quoted with escapes, and the two
    emitters fold long double-quoted strings at different places), every mapping key a string of at
    most `_SIMPLE_KEY` characters, and nothing but mappings, lists, strings, numbers, booleans and None."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if not _printable(item):
                return False
        elif isinstance(item, dict):
            if not all(isinstance(k, str) and len(k) <= _SIMPLE_KEY and _printable(k) for k in item):
                return False
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif item is not None and not isinstance(item, int | float):  # bool is an int
            return False
    return True


def dump_yaml(data: Any) -> str:
    """YAML with the top level in the given order and the rest sorted."""
    body = {k: sorted_keys(v) for k, v in data.items()} if isinstance(data, dict) else data
    dumper = _LIBYAML if _LIBYAML is not None and emitted_alike(body) else yaml.SafeDumper
    return yaml.dump(body, Dumper=dumper, sort_keys=False, default_flow_style=False, width=120)
