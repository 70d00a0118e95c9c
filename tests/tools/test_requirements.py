"""The user's commands (tools/) and the program need only requirements.txt: every package they import
is pinned there (or comes with a package pinned there); requirements-dev.txt is for tests and linters."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

from tests.support import FIRST_PARTY, ROOT

USER_CODE = FIRST_PARTY


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pinned(path: Path) -> set[str]:
    lines = [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return {_normalized(re.split(r"[=<>!~\[; ]", line, maxsplit=1)[0]) for line in lines if line}


def _with_dependencies(names: set[str]) -> set[str]:
    """The distributions and everything they require (as installed), transitively."""
    found: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        for requirement in importlib.metadata.requires(name) or []:
            if "extra ==" not in requirement:
                todo.append(_normalized(re.split(r"[=<>!~\[; (]", requirement, maxsplit=1)[0]))
    return found


def _imported_top_level_modules() -> dict[str, str]:
    """Top-level module -> a file importing it, over every import at any depth (lazy ones included)."""
    found: dict[str, str] = {}
    files = [ROOT / "__main__.py", *(p for folder in USER_CODE for p in sorted((ROOT / folder).rglob("*.py")))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_every_package_the_commands_and_the_program_import_is_in_requirements_txt() -> None:
    runtime = _with_dependencies(_pinned(ROOT / "requirements.txt"))
    distributions = importlib.metadata.packages_distributions()
    local = {*USER_CODE, "__main__"}
    missing = {}
    for module, where in sorted(_imported_top_level_modules().items()):
        if module in sys.stdlib_module_names or module in local:
            continue
        owners = {_normalized(d) for d in distributions.get(module, [module])}
        if not owners & runtime:
            missing[module] = f"{where} imports it; distribution {', '.join(sorted(owners))}"
    assert missing == {}, "pin these in requirements.txt (the user's commands install only that file)"


def test_no_package_is_pinned_in_both_requirement_files() -> None:
    """One source for every version: the dev file adds test tools, it does not repeat the runtime pins."""
    assert _pinned(ROOT / "requirements.txt") & _pinned(ROOT / "requirements-dev.txt") == set()
