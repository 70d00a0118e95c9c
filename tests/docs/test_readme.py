"""The README stays a screenful per question and true: its length, its architecture picture,
the two commands and what they print."""

from __future__ import annotations

import re

import pytest

from tests.support import ROOT
from tests.support.markdown import code_blocks
from tools.preview import main as preview

README = (ROOT / "README.md").read_text()
SETUP = (ROOT / "tools" / "setup.sh").read_text()
MAX_LINES = 250


def section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_readme_is_at_most_250_lines() -> None:
    assert len(README.splitlines()) <= MAX_LINES, "move the detail to docs/ (one file per question)"


def test_sections_come_in_the_newcomers_order() -> None:
    titles = re.findall(r"^## (.+)$", README, flags=re.MULTILINE)
    assert titles == ["Architecture", "Quick start", "Deploy a stack", "Where things are", "Documentation"]


def test_quick_start_is_the_two_commands_and_ci_runs_the_second() -> None:
    first_block = section("Quick start").split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()]
    assert commands == ["bash tools/setup.sh preview", "bash tools/setup.sh check"]
    assert (ROOT / ".ci" / "run").read_text().rstrip().endswith("exec bash tools/setup.sh check")
    for step in (
        "venv/bin/ruff check .",
        "venv/bin/ruff format --check .",
        "venv/bin/mypy .",
        "venv/bin/python -m pytest -q",
    ):
        assert step in SETUP


def _setup_steps() -> set[str]:
    """What `step` prints in tools/setup.sh, with the preview's default stack filled in."""
    return {
        s.replace("${2:-lab}", "lab") for s in re.findall(r'^\s*step "([^"$]*(?:\$\{2:-lab\}[^"]*)?)"', SETUP, re.M)
    }


def test_what_check_prints_is_what_setup_sh_prints() -> None:
    quoted = re.findall(r"`== \[ *(?:\d+|NNN)s\] ([^`]+)`", section("Quick start"))
    assert "all checks passed" in quoted
    assert set(quoted) <= _setup_steps()
    assert "`FAILED: <steps>`" in section("Quick start") and 'echo "FAILED: ${failed[*]}"' in SETUP


def test_what_preview_prints_is_what_the_preview_prints(capsys: pytest.CaptureFixture[str]) -> None:
    """The excerpt under the commands: `== [...]` lines are setup.sh's, the others the
    preview's stdout, in order ("..." stands for lines left out)."""
    (excerpt,) = code_blocks(section("Quick start"), "text")
    assert preview(["lab"]) == 0
    printed = capsys.readouterr().out.splitlines()
    at = 0
    for line in excerpt.splitlines():
        step = re.fullmatch(r"== \[ *\d+s\] (.+)", line)
        if step:
            assert step.group(1) in _setup_steps(), line
        elif line != "...":
            assert line in printed[at:], f"the preview does not print (here): {line}"
            at = printed.index(line, at) + 1


# --- the architecture picture -------------------------------------------------

DIAGRAM_TYPE = re.compile(r"(flowchart|graph) (TB|TD|BT|RL|LR)")
NODE = re.compile(
    r"^([A-Za-z][\w-]*)(\[\(|\(\[|\[\[|\(\(|\[|\(|\{)(\"[^\"]*\"|[^\"\])}]*)(\)\]|\]\)|\]\]|\)\)|\]|\)|\})$"
)
SUBGRAPH = re.compile(r"^subgraph ([A-Za-z][\w-]*)(?:\[\"[^\"]*\"\])?$")
EDGE = re.compile(r"^([A-Za-z][\w-]*) (-->|<-->|-\.->|==>|---)(?:\|(\"[^\"]*\"|[^|\"]+)\|)? ([A-Za-z][\w-]*)$")
CLASS = re.compile(r"^class ([\w,-]+) ([A-Za-z][\w-]*)$")
CLASSDEF = re.compile(r"^classDef ([A-Za-z][\w-]*) .+$")
MAX_LABEL = 40
"""Longer labels wrap badly in GitHub's renderer."""


def diagram() -> str:
    (block,) = code_blocks(section("Architecture"), "mermaid")
    return block


