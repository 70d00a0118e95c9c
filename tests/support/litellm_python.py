"""Scripts run in the pinned LiteLLM's own interpreter (the LiteLLM venv, `require("litellm")`)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.support.components import require


def litellm_python() -> Path:
    """The interpreter of the LiteLLM venv (beside its `litellm`)."""
    return require("litellm").parent / "python"


def litellm_python_report(args: Sequence[str], *, stdin: str | None = None, timeout: float) -> Any:
    """What a script run as `python ARGS...` in the LiteLLM venv reports: the JSON of its last line of
    output. LiteLLM reads its bundled model cost map (no download); the script must exit 0."""
    done = subprocess.run(
        [str(litellm_python()), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
