"""The offline run's speed-up (offline/run.py) leaves the SDK as it found it."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import pulumi
import pulumi.runtime.mocks
import pulumi.runtime.resource
import pytest

import offline.mocks
import offline.run
from bench.tenants_preview import tenants_section
from offline.mocks import serialized, state_struct
from offline.run import SYNC_AWAIT, ProgramRun, await_now, no_source_positions, run_stack
from tests.support.program import run_components


def test_source_positions_are_skipped_inside_a_run_and_restored_after() -> None:
    original = pulumi.runtime.resource._get_stack_trace
    inside: list[bool] = []

    def build() -> None:
        inside.append(pulumi.runtime.resource._get_stack_trace is original)
        pulumi.ComponentResource("test:index:Thing", "thing")

    run = run_components(build)
    assert inside == [False] and [r.name for r in run.resources] == ["thing"]
    assert pulumi.runtime.resource._get_stack_trace is original
    with no_source_positions():
        assert not pulumi.runtime.resource._get_stack_trace().frames
    assert pulumi.runtime.resource._get_stack_trace is original


def _sdk_sync_await() -> Any:
    """What `pulumi.runtime.mocks` calls to await (the SDK's `_sync_await`, or `await_now` inside a run)."""
    return getattr(pulumi.runtime.mocks, SYNC_AWAIT)


def _recorded(run: ProgramRun) -> list[tuple[Any, ...]]:
    """Every registration with all it recorded, in a stable order (the threaded engine's order varies)."""
    return sorted(
        (
            r.type,
            r.name,
            r.parent,
            r.custom,
            json.dumps(r.inputs, sort_keys=True),
            json.dumps(r.outputs, sort_keys=True),
            r.protect,
            r.retain_on_delete,
            r.aliases,
            json.dumps(r.options, sort_keys=True),
        )
        for r in run.resources
    )


def test_inline_engine_calls_record_what_the_sdks_worker_thread_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's calls on the loop's thread (`InlineExecutor`, `await_now`) record the same run as the SDK's
    own way (a worker thread per call, `_sync_await`): lab with tenants (secrets, grants, an invoke, ExternalSecrets
    depending on grants), every resource's inputs, outputs and options, the stack outputs, the generated secrets."""
    tenants = "llm-gateway:tenants=" + json.dumps(tenants_section(3, 2))
    inline = run_stack("lab", [tenants])
    sdk_sync_await = _sdk_sync_await()
    monkeypatch.setattr(offline.run, "InlineExecutor", ThreadPoolExecutor)
    monkeypatch.setattr(offline.run, "await_now", sdk_sync_await)
    threaded = run_stack("lab", [tenants])
    assert len(inline.resources) > 100 and any(
        r.type == "kubernetes:external-secrets.io/v1:ExternalSecret" for r in inline.resources
    )
    assert _recorded(inline) == _recorded(threaded)
    assert (inline.outputs, inline.secret_outputs) == (threaded.outputs, threaded.secret_outputs)
    assert (inline.generated_secrets, inline.protected) == (threaded.generated_secrets, threaded.protected)
    assert _sdk_sync_await() is sdk_sync_await


def test_the_engine_runs_inline_inside_a_run_and_the_sdk_is_restored_after() -> None:
    original = _sdk_sync_await()
    seen: list[tuple[bool, int]] = []

    def build() -> None:
        async def probe() -> None:
            seen.append((_sdk_sync_await() is await_now, threading.get_ident()))
            await asyncio.get_running_loop().run_in_executor(None, lambda: seen.append((False, threading.get_ident())))

        pulumi.ComponentResource("test:index:Thing", "thing")
        pulumi.Output.from_input(cast(Any, probe()))

    run_components(build)
    assert [inside for inside, _ in seen] == [True, False]
    assert seen[0][1] == seen[1][1] == threading.get_ident()  # the executor's call ran on the loop's thread
    assert _sdk_sync_await() is original


def test_await_now_finishes_plain_work_and_refuses_to_wait() -> None:
    async def plain() -> int:
        return 7

    async def waits() -> None:
        await asyncio.sleep(0)

    assert await_now(plain()) == 7
    with pytest.raises(RuntimeError, match="waited on the event loop"):
        await_now(waits())


@pytest.mark.parametrize("stack", ["lab", "enterprise"])
def test_the_mock_monitors_answer_is_the_whole_states_serialisation(
    stack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`state_struct` adds only the new keys to the inputs as sent; the answer must be the bytes the SDK's mock
    monitor sends (the whole state serialised) for every registration of the shipped stacks (lab given tenants)."""
    answered: list[str] = []

    def checked(sent: Any, inputs: Mapping[str, Any], state: Mapping[str, Any]) -> Any:
        answer = state_struct(sent, inputs, state)
        whole = serialized(state)
        assert answer == whole and answer.SerializeToString(deterministic=True) == whole.SerializeToString(
            deterministic=True
        ), sorted(state)
        answered.append(str(sorted(set(state) - set(inputs))))
        return answer

    monkeypatch.setattr(offline.mocks, "state_struct", checked)
    tenants = ["llm-gateway:tenants=" + json.dumps(tenants_section(3, 2))] if stack == "lab" else []
    run = run_stack(stack, tenants)
    assert len(answered) == len(run.resources) > 100
    assert "['name']" in answered and "[]" in answered  # a GSM secret's name added; most states: the inputs alone
