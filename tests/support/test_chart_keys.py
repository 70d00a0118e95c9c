"""The values-key check (tests/support/chart_keys.py): the keys come from the pinned charts, the
short hand lists prove each entry, every release of every scenario sets only accepted keys, and
a typo fails (negative controls)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.chart_keys import (
    DATA,
    Accepted,
    accepted,
    chart_keys,
    citation_problems,
    hand_list,
    unaccepted,
    undocumented,
)
from tests.support.program import HELM_RELEASE, SCENARIOS, run_cached

KEYS_FILES = sorted(DATA.glob("*_values_keys.txt"))
LITELLM = DATA / "litellm_helm_values_keys.txt"


def _releases() -> list[tuple[str, str, dict[str, Any]]]:
    """(scenario, chart asset, values) of every Helm release of every named scenario."""
    out = []
    for name, (stack, overrides) in SCENARIOS.items():
        for rel in run_cached(stack, *overrides).of_type(HELM_RELEASE):
            out.append((name, "chart/" + Path(rel.plain_inputs["chart"]).name, rel.plain_inputs["values"]))
    return out


def _keys_file(chart: str) -> Path:
    (found,) = [f for f in KEYS_FILES if hand_list(f)[0] == chart]
    return found


def _paths(tree: dict[str, Any], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    out = set()
    for key, value in tree.items():
        path = (*prefix, str(key))
        out.add(path)
        if isinstance(value, dict):
            out |= _paths(value, path)
    return out


# --- the program's values against the charts ---------------------------------------------------------


def test_every_release_of_every_scenario_sets_only_keys_its_chart_accepts() -> None:
    releases = _releases()
    charts = {chart for _, chart, _ in releases}
    assert charts == {"chart/litellm-helm", "chart/oauth2-proxy", "chart/langfuse", "chart/langfuse-v4", "chart/valkey"}
    assert {hand_list(f)[0] for f in KEYS_FILES} == charts, "one keys file per installed chart"
    problems = {
        f"{name}: {chart}: {key}" for name, chart, values in releases for key in undocumented(_keys_file(chart), values)
    }
    assert sorted(problems) == []


@pytest.mark.parametrize(
    ("chart", "typo", "expected"),
    [
        ("chart/litellm-helm", {"db": {"useExistng": True}}, ["db.useExistng"]),
        ("chart/oauth2-proxy", {"config": {"emailDomain": ["*"]}}, ["config.emailDomain"]),
        (
            "chart/langfuse",
            {"redis": {"auth": {"existingSecretPasswrdKey": "x"}}},
            ["redis.auth.existingSecretPasswrdKey"],
        ),
        ("chart/valkey", {"dataStorage": {"keepPVC": True}}, ["dataStorage.keepPVC"]),
    ],
)
def test_a_typo_in_the_programs_values_is_refused(chart: str, typo: dict[str, Any], expected: list[str]) -> None:
    """Negative control: the program's real values for the chart plus one misspelt key."""
    (values, *_) = [v for _, c, v in _releases() if c == chart]
    broken = copy.deepcopy(values)
    for key, inner in typo.items():
        node = broken.setdefault(key, {})
        for k, v in inner.items():
            if isinstance(v, dict):
                node.setdefault(k, {}).update(v)
            else:
                node[k] = v
    assert undocumented(_keys_file(chart), values) == []
    assert undocumented(_keys_file(chart), broken) == expected


def test_keys_the_old_hand_list_accepted_that_the_pinned_litellm_chart_does_not_read_are_refused() -> None:
    """The hand-kept list on main accepted these (copied from another commit of the chart); the
    pinned chart neither declares them in values.yaml nor reads them in a template: Helm would
    ignore them."""
    stale = {
        "migrationJob": {"activeDeadlineSeconds": 600},
        "db": {"connectionPool": {"enabled": True}, "secret": {"readReplicaEndpointKey": "host"}},
        "metricsServer": {"enabled": True},
    }
    assert undocumented(LITELLM, stale) == [
        "migrationJob.activeDeadlineSeconds",
        "db.connectionPool",
        "db.secret.readReplicaEndpointKey",
        "metricsServer",
    ]


# --- the hand lists ------------------------------------------------------------------------------------