def parse(block: str) -> tuple[set[str], set[str], list[tuple[str, str, str]]]:
    """(node ids, subgraph ids, edges) of a flowchart written one statement per line, as the
    README's is; any other line fails, so a typo cannot slip through as a new node."""
    lines = [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("%%")]
    assert DIAGRAM_TYPE.fullmatch(lines[0]), f"not a flowchart header: {lines[0]}"
    nodes: dict[str, str] = {}
    subgraphs: list[str] = []
    edges: list[tuple[str, str, str]] = []
    classes: set[str] = set()
    depth = 0
    for line in lines[1:]:
        if m := NODE.match(line):
            assert m.group(1) not in nodes, f"node {m.group(1)} declared twice"
            label = m.group(3).strip('"')
            assert 0 < len(label) <= MAX_LABEL, f"label too long or empty: {line}"
            nodes[m.group(1)] = label
        elif m := SUBGRAPH.match(line):
            subgraphs.append(m.group(1))
            depth += 1
        elif line == "end":
            depth -= 1
            assert depth >= 0, "`end` without `subgraph`"
        elif m := EDGE.match(line):
            edges.append((m.group(1), (m.group(3) or "").strip('"'), m.group(4)))
        elif m := CLASSDEF.match(line):
            classes.add(m.group(1))
        elif m := CLASS.match(line):
            assert m.group(2) in classes, f"class {m.group(2)} is not defined"
            assert set(m.group(1).split(",")) <= set(nodes), line
        else:
            raise AssertionError(f"not a statement this check knows: {line}")
    assert depth == 0, "a `subgraph` without `end`"
    ids = set(nodes) | set(subgraphs)
    assert not set(nodes) & set(subgraphs), "a node and a subgraph share an id"
    for source, _, target in edges:
        assert {source, target} <= ids, f"edge to an undeclared node: {source} -> {target}"
    return set(nodes), set(subgraphs), edges


def test_the_architecture_picture_is_a_well_formed_flowchart() -> None:
    nodes, _, edges = parse(diagram())
    connected = {end for source, _, target in edges for end in (source, target)}
    assert nodes <= connected, f"nodes with no flow: {sorted(nodes - connected)}"


def test_the_picture_shows_the_four_flows_and_the_namespaces() -> None:
    block = diagram()
    _, _, edges = parse(block)
    labels = " ".join(label for _, label, _ in edges)
    for flow in ("request", "spend", "metrics", "secret"):
        assert flow in labels, f"no {flow} flow"
    namespaces = re.findall(r'subgraph \w+\["namespace ([\w-]+)"\]', block)
    assert sorted(namespaces) == ["llm-gateway", "monitoring"]
    lab = (ROOT / "Pulumi.lab.yaml").read_text()
    for name in namespaces:
        assert re.search(rf"^\s+(gateway|grafana): {name}\b", lab, re.M), name


# What stands for each component LlmGateway builds (components/gateway.py). A component
# added there fails the test below until the picture, and this table, show it.
SHOWN_AS = {
    "SecretStore": "External Secrets Operator",
    "ManagedSecret": "Secret Manager",
    "Database": "PostgreSQL (CNPG)",
    "Langfuse": "Langfuse",
    "SharedState": "Memorystore Redis",
    "LiteLLM": "LiteLLM proxy",
    "Sso": "oauth2-proxy",
    "Reporting": "reporting CronJob",
    "GrafanaDatasource": "Grafana: dashboards, datasource",
    "Dashboards": "Grafana: dashboards, datasource",
    "Alerting": "alert rules and routes",
    "Tenants": "tenants reconciler",
}


def test_the_picture_shows_every_component_the_gateway_builds() -> None:
    gateway = (ROOT / "components" / "gateway.py").read_text()
    built = set(re.findall(r'(?<![.\w])([A-Z]\w*)\(\s*f"\{name\}-', gateway))
    assert built == set(SHOWN_AS), "components/gateway.py builds another set of components: update the picture"
    block = diagram()
    assert [c for c, label in SHOWN_AS.items() if f'"{label}"' not in block] == []


@pytest.mark.parametrize(
    ("broken", "why"),
    [
        ("flowchart LR\n  a[x]\n  a --> b\n", "undeclared"),
        ('flowchart LR\n  a[x]\n  subgraph s["s"]\n', "without `end`"),
        ("flowchart LR\n  a[x\n", "not a statement"),
        ("flowchart LR\n  a[x]\n  a[y]\n", "twice"),
        ("flowchart\n  a[x]\n", "header"),
        ('flowchart LR\n  a["' + "x" * 41 + '"]\n', "too long"),
    ],
)
def test_the_picture_check_catches(broken: str, why: str) -> None:
    with pytest.raises(AssertionError, match=why):
        parse(broken)
