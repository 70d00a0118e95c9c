"""The persistent volume claims in the footprint: one row per workload that claims volumes, each equal to
what the builders render (so a builder's size, class or replica count that changes without the table fails
here), summed, in the `footprint` output and the preview."""

from __future__ import annotations

from typing import Any

import pytest

from components.redis.values import valkey_values
from config import memory_bytes, parse_config
from config.footprint import Claims, volumes, volumes_output
from tests.support.config import namespace, stack_config
from tests.support.program import run_cached
from tools import preview

Rendered = tuple[str, int, str, str | None]
"""(workload, claims, size per claim, StorageClass)"""


def _claim_template(spec: dict[str, Any]) -> tuple[str, str | None]:
    return spec["resources"]["requests"]["storage"], spec.get("storageClassName")


def _rendered_claims(stack: str) -> set[Rendered]:
    """The claims of the stack's rendered objects: CNPG Clusters (instances x spec.storage), the operator's
    ClickHouseCluster and KeeperCluster (replicas x dataVolumeClaimSpec; one shard)."""
    run = run_cached(stack)
    out: set[Rendered] = set()
    for cluster in run.custom_resources("Cluster"):
        spec = cluster["spec"]
        storage = spec["storage"]
        out.add(("postgres (cnpg)", spec["instances"], storage["size"], storage.get("storageClass")))
        assert "walStorage" not in spec, "a WAL volume: count it in config/footprint.py volumes()"
    for kind, workload in (("ClickHouseCluster", "langfuse clickhouse"), ("KeeperCluster", "langfuse keeper")):
        for obj in run.custom_resources(kind):
            spec = obj["spec"]
            assert spec.get("shards", 1) == 1
            out.add((workload, spec["replicas"], *_claim_template(spec["dataVolumeClaimSpec"])))
    # No other object of the program's own claims a volume (the charts' are checked below).
    for obj in run.kubernetes_objects():
        assert obj["kind"] != "PersistentVolumeClaim", obj["metadata"]["name"]
        assert not obj.get("spec", {}).get("volumeClaimTemplates"), obj["metadata"]["name"]
    return out


def _rows(cfg_rows: tuple[Claims, ...]) -> set[Rendered]:
    return {(v.workload, v.claims, v.size, v.storage_class) for v in cfg_rows}


@pytest.mark.parametrize("stack", ["lab", "enterprise"])
def test_the_volumes_are_the_rendered_claims(stack: str) -> None:
    assert _rows(volumes(stack_config(stack))) == _rendered_claims(stack)


def test_enterprise_volumes_sum_to_the_rendered_sizes() -> None:
    rendered = _rendered_claims("enterprise")
    assert {w for w, *_ in rendered} == {"postgres (cnpg)", "langfuse clickhouse", "langfuse keeper"}
    total = sum(n * memory_bytes(size) for _, n, size, _ in rendered)
    # 3 x 50Gi (premium-rwo) + 3 x 100Gi + 3 x 10Gi
    assert total == 480 * 2**30
    out = run_cached("enterprise").outputs["footprint"]["volumes"]
    assert out == volumes_output(stack_config("enterprise"))
    assert (out["total_claims"], out["total"]) == (9, "480Gi")


@pytest.mark.parametrize(("replicas", "persistence"), [(0, True), (2, True), (0, False)])
def test_in_cluster_valkey_volumes_are_the_charts(replicas: int, persistence: bool) -> None:
    """The chart's values: one pod's `dataStorage`, or a StatefulSet of replica.replicas + 1 pods (the
    chart's template adds the primary) with a claim each from `replica.persistence`."""
    section = {"replicas": replicas, "persistence": persistence, "storage_size": "3Gi", "storage_class": "ssd"}
    cfg = parse_config({**namespace("enterprise"), "redis": {"mode": "in_cluster", "in_cluster": section}})
    values = valkey_values(cfg.redis.in_cluster)
    if replicas:
        persisted = values["replica"]["persistence"]
        pods = values["replica"]["replicas"] + 1
        chart: set[Rendered] = {("redis (valkey, in-cluster)", pods, persisted["size"], persisted["storageClass"])}
    elif values["dataStorage"]["enabled"]:
        storage = values["dataStorage"]
        chart = {("redis (valkey, in-cluster)", 1, storage["requestedSize"], storage["className"])}
    else:
        chart = set()
    assert {r for r in _rows(volumes(cfg)) if r[0].startswith("redis")} == chart


def test_the_preview_prints_the_volumes(capsys: pytest.CaptureFixture[str]) -> None:
    assert preview.main(["enterprise"]) == 0
    out = capsys.readouterr().out.splitlines()
    at = out.index("persistent volume claims (config/footprint.py; one per pod, size per claim):")
    assert out[at + 3].split() == ["postgres", "(cnpg)", "3", "50Gi", "premium-rwo", "150Gi"]
    assert out[at + 5].split() == ["langfuse", "keeper", "3", "10Gi", "(cluster", "default)", "30Gi"]
    assert out[at + 7].split() == ["total", "9", "480Gi"]
