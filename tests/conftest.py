"""Shared fixtures: the program run under the recording mock engine.

`program` runs the real `__main__.py` for a stack (plus `--set`-style
overrides) in a fresh event loop and context, and returns every registered
resource. Runs are cached per (stack, overrides) for the session: a run is
pure data once it has finished.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from hypothesis import settings

from tools.offline import STACKS as STACKS
from tools.offline import ProgramRun, run_stack

pytest_plugins = ["tests.support.postgres"]

# Property tests are reproducible: the same examples on every run and machine
# (derandomize), and no example database, so no run replays an earlier one's
# failures (`.hypothesis/`). HYPOTHESIS_PROFILE=explore draws new examples.
settings.register_profile("repeatable", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# Bring-your-own PostgreSQL: the lab stack switched to an external server.
EXTERNAL_ENGINE = (
    "llm-gateway:postgres.engine=external",
    "llm-gateway:postgres.cnpg=null",
    "llm-gateway:postgres.external={host: pg.home.arpa, admin_user: pgadmin, sslmode: verify-full, server_cidrs: [192.168.10.5/32]}",
)
# The one stack-config secret (external engine), as `pulumi config set --secret` stores it.
ADMIN_PASSWORD = "Adm1n-p@ss:w/rd?#"
SECRET_CONFIG = {"llm-gateway:postgresAdminPassword": {"secure": ADMIN_PASSWORD}}

_cache: dict[tuple[str, tuple[str, ...]], ProgramRun] = {}


def run_cached(stack: str, *overrides: str) -> ProgramRun:
    key = (stack, overrides)
    if key not in _cache:
        _cache[key] = run_stack(stack, overrides, extra_config=SECRET_CONFIG)
    return _cache[key]


@pytest.fixture
def program() -> Callable[..., ProgramRun]:
    return run_cached


@pytest.fixture(params=STACKS)
def stack_run(request: pytest.FixtureRequest) -> ProgramRun:
    return run_cached(request.param)
