"""Config key paths as `pulumi config set --path` reads them: `litellm.models[0].rpm`,
`postgres.cnpg.parameters["work.mem"]`.

A path is a key, then any number of `.key`, `[N]` (a list index) and `["key"]` (a key holding
dots or brackets). Setting a value walks the path, creating the mappings and lists it names;
an index may address an existing item or the next one (`[len]` appends), as Pulumi does;
anything further is refused with the index, the list's length and the path so far.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

Segment = str | int
"""A mapping key or a list index."""

_KEY: Final = re.compile(r'[^.\[\]"]+')
_BRACKET: Final = re.compile(r'\[(?:(-?[0-9]+)|("(?:[^"\\]|\\.)*"))\]')


class KeyPathError(ValueError):
    """A path that does not parse, or does not fit the value it is set in."""


def parse_key_path(path: str) -> list[Segment]:
    """The segments of `path`: `a.b[0]["c.d"]` -> ["a", "b", 0, "c.d"]; KeyPathError if it is malformed."""
    segments: list[Segment] = []
    position = 0
    while position < len(path):
        if path[position] == "[":
            match = _BRACKET.match(path, position)
        elif not segments:
            match = _KEY.match(path, position)
        elif path[position] == ".":
            position += 1
            if path[position : position + 1] in ("", "."):
                raise KeyPathError("empty key in the path (two dots, or a dot at an end)")
            match = _KEY.match(path, position)
        else:
            match = None
        if match is None:
            raise KeyPathError(
                f"cannot read the key path at position {position} ({path[position:]!r}): expected .key, [index] or "
                '["key"], as pulumi config set --path reads it'
            )
        if match.re is _KEY:
            segments.append(match.group(0))
        elif match.group(1) is not None:
            if int(match.group(1)) < 0:
                raise KeyPathError(f"the list index [{match.group(1)}] is negative")
            segments.append(int(match.group(1)))
        else:
            segments.append(json.loads(match.group(2)))
        position = match.end()
    if not segments:
        raise KeyPathError("the key path is empty")
    return segments


def format_key_path(segments: list[Segment]) -> str:
    """The path of `segments` as written: ["a", 0, "b.c"] -> `a[0]["b.c"]`."""
    out = ""
    for segment in segments:
        if isinstance(segment, int):
            out += f"[{segment}]"
        elif re.fullmatch(r"[^.\[\]\"]+", segment):
            out += f".{segment}" if out else segment
        else:
            out += f"[{json.dumps(segment)}]"
    return out


def set_path(root: dict[str, Any], segments: list[Segment], value: Any) -> None:
    """Set `value` at `segments` below `root`, creating missing mappings and lists (as Pulumi does)."""
    node: Any = root
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        child: Any = value if last else ([] if isinstance(segments[i + 1], int) else {})
        where = format_key_path(segments[:i]) or "the config"
        if isinstance(segment, int):
            if not isinstance(node, list):
                raise KeyPathError(f"{where} is not a list, so it has no index [{segment}]")
            if segment > len(node):
                raise KeyPathError(
                    f"index [{segment}] is out of range: {where} has {len(node)} item(s), so the index must be "
                    f"0-{len(node)} ([{len(node)}] appends)"
                )
            if segment == len(node):
                node.append(child)
            elif last:
                node[segment] = value
            node = node[segment]
        else:
            if not isinstance(node, dict):
                raise KeyPathError(f"{where} is not a mapping, so it has no key {segment!r}")
            if last:
                node[segment] = value
            node = node.setdefault(segment, child)
