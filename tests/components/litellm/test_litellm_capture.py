"""The route lists the gateway is built from are the installed LiteLLM's, and the provider-key names
are names it never reads.

- `tests/harness/litellm/routes.py` (under the LiteLLM venv, about 30 s: it imports the proxy and
  registers every lazy feature) finds components/litellm/routes.json and passthrough.json up to date;
- no Python file of the LiteLLM venv has a string starting with `LLMGW_`, the prefix of the provider
  keys' variables (config/litellm_models.py): no code there can read them by name, only the model list's
  `os.environ/` references do. (A constant may be called so: DataRobot's `LLMGW_PATH` is a name.)
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from config.litellm_models import KEY_ENV_PREFIX
from tests.harness.litellm import unprivileged
from tests.support import ROOT
from tests.support.components import require

pytestmark = pytest.mark.real_proxy

CAPTURE_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def litellm_bin() -> Path:
    return require("litellm")


def test_the_committed_route_lists_are_the_installed_litellms(litellm_bin: Path) -> None:
    python = litellm_bin.absolute().parent / "python"
    script = ROOT / "tests" / "harness" / "litellm" / "routes.py"
    result = subprocess.run(
        [str(python), str(script)], cwd=ROOT, capture_output=True, text=True, timeout=CAPTURE_TIMEOUT_S, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "passthrough.json is up to date" in result.stdout


def test_no_code_of_the_installation_names_the_provider_key_prefix(litellm_bin: Path) -> None:
    site = unprivileged.venv_site_packages(litellm_bin)

    def literal(name: str) -> re.Pattern[bytes]:
        return re.compile(rb"""[fFrRbBuU]?['"]""" + name.encode())

    ours, theirs = literal(KEY_ENV_PREFIX), literal("OPENAI_API_KEY")
    files, naming, control = 0, [], 0
    for path in site.rglob("*.py"):
        text = path.read_bytes()
        files += 1
        control += bool(theirs.search(text))
        if ours.search(text):
            naming.append(str(path.relative_to(site)))
    # The same search finds the name the pass-through router does read: it is not blind.
    assert (files > 1000, control > 0) == (True, True), (site, files, control)
    assert naming == []
