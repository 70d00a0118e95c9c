"""The layout rules the code keeps: the program and its tools never import the tests or the benchmarks,
and a test module imports shared helpers from tests/support and the real-component harnesses from
tests/harness only, never from another test module. No module of the program or its tools is over
400 lines (offline/ and verify/, the engines behind the commands, included), and tools/ stays within
its line budget."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import ROOT

PROGRAM_AND_TOOLS = ("components", "config", "dashboards", "offline", "verify", "tools")


def _dynamic_import(node: ast.Call) -> str | None:
    """The module of `importlib.import_module("...")` or `__import__("...")` with a literal name."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name in {"import_module", "__import__"} and node.args:
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


def imported_modules(source: str) -> list[str]:
    """Every module `source` imports, at any depth (functions, `if TYPE_CHECKING:` blocks included)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Call) and (module := _dynamic_import(node)):
            found.append(module)
    return found


def _is_tests(module: str) -> bool:
    return module == "tests" or module.startswith("tests.")


def _is_tests_or_bench(module: str) -> bool:
    return _is_tests(module) or module == "bench" or module.startswith("bench.")


def _is_shared(module: str) -> bool:
    """tests/support (helpers) and tests/harness (real components on loopback)."""
    return module in {"tests", "tests.support", "tests.harness"} or module.startswith(
        ("tests.support.", "tests.harness.")
    )


def _sources(*folders: str) -> list[Path]:
    paths = [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]
    return [p for p in paths if "__pycache__" not in p.parts]


def test_the_program_and_its_tools_never_import_the_tests_or_the_benchmarks() -> None:
    sources = [*_sources(*PROGRAM_AND_TOOLS), ROOT / "__main__.py"]
    assert len(sources) > 20
    offenders = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in sources
        for module in imported_modules(path.read_text(encoding="utf-8"))
        if _is_tests_or_bench(module)
    }
    assert sorted(offenders) == []


def test_tests_and_benchmarks_share_code_through_tests_support_and_harness_only() -> None:
    sources = _sources("tests", "bench")
    assert len(sources) > 20
    offenders = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in sources
        for module in imported_modules(path.read_text(encoding="utf-8"))
        if _is_tests(module) and not _is_shared(module)
    }
    assert sorted(offenders) == []


def test_the_checks_above_see_every_kind_of_import() -> None:
    source = """
import tests.support.program
from tests.config import test_config
from tests.components.litellm.test_litellm import values as v

def later() -> None:
    from tests.conftest import run_cached
    importlib.import_module("tests.program.test_preview")

if TYPE_CHECKING:
    from tests.support.program import SCENARIOS
"""
    modules = [m for m in imported_modules(source) if _is_tests(m)]
    assert set(modules) >= {
        "tests.support.program",
        "tests.config.test_config",
        "tests.components.litellm.test_litellm",
        "tests.conftest",
        "tests.program.test_preview",
        "tests.support.program.SCENARIOS",
    }


# --- sizes -----------------------------------------------------------------------------

MAX_MODULE_LINES = 400
"""No module of the program or its tools is longer: a longer one holds more than one concern."""
TOOLS_MAX_LINES = 1800
"""tools/*.py and tools/*.sh together (`wc -l`): the user's commands only (1,551 lines now); what
they share and run (the offline program run, stack files, chart rendering, the diff) is offline/,
the checks of a deployed stack verify/, and nothing the tests alone use is in either."""


def line_count(path: Path) -> int:
    """Lines as `wc -l` counts them."""
    return path.read_bytes().count(b"\n")


def oversized(paths: list[Path], limit: int) -> list[str]:
    """`path: N lines` for each file longer than `limit` lines."""
    return [f"{p}: {n} lines" for p in paths if (n := line_count(p)) > limit]


def tools_files(root: Path) -> list[Path]:
    return sorted([*(root / "tools").glob("*.py"), *(root / "tools").glob("*.sh")])


def test_no_module_of_the_program_or_its_tools_is_over_400_lines() -> None:
    sources = _sources(*PROGRAM_AND_TOOLS)
    assert len(sources) > 50
    assert oversized([p.relative_to(ROOT) for p in sources], MAX_MODULE_LINES) == []


def test_tools_stay_within_their_line_budget() -> None:
    files = tools_files(ROOT)
    assert len(files) > 5
    total = sum(line_count(p) for p in files)
    assert total <= TOOLS_MAX_LINES, f"tools/ holds {total} lines (budget {TOOLS_MAX_LINES}): move what only tests use"


def test_the_size_checks_count_as_wc_does_and_catch_a_long_file(tmp_path: Path) -> None:
    at_limit, over = tmp_path / "at_limit.py", tmp_path / "over.py"
    at_limit.write_text("x = 1\n" * MAX_MODULE_LINES)
    over.write_text("x = 1\n" * MAX_MODULE_LINES + "y = 2")  # a last line without a newline: wc -l does not count it
    assert oversized([at_limit, over], MAX_MODULE_LINES) == []
    over.write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    assert oversized([at_limit, over], MAX_MODULE_LINES) == [f"{over}: {MAX_MODULE_LINES + 1} lines"]
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "setup.sh").write_text("echo\n" * 3)
    (tmp_path / "tools" / "a.py").write_text("\n" * 2)
    (tmp_path / "tools" / "notes.md").write_text("\n" * 100)
    assert sum(line_count(p) for p in tools_files(tmp_path)) == 5
