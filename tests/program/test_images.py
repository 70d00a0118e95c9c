"""Every image of every object a shipped stack deploys (its own objects and each release rendered through
its locked chart, subcharts and operator CRs included) is listed in docs/versions.md, with an explicit tag
or digest, never `latest`, never from a Bitnami repository (components/images.py finds them)."""

from __future__ import annotations

import re
from functools import cache

import pytest

from components.images import PROGRAM, ImageUse, image_problems, image_rows, object_images, split_image
from offline.stackfile import STACKS
from tests.support import ROOT
from tests.support.program import run_scenario
from tests.support.rendered import deployed


@cache
def _uses(stack: str) -> tuple[ImageUse, ...]:
    d = deployed(run_scenario(stack))
    return tuple(
        use
        for o in d.objects
        for use in object_images(o.body, PROGRAM if o.origin == PROGRAM else o.origin.removeprefix("chart:"), o.source)
    )


def _table() -> dict[str, str]:
    """The rows of docs/versions.md "Images in the rendered objects": image -> the whole row."""
    text = (ROOT / "docs" / "versions.md").read_text(encoding="utf-8")
    match = re.search(r"^## Images in the rendered objects\n(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    assert match, "docs/versions.md has no image table"
    return {m.group(1): line for line in match.group(1).splitlines() if (m := re.match(r"^\| `([^`]+)` \|", line))}


def _problems(uses: tuple[ImageUse, ...]) -> list[str]:
    found = []
    for use in uses:
        problems = image_problems(use.image)
        found += [f"{use.ref} {use.field}: {use.image}: {p}" for p in problems]
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_every_rendered_image_is_in_the_table(stack: str) -> None:
    uses = _uses(stack)
    assert {u.origin for u in uses} > {PROGRAM}, "no chart object found: the renderer did not run"
    missing = sorted({u.image for u in uses} - _table().keys())
    assert missing == [], "not in docs/versions.md (run `python -m tools.versions --write`)"


@pytest.mark.parametrize("stack", STACKS)
def test_no_rendered_image_is_unpinned_latest_or_bitnami(stack: str) -> None:
    assert _problems(_uses(stack)) == []


def test_each_row_says_where_its_image_is_set_and_cnpgs_when_it_was_checked() -> None:
    table = _table()
    cells = {image: [c.strip() for c in line.strip().strip("|").split("|")] for image, line in table.items()}
    assert {image: row for image, row in cells.items() if len(row) != 5 or not all(row[:4])} == {}
    cnpg = [line for image, line in table.items() if split_image(image)[0] == "ghcr.io/cloudnative-pg/postgresql"]
    assert cnpg and all("`postgres.cnpg.image`" in line and "2026-12-07: newest 17.x is 17.11" in line for line in cnpg)


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("busybox", "no explicit tag or digest"),
        ("registry.example.com:5000/tools/busybox", "no explicit tag or digest"),
        ("docker.io/library/busybox:latest", "the tag `latest`"),
        ("docker.io/bitnamilegacy/kubectl:1.29.2-debian-12-r3", "Bitnami"),
        ("Docker.io/Bitnami/valkey:8.0.2", "Bitnami"),
    ],
)
def test_the_check_refuses_each_case(image: str, problem: str) -> None:
    assert any(problem in p for p in image_problems(image)), image


@pytest.mark.parametrize(
    "image",
    [
        "langfuse/langfuse:3.224.1",
        "registry.example.com:5000/tools/busybox:1.36.1",
        "ghcr.io/acme/tool@sha256:" + "ab" * 32,
        "ghcr.io/cloudnative-pg/postgresql:17.11-standard-trixie@sha256:" + "ab" * 32,
    ],
)
def test_the_check_accepts_a_tag_or_a_digest(image: str) -> None:
    assert image_problems(image) == []


def test_images_are_found_in_pods_templates_and_operator_resources() -> None:
    pod = {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"initContainers": [{"image": "a:1"}], "containers": []}}
    cronjob = {
        "kind": "CronJob",
        "metadata": {"name": "c"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"image": "b:2"}]}}}}},
    }
    cluster = {"kind": "Cluster", "metadata": {"name": "pg"}, "spec": {"imageName": "c:3"}, "status": {"image": "z:9"}}
    clickhouse = {
        "kind": "ClickHouseCluster",
        "metadata": {"name": "ch"},
        "spec": {"containerTemplate": {"image": {"repository": "clickhouse/clickhouse-server", "tag": "26.4"}}},
    }
    keeper = {"kind": "KeeperCluster", "metadata": {"name": "k"}, "spec": {"containerTemplate": {"image": {}}}}
    found = {u.image: u.field for body in (pod, cronjob, cluster, clickhouse, keeper) for u in object_images(body, "x")}
    assert found == {
        "a:1": "spec.initContainers[0].image",
        "b:2": "spec.jobTemplate.spec.template.spec.containers[0].image",
        "c:3": "spec.imageName",
        "clickhouse/clickhouse-server:26.4": "spec.containerTemplate.image",
    }
    untagged = {"kind": "KeeperCluster", "metadata": {"name": "k"}, "spec": {"image": {"repository": "keeper"}}}
    assert [u.image for u in object_images(untagged, "x")] == ["keeper"]  # then refused: no tag


def test_the_table_does_not_depend_on_the_order_a_run_registers_objects() -> None:
    """A Job whose name waits on an Output registers after the CronJob in one run and before it in
    another: the table lists both the same way (docs/versions.md once flipped between CI runs)."""
    image = "ghcr.io/berriai/litellm-non_root:v1.108.7"
    uses = [
        ImageUse(image, "program", "Job", "litellm-tenants-0a1b", "spec.template.spec.containers[0].image"),
        ImageUse(
            image, "program", "CronJob", "litellm-tenants", "spec.jobTemplate.spec.template.spec.containers[0].image"
        ),
        ImageUse(image, "litellm", "Deployment", "litellm", "spec.template.spec.containers[0].image", "litellm/x.yaml"),
    ]
    settings = {"lab": {image: "Pulumi.lab.yaml: `litellm.image`"}}
    forward = image_rows({"lab": uses}, settings, {})
    assert forward == image_rows({"lab": list(reversed(uses))}, settings, {})
    assert forward[0].objects[-1].startswith("chart:"), "the program's own objects come first"
