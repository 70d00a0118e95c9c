"""mypy follows only the Pulumi SDK subpackages the code uses (pyproject.toml): every subpackage
of pulumi_gcp / pulumi_kubernetes that the code names must be in the followed list, or mypy would
type it as Any and miss a wrong argument without a word."""

from __future__ import annotations

import ast
import fnmatch
import tomllib
from pathlib import Path

from tests.support import FIRST_PARTY, ROOT

SDKS = ("pulumi_gcp", "pulumi_kubernetes")
FOLDERS = (*FIRST_PARTY, "tests", "bench")


def followed_patterns() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    overrides = config["tool"]["mypy"]["overrides"]
    return [m for o in overrides if o.get("follow_imports") == "normal" for m in o["module"]]


def _followed(module: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(module, p) or fnmatch.fnmatchcase(module + ".x", p) for p in patterns)


def used_subpackages(source: str) -> set[str]:
    """`pulumi_gcp.storage`-style names the source reaches: through an import, or as an attribute
    of the SDK imported under any alias (`import pulumi_gcp as gcp; gcp.storage.Bucket`)."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                if root in SDKS:
                    if "." in alias.name:
                        used.add(".".join(alias.name.split(".")[:2]))
                    aliases[alias.asname or root] = root
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in SDKS:
            parts = node.module.split(".")
            used.add(".".join(parts[:2]) if len(parts) > 1 else f"{parts[0]}.{node.names[0].name}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr[:1].islower()
        ):
            used.add(f"{aliases[node.value.id]}.{node.attr}")
    return used


def test_every_used_sdk_subpackage_is_followed_by_mypy() -> None:
    patterns = followed_patterns()
    sources = [p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts]
    used = {
        (module, str(path.relative_to(ROOT)))
        for path in [*sources, ROOT / "__main__.py"]
        for module in used_subpackages(Path(path).read_text(encoding="utf-8"))
    }
    assert {module for module, _ in used} >= {"pulumi_gcp.storage", "pulumi_kubernetes.core"}
    missing = sorted(f"{module} ({where})" for module, where in used if not _followed(module, patterns))
    assert missing == [], "add to pyproject.toml's followed pulumi modules: " + ", ".join(missing)


def test_the_usage_reader_sees_aliases_imports_and_attributes() -> None:
    source = (
        "import pulumi_gcp as g\nimport pulumi_kubernetes.batch.v1\nfrom pulumi_gcp.kms import CryptoKey\n"
        "from pulumi_kubernetes import yaml\ng.tpu.Node('n')\n"
    )
    assert used_subpackages(source) == {
        "pulumi_gcp.tpu",
        "pulumi_kubernetes.batch",
        "pulumi_gcp.kms",
        "pulumi_kubernetes.yaml",
    }
    assert not _followed("pulumi_gcp.tpu", followed_patterns())
    assert _followed("pulumi_gcp.storage", followed_patterns())
