"""The footprint: exact totals for both stacks, one source with the deployed values, and the
capacity guard that refuses an over-sized stack before any resource is registered."""

from __future__ import annotations

import pytest

from config import ConfigError, memory_bytes, millicores, parse_config
from config.footprint import Amount, as_output, footprint
from offline.run import run_stack
from tests.support.config import errors_for, namespace, scenario_config, stack_config
from tests.support.program import LAB_LANGFUSE, SCENARIOS, release, run_cached
from tools import preview

GI = 2**30
MI = 2**20
LAB_ON = {
    "enabled": True,
    "clickhouse": {"operator_namespace": "clickhouse-operator-system"},
    "blob_storage": "gcs",
    "gcs": {"bucket": "lab-langfuse-blobs"},
}
"""The lab's `langfuse` section turned on (v4: GCS, the ClickHouse operator's namespace)."""
LAB_REDIS = {"mode": "in_cluster"}
"""The shared Redis Langfuse needs (the lab's LiteLLM alone needs none)."""
OVER_CAPACITY = tuple(o for o in LAB_LANGFUSE if "capacity" not in o)
"""The lab with Langfuse on, as `--set` overrides, at the lab's own capacity."""


@pytest.mark.parametrize(("quantity", "milli"), [("250m", 250), ("1", 1000), ("2", 2000), ("1.5", 1500), ("0.25", 250)])
def test_cpu_quantities(quantity: str, milli: int) -> None:
    assert millicores(quantity) == milli


@pytest.mark.parametrize(
    ("quantity", "size"), [("512Mi", 512 * MI), ("4Gi", 4 * GI), ("1536Mi", 1536 * MI), ("1G", 10**9), ("128", 128)]
)
def test_memory_quantities(quantity: str, size: int) -> None:
    assert memory_bytes(quantity) == size


@pytest.mark.parametrize(
    ("stack", "requests", "limits"),
    [
        # litellm 1 x 250m/1Gi, migration 100m/512Mi, cnpg 1 x 100m/256Mi
        ("lab", Amount(450, 1792 * MI), Amount(2000, 3584 * MI)),
        # litellm 3 x 1/4Gi, migration 250m/512Mi, cnpg 3 x 1/2Gi, langfuse web 2 x 2/4Gi,
        # worker 2 x 2/4Gi, clickhouse 3 x 2/8Gi, keeper 3 x 250m/512Mi, oauth2-proxy 2 x 50m/64Mi
        # (limits 200m/128Mi); Langfuse's Redis is Memorystore (no pod)
        ("enterprise", Amount(21100, 61_568 * MI), Amount(28150, 68_352 * MI)),
    ],
)
def test_stack_totals(stack: str, requests: Amount, limits: Amount) -> None:
    fp = footprint(stack_config(stack))
    assert fp.requests == requests
    assert fp.limits == limits


def test_lab_with_langfuse_totals() -> None:
    raw = namespace("lab")
    raw["langfuse"] = LAB_ON
    raw["redis"] = LAB_REDIS
    raw["capacity"] = {"cpu": "10", "memory": "24Gi"}
    fp = footprint(parse_config(raw))
    assert [r.component for r in fp.rows] == [
        "litellm proxy",
        "litellm migration job",
        "postgres (cnpg)",
        "langfuse web",
        "langfuse worker",
        "langfuse clickhouse",
        "langfuse keeper",
        "redis (valkey, in-cluster)",
    ]
    # 6.8 CPU, 18.5Gi (keeper 250m/512Mi, GCS: no MinIO, the shared Valkey 100m/256Mi, no Valkey of Langfuse's)
    assert fp.requests == Amount(6800, 18 * GI + 512 * MI)
    assert fp.limits == Amount(8750, 20 * GI + 512 * MI)


