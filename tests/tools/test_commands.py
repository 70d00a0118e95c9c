"""tools/ holds the user's commands and their libraries, nothing else.

A command is a module run as `python -m tools.X` (it has a `__main__` block) and answers
`--help`; every other module of tools/ is imported, directly or through another library,
by a command. Test harnesses live in tests/harness, test helpers in tests/support,
benchmarks in bench/.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, captured

TOOLS = ROOT / "tools"
USER_COMMANDS = {"preview", "diff", "assets", "versions", "config_reference", "chargeback", "verify"}
WORKERS = {"offline.render"}  # started by tools.preview --out in a second process, not by hand


def _modules() -> dict[str, ast.Module]:
    return {
        p.stem: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(TOOLS.glob("*.py")) if p.name != "__init__.py"
    }


def _is_command(tree: ast.Module) -> bool:
    return any(isinstance(node, ast.If) and "__main__" in ast.unparse(node.test) for node in tree.body)


def _imports(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tools."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "tools":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("tools.")}
    return found


def test_the_commands_are_the_users_commands() -> None:
    commands = {name for name, tree in _modules().items() if _is_command(tree)}
    assert commands == USER_COMMANDS


def test_every_other_module_is_a_library_of_a_command() -> None:
    modules = _modules()
    reached: set[str] = set()
    todo = [name for name, tree in modules.items() if _is_command(tree)]
    while todo:
        name = todo.pop()
        if name not in reached and name in modules:
            reached.add(name)
            todo += _imports(modules[name])
    assert set(modules) - reached == set(), "not used by any command: move it next to what uses it"


@pytest.mark.parametrize("module", sorted({f"tools.{c}" for c in USER_COMMANDS} | WORKERS))
def test_every_command_answers_help(module: str) -> None:
    result = captured([sys.executable, "-m", module, "--help"], timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m {module}")


def test_setup_sh_answers_help() -> None:
    result = captured(["bash", str(Path("tools") / "setup.sh"), "--help"])
    assert result.returncode == 0 and "bash tools/setup.sh preview" in result.stdout
