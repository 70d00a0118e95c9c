"""No first-party module imports another in a cycle, and no import runs back up the house.

Every module of components/, config/, dashboards/, offline/, verify/, tools/ and __main__.py is parsed
(not imported); its imports, including those inside functions and under
`if TYPE_CHECKING:`, are edges of a graph. A circle through a type-only import never
fails at run time, but it is still a circle in the design (two modules that cannot be
understood, or moved, one without the other).

The floors (`FLOORS`): config, then dashboards, components, offline, verify, tools and __main__. A module
imports from its own package and from lower floors only.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import ROOT

PACKAGES = ("components", "config", "dashboards", "offline", "verify", "tools")


def first_party_modules() -> dict[str, Path]:
    modules = {"__main__": ROOT / "__main__.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def _import_nodes(node: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement below `node`: at module level, in functions, under `if TYPE_CHECKING:`."""
    return [child for child in ast.walk(node) if isinstance(child, ast.Import | ast.ImportFrom)]


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The first-party modules `name` imports (a package's names resolve to the package itself)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            targets.add(submodule if submodule in known else base)
    return {t for t in targets if t in known and t != name}


def import_graph() -> dict[str, set[str]]:
    modules = first_party_modules()
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a closed path) per strongly connected component with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.append(member)
                if member == node:
                    break
            if len(members) > 1:
                components.append(sorted(members))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_closed_path(graph, set(members)) for members in components]


def _closed_path(graph: dict[str, set[str]], members: set[str]) -> list[str]:
    """A cycle through the first member of a strongly connected component (breadth-first, shortest)."""
    start = min(members)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & members):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError(f"no cycle through {start}")


def _module(tmp_path: Path, text: str) -> Path:
    path = tmp_path / f"mod{len(list(tmp_path.iterdir()))}.py"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_graph_sees_function_level_and_type_checking_imports(tmp_path: Path) -> None:
    module = _module(
        tmp_path,
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from config.stack import StackConfig\n"
        "def f():\n    from config import footprint\n    import offline.run\n",
    )
    known = {"config", "config.stack", "config.footprint", "offline.run", "components.mod"}
    assert imports_of("components.mod", module, known) == {"config.stack", "config.footprint", "offline.run"}
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert cycles(graph) == [["a", "b", "c", "a"]]


def test_a_type_only_import_closes_a_circle(tmp_path: Path) -> None:
    """The circle config/ had: stack.py imported budget.py, which imported StackConfig back for typing."""
    known = {"config", "config.stack", "config.budget"}
    stack = _module(tmp_path, "from config.budget import budget_problems\n")
    budget = _module(tmp_path, "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from config.stack import X\n")
    graph = {
        "config": set(),
        "config.stack": imports_of("config.stack", stack, known),
        "config.budget": imports_of("config.budget", budget, known),
    }
    assert cycles(graph) == [["config.budget", "config.stack", "config.budget"]]


@pytest.mark.parametrize("package", [*PACKAGES, "__main__"])
def test_no_import_cycle(package: str) -> None:
    found = [
        cycle
        for cycle in cycles(import_graph())
        if any(module == package or module.startswith(f"{package}.") for module in cycle)
    ]
    assert found == [], "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in found)


FLOORS = ("config", "dashboards", "components", "offline", "verify", "tools", "__main__")
"""The house's floors, ground first. A module imports from its own package and from lower
floors only: config imports none of the others, the dashboards never reach into the
components (what both need, such as the reporting schema's names, lives on the dashboards'
floor), the engine behind the commands (offline: the program under Pulumi's mock engine, stack
files, chart rendering, the diff) and the checks of a deployed stack (verify) read the components'
names but no command,
nothing below tools imports tools, and nothing imports __main__."""


def _floor(module: str) -> int:
    return FLOORS.index(module.partition(".")[0])


def arrows_up(graph: dict[str, set[str]]) -> list[str]:
    """Every import from a module to a module on a higher floor."""
    return sorted(
        f"{module} -> {target} ({FLOORS[_floor(module)]} may not import {FLOORS[_floor(target)]})"
        for module, targets in graph.items()
        for target in targets
        if _floor(target) > _floor(module)
    )


def test_every_package_is_on_a_floor() -> None:
    assert sorted(FLOORS) == sorted([*PACKAGES, "__main__"])


def test_no_import_runs_back_up() -> None:
    assert arrows_up(import_graph()) == []


@pytest.mark.parametrize(
    ("module", "text", "target"),
    [
        ("dashboards.bad", "from components.reporting import sql as rs\n", "components.reporting.sql"),
        (
            "dashboards.bad",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from components.gateway import LlmGateway\n",
            "components.gateway",
        ),
        ("config.bad", "from dashboards.reporting_schema import SCHEMA\n", "dashboards.reporting_schema"),
        ("config.bad", "def f():\n    from tools import preview\n", "tools.preview"),
        ("components.bad", "import tools.preview\n", "tools.preview"),
        ("components.bad", "from verify.sources import CheckError\n", "verify.sources"),
        ("verify.bad", "from tools.preview import main\n", "tools.preview"),
        ("offline.bad", "from verify.sources import CheckError\n", "verify.sources"),
        ("tools.bad", "import __main__\n", "__main__"),
    ],
)
def test_the_floors_catch_an_arrow_up(tmp_path: Path, module: str, text: str, target: str) -> None:
    """Negative control: one bad import added to the real graph is reported, and only it."""
    graph = import_graph()
    graph[module] = imports_of(module, _module(tmp_path, text), {*graph, module})
    found = arrows_up(graph)
    assert len(found) == 1 and found[0].startswith(f"{module} -> {target} "), found
