"""Strict mode (tests/support/components.py): in CI a missing real component fails the run and is named;
elsewhere it is skipped and the summary says what was not tested. Proved on tiny pytest sessions run in
a subprocess with a component hidden from PATH, and on a real test module (promtool); and no test under
tests/ skips any other way."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, components
from tests.support.components import COMPONENTS, STRICT_ENV, require

TINY_TESTS = """
import pytest

from tests.support.components import require


def test_rules_need_promtool():
    assert require("promtool").name == "promtool"


@pytest.mark.needs("promtool")
def test_marked():
    pass


def test_plain():
    pass
"""
FOREIGN_SKIP = """
import pytest


@pytest.mark.needs("python3")
def test_skips_on_its_own():
    pytest.skip("some other reason")
"""


def _path_without(program: str) -> str:
    """PATH less every folder holding `program` (a folder stands in for each that held anything else)."""
    kept = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / program).exists()]
    return os.pathsep.join(kept)


def _env(*, hide: str | None, **set_: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", STRICT_ENV, "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = str(ROOT)
    if hide is not None:
        env["PATH"] = _path_without(hide)
    env.update(set_)
    return env


def _pytest(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


def _session(tmp_path: Path, source: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.support.components"]\n')
    (tmp_path / "test_tiny.py").write_text(source)
    return _pytest(tmp_path, env, "-rA", str(tmp_path))


def test_a_strict_run_without_promtool_fails_and_names_it(tmp_path: Path) -> None:
    result = _session(tmp_path, TINY_TESTS, _env(hide="promtool", CI="true"))
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "1 failed, 1 passed, 1 error" in out, out  # the marked test fails in its set-up
    summary = out.split("FAILED: real components missing (strict mode: CI=true)", 1)[1]
    assert "promtool (Prometheus' promtool): promtool is not on PATH" in summary
    assert "install: apt-get install prometheus" in summary
    assert "2 test(s)" in summary and "test_rules_need_promtool" in summary and "test_marked" in summary


def test_the_strict_variable_alone_turns_strict_mode_on(tmp_path: Path) -> None:
    """What .ci/run and tools/setup.sh check export: strict without CI."""
    result = _session(tmp_path, TINY_TESTS, _env(hide="promtool", **{STRICT_ENV: "1"}))
    assert result.returncode == 1, result.stdout
    assert f"strict mode: {STRICT_ENV}=1" in result.stdout


def test_without_strict_mode_it_passes_and_says_what_it_did_not_test(tmp_path: Path) -> None:
    result = _session(tmp_path, TINY_TESTS, _env(hide="promtool"))
    out = result.stdout
    assert result.returncode == 0, out
    assert "1 passed, 2 skipped" in out, out
    summary = out.split("NOT TESTED: real components missing (strict mode off: neither CI nor", 1)[1]
    assert "promtool (Prometheus' promtool)" in summary and "install: apt-get install prometheus" in summary
    assert "2 test(s)" in summary and "fails on them instead of skipping" in summary


def test_an_explicit_opt_out_wins_over_ci_and_is_reported(tmp_path: Path) -> None:
    result = _session(tmp_path, TINY_TESTS, _env(hide="promtool", CI="true", **{STRICT_ENV: "0"}))
    assert result.returncode == 0, result.stdout
    assert f"NOT TESTED: real components missing (strict mode off: {STRICT_ENV}=0)" in result.stdout


def test_with_every_component_there_strict_mode_passes_and_says_what_it_used(tmp_path: Path) -> None:
    require("promtool")  # this session's own mode decides what a missing one does here
    result = _session(tmp_path, TINY_TESTS, _env(hide=None, CI="1"))
    assert result.returncode == 0, result.stdout
    assert "3 passed" in result.stdout
    assert "real components: promtool (strict mode on: CI=1)" in result.stdout


def test_a_test_that_needs_a_component_cannot_skip_some_other_way_in_strict_mode(tmp_path: Path) -> None:
    strict = _session(tmp_path, FOREIGN_SKIP.replace("python3", "promtool"), _env(hide=None, CI="true"))
    assert strict.returncode == 1, strict.stdout
    assert "skipped in strict mode (CI=true) a test that needs promtool" in strict.stdout
    relaxed = _session(tmp_path, FOREIGN_SKIP.replace("python3", "promtool"), _env(hide=None))
    assert relaxed.returncode == 0, relaxed.stdout


def test_an_unknown_component_is_a_mistake_not_a_skip(tmp_path: Path) -> None:
    result = _session(tmp_path, FOREIGN_SKIP, _env(hide=None))
    assert result.returncode == 1, result.stdout
    assert "no real component 'python3'" in result.stdout


def test_the_real_promtool_tests_fail_in_strict_mode_without_promtool(tmp_path: Path) -> None:
    """The issue's reproduction: CI set, promtool hidden; the rule tests must not pass by skipping."""
    module = "tests/components/observability/test_prometheus_rule.py"
    result = _pytest(ROOT, _env(hide="promtool", CI="true"), module, "-k", "promtool")
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert re.search(r"\b4 failed\b", out), out
    assert "missing real component promtool" in out and "apt-get install prometheus" in out


