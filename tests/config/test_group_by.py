"""Alertmanager `group_by` entries must be label names, each once, or `...` alone: Alertmanager
refuses anything else when it loads the route (config.go, Route.UnmarshalYAML), which before
surfaced only as a failed reload after `pulumi up`. Every bad entry is named by its index."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config import parse_config
from tests.support.config import errors_for, with_value

LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _lines(group_by: list[str]) -> list[str]:
    message = errors_for(with_value("lab", "alertmanager.group_by", group_by))
    return [ln for ln in message.splitlines() if "llm-gateway:alertmanager.group_by" in ln]


@settings(max_examples=100, deadline=None)
@given(label=st.text(alphabet=st.characters(codec="ascii", exclude_categories=["Cc"]), min_size=1, max_size=12))
def test_a_group_by_entry_is_accepted_exactly_when_it_is_a_label_name(label: str) -> None:
    raw = with_value("lab", "alertmanager.group_by", ["alertname", label] if label != "alertname" else [label])
    if LABEL_NAME.fullmatch(label):
        parse_config(raw)
    else:
        message = errors_for(raw)
        assert "llm-gateway:alertmanager.group_by[1]:" in message or "llm-gateway:alertmanager.group_by[0]:" in message


@pytest.mark.parametrize(
    ("group_by", "expected"),
    [
        (["alertname", "kube-namespace"], ["group_by[1]: expected a label name"]),
        (["alert name", "9lives", "severity"], ["group_by[0]: expected a label name", "group_by[1]: expected"]),
        (["alertname", "severity", "alertname"], ["group_by[2]: 'alertname' is already group_by[0]"]),
        (["alertname", "..."], ["group_by[1]: '...' (every label) must be the only entry"]),
        (["...."], ["group_by[0]: expected a label name"]),
    ],
)
def test_every_bad_entry_is_named_by_its_index(group_by: list[str], expected: list[str]) -> None:
    lines = _lines(group_by)
    for text in expected:
        assert any(text in line for line in lines), lines


def test_every_label_alone_is_accepted() -> None:
    parse_config(with_value("lab", "alertmanager.group_by", ["..."]))
