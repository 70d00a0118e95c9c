"""docs/scaling.md quotes the program: its footprint, connection and storage figures are the preview's."""

from __future__ import annotations

import re
from typing import Any

import pytest

from config import ConfigError, parse_config
from tests.support import ROOT
from tests.support.config import namespace
from tests.support.program import run_cached

SCALING = (ROOT / "docs" / "scaling.md").read_text()


def _footprint(stack: str) -> dict[str, Any]:
    footprint: dict[str, Any] = run_cached(stack).outputs["footprint"]
    return footprint


def _refusal(stack: str, *changes: tuple[tuple[str, ...], Any]) -> str:
    """The config error of a stack file with some values changed."""
    raw = namespace(stack)
    for path, value in changes:
        section = raw
        for key in path[:-1]:
            section = section[key]
        section[path[-1]] = value
    with pytest.raises(ConfigError) as refused:
        parse_config(raw)
    return str(refused.value)


def _row(label: str) -> list[str]:
    """The cells of the footprint table's row whose first cell starts with `label`."""
    (line,) = [line for line in SCALING.splitlines() if line.startswith(f"| {label} |")]
    return [cell.strip() for cell in line.strip("|").split("|")][1:]


@pytest.mark.parametrize(("stack", "label"), [("lab", "`lab`"), ("enterprise", "`enterprise` (Langfuse and SSO on)")])
def test_footprint_rows_are_the_stacks(stack: str, label: str) -> None:
    fp = _footprint(stack)
    expected = [f"{fp[k]['cpu']} / {fp[k]['memory']}" for k in ("requests", "limits", "capacity")]
    assert _row(label) == expected


def test_lab_with_langfuse_is_refused_with_the_documented_totals() -> None:
    requests, limits, capacity = _row("`lab` + `langfuse.enabled=true` (GCS) + `redis.mode=in_cluster`")
    operator = (("langfuse", "clickhouse"), {"operator_namespace": "clickhouse-operator-system"})
    gcs = ((("langfuse", "blob_storage"), "gcs"), (("langfuse", "gcs"), {"bucket": "lab-langfuse-blobs"}))
    redis = (("redis", "mode"), "in_cluster")  # Langfuse's queues need the shared Redis
    message = _refusal("lab", (("langfuse", "enabled"), True), operator, *gcs, redis)
    total = next(line.split()[1:] for line in message.splitlines() if line.strip().startswith("total "))
    assert [*requests.split(" / "), *limits.split(" / ")] == total
    assert capacity.endswith("**refused**") and "exceed the cluster's allocatable capacity" in message


def _gib(value: float) -> str:
    return f"{value / 2**30:.1f}Gi"


def test_the_two_stacks_connection_and_storage_totals() -> None:
    enterprise, lab = _footprint("enterprise"), _footprint("lab")
    for fp in (enterprise, lab):
        connections = f"{fp['connections']['total']} / {fp['connections']['max_connections']}"
        assert re.search(rf"total / max_connections +{connections}\n", SCALING), connections
    storage = enterprise["storage"]
    allowed = storage["fill_target"] * storage["volume_bytes"]
    assert f"{_gib(storage['total_bytes'])} / {_gib(allowed)}" in SCALING
    storage = lab["storage"]
    allowed = storage["fill_target"] * storage["volume_bytes"]
    assert f"{_gib(storage['total_bytes'])} of {_gib(allowed)}" in SCALING


def test_refused_growth_figures() -> None:
    pool = _refusal("enterprise", (("litellm", "database", "connection_pool_limit"), 10))
    assert "may open 319 connections" in pool
    assert "With LiteLLM's default pool (10) the enterprise stack would need 319" in SCALING
    wide = _refusal("enterprise", (("litellm", "autoscaling", "max_replicas"), 30))
    pods = ("litellm proxy ", "litellm rollout surge ")
    proxies = sum(int(line.split()[-1]) for line in wide.splitlines() if line.strip().startswith(pods))
    assert "may open 439 connections" in wide and proxies == 380
    assert "workers x 5 = 380 LiteLLM connections, 439 in all, against 200" in " ".join(SCALING.split())
