"""A PodDisruptionBudget the instance count cannot satisfy blocks every drain of a node (GKE upgrades,
autoscaler scale-down wait on it forever): refused at preview time, naming the key and what works.

CNPG's primary PDB has minAvailable 1 whatever the instance count, so with one instance it allows no
eviction; LiteLLM's minAvailable must stay below the replica floor (the HPA's minimum when autoscaling)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from config import parse_config
from tests.support.config import errors_for, with_value


@settings(max_examples=30, deadline=None)
@given(instances=st.integers(min_value=1, max_value=9), enable_pdb=st.booleans())
def test_a_cnpg_pdb_is_refused_exactly_when_one_instance_would_block_every_drain(
    instances: int, enable_pdb: bool
) -> None:
    raw = with_value("lab", "postgres.cnpg.instances", instances)
    raw["postgres"]["cnpg"]["enable_pdb"] = enable_pdb
    if enable_pdb and instances == 1:
        line = next(ln for ln in errors_for(raw).splitlines() if "llm-gateway:postgres.cnpg.enable_pdb:" in ln)
        assert "its node can never be drained" in line and "instances 2-9" in line
    else:
        parse_config(raw)


@settings(max_examples=40, deadline=None)
@given(
    replicas=st.integers(min_value=1, max_value=6),
    min_replicas=st.integers(min_value=1, max_value=6),
    autoscaling=st.booleans(),
    pdb=st.integers(min_value=1, max_value=7),
)
def test_a_litellm_pdb_must_leave_one_pod_of_the_floor_evictable(
    replicas: int, min_replicas: int, autoscaling: bool, pdb: int
) -> None:
    raw = with_value("enterprise", "litellm.replicas", replicas)
    raw["litellm"]["autoscaling"] = {"enabled": autoscaling, "min_replicas": min_replicas, "max_replicas": 6}
    raw["litellm"]["pdb_min_available"] = pdb
    floor = min_replicas if autoscaling else replicas
    if pdb < floor:
        parse_config(raw)
    else:
        assert f"must be below the replica floor ({floor})" in errors_for(raw)
