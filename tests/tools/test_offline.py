"""The offline run's speed-up (offline/run.py) leaves the SDK as it found it."""

from __future__ import annotations

import pulumi
import pulumi.runtime.resource

from offline.run import no_source_positions
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
