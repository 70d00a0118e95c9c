"""Check Helm values against the keys the pinned chart itself accepts.

Helm ignores a values key no template reads, silently: a typo deploys the chart's default. The
keys a chart accepts are read from the chart the program installs (the verified tree in the
asset cache, config/assets.py):

- every key path of its `values.yaml`, and of `values.schema.json` where it has one;
- below a key whose default is empty (`{}`, `[]`, null), anything: the templates render such a
  value whole (`toYaml`), so its inner keys are the Kubernetes API's, not the chart's;
- each subchart's keys under its alias (`redis.*` for langfuse's valkey), and its `global.*`.

A chart also reads some keys its values.yaml does not declare (in a comment at most). Those, and
only those, are listed by hand in tests/data/<chart>_values_keys.txt, one per line, each with a
comment naming the template file and line that reads it (`numWorkers  # templates/deployment.yaml:176`);
a key ending in `.*` is rendered whole below that point. The file's `# chart: <asset>` line names
the chart. `citation_problems` proves every hand entry: its line reads `.Values.<key>`, and the
chart does not already declare it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.support import ROOT
from tests.support.assets import require

DATA = ROOT / "tests" / "data"
CHART_LINE = re.compile(r"^#\s*chart:\s*(\S+)\s*$")
CITATION = re.compile(r"#\s*(\S+):(\d+)\b")

Key = tuple[str, ...]


@dataclass(frozen=True)
class Accepted:
    """The key paths a chart accepts."""

    declared: frozenset[Key]
    """Every key path declared, intermediate maps included."""
    free: frozenset[Key]
    """Paths below which any key is accepted (rendered whole)."""

    def __or__(self, other: Accepted) -> Accepted:
        return Accepted(self.declared | other.declared, self.free | other.free)


@dataclass(frozen=True)
class HandEntry:
    key: Key
    free: bool
    """The line ends in `.*`: the subtree is rendered whole."""
    template: str
    """The cited template, relative to the chart's root ('' when the line cites none)."""
    line: int
    text: str
    """The data file's line, for messages."""


def _walk(tree: Any, prefix: Key) -> Accepted:
    declared: set[Key] = set()
    free: set[Key] = set()
    for key, value in tree.items():
        path = (*prefix, str(key))
        declared.add(path)
        if isinstance(value, dict) and value:
            sub = _walk(value, path)
            declared |= sub.declared
            free |= sub.free
        elif value is None or isinstance(value, (dict, list)):
            free.add(path)
    return Accepted(frozenset(declared), frozenset(free))


def _schema_walk(schema: dict[str, Any], prefix: Key) -> Accepted:
    declared: set[Key] = set()
    free: set[Key] = set()
    for key, sub in (schema.get("properties") or {}).items():
        path = (*prefix, key)
        declared.add(path)
        if sub.get("properties"):
            inner = _schema_walk(sub, path)
            declared |= inner.declared
            free |= inner.free
        elif sub.get("type") in ("object", "array"):
            free.add(path)
    return Accepted(frozenset(declared), frozenset(free))


def _yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    return data if isinstance(data, dict) else {}


def dependencies(tree: Path) -> dict[str, str]:
    """Subchart folder name -> the key its values live under (its alias, else its name)."""
    deps = _yaml(tree / "Chart.yaml").get("dependencies") or []
    return {str(d["name"]): str(d.get("alias") or d["name"]) for d in deps if isinstance(d, dict)}


def _chart_keys(tree: Path, prefix: Key = ()) -> Accepted:
    """The keys of one chart tree and its subcharts, before empty defaults meet declared structure."""
    accepted = _walk(_yaml(tree / "values.yaml"), prefix)
    schema = tree / "values.schema.json"
    if schema.is_file():
        accepted |= _schema_walk(json.loads(schema.read_text(encoding="utf-8")), prefix)
    for name, alias in dependencies(tree).items():
        sub = tree / "charts" / name
        if not (sub / "Chart.yaml").is_file():
            continue
        accepted |= Accepted(frozenset({(*prefix, alias)}), frozenset())
        accepted |= _chart_keys(sub, (*prefix, alias))
        own = _chart_keys(sub)  # a subchart's globals are the parent's
        accepted |= Accepted(
            frozenset(k for k in own.declared if k[0] == "global"), frozenset(k for k in own.free if k[0] == "global")
        )
    return accepted


