"""The repository explains itself: every document a comment cites is in the repository."""

from __future__ import annotations

import re

from tests.support import ROOT

_GLOBS = (
    "*.py",
    "components/**/*.py",
    "config/*.py",
    "dashboards/*.py",
    "tools/*",
    "tests/harness/pglab/*.py",
    "tests/**/*.py",
)
SOURCES = [
    *sorted(p for g in _GLOBS for p in ROOT.glob(g) if p.is_file() and p.suffix in {".py", ".sh", ".cjs"}),
    ROOT / ".ci" / "run",
]
DESIGN = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
HEADINGS = {line.lstrip("#").strip() for line in DESIGN.splitlines() if line.startswith("#")}


def test_cited_documents_exist() -> None:
    missing = [
        f"{path.relative_to(ROOT)}: {doc}"
        for path in SOURCES
        for doc in re.findall(r"\bdocs/[\w.-]+\.md\b", path.read_text(encoding="utf-8"))
        if not (ROOT / doc).is_file()
    ]
    assert missing == []


def test_cited_design_sections_exist() -> None:
    cited = {
        name
        for path in SOURCES
        for name in re.findall(r'docs/design\.md[,\s]+"([^"]+)"', path.read_text(encoding="utf-8"))
    }
    assert cited and sorted(cited - HEADINGS) == []


def test_no_comment_cites_a_document_outside_the_repository() -> None:
    outside = re.compile(r"\b(principle \d+|issue \d+|DESIGN:|design card|ADR[- ]?\d+)", re.IGNORECASE)
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in SOURCES
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if outside.search(line) and path.name != "test_docs.py"
    ]
    assert found == []
