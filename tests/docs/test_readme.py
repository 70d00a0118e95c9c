"""The README stays true: the two commands, and what it points at."""

from __future__ import annotations

from config import StackConfig
from tools.offline import ROOT

README = (ROOT / "README.md").read_text()


def test_quick_start_is_the_two_commands_and_ci_runs_the_second() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    first_block = quick_start.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()]
    assert commands == ["bash tools/setup.sh preview", "bash tools/setup.sh check"]
    assert (ROOT / ".ci" / "run").read_text().rstrip().endswith("exec bash tools/setup.sh check")
    setup = (ROOT / "tools" / "setup.sh").read_text()
    for step in (
        "venv/bin/ruff check .",
        "venv/bin/ruff format --check .",
        "venv/bin/mypy .",
        "venv/bin/python -m pytest -q",
    ):
        assert step in setup


def test_config_reference_names_every_section() -> None:
    table = (ROOT / "docs" / "configuration.md").read_text()
    missing = [name for name in StackConfig.model_fields if f"`{name}." not in table and f"`{name}`" not in table]
    assert missing == []
