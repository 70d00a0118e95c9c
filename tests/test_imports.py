"""No first-party module imports another in a cycle.

Every module of components/, config/, dashboards/, tools/ and __main__.py is parsed
(not imported); its imports, including those inside functions, are edges of a graph
whose cycles are printed. Imports under `if TYPE_CHECKING:` are not edges: they
never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import ROOT

PACKAGES = ("components", "config", "dashboards", "tools")


def first_party_modules() -> dict[str, Path]:
    modules = {"__main__": ROOT / "__main__.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def _type_checking_only(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(node: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement below `node`, skipping `if TYPE_CHECKING:` bodies (not their else)."""
    found: list[ast.Import | ast.ImportFrom] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            found.append(child)
        elif _type_checking_only(child):
            assert isinstance(child, ast.If)
            for other in child.orelse:
                found += _import_nodes(other) if not isinstance(other, ast.Import | ast.ImportFrom) else [other]
        else:
            found += _import_nodes(child)
    return found


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


def test_the_graph_sees_function_level_imports_and_skips_type_checking_ones(tmp_path: Path) -> None:
    module = tmp_path / "mod.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from config.stack import StackConfig\n"
        "def f():\n    from config import footprint\n    import tools.offline\n"
    )
    known = {"config", "config.stack", "config.footprint", "tools.offline", "components.mod"}
    assert imports_of("components.mod", module, known) == {"config.footprint", "tools.offline"}
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert cycles(graph) == [["a", "b", "c", "a"]]


@pytest.mark.parametrize("package", [*PACKAGES, "__main__"])
def test_no_import_cycle(package: str) -> None:
    found = [
        cycle
        for cycle in cycles(import_graph())
        if any(module == package or module.startswith(f"{package}.") for module in cycle)
    ]
    assert found == [], "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in found)


def test_config_imports_nothing_from_components() -> None:
    """The config is read by the components, never the other way round."""
    graph = import_graph()
    found = {
        module: sorted(t for t in targets if t.startswith("components"))
        for module, targets in graph.items()
        if module.startswith("config")
    }
    assert {module: targets for module, targets in found.items() if targets} == {}
