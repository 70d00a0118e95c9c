"""What README.md, CONTRIBUTING.md and docs/ tell a reader to run, open or look up exists:
every `python -m` module and its flags, every script, every repository path, and every
"`name` in `path`" citation."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from tests.support import FIRST_PARTY, ROOT
from tests.support.markdown import documents, prose_and_code

TOP = (*FIRST_PARTY, "tests", "bench", "docs", ".ci", ".github")
# A repository path: starts at a top-level folder, not inside a URL or another path, and is
# not a pattern (`tests/data/litellm_metric*.txt`, `components/<concern>/`).
PATH = re.compile(rf"(?<![\w./:-])((?:{'|'.join(re.escape(t) for t in TOP)})/[\w./-]*+)(?![*<{{])")
MODULE = re.compile(r"python -m ([A-Za-z_][\w.]*)([^`#\n|]*)")
SCRIPT = re.compile(r"(?:python|bash) ((?:[\w.-]+/)+[\w.-]+\.(?:py|sh))([^`#\n|]*)")
FLAG = re.compile(r"(?<![\w-])(--[a-z][\w-]*)")
CITED = re.compile(r"`([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)` (?:in|of) `((?:[\w-]+/)*[\w-]+\.py)`")
IDS = [str(p.relative_to(ROOT)) for p in documents()]


def paths(text: str) -> list[str]:
    """The repository paths a text names (a sentence's full stop is not part of one)."""
    return [p.rstrip(".-") for p in PATH.findall(text)]


def text_of(document: Path) -> str:
    return prose_and_code(document.read_text(encoding="utf-8"))


def defines(source: str, name: str) -> bool:
    return bool(re.search(rf"^\s*(?:def|class|async def) {name}\b|^\s*{name}\s*[:=]", source, re.MULTILINE))


def flags_of(files: list[Path]) -> set[str]:
    """The option strings an argparse CLI made of these files declares."""
    return {flag for f in files for flag in re.findall(r"[\"'](--[a-z][\w-]*)[\"']", f.read_text(encoding="utf-8"))}


def _missing_flags(command: str, rest: str, files: list[Path]) -> list[str]:
    used = set(FLAG.findall(rest)) - {"--help"}
    return [f"{command} {flag}" for flag in sorted(used - flags_of(files))]


@pytest.mark.parametrize("document", documents(), ids=IDS)
def test_python_modules_and_their_flags_exist(document: Path) -> None:
    problems = []
    for module, rest in MODULE.findall(text_of(document)):
        module = module.rstrip(".")
        if module in {"pytest", "pip", "venv"}:
            continue
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            problems.append(f"python -m {module}: no such module")
            continue
        package = Path(spec.origin).parent
        files = {*package.glob("*.py"), *_first_party_imports(Path(spec.origin))}
        problems += _missing_flags(f"python -m {module}", rest, sorted(files))
    assert problems == []


def _first_party_imports(source: Path) -> set[Path]:
    """The repository's modules `source` imports (a shared CLI helper may declare the flags)."""
    found = set()
    for module in re.findall(
        r"^from ([\w.]+) import|^import ([\w.]+)", source.read_text(encoding="utf-8"), re.MULTILINE
    ):
        name = module[0] or module[1]
        path = ROOT / (name.replace(".", "/") + ".py")
        if path.is_file():
            found.add(path)
    return found


@pytest.mark.parametrize("document", documents(), ids=IDS)
def test_scripts_and_their_flags_exist(document: Path) -> None:
    problems = []
    for script, rest in SCRIPT.findall(text_of(document)):
        path = ROOT / script
        if not path.is_file():
            problems.append(f"{script}: no such file")
        elif path.suffix == ".py":
            problems += _missing_flags(script, rest, [path])
    assert problems == []


@pytest.mark.parametrize("document", documents(), ids=IDS)
def test_repository_paths_exist(document: Path) -> None:
    missing = sorted({p for p in paths(document.read_text(encoding="utf-8")) if not (ROOT / p).exists()})
    assert missing == []


@pytest.mark.parametrize("document", documents(), ids=IDS)
def test_cited_names_are_defined_where_cited(document: Path) -> None:
    problems = []
    for name, path in CITED.findall(document.read_text(encoding="utf-8")):
        file = ROOT / path
        if not file.is_file():
            problems.append(f"{path}: no such file")
            continue
        source = file.read_text(encoding="utf-8")
        problems += [f"{path}: no {part}" for part in name.split(".") if not defines(source, part)]
    assert problems == []


def test_the_checks_see_what_they_check() -> None:
    contributing = text_of(ROOT / "CONTRIBUTING.md")
    assert len(CITED.findall(contributing)) >= 10
    assert ("tools.config_reference", " --write") in MODULE.findall("`python -m tools.config_reference --write`")
    assert paths("see tests/data/litellm_metric*.txt, `components/<concern>/`, docs/numbers.md.") == ["docs/numbers.md"]
    assert paths("https://github.com/acme/llm-gateway/blob/main/docs/alerts.md") == []
    assert not defines("def cost_alerts_x(): ...", "cost_alerts") and defines("GROUPS = (", "GROUPS")
    assert _missing_flags("python -m tools.preview", " lab --out x --no-such", [ROOT / "tools" / "preview.py"]) == [
        "python -m tools.preview --no-such"
    ]
