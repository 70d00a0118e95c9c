"""Every relative link in README.md, CONTRIBUTING.md and docs/ resolves, #anchors included."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.support import ROOT
from tests.support.markdown import anchors, documents, links, slug

EXTERNAL = ("http://", "https://", "mailto:")


def broken_links(document: Path, root: Path = ROOT) -> list[str]:
    text = document.read_text(encoding="utf-8")
    broken = []
    for number, target in links(text):
        if target.startswith(EXTERNAL):
            continue
        where = f"{document.relative_to(root)}:{number}: {target}"
        path_part, _, fragment = target.partition("#")
        resolved = (document.parent / unquote(path_part)).resolve() if path_part else document
        if not resolved.is_relative_to(root.resolve()) or not resolved.exists():
            broken.append(f"{where} (no such file)")
            continue
        if fragment and resolved.suffix == ".md" and fragment not in anchors(resolved.read_text(encoding="utf-8")):
            broken.append(f"{where} (no heading or anchor #{fragment})")
    return broken


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(document: Path) -> None:
    assert broken_links(document) == []


def test_the_documents_are_found() -> None:
    names = {str(p.relative_to(ROOT)) for p in documents()}
    assert {"README.md", "CONTRIBUTING.md", "docs/configuration.md", "docs/runbooks/README.md"} <= names


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Rotate a password (e.g. grafana_ro)", "rotate-a-password-eg-grafana_ro"),
        ("`python -m tools.diff BASE HEAD`", "python--m-toolsdiff-base-head"),
        ("Why `grafana_ro` reads only the reporting schema (and cannot write)", None),
        ("Shared state (Redis)", "shared-state-redis"),
        (
            "Checks on everything rendered (tests/program/test_rendered.py)",
            "checks-on-everything-rendered-testsprogramtest_renderedpy",
        ),
        ("[Bumping](x.md) LiteLLM", "bumping-litellm"),
    ],
)
def test_anchors_are_githubs(heading: str, anchor: str | None) -> None:
    expected = anchor or "why-grafana_ro-reads-only-the-reporting-schema-and-cannot-write"
    assert slug(heading) == expected


def test_duplicate_headings_get_numbered_anchors_and_code_is_no_heading() -> None:
    text = '# A\n## Step\n## Step\n```\n## Not a heading\n```\n<a id="alert-x"></a>\n'
    assert anchors(text) == {"a", "step", "step-1", "alert-x"}


def test_a_broken_link_is_reported(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# Read me\n\n## Deploy a stack\n", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    document = tmp_path / "docs" / "page.md"
    document.write_text(
        "[ok](../README.md#deploy-a-stack) [gone](nowhere.md) [bad anchor](../README.md#deploy)"
        " [outside](../../x.md) `[code](x.md)` [self](#page) [web](https://example.com/x)\n\n# Page\n",
        encoding="utf-8",
    )
    assert [found.split(": ", 1)[1] for found in broken_links(document, tmp_path)] == [
        "nowhere.md (no such file)",
        "../README.md#deploy (no heading or anchor #deploy)",
        "../../x.md (no such file)",
    ]