# --- one way to skip ----------------------------------------------------------------------

SKIPS = ("skip", "skipif", "importorskip")
COMPONENTS_MODULE = ROOT / "tests" / "support" / "components.py"


def _skips(source: str) -> list[int]:
    """Lines of `pytest.skip(...)`, `pytest.mark.skip[if]`, `pytest.importorskip` and `from pytest import skip`."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in SKIPS:
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "pytest":
            lines += [node.lineno for alias in node.names if alias.name in SKIPS]
    return lines


def _reads_ci(source: str) -> list[int]:
    return [
        node.lineno for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Constant) and node.value == "CI"
    ]


def test_no_test_skips_or_reads_ci_except_through_the_components_module() -> None:
    sources = [p for p in sorted((ROOT / "tests").rglob("*.py")) if "__pycache__" not in p.parts]
    assert len(sources) > 50
    skipping, reading_ci = [], []
    for path in sources:
        if path in (COMPONENTS_MODULE, Path(__file__).resolve()):
            continue
        text = path.read_text(encoding="utf-8")
        skipping += [f"{path.relative_to(ROOT)}:{n}" for n in _skips(text)]
        reading_ci += [f"{path.relative_to(ROOT)}:{n}" for n in _reads_ci(text)]
    assert skipping == [], "skip a missing real component with tests.support.components.require or needs"
    assert reading_ci == [], "strict mode (tests/support/components.py) is the one place that reads CI"


def test_the_skip_finder_sees_every_form() -> None:
    source = (
        "import pytest\nfrom pytest import importorskip\n"
        "pytest.skip('x')\n@pytest.mark.skipif(True, reason='y')\ndef t(): pass\n"
        "yaml = pytest.importorskip('yaml')\n@pytest.mark.skip\ndef u(): pass\n"
        "if os.environ.get('CI'): pass\n"
    )
    assert sorted(_skips(source)) == [2, 3, 4, 6, 7]
    assert _reads_ci(source) == [9]


def test_ci_and_setup_check_turn_strict_mode_on_themselves() -> None:
    """`.ci/run` exports it before it hands over to `tools/setup.sh check`, which exports it in its `check` branch."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(rf"^export {STRICT_ENV}=1$", ci.split("exec bash tools/setup.sh check")[0], re.MULTILINE)
    setup = (ROOT / "tools" / "setup.sh").read_text(encoding="utf-8")
    check_branch = setup.split("\n  check)\n", 1)[1].split(";;", 1)[0]
    assert re.search(rf"^\s*export {STRICT_ENV}=1$", check_branch, re.MULTILINE), check_branch


def test_every_component_says_how_to_install_it() -> None:
    expected = {"postgresql", "promtool", "prometheus", "redis-server", "litellm", "checkov", "assets", "actionlint"}
    assert expected <= set(COMPONENTS)
    for component in COMPONENTS.values():
        assert component.install and component.what, component.name


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_a_missing_component_is_named_with_its_install_command(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv(STRICT_ENV, raising=False)
    # This session's own record of what is missing stays as it was.
    monkeypatch.setattr(components, "_MESSAGES", {})
    monkeypatch.setattr(components, "_DETAILS", {})
    with pytest.raises(pytest.fail.Exception) as failed:
        components.unavailable(name, "hidden for this test")
    message = str(failed.value)
    assert f"missing real component {name}" in message and COMPONENTS[name].install in message
    assert "strict mode, CI=true" in message or COMPONENTS[name].always
