"""Run the real Pulumi program under Pulumi's mock engine, with no CLI and no cloud.

This is the engine behind `python -m tools.preview` and the test harness:
`run_stack("lab")` reads `Pulumi.lab.yaml` and applies `--set`-style overrides
(offline/stackfile.py), executes `__main__.py` with `set_mocks(..., preview=False)`
(so every `apply` runs) in a fresh event loop and a fresh context, and returns
every registered resource with its type, name, parent and inputs.

Provider-computed values (ids, service-account emails, generated passwords)
are plausible placeholders made up by `RecordingMocks` (offline/mocks.py); generated
passwords are recorded so tests can prove they never appear outside a secret.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import gc
import runpy
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pulumi
import pulumi.runtime.mocks
from pulumi.runtime.stack import run_pulumi_func

from offline.mocks import RecordingMocks, RecordingMonitor, normalize, redact_secrets, unwrap_secrets
from offline.stackfile import ROOT, as_pulumi_config, overridden_config

PROJECT = "llm-gateway"


@dataclass(frozen=True)
class Recorded:
    """One resource registration as the engine received it."""

    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    protect: bool = False
    retain_on_delete: bool = False
    aliases: tuple[str, ...] = ()
    """Names this resource was known by before (from its `pulumi.Alias`es)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Every resource option as registered, for resources.json and diffs: protect, retain_on_delete,
    aliases (type aliases included), dependencies, delete_before_replace, replace_on_changes, ignore_changes."""

    @property
    def plain_inputs(self) -> Any:
        """Inputs with secrets unwrapped and integral floats turned back into ints."""
        return normalize(unwrap_secrets(self.inputs))

    @property
    def redacted_inputs(self) -> Any:
        return normalize(redact_secrets(self.inputs))


@dataclass
class ProgramRun:
    stack: str
    resources: list[Recorded]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    generated_secrets: set[str] = field(default_factory=set)
    protected: set[str] = field(default_factory=set)
    """Names of resources registered with both `protect` and `retain_on_delete`."""

    def of_type(self, type_: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> Recorded:
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources named {name!r}")
        return found[0]

    def custom_resources(self, kind: str) -> list[dict[str, Any]]:
        """Rendered Kubernetes custom resources of a kind (plain values)."""
        return [r.plain_inputs for r in self.resources if is_kubernetes_object(r) and r.inputs.get("kind") == kind]

    def kubernetes_objects(self) -> list[dict[str, Any]]:
        """Every Kubernetes object (not Helm releases, not providers), secrets redacted."""
        return [manifest(r) for r in self.resources if is_kubernetes_object(r)]


def is_kubernetes_object(r: Recorded) -> bool:
    return (
        r.custom
        and r.type.startswith("kubernetes:")
        and not r.type.startswith("kubernetes:helm.sh/")
        and not r.type.startswith("pulumi:providers:")
    )


_MANIFEST_ORDER = ("apiVersion", "kind", "metadata")


def manifest(r: Recorded) -> dict[str, Any]:
    """A Kubernetes object exactly as the API server would receive it (secrets redacted)."""
    body = r.redacted_inputs
    ordered = {k: body[k] for k in _MANIFEST_ORDER if k in body}
    ordered.update({k: v for k, v in body.items() if k not in _MANIFEST_ORDER})
    return ordered


# --- running -----------------------------------------------------------------


def run_stack(stack: str, overrides: Sequence[str] = (), extra_config: Mapping[str, Any] | None = None) -> ProgramRun:
    config = overridden_config(stack, overrides)
    if extra_config:
        config.update(extra_config)
    return run_config(stack, config)


def run_config(stack: str, config: Mapping[str, Any], program: Path = ROOT / "__main__.py") -> ProgramRun:
    """Run `program` for `config` in a fresh context (no state leaks between runs)."""

    def program_main() -> None:
        runpy.run_path(str(program), run_name="__main__")

    with gc_paused(), no_source_positions():
        return contextvars.Context().run(run_program, stack, config, program_main)


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
            # Everything allocated inside sits in the youngest generation: the first collection after
            # enabling would walk all of it (a tenth of a 2,000-resource run) to free next to nothing.
            # Frozen then unfrozen, it joins the oldest generation, swept by the next full collection.
            gc.freeze()
            gc.unfreeze()
            gc.enable()


_STACK_TRACE = "_get_stack_trace"


@contextlib.contextmanager
def no_source_positions() -> Generator[None, None, None]:
    """No source position per resource: the SDK walks the whole Python stack for each registration
    (about half a millisecond) to tell the engine where it was declared, which the mock engine never
    reads. The SDK's function is restored after."""
    module = pulumi.runtime.resource
    original = getattr(module, _STACK_TRACE)
    empty = type(original())()
    setattr(module, _STACK_TRACE, lambda: empty)
    try:
        yield
    finally:
        setattr(module, _STACK_TRACE, original)


