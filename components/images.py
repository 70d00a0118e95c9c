"""Every container image in a set of rendered Kubernetes objects, where each is set, and what is wrong
with it (pure: no Pulumi calls, no rendering).

The objects are what a stack deploys: the program's own (CNPG `Cluster`, CronJobs...) and each Helm
release rendered through its locked chart (subcharts included). An image is any `image`/`imageName`
string in an object (pods, pod templates, operator CRs such as CNPG's `Cluster.spec.imageName`), or an
`image` map of `repository` and `tag` (the ClickHouse operator's CRs). `tools/versions.py` prints the
table (docs/versions.md, "Images in the rendered objects"); tests/program/test_images.py checks it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config import StackConfig
from config.provenance import BITNAMI_REFUSAL, PATCH_CHECKS, is_bitnami

ROOT = Path(__file__).resolve().parent.parent
IMAGE_KEYS = frozenset({"image", "imageName"})
PROGRAM = "program"
"""The origin of the program's own objects (a chart object's origin is its release)."""


@dataclass(frozen=True)
class ImageUse:
    """One image in one field of one rendered object."""

    image: str
    origin: str
    """`program`, or the Helm release that rendered the object."""
    kind: str
    name: str
    field: str
    """Where in the object, e.g. `spec.template.spec.containers[0].image`."""
    source: str = ""
    """The chart template that rendered it (`langfuse/charts/redis/templates/...`); empty for the program."""

    @property
    def ref(self) -> str:
        where = "program" if self.origin == PROGRAM else f"chart:{self.origin}"
        return f"{where} {self.kind}/{self.name}"


def _walk(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            if key in IMAGE_KEYS and isinstance(value, str):
                yield here, value
            elif key == "image" and isinstance(value, dict) and isinstance(value.get("repository"), str):
                tag = value.get("tag")
                yield here, f"{value['repository']}:{tag}" if tag not in (None, "") else value["repository"]
            else:
                yield from _walk(value, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


def object_images(body: Mapping[str, Any], origin: str, source: str = "") -> list[ImageUse]:
    """Every image the object names (status left out: it reports, it does not set)."""
    meta = body.get("metadata") or {}
    kind, name = str(body.get("kind", "")), str(meta.get("name", ""))
    spec = {k: v for k, v in body.items() if k not in ("status", "metadata")}
    return [ImageUse(image, origin, kind, name, field, source) for field, image in _walk(spec, "")]


def split_image(image: str) -> tuple[str, str, str]:
    """`repository`, `tag` ("" when none) and `digest` ("" when none) of an image reference."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repository, _, tag = name.rpartition(":")
        return repository, tag, digest
    return name, "", digest


def image_problems(image: str) -> list[str]:
    """Why `image` may not run: no explicit tag or digest (the runtime would pull `latest`), the tag
    `latest`, or a Bitnami repository."""
    repository, tag, digest = split_image(image)
    problems = []
    if not tag and not digest:
        problems.append("no explicit tag or digest (pulls `latest`, whatever that is today)")
    if tag == "latest":
        problems.append("the tag `latest` names no version")
    if is_bitnami(repository):
        problems.append(BITNAMI_REFUSAL)
    return problems


@dataclass(frozen=True)
class ImageRow:
    """One image of the table: which stacks and objects run it, where it is set, when its patch was checked."""

    image: str
    stacks: tuple[str, ...]
    objects: tuple[str, ...]
    set_in: str
    checked: str


def where_set(use: ImageUse, settings: Mapping[str, str], charts: Mapping[str, str]) -> str:
    """`settings`: image -> the setting that holds it (`Pulumi.lab.yaml: litellm.image`); `charts`: release ->
    its locked chart (`chart/langfuse 1.5.41`). An image no setting holds is the chart's default."""
    if use.image in settings:
        return settings[use.image]
    if use.origin == PROGRAM:
        return "the program (no setting holds it)"
    return f"`{charts.get(use.origin, use.origin)}` default (`{use.source}`)"


def patch_check(image: str) -> str:
    """The recorded check of the newest patch of the image's major, if its repository has one."""
    repository, tag, _ = split_image(image)
    for check in PATCH_CHECKS:
        if check.repository == repository:
            major = re.match(r"v?(\d+)", tag)
            return f"{check.checked}: newest {major.group(1) if major else '?'}.x is {check.newest} ({check.how})"
    return ""


def image_rows(
    uses: Mapping[str, Iterable[ImageUse]], settings: Mapping[str, Mapping[str, str]], charts: Mapping[str, str]
) -> list[ImageRow]:
    """The table: one row per image over every stack (`uses`: stack -> its image uses; `settings`: stack ->
    image -> setting), by image."""
    stacks: dict[str, list[str]] = {}
    objects: dict[str, list[str]] = {}
    set_in: dict[str, list[str]] = {}
    for stack, found in uses.items():
        # by object, the program's first: the order in which a run registers them varies
        for use in sorted(found, key=lambda u: (not u.ref.startswith("program "), u.ref)):
            for seen, value in ((stacks, stack), (objects, use.ref), (set_in, where_set(use, settings[stack], charts))):
                if value not in seen.setdefault(use.image, []):
                    seen[use.image].append(value)
    return [
        ImageRow(image, tuple(stacks[image]), tuple(objects[image]), "; ".join(set_in[image]), patch_check(image))
        for image in sorted(stacks)
    ]


# --- where a value is set: the stack file, else the config default ---------------------------------


def config_value(node: Any, dotted: str) -> Any:
    """The value at `dotted` in a parsed config or a raw stack mapping; None when unset."""
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else getattr(node, part, None)
        if node is None:
            return None
    return node


def setting_source(cfg: StackConfig, raw: Mapping[str, Any], stack: str, dotted: str) -> str:
    """`Pulumi.<stack>.yaml: `key`` when the stack file sets it, else the config module of its default."""
    if config_value(dict(raw), dotted) is not None:
        return f"Pulumi.{stack}.yaml: `{dotted}`"
    parent = config_value(cfg, dotted.rsplit(".", 1)[0])
    return f"{Path(inspect.getfile(type(parent))).relative_to(ROOT).as_posix()} (default): `{dotted}`"


def leaves(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (dotted path, value) under a nested mapping, such as a config's `model_dump()`."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, f"{path}.{key}" if path else str(key))
    else:
        yield path, node


def image_settings(cfg: StackConfig, raw: Mapping[str, Any], stack: str, images: set[str]) -> dict[str, str]:
    """Image -> the first setting of the stack (file or default) whose value it is."""
    found: dict[str, str] = {}
    for path, value in leaves(cfg.model_dump()):
        if isinstance(value, str) and value in images and value not in found:
            found[value] = setting_source(cfg, raw, stack, path)
    return found


def image_table(rows: Iterable[ImageRow]) -> list[str]:
    """docs/versions.md's image section."""
    lines = [
        "",
        "## Images in the rendered objects",
        "",
        "Every image of every object the shipped stacks deploy: the program's own objects and each Helm release",
        "rendered through its locked chart (subcharts included; `helm test` pods are not rendered, as with",
        "`helm template --skip-tests`: only `helm test` creates them). `tests/program/test_images.py` refuses an",
        "image missing here, one without an explicit tag or digest, the tag `latest`, and Bitnami repositories.",
        "",
        "| image | stacks | objects | set in | newest patch checked |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        objects = ", ".join(row.objects)
        lines.append(f"| `{row.image}` | {', '.join(row.stacks)} | {objects} | {row.set_in} | {row.checked} |")
    return lines
