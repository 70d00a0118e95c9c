"""Reading the project's Markdown the way GitHub renders it: code, headings, anchors, links
(used by tests/docs)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.support import ROOT

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
_EXPLICIT_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"", re.IGNORECASE)
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^()\s>]+(?:\([^()\s]*\))?)>?(?:\s+\"[^\"]*\")?\s*\)"
)
_REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$")


def documents() -> list[Path]:
    """The Markdown a newcomer reads: README, CONTRIBUTING and everything under docs/."""
    return [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    fenced: bool
    """Inside a fenced code block (``` or ~~~), where nothing is a heading or a link."""
    fence_info: str = ""
    """The info string of the block the line is in (`mermaid`, `bash`, ...)."""


def lines(text: str) -> list[Line]:
    out: list[Line] = []
    fence: str | None = None
    info = ""
    for number, raw in enumerate(text.splitlines(), 1):
        match = _FENCE.match(raw)
        if fence is None and match:
            fence, info = match.group(1), raw.strip()[len(match.group(1)) :].strip()
            out.append(Line(number, raw, True, info))
            continue
        if fence is not None and match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
            out.append(Line(number, raw, True, info))
            fence, info = None, ""
            continue
        out.append(Line(number, raw, fence is not None, info))
    return out


def code_blocks(text: str, info: str) -> list[str]:
    """The bodies of the fenced blocks whose info string is `info`."""
    blocks: list[list[str]] = []
    inside = False
    for line in lines(text):
        if line.fenced and line.fence_info == info and _FENCE.match(line.text):
            inside = not inside
            if inside:
                blocks.append([])
            continue
        if inside:
            blocks[-1].append(line.text)
    return ["\n".join(b) + "\n" for b in blocks]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text: markup dropped, lower case, punctuation dropped,
    each space a hyphen (github-slugger)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text)
    text = text.replace("`", "").replace("*", "").strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every `#fragment` a link into this document may use."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in lines(text):
        if line.fenced:
            continue
        found.update(_EXPLICIT_ANCHOR.findall(line.text))
        match = _HEADING.match(line.text)
        if match:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of every link and image outside code."""
    out: list[tuple[int, str]] = []
    for line in lines(text):
        if line.fenced:
            continue
        prose = _INLINE_CODE.sub("", line.text)
        out += [(line.number, target) for target in _INLINE_LINK.findall(prose)]
        definition = _REFERENCE_DEFINITION.match(prose)
        if definition:
            out.append((line.number, definition.group(1)))
    return out


def prose_and_code(text: str) -> str:
    """The document with shell line continuations joined, so a command is one line."""
    return re.sub(r"\\\n\s*", " ", text)