_P = ParamSpec("_P")
_T = TypeVar("_T")


class InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """An executor that runs each call at once, on the calling thread, and hands back its finished future.

    The SDK sends every engine call (a registration, an invoke) through the event loop's default
    executor, as a blocking gRPC call must leave the loop free. The mock monitor answers in plain
    Python in microseconds, so the worker thread only added a thread handoff per resource (and the
    two threads' turns at the GIL). Inline, a registration's answer is ready when `run_in_executor`
    returns: the program registers the same resources with the same inputs and options, in an order
    that no longer depends on thread scheduling (the preview sorts anyway)."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)  # never starts a thread: `submit` does not queue

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> concurrent.futures.Future[_T]:
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # as a worker thread would: the caller's await raises it
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future


def await_now(awaitable: Awaitable[_T]) -> _T:
    """Finish `awaitable` without the event loop: the mock monitor's own serialising of its answer
    (`pulumi.runtime.mocks._sync_await`), which awaits nothing but itself for plain values.

    The SDK's `_sync_await` pumps the event loop of the calling thread, made for the monitor's worker
    thread; on the loop's own thread (`InlineExecutor`) that would run other tasks inside a
    registration. An answer that does wait (never one `RecordingMocks` gives) is an error."""
    steps = awaitable.__await__()
    try:
        steps.send(None)
    except StopIteration as finished:
        return finished.value  # type: ignore[no-any-return]
    close = getattr(steps, "close", None)
    if close is not None:
        close()
    raise RuntimeError("a mock engine answer waited on the event loop: it must hold plain values only")


SYNC_AWAIT = "_sync_await"


def run_program(stack: str, config: Mapping[str, Any], program: Callable[[], None]) -> ProgramRun:
    """Run `program` (a callable that registers resources) under the mock engine with `config`.

    The engine's calls run inline (`InlineExecutor`, `await_now`); the SDK's `_sync_await` is restored after."""
    gcp = config.get(f"{PROJECT}:gcp")
    gcp_project = gcp.get("project", "mock-project") if isinstance(gcp, dict) else "mock-project"
    mocks = RecordingMocks(str(gcp_project))
    monitor = RecordingMonitor(mocks)
    loop = asyncio.new_event_loop()
    loop.set_default_executor(InlineExecutor())
    asyncio.set_event_loop(loop)
    sync_await = getattr(pulumi.runtime.mocks, SYNC_AWAIT)
    setattr(pulumi.runtime.mocks, SYNC_AWAIT, await_now)
    try:
        flat, secret_keys = as_pulumi_config(config)
        pulumi.runtime.set_all_config(flat, secret_keys)
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)

        loop.run_until_complete(run_pulumi_func(program))
        outputs, secret_outputs = loop.run_until_complete(_stack_outputs())
    finally:
        setattr(pulumi.runtime.mocks, SYNC_AWAIT, sync_await)
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