@cache
def chart_keys(tree: Path) -> Accepted:
    """What the chart at `tree` accepts from its own files. A path is free-form only where no
    file declares structure below it (a parent's `{}` over a subchart's declared keys is not)."""
    raw = _chart_keys(tree)
    below = {k[:i] for k in raw.declared for i in range(1, len(k))}
    return Accepted(raw.declared, frozenset(k for k in raw.free if k not in below))


@cache
def hand_list(keys_file: Path) -> tuple[str, tuple[HandEntry, ...]]:
    """(the chart's asset name, the hand entries) of a tests/data/*_values_keys.txt file."""
    chart = ""
    entries = []
    for raw in keys_file.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if (match := CHART_LINE.match(line)) is not None:
            chart = match.group(1)
        if not line or line.startswith("#"):
            continue
        key, _, comment = line.partition("#")
        key = key.strip()
        cited = CITATION.search("#" + comment) if comment else None
        entries.append(
            HandEntry(
                key=tuple(key.removesuffix(".*").split(".")),
                free=key.endswith(".*"),
                template=cited.group(1) if cited else "",
                line=int(cited.group(2)) if cited else 0,
                text=line,
            )
        )
    if not chart:
        raise ValueError(f"{keys_file}: no '# chart: <asset name>' line")
    return chart, tuple(entries)


def chart_tree(keys_file: Path) -> Path:
    """The verified tree of the chart a keys file supplements (fails the test if it is not cached)."""
    return require(hand_list(keys_file)[0])


def accepted(keys_file: Path) -> Accepted:
    """The chart's own keys plus the hand entries of `keys_file`."""
    _, entries = hand_list(keys_file)
    hand = Accepted(
        frozenset(e.key[:i] for e in entries for i in range(1, len(e.key) + 1)),
        frozenset(e.key for e in entries if e.free),
    )
    return chart_keys(chart_tree(keys_file)) | hand


def unaccepted(keys: Accepted, tree: dict[str, Any], prefix: Key = ()) -> list[str]:
    """Every key path of the values `tree` that `keys` does not accept."""
    out = []
    for key, value in tree.items():
        path = (*prefix, str(key))
        if any(path[:i] in keys.free for i in range(1, len(path) + 1)):
            continue
        if path not in keys.declared:
            out.append(".".join(path))
        elif (
            isinstance(value, dict)
            and value
            and any(k[: len(path)] == path and len(k) > len(path) for k in keys.declared)
        ):
            out += unaccepted(keys, value, path)
    return out


def undocumented(keys_file: Path, tree: dict[str, Any]) -> list[str]:
    """Every key path of the values `tree` that the chart of `keys_file` does not accept."""
    return unaccepted(accepted(keys_file), tree)


def citation_problems(keys_file: Path) -> list[str]:
    """Why a hand entry of `keys_file` should not be there: no citation, a cited line that does not
    read `.Values.<key>`, or a key the chart's own files already accept."""
    tree = chart_tree(keys_file)
    own = chart_keys(tree)
    aliases = {alias: name for name, alias in dependencies(tree).items()}
    problems = []
    for entry in hand_list(keys_file)[1]:
        if not entry.template:
            problems.append(f"{entry.text}: cites no template line")
            continue
        source = tree / entry.template
        lines = source.read_text(encoding="utf-8").splitlines() if source.is_file() else []
        if not 0 < entry.line <= len(lines):
            problems.append(f"{entry.text}: {entry.template} has no line {entry.line}")
            continue
        key = entry.key
        parts = Path(entry.template).parts
        if parts[0] == "charts" and len(parts) > 2:  # a subchart's template reads its keys without the alias
            alias = next((a for a, name in aliases.items() if name == parts[1]), parts[1])
            key = key[1:] if key[:1] == (alias,) else key
        reference = re.compile(re.escape(".Values." + ".".join(key)) + r"(?![A-Za-z0-9_])")
        if not reference.search(lines[entry.line - 1]):
            problems.append(
                f"{entry.text}: line {entry.line} of {entry.template} does not read .Values.{'.'.join(key)}"
            )
        if any(entry.key[:i] in own.free for i in range(1, len(entry.key) + 1)) or (
            not entry.free and entry.key in own.declared
        ):
            problems.append(f"{entry.text}: the chart's own values already accept it")
    return problems
