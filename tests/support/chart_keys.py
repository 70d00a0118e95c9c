"""Check Helm values against a chart's documented keys (tests/data/*_values_keys.txt).

Each data file lists dotted key paths, one per line; a path ending in `.*` is
free-form below it (rendered with toYaml). A values key that is not listed is
a typo or a key the chart does not read: Helm would silently ignore it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from tools.offline import ROOT

DATA = ROOT / "tests" / "data"


@cache
def documented_paths(keys_file: Path) -> tuple[frozenset[str], frozenset[str]]:
    """(exact paths, free-form prefixes) of one chart's documented values keys."""
    exact: set[str] = set()
    free: set[str] = set()
    for line in keys_file.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        (free if line.endswith(".*") else exact).add(line.removesuffix(".*"))
    return frozenset(exact), frozenset(free)


def undocumented(keys_file: Path, tree: dict[str, Any], prefix: str = "") -> list[str]:
    """Every key path of `tree` the chart does not document."""
    exact, free = documented_paths(keys_file)
    out = []
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if path in free:
            continue
        if isinstance(value, dict) and value and any(p.startswith(path + ".") for p in exact | free):
            out += undocumented(keys_file, value, path + ".")
        elif path not in exact:
            out.append(path)
    return out
