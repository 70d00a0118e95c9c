"""The mutation check (bench/mutations.py) stays runnable as the code moves: each mutation's
anchor is found exactly once, and the test modules it runs exist. A refactor that loses an
anchor fails here, not months later when someone runs the 45-minute check."""

from __future__ import annotations

import pytest

from bench.mutations import MUTATIONS, Mutation, locate
from tests.support import ROOT


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_each_mutation_applies_to_the_code(mutation: Mutation) -> None:
    path, problem = locate(ROOT, mutation)
    assert path is not None, problem
    assert mutation.old != mutation.new
    missing = [t for t in mutation.tests if not (ROOT / t.split("::")[0]).exists()]
    assert not missing, f"{mutation.name}: no such test module {missing}"


def test_a_lost_anchor_is_reported() -> None:
    lost = Mutation("lost", "sql", "a bug", "components/reporting/*.py", "text no module holds", "", ())
    path, problem = locate(ROOT, lost)
    assert path is None
    assert "found 0 times" in problem
