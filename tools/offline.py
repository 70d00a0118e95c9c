"""Run the real Pulumi program under Pulumi's mock engine, with no CLI and no cloud.

This is the engine behind `python -m tools.preview` and the test harness:
`run_stack("lab")` reads `Pulumi.lab.yaml` (tools/stackfile.py), applies `--set`-style
overrides, executes `__main__.py` with `set_mocks(..., preview=False)` (so every `apply`
runs) in a fresh event loop and a fresh context, and returns every registered
resource with its type, name, parent and inputs (tools/records.py).

Provider-computed values (ids, service-account emails, generated passwords)
are plausible placeholders made up by `RecordingMocks` (tools/mocks.py); generated
passwords are recorded so tests can prove they never appear outside a secret.

The tests take the engine from here: running, what a run recorded, the shipped stacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import runpy
from collections.abc import Callable, Generator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.stack import run_pulumi_func

from tools.mocks import RecordingMocks, RecordingMonitor
from tools.records import ProgramRun, Recorded, is_secret_wrapper, redact_secrets, unwrap_secrets, walk_strings
from tools.stackfile import ROOT, STACKS, as_pulumi_config, overridden_config, read_stack_config, stack_config

__all__ = [
    "ROOT",
    "STACKS",
    "ProgramRun",
    "Recorded",
    "as_pulumi_config",
    "gc_paused",
    "is_secret_wrapper",
    "overridden_config",
    "read_stack_config",
    "redact_secrets",
    "run_components",
    "run_config",
    "run_stack",
    "stack_config",
    "unwrap_secrets",
    "walk_strings",
]

PROJECT = "llm-gateway"


def run_stack(stack: str, overrides: Sequence[str] = (), extra_config: Mapping[str, Any] | None = None) -> ProgramRun:
    config = overridden_config(stack, overrides)
    if extra_config:
        config.update(extra_config)
    return run_config(stack, config)


def run_config(stack: str, config: Mapping[str, Any], program: Path = ROOT / "__main__.py") -> ProgramRun:
    """Run `program` for `config` in a fresh context (no state leaks between runs)."""

    def program_main() -> None:
        runpy.run_path(str(program), run_name="__main__")

    with gc_paused():
        return contextvars.Context().run(_run, stack, dict(config), program_main)


@contextlib.contextmanager
def gc_paused() -> Generator[None, None, None]:
    """No cyclic garbage collection inside: a program run allocates about a million objects but
    leaves few cycles, so the collector's passes over everything the imports created cost a fifth
    of the run and free next to nothing (the peak memory is the same). Collection resumes after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run_components(
    build: Callable[[], None], stack: str = "components", gcp_project: str = "mock-project"
) -> ProgramRun:
    """Run `build` (which constructs components, e.g. one component alone) under the mock engine."""
    config = {f"{PROJECT}:gcp": {"project": gcp_project}}
    with gc_paused():
        return contextvars.Context().run(_run, stack, config, build)


def _run(stack: str, config: dict[str, Any], program: Callable[[], None]) -> ProgramRun:
    gcp = config.get(f"{PROJECT}:gcp")
    gcp_project = gcp.get("project", "mock-project") if isinstance(gcp, dict) else "mock-project"
    mocks = RecordingMocks(str(gcp_project))
    monitor = RecordingMonitor(mocks)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        flat, secret_keys = as_pulumi_config(config)
        pulumi.runtime.set_all_config(flat, secret_keys)
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)

        loop.run_until_complete(run_pulumi_func(program))
        outputs, secret_outputs = loop.run_until_complete(_stack_outputs())
    finally:
        loop.close()
        asyncio.set_event_loop(None)

    names = {urn: name for urn, _t, name, _p, _c in monitor.registrations}
    resources = []
    for urn, type_, name, parent_urn, custom in monitor.registrations:
        protect, retain, aliases = monitor.options.get(urn, (False, False, ()))
        state = mocks.states.get((type_, name), {})
        resources.append(
            Recorded(
                type=type_,
                name=name,
                parent=names.get(parent_urn),
                custom=custom,
                inputs=mocks.inputs.get((type_, name), {}),
                outputs=state,
                protect=protect,
                retain_on_delete=retain,
                aliases=aliases,
                options=monitor.registered.get(urn, {}),
            )
        )
    return ProgramRun(stack, resources, outputs, secret_outputs, set(mocks.generated_secrets), set(monitor.guarded))


async def _stack_outputs() -> tuple[dict[str, Any], set[str]]:
    from pulumi.runtime.settings import get_root_resource

    root = get_root_resource()
    values: dict[str, Any] = {}
    secrets: set[str] = set()
    for key, value in (getattr(root, "outputs", None) or {}).items():
        out = pulumi.Output.from_input(value)
        values[key] = await out.future()
        if await out.is_secret():
            secrets.add(key)
    return values, secrets
