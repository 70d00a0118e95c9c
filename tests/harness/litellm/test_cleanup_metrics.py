"""tests/data/litellm_cleanup_metrics.txt is what the installed LiteLLM's cleanup recorder registers
(tests/harness/litellm/cleanup_metrics.py, under the LiteLLM venv: about 8 s, no proxy start)."""

from __future__ import annotations

import subprocess

import pytest

from tests.support import ROOT
from tests.support.components import require

pytestmark = pytest.mark.real_proxy


def test_the_cleanup_metric_list_is_the_installed_litellms() -> None:
    python = require("litellm").absolute().parent / "python"
    script = ROOT / "tests" / "harness" / "litellm" / "cleanup_metrics.py"
    result = subprocess.run(
        [str(python), str(script)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "litellm_cleanup_metrics.txt is up to date" in result.stdout
