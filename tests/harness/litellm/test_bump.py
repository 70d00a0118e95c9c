"""The LiteLLM bump (tests/harness/litellm/bump.py): its pure rewrites on copies of the pin files, and that
it covers every statement of the version (tests/harness/litellm/pins.py) and is the one CONTRIBUTING.md
documents. Nothing here installs or starts anything."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from tests.harness.litellm import bump, pins
from tests.support import ROOT


def _copy(tmp_path: Path, *rels: str) -> Path:
    for rel in rels:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, tmp_path / rel)
    return tmp_path


PIN_FILES = ("Pulumi.lab.yaml", "Pulumi.enterprise.yaml", pins.PROBE_REQUIREMENTS)


def test_every_statement_of_the_version_is_rewritten_by_a_step() -> None:
    steps = {s.step for s in pins.statements()}
    assert steps <= set(bump.STEPS), steps - set(bump.STEPS)
    assert {"pins", "chart", "routes", "openapi", "metrics", "cleanup"} <= steps


def test_the_pins_step_moves_every_pin_and_nothing_else(tmp_path: Path) -> None:
    root = _copy(tmp_path, *PIN_FILES)
    before = {rel: (root / rel).read_text() for rel in PIN_FILES}
    bump.rewrite_pins(root, "1.190.0")
    moved = [s for s in pins.statements(root) if s.step == "pins"]
    assert len(moved) == 3 and {s.version for s in moved} == {"1.190.0"}, moved
    for rel, text in before.items():
        changed = [
            (a, b) for a, b in zip(text.splitlines(), (root / rel).read_text().splitlines(), strict=True) if a != b
        ]
        assert len(changed) == 1 and "1.108.7" in changed[0][0] and "1.190.0" in changed[0][1], (rel, changed)


def test_a_digest_pinned_image_is_not_retagged() -> None:
    text = "image: ghcr.io/berriai/litellm-non_root:v1.108.7@sha256:" + "a" * 64 + "\n"
    with pytest.raises(bump.BumpError, match="pinned by digest"):
        bump.retag_image(text, "1.190.0", "Pulumi.x.yaml")
    with pytest.raises(bump.BumpError, match="no litellm-non_root image"):
        bump.retag_image("image: example/proxy:1\n", "1.190.0", "Pulumi.x.yaml")


def test_set_pin_keeps_extras_and_refuses_an_absent_or_doubled_pin() -> None:
    assert (
        bump.set_pin("a==1\nlitellm[proxy]==1.0  \nb==2\n", "litellm", "2.0", "r")
        == "a==1\nlitellm[proxy]==2.0  \nb==2\n"
    )
    extras = (ROOT / "requirements-dev.txt").read_text()
    assert "litellm-proxy-extras==9.9.9\n" in bump.set_pin(extras, bump.EXTRAS, "9.9.9", "requirements-dev.txt")
    with pytest.raises(bump.BumpError, match="found 0"):
        bump.set_pin("x==1\n", "litellm", "2.0", "r")
    with pytest.raises(bump.BumpError, match="found 2"):
        bump.set_pin("litellm==1\nlitellm==2\n", "litellm", "2.0", "r")


def test_the_committed_metric_lists_were_captured_by_the_bumps_command() -> None:
    command = "python -m tests.harness.litellm.probe --litellm .venv-litellm/bin/litellm " + " ".join(bump.METRICS_ARGS)
    for rel in pins.METRIC_LISTS:
        second = (ROOT / rel).read_text().splitlines()[1]
        assert re.fullmatch(r"# captured \d{4}-\d\d-\d\d by: (.*)", second), second
        assert second.split(" by: ", 1)[1] == command, rel


def test_a_dry_run_lists_every_step_and_changes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    watched = [*PIN_FILES, "requirements-dev.txt", "assets.lock.json", *pins.METRIC_LISTS, pins.OPENAPI_CAPTURE]
    digest = {rel: hashlib.sha256((ROOT / rel).read_bytes()).hexdigest() for rel in watched}
    assert bump.main(["1.190.0", "--keep-chart", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[2] for line in out.splitlines() if line.startswith("== ") and "/" in line] == list(bump.STEPS)
    assert "bash tests/harness/litellm/install.sh" in out and "tools.versions --write" in out
    assert {rel: hashlib.sha256((ROOT / rel).read_bytes()).hexdigest() for rel in watched} == digest


def test_a_bump_needs_a_version_and_a_decision_about_the_chart(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["1.190.0"], ["latest", "--keep-chart"], ["1.190.0", "--chart-archive", "/nonexistent.tgz"]):
        with pytest.raises(SystemExit) as exited:
            bump.main(argv)
        assert exited.value.code == 2, argv
    capsys.readouterr()


def test_contributing_documents_the_one_command_and_its_steps() -> None:
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text.split("\n## Bumping LiteLLM\n", 1)[1].split("\n## ", 1)[0]
    assert "venv/bin/python -m tests.harness.litellm.bump" in section
    for step in bump.STEPS:
        assert f"`{step}`" in section, step
    assert "sed -i" not in section, "the manual steps are the command's now"
