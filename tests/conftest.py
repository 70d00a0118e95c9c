"""Session-wide set-up: the PostgreSQL plugin, strict mode for the real components
(tests/support/components.py: a missing one fails the run in CI, and is listed as not tested
elsewhere), the Hypothesis profiles, the module times and the real-component timings
(tests/harness/timings.py).

Shared helpers live in tests/support (whole-program runs and named scenarios in
tests/support/program.py, config helpers in tests/support/config.py).
"""

from __future__ import annotations

import os
from collections import defaultdict

import pytest
from hypothesis import settings

from tests.harness import timings

pytest_plugins = ["tests.support.components", "tests.support.postgres"]

# Property tests are reproducible: the same examples on every run and machine
# (derandomize), and no example database, so no run replays an earlier one's
# failures (`.hypothesis/`). HYPOTHESIS_PROFILE=explore draws new examples.
settings.register_profile("repeatable", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


# --- --module-durations=N: the N slowest test modules (CI's log) ---------------------
# The sum of setup, call and teardown of each test of a module: a module-scoped fixture
# counts in the module whose first test set it up, a session fixture in the first module
# that needed it.

_MODULE_SECONDS: defaultdict[str, float] = defaultdict(float)
_MODULE_TESTS: defaultdict[str, int] = defaultdict(int)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--module-durations",
        type=int,
        default=None,
        metavar="N",
        help="show the N slowest test modules (setup + call + teardown of their tests); 0 for all",
    )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    module = report.nodeid.split("::", 1)[0]
    _MODULE_SECONDS[module] += report.duration
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _MODULE_TESTS[module] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    steps = timings.recorded()
    if steps:
        terminalreporter.write_sep("-", "real components: where the time went")
        for what, line in steps:
            terminalreporter.write_line(f"{what}: {line}")
    count: int | None = config.getoption("module_durations")
    if count is None or not _MODULE_SECONDS:
        return
    ranked = sorted(_MODULE_SECONDS.items(), key=lambda item: item[1], reverse=True)
    shown = ranked if count == 0 else ranked[:count]
    total = sum(_MODULE_SECONDS.values())
    title = "test modules" if count == 0 else f"slowest {len(shown)} test modules"
    terminalreporter.write_sep("=", f"{title} (of {len(ranked)}; {total:.1f} s in tests)")
    for module, seconds in shown:
        terminalreporter.write_line(f"{seconds:8.2f}s {_MODULE_TESTS[module]:5d} tests  {module}")
