"""Control characters: refused in every string of the config (config/types.py `Section` applies it).

Every string the program reads ends up somewhere a control character breaks or hides something:
YAML it renders (a line break starts a new key), label and annotation values, URLs, SQL
identifiers, Helm values, log lines. So every string value, list item, mapping key and mapping
value of every section (a new section included) is checked, and each problem is reported under its
own key path. Refused: Unicode's control characters (Cc: C0, DEL, C1), format characters (Cf:
zero-width characters, bidirectional overrides that make text read differently than it is, the
byte order mark) and the line and paragraph separators (Zl, Zp), which YAML also reads as line
breaks. A field whose value is several lines (a PEM certificate) names itself in
`Section.MULTILINE_FIELDS` and may hold line feeds.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Final

REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp"})


def _character(char: str) -> str:
    name = unicodedata.name(char, "") or {"\n": "LINE FEED", "\t": "TAB", "\r": "CARRIAGE RETURN"}.get(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


def control_character(text: str, allowed: str = "") -> str | None:
    """The first refused character of `text` and where it is, or None."""
    for position, char in enumerate(text):
        if char not in allowed and unicodedata.category(char) in REFUSED_CATEGORIES:
            return f"contains the control character {_character(char)} at position {position}"
    return None


def control_character_problems(value: Any, allowed: str = "") -> list[tuple[str, str]]:
    """(relative key path, problem) for each string in `value` (a string, a list, a mapping of them;
    nested section models check themselves), e.g. ("", ...) for the value itself, ("[2]", ...) for a
    list item, (`app`, ...) for a mapping's value and (`"key"`, ...) for a bad mapping key."""
    if isinstance(value, str):
        problem = control_character(value, allowed)
        return [("", f"{problem}; remove it (got {json.dumps(value)})")] if problem else []
    if isinstance(value, list | tuple):
        return [
            (f"[{i}]{_tail(rel)}", message)
            for i, item in enumerate(value)
            for rel, message in control_character_problems(item, allowed)
        ]
    if isinstance(value, dict):
        problems = []
        for key, item in value.items():
            name = str(key)
            if control_character(name):
                problems.append((json.dumps(name), f"the key {control_character(name)}; rename it"))
                continue
            key_path = name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)
            problems += [(key_path + _tail(rel), message) for rel, message in control_character_problems(item, allowed)]
        return problems
    return []  # numbers, booleans, None; a nested section checks its own strings


def _tail(rel: str) -> str:
    return rel if not rel or rel.startswith("[") else f".{rel}"
