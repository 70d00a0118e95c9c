"""docs/runbooks/langfuse-v3-to-v4.md, walked: each step's stack config (the enterprise stack with the
step's `langfuse` settings) renders, and has the objects the runbook says the preview shows."""

from __future__ import annotations

from functools import cache

import pytest

from config.assets import LANGFUSE_CHART, LANGFUSE_V4_CHART, locked_chart
from tests.support import ROOT
from tests.support import rendered as checks
from tests.support.program import release, run_cached

RUNBOOK = (ROOT / "docs" / "runbooks" / "langfuse-v3-to-v4.md").read_text()
V4 = "llm-gateway:langfuse.version=4"
STEPS: dict[str, tuple[str, ...]] = {
    "Step 1: ClickHouse first": ("llm-gateway:langfuse.version=3",),
    "Step 2: the chart": (V4, "llm-gateway:langfuse.v4_migration={write_mode: legacy, historic_backfill: false}"),
    "Step 3: dual writes and the backfill": (
        V4,
        "llm-gateway:langfuse.v4_migration={write_mode: dual, native_otel_behaviour: dual_write, "
        "historic_backfill: true}",
    ),
    "Step 4: cut-over": (V4, "llm-gateway:langfuse.v4_migration={}"),
}
WRITE_MODES = {
    "Step 2: the chart": "legacy",
    "Step 3: dual writes and the backfill": "dual",
    "Step 4: cut-over": "events_only",
}


@cache
def _deployed(step: str) -> checks.Deployed:
    return checks.deployed(run_cached("enterprise", *STEPS[step]))


def _env(d: checks.Deployed, deployment: str) -> dict[str, str]:
    (pod,) = [p for p in d.pods if p.owner.kind == "Deployment" and p.owner.name == deployment]
    (container,) = pod.spec["containers"]
    return {e["name"]: e.get("value", "") for e in container.get("env") or []}


def test_the_runbook_has_the_steps_the_test_walks() -> None:
    headings = [line.removeprefix("## ") for line in RUNBOOK.splitlines() if line.startswith("## Step ")]
    assert [h.split(" (")[0] for h in headings] == list(STEPS)
    for words in ("ingestion stops", "**lost**", "Rollback", "INSERT INTO", "remote("):
        assert words in RUNBOOK


@pytest.mark.parametrize("step", list(STEPS))
def test_each_step_renders_the_objects_the_runbook_names(step: str) -> None:
    run = run_cached("enterprise", *STEPS[step])
    d = _deployed(step)
    v3 = step.startswith("Step 1")
    chart = locked_chart(LANGFUSE_CHART if v3 else LANGFUSE_V4_CHART)
    assert release(run, "langfuse")["version"] == chart.version
    # The operator's ClickHouse from step 1 on; the chart's own ClickHouse and ZooKeeper never.
    assert {o.kind for o in d.objects if o.origin == "program"} >= {"ClickHouseCluster", "KeeperCluster"}
    chart_objects = {(o.kind, o.name) for o in d.objects if o.origin == "chart:langfuse"}
    assert not [ref for ref in chart_objects if "clickhouse" in ref[1] or "zookeeper" in ref[1]]
    # No Valkey of either chart at any step: both versions use the stack's shared Redis (test_shared_redis.py).
    assert not [ref for ref in chart_objects if "redis" in ref[1] or "valkey" in ref[1]]
    # Web and worker keep their names (Service and Ingress unchanged) and get the step's write mode.
    assert ("Service", "langfuse-web") in chart_objects
    for deployment in ("langfuse-web", "langfuse-worker"):
        env = _env(d, deployment)
        if v3:
            assert "LANGFUSE_MIGRATION_V4_WRITE_MODE" not in env
        else:
            assert env["LANGFUSE_MIGRATION_V4_WRITE_MODE"] == WRITE_MODES[step]
    warnings = run.outputs.get("warnings") or []
    assert bool(warnings) == v3 and all("January 2027" in w for w in warnings)


def test_the_backfill_waits_for_dual_writes() -> None:
    """The runbook's step 2 keeps the backfill off: the config refuses it with write_mode legacy."""
    env = _env(_deployed("Step 2: the chart"), "langfuse-worker")
    assert env["LANGFUSE_BACKGROUND_MIGRATION_V4_ENABLE_HISTORIC_BACKFILL"] == "false"
    env = _env(_deployed("Step 3: dual writes and the backfill"), "langfuse-worker")
    assert env["LANGFUSE_BACKGROUND_MIGRATION_V4_ENABLE_HISTORIC_BACKFILL"] == "true"
    assert env["LANGFUSE_MIGRATION_V4_NATIVE_OTEL_BEHAVIOUR"] == "dual_write"
