"""docs/versions.md lists every pinned version exactly as the files that set them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.components import require
from tools import versions
from tools.offline import ROOT


def test_versions_table_is_generated_from_the_sources() -> None:
    assert versions.OUT.read_text(encoding="utf-8") == versions.render(), (
        "docs/versions.md is out of date: python -m tools.versions --write"
    )


def test_versions_table_names_litellm_and_its_schema_package() -> None:
    text = versions.render()
    for what in ("LiteLLM Helm chart (lab)", "LiteLLM image (enterprise)", "litellm[proxy]", "litellm-proxy-extras"):
        assert f"| {what} |" in text


def _pin(path: str, package: str) -> str:
    for line in (ROOT / path).read_text().splitlines():
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep and name.split("[")[0].lower() == package:
            return version.strip()
    raise AssertionError(f"{package} is not pinned in {path}")


def venv_litellm() -> tuple[str, set[str]]:
    """The LiteLLM venv's `litellm` version and the litellm-proxy-extras versions it requires."""
    python = require("litellm").absolute().parent / "python"
    script = (
        "import importlib.metadata as m; print(m.version('litellm')); "
        "print(*[r for r in m.requires('litellm') or [] if r.startswith('litellm-proxy-extras')], sep='\\n')"
    )
    found = subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=True, timeout=60)
    installed, *extras = found.stdout.splitlines()
    return installed, {e.split(";")[0].split("==")[1].strip() for e in extras if "==" in e}


def check_the_venv_runs_the_pin() -> None:
    installed, _ = venv_litellm()
    pinned = _pin("tests/harness/litellm/requirements.txt", "litellm")
    assert installed == pinned, (
        f"the LiteLLM venv has {installed}, the pin is {pinned}: every real-proxy test ran another LiteLLM; "
        "bash tests/harness/litellm/install.sh"
    )


def test_the_litellm_venv_runs_the_pinned_version() -> None:
    check_the_venv_runs_the_pin()


def test_a_venv_that_drifted_from_the_pin_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The drift this file exists to catch is a failure, not a skip (main skipped it)."""
    for name, body in (("litellm", "exit 0"), ("python", "echo 1.0.0; echo 'litellm-proxy-extras==0.0.1'")):
        (tmp_path / name).write_text(f"#!/bin/sh\n{body}\n")
        (tmp_path / name).chmod(0o755)
    monkeypatch.setenv("LITELLM_BIN", str(tmp_path / "litellm"))
    with pytest.raises(AssertionError, match=r"the LiteLLM venv has 1\.0\.0, the pin is .*install\.sh"):
        check_the_venv_runs_the_pin()


def test_schema_package_is_the_one_the_pinned_litellm_requires() -> None:
    """The PostgreSQL schema the tests load (litellm-proxy-extras) is the pinned proxy's own."""
    check_the_venv_runs_the_pin()
    _, wanted = venv_litellm()
    pinned = _pin("tests/harness/litellm/requirements.txt", "litellm")
    assert wanted == {_pin("requirements-dev.txt", "litellm-proxy-extras")}, (
        f"litellm {pinned} requires litellm-proxy-extras {wanted}: pin that in requirements-dev.txt"
    )