def test_stack_output_is_the_footprint() -> None:
    for stack in ("lab", "enterprise"):
        run = run_cached(stack)
        assert run.outputs["footprint"] == as_output(stack_config(stack))
    assert run_cached("enterprise").outputs["footprint"]["requests"] == {"cpu": "21.1", "memory": "60.125Gi"}
    assert run_cached("lab").outputs["footprint"]["requests"] == {"cpu": "0.45", "memory": "1.75Gi"}


def test_footprint_and_deployed_values_agree() -> None:
    """One source: the rows carry exactly the resources the releases and the CNPG spec get."""
    for stack, overrides in [SCENARIOS["enterprise"], SCENARIOS["lab-langfuse"]]:
        run = run_cached(stack, *overrides)
        rows = {r.component: r for r in footprint(scenario_config(stack, *overrides)).rows}
        lit = release(run, "litellm")["values"]
        assert lit["resources"]["requests"] == _amounts(rows["litellm proxy"].requests)
        assert lit["migrationJob"]["resources"]["limits"] == _amounts(rows["litellm migration job"].limits)
        (cluster,) = run.custom_resources("Cluster")
        assert cluster["spec"]["instances"] == rows["postgres (cnpg)"].replicas
        lf = release(run, "langfuse")["values"]
        assert lf["langfuse"]["web"]["replicas"] == rows["langfuse web"].replicas
        assert lf["langfuse"]["worker"]["resources"]["requests"] == _amounts(rows["langfuse worker"].requests)
        clusters = {kind: run.custom_resources(kind)[0]["spec"] for kind in ("ClickHouseCluster", "KeeperCluster")}
        for kind, row in (("ClickHouseCluster", "langfuse clickhouse"), ("KeeperCluster", "langfuse keeper")):
            assert clusters[kind]["replicas"] == rows[row].replicas
            assert clusters[kind]["containerTemplate"]["resources"]["limits"] == _amounts(rows[row].limits)
            assert clusters[kind]["containerTemplate"]["resources"]["requests"] == _amounts(rows[row].requests)
        assert "resources" not in lf["redis"] and not any("valkey" in r and "langfuse" in r for r in rows)


def _amounts(a: Amount) -> dict[str, str]:
    """Per-pod amounts as the builders write them (the stack files' own spelling)."""
    cpu = f"{a.cpu_m}m" if a.cpu_m % 1000 else str(a.cpu_m // 1000)
    memory = f"{a.memory // GI}Gi" if a.memory % GI == 0 else f"{a.memory // MI}Mi"
    return {"cpu": cpu, "memory": memory}


def test_over_capacity_is_one_config_error_with_the_table() -> None:
    raw = namespace("lab")
    raw["langfuse"] = LAB_ON
    raw["redis"] = LAB_REDIS
    message = errors_for(raw)
    assert message.startswith("invalid stack config (1 problem):\n  - llm-gateway:capacity:")
    assert "cpu 6.8 > 2; memory 18.5Gi > 8Gi" in message
    for row in ("langfuse clickhouse", "langfuse keeper", "total", "capacity"):
        assert row in message


def test_over_capacity_stops_before_any_resource() -> None:
    with pytest.raises(ConfigError):
        run_stack("lab", OVER_CAPACITY)


def test_preview_refuses_lab_with_langfuse(capsys: pytest.CaptureFixture[str]) -> None:
    assert preview.main(["lab", *(a for o in OVER_CAPACITY for a in ("--set", o))]) == 2
    err = capsys.readouterr().err
    assert "llm-gateway:capacity" in err
    assert "langfuse web" in err and "6.8" in err


def test_preview_prints_the_footprint(capsys: pytest.CaptureFixture[str]) -> None:
    assert preview.main(["enterprise"]) == 0
    out = capsys.readouterr().out
    assert "footprint" in out
    assert "langfuse clickhouse" in out
    assert "60.125Gi" in out
    assert "oauth2-proxy (sso)" in out


def test_capacity_is_required() -> None:
    raw = namespace("lab")
    del raw["capacity"]
    assert "llm-gateway:capacity: required key is missing" in errors_for(raw)
