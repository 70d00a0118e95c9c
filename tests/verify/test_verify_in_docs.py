"""Every `tools.verify` command the README and docs/ quote parses as written: the check names
after `--only` exist, and no option is misspelled (a runbook's last step is one of these)."""

from __future__ import annotations

import re
import shlex

import pytest

from tests.support import ROOT
from verify.cli import parse

COMMAND = re.compile(r"python -m tools\.verify[^\n`|]*")
PLACEHOLDERS = {"STACK": "lab", "MODEL": "gpt-4o-mini", "NEW_MODEL": "gpt-4o-mini"}


def quoted() -> list[tuple[str, str]]:
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for match in COMMAND.finditer(path.read_text(encoding="utf-8")):
            text = match.group(0).split("#", 1)[0].strip()
            found.append((str(path.relative_to(ROOT)), text))
    return found


def test_the_docs_quote_verify() -> None:
    places = {where for where, _ in quoted()}
    assert "README.md" in places
    assert len([w for w in places if w.startswith("docs/runbooks/")]) >= 10


@pytest.mark.parametrize(("where", "text"), quoted())
def test_each_quoted_command_parses(
    where: str, text: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    words = [PLACEHOLDERS.get(w, w) for w in shlex.split(text)[3:]]
    monkeypatch.setenv("GRAFANA_TOKEN", "a token the reader has")
    try:
        parse(words)
    except SystemExit as exited:
        pytest.fail(f"{where}: `{text}` does not parse: {capsys.readouterr().err.strip()} (exit {exited.code})")


def test_a_misspelled_check_is_caught(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse(["lab", "--only", "secret"])
    assert "unknown check secret" in capsys.readouterr().err