@pytest.mark.parametrize("keys_file", KEYS_FILES, ids=lambda f: f.name)
def test_every_hand_entry_cites_the_template_line_that_reads_it_and_the_chart_leaves_it_out(keys_file: Path) -> None:
    assert citation_problems(keys_file) == []


def test_every_hand_entry_is_a_key_the_program_sets() -> None:
    """The hand lists hold what the program needs, nothing kept "just in case"."""
    used = {(chart, path) for _, chart, values in _releases() for path in _paths(values)}
    unused = [
        f"{f.name}: {e.text}" for f in KEYS_FILES for e in hand_list(f)[1] if (hand_list(f)[0], e.key) not in used
    ]
    assert unused == []


def test_the_citation_check_refuses_a_wrong_entry(tmp_path: Path) -> None:
    """Negative control: a misspelt key citing a real line, an entry without a line, a line past
    the end, and a key the chart's values.yaml declares all fail."""
    bad = tmp_path / "litellm_helm_values_keys.txt"
    bad.write_text(
        "# chart: chart/litellm-helm\n"
        "numWorkrs  # templates/deployment.yaml:176\n"
        "numWorkers\n"
        "numWorkers  # templates/deployment.yaml:99999\n"
        "replicaCount  # templates/deployment.yaml:176\n",
        encoding="utf-8",
    )
    problems = citation_problems(bad)
    assert [p.split(":", 1)[0] for p in problems] == [
        "numWorkrs  # templates/deployment.yaml",
        "numWorkers",
        "numWorkers  # templates/deployment.yaml",
        "replicaCount  # templates/deployment.yaml",
        "replicaCount  # templates/deployment.yaml",
    ]
    assert "does not read .Values.numWorkrs" in problems[0]
    assert "cites no template line" in problems[1]
    assert "has no line 99999" in problems[2]
    assert "already accept" in problems[4]


def test_a_keys_file_must_name_its_chart(tmp_path: Path) -> None:
    nameless = tmp_path / "x_values_keys.txt"
    nameless.write_text("numWorkers  # templates/deployment.yaml:176\n", encoding="utf-8")
    with pytest.raises(ValueError, match="chart"):
        hand_list(nameless)


# --- how keys are read from a chart (a chart made for the test) ----------------------------------------


def test_keys_come_from_values_schema_subcharts_under_their_alias_and_globals(tmp_path: Path) -> None:
    parent = tmp_path / "parent"
    child = parent / "charts" / "child"
    child.mkdir(parents=True)
    (parent / "Chart.yaml").write_text(
        yaml.safe_dump({"name": "parent", "dependencies": [{"name": "child", "alias": "kid"}]})
    )
    (parent / "values.yaml").write_text(
        yaml.safe_dump({"a": {"b": 1}, "empty": {}, "items": [], "unset": None, "kid": {"x": 1, "y": {}}})
    )
    (parent / "values.schema.json").write_text(
        json.dumps(
            {"properties": {"s": {"type": "object", "properties": {"t": {"type": "string"}}}, "o": {"type": "object"}}}
        )
    )
    (child / "Chart.yaml").write_text(yaml.safe_dump({"name": "child"}))
    (child / "values.yaml").write_text(yaml.safe_dump({"x": {}, "y": {"z": 1}, "global": {"g": 1}}))
    keys: Accepted = chart_keys(parent)
    values = {
        "a": {"b": 2, "c": 3},  # c: not declared below a declared map
        "empty": {"any": {"thing": 1}},  # `{}` default: rendered whole
        "items": [{"x": 1}],
        "unset": {"q": 1},
        "s": {"t": "x", "u": 1},  # the schema's keys
        "o": {"free": 1},
        "kid": {"x": {"free": 1}, "y": {"z": 2, "w": 3}},  # the parent's `{}` meets the child's structure
        "child": {"y": 1},  # the subchart's name is not its key: the alias is
        "global": {"g": 2},
    }
    assert unaccepted(keys, values) == ["a.c", "s.u", "kid.y.w", "child"]


def test_the_accepted_keys_are_the_charts_plus_the_hand_entries() -> None:
    chart = accepted(LITELLM)
    assert ("replicaCount",) in chart.declared and ("numWorkers",) in chart.declared
    assert ("proxy_config",) in chart.free and ("db", "useExisting") in chart.declared
