"""Deterministic YAML for the preview's files (manifests, Helm values, rendered chart objects).

The top level keeps the caller's order (`apiVersion`, `kind`, `metadata` first);
every mapping below it is sorted, as the mock engine does not keep insertion
order. PyYAML's own emitter on purpose: libyaml's folds long double-quoted
strings at other places, so switching would change the files' bytes.
"""

from __future__ import annotations

from typing import Any

import yaml


def sorted_keys(data: Any) -> Any:
    """Nested mappings in key order: the mock engine does not keep insertion order."""
    if isinstance(data, dict):
        return {k: sorted_keys(data[k]) for k in sorted(data)}
    if isinstance(data, list):
        return [sorted_keys(v) for v in data]
    return data


def dump_yaml(data: Any) -> str:
    """YAML with the top level in the given order and the rest sorted."""
    body = {k: sorted_keys(v) for k, v in data.items()} if isinstance(data, dict) else data
    return yaml.safe_dump(body, sort_keys=False, default_flow_style=False, width=120)
