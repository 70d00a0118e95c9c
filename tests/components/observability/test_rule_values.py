"""`value_expressions`: what the real-Prometheus test queries to tell a quiet rule from an empty one.

tests/components/observability/test_prometheus_real.py requires data from each value a fed rule
compares; these cases pin down what a value is, offline.
"""

from __future__ import annotations

import pytest

from components.observability.rules import rule_groups
from tests.support.config import stack_config
from tests.support.promql import metric_names
from tests.support.real_prometheus import value_expressions


@pytest.mark.parametrize(
    ("expr", "values"),
    [
        ("a / b > 0.05", ["a / b"]),
        ("100 * (1 - c / d) >= 80 < 95", ["100 * (1 - c / d)"]),
        ("0 < a", ["a"]),
        ('up{job="x"} == 0 or absent(up{job="x"})', ['up{job="x"}']),
        ("x > 3 * (y or x * 0) and x > 5", ["x", "3 * (y or x * 0)"]),
        ("failed_time > archived_time", ["failed_time", "archived_time"]),
        ("time() - max(b) > 3600", ["time() - max(b)"]),
        ("(a > 1) unless b", ["a", "b"]),
        ("a > bool 1", ["a > bool 1"]),
        ("max by (x) (b > 0)", ["max by (x) (b > 0)"]),
    ],
)
def test_values_are_what_the_rule_compares(expr: str, values: list[str]) -> None:
    assert value_expressions(expr) == values


@pytest.mark.parametrize("stack", ["lab", "enterprise"])
def test_every_shipped_rule_has_values_that_read_series(stack: str) -> None:
    """Each value parses back, is a value itself, and selects series (one without a selector has data always)."""
    for group in rule_groups(stack_config(stack)):
        for rule in group["rules"]:
            values = value_expressions(rule["expr"])
            assert values, rule["alert"]
            for value in values:
                assert metric_names(value), (rule["alert"], value)
                assert value_expressions(value) == [value] or "bool" in value, (rule["alert"], value)
