"""Every Kubernetes object the program emits validates against its real schema."""

from __future__ import annotations

import pytest

from offline.run import ProgramRun
from tests.support.program import STACKS, run_cached
from tests.support.schemas import validation_errors


def _objects(run: ProgramRun) -> list[tuple[str, dict[str, object]]]:
    return [(f"{o['kind']}/{o['metadata']['name']}", o) for o in run.kubernetes_objects()]


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_validates(stack: str) -> None:
    run = run_cached(stack)
    objects = _objects(run)
    assert objects, "the program emitted no Kubernetes objects"
    problems = {name: errs for name, obj in objects if (errs := validation_errors(obj))}
    assert problems == {}


def test_validator_rejects_a_misspelt_field() -> None:
    """The strict CRD check is what catches a typo the API server would prune."""
    obj = run_cached("lab").custom_resources("ExternalSecret")[0]
    broken = {**obj, "spec": {**obj["spec"], "refreshIntervl": "1h"}}
    assert any("refreshIntervl" in e for e in validation_errors(broken))


def test_validator_rejects_unknown_core_field() -> None:
    ns = next(o for _, o in _objects(run_cached("lab")) if o["kind"] == "Namespace")
    assert validation_errors({**ns, "spec": {"finalizerz": []}})


def test_every_object_carries_the_standard_labels() -> None:
    for stack in STACKS:
        for name, obj in _objects(run_cached(stack)):
            labels = obj["metadata"].get("labels", {})  # type: ignore[attr-defined]
            assert labels.get("app.kubernetes.io/part-of") == "llm-gateway", name
            assert labels.get("app.kubernetes.io/managed-by") == "pulumi", name
            assert labels.get("app.kubernetes.io/name"), name
