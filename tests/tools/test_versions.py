"""docs/versions.md lists every pinned version exactly as the files that set them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

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


def test_schema_package_is_the_one_the_pinned_litellm_requires() -> None:
    """The PostgreSQL schema the tests load (litellm-proxy-extras) is the pinned proxy's own."""
    litellm = Path(os.environ.get("LITELLM_BIN") or ROOT / ".venv-litellm" / "bin" / "litellm")
    python = litellm.parent / "python"
    if not python.is_file():
        pytest.skip(f"no LiteLLM venv beside {litellm}: bash tests/harness/litellm/install.sh")
    script = (
        "import importlib.metadata as m; print(m.version('litellm')); "
        "print(*[r for r in m.requires('litellm') or [] if r.startswith('litellm-proxy-extras')], sep='\\n')"
    )
    found = subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=True, timeout=60)
    installed, *extras = found.stdout.splitlines()
    pinned = _pin("tests/harness/litellm/requirements.txt", "litellm")
    if installed != pinned:
        pytest.skip(f"the LiteLLM venv has {installed}, the pin is {pinned}: bash tests/harness/litellm/install.sh")
    wanted = {e.split(";")[0].split("==")[1].strip() for e in extras if "==" in e}
    assert wanted == {_pin("requirements-dev.txt", "litellm-proxy-extras")}, (
        f"litellm {pinned} requires litellm-proxy-extras {wanted}: pin that in requirements-dev.txt"
    )
