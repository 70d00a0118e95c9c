"""The asset lock (`assets.lock.json`) and the verified cache: what the program installs and the tests read.

Every asset (a Helm chart the program installs, an upstream CRD schema the tests read) is
pinned in `assets.lock.json` by its source and a sha256, fetched once into a git-ignored
cache (`python -m tools.assets fetch`) and verified against the lock before use. A file
asset's digest is the sha256 of its bytes; a chart's is the sha256 of its file tree (every
regular file's relative path and sha256, sorted), so a chart hashes the same whether it
came from a `.tgz` release or from an unpacked mirror. The cache keeps charts unpacked,
and that tree is what both the preview's renderer and Helm (`helm.v3.Release` with a local
chart path) read: the digest the lock holds is the digest of what is installed.

The bottom of the config floor: the standard library and PyYAML only, so the program
(components/), the section models (chart versions) and the commands in tools/ share it.
`tools/assets.py` fetches and re-pins on top of it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from config.endpoints import CHART, insecure_http
from config.provenance import BITNAMI_REFUSAL, is_bitnami

ROOT = Path(__file__).resolve().parent.parent
LOCK_FILE = ROOT / "assets.lock.json"
CACHE_ENV = "LLM_GATEWAY_ASSET_CACHE"
FETCH_COMMAND = "python -m tools.assets fetch"
DEFAULT_CACHE = Path(".cache") / "assets"
"""The cache, relative to the project root (where Pulumi runs the program and its providers)."""

# The charts the program installs, by their names in the lock (one place for each).
LITELLM_CHART = "chart/litellm-helm"
LANGFUSE_CHART = "chart/langfuse"
"""Langfuse v3: the langfuse 1.5.x chart."""
LANGFUSE_V4_CHART = "chart/langfuse-v4"
"""Langfuse v4: the langfuse 2.x chart."""
OAUTH2_PROXY_CHART = "chart/oauth2-proxy"
VALKEY_CHART = "chart/valkey"


class AssetError(Exception):
    """A missing, tampered, unfetchable or uninstallable asset; the message is one line."""


@dataclass(frozen=True)
class Asset:
    """One entry of `assets.lock.json`."""

    name: str
    kind: Literal["file", "chart"]
    version: str
    """A chart's `version` in its Chart.yaml (what Helm records for the release); a file's upstream tag."""
    url: str
    """Where the bytes come from: an https file or chart archive, or an `oci://` chart reference."""
    sha256: str
    mirror: str
    """The asset's path in a mirror folder (`LLM_GATEWAY_ASSET_MIRROR`)."""
    note: str = ""
    app_version: str = ""
    """A chart's `appVersion` in its Chart.yaml."""
    published_url: str = ""
    """Set when the pinned chart tree is not byte-identical to a published release: the published
    chart it stands in for (`oci://` reference or https archive), what `helm pull` fetches."""
    published_version: str = ""
    """The version of that published chart (`helm pull ... --version`)."""
    allow_insecure_http: bool = False
    """Accept a plain-http `url` or `published_url` to a non-local host (config/endpoints.py)."""

    @property
    def helm_pull(self) -> str:
        """The `helm pull` command that fetches the published chart this entry is (or stands in for)."""
        url = self.published_url or self.url
        version = self.published_version or self.version
        return f"helm pull {url} --version {version}" if url.startswith("oci://") else f"helm pull {url}"


def load_lock(path: Path = LOCK_FILE) -> dict[str, Asset]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        assets = {entry["name"]: Asset(**entry) for entry in data["assets"]}
    except json.JSONDecodeError as exc:
        raise AssetError(f"{path.name}, line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise AssetError(f"{path.name}: every entry of 'assets' needs exactly the fields of an asset ({exc})") from None
    problems = [
        f"{name}.{field}: {problem}"
        for name, asset in assets.items()
        for field in ("url", "published_url")
        if not asset.allow_insecure_http and (problem := insecure_http(getattr(asset, field), CHART))
    ]
    if problems:
        raise AssetError(f"{path.name}: " + "; ".join(problems))
    return assets


@cache
def locked(name: str) -> Asset:
    """The lock's entry `name` (the lock is read once per process)."""
    assets = _lock()
    if name not in assets:
        raise AssetError(f"no asset named {name!r} in {LOCK_FILE.name}")
    return assets[name]


@cache
def _lock() -> dict[str, Asset]:
    return load_lock()


def cache_dir() -> Path:
    """The cache this process uses: `LLM_GATEWAY_ASSET_CACHE`, else `.cache/assets` in the project."""
    return Path(os.environ.get(CACHE_ENV) or ROOT / DEFAULT_CACHE)


def cached_path(asset: Asset, root: Path | None = None) -> Path:
    return (root or cache_dir()) / asset.name


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_digest(root: Path) -> str:
    """sha256 over `<relative path> <sha256>` lines of every regular file, sorted."""
    lines = sorted(f"{p.relative_to(root).as_posix()} {file_digest(p)}\n" for p in root.rglob("*") if p.is_file())
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def digest(asset: Asset, path: Path) -> str:
    return file_digest(path) if asset.kind == "file" else tree_digest(path)


def verify(asset: Asset, root: Path | None = None) -> Path:
    """The cached asset's path, after checking it against the lock."""
    path = cached_path(asset, root)
    present = path.is_file() if asset.kind == "file" else path.is_dir()
    if not present:
        raise AssetError(f"asset {asset.name} {asset.version} is not in {path.parent}: run `{FETCH_COMMAND}`")
    found = digest(asset, path)
    if found != asset.sha256:
        raise AssetError(
            f"asset {asset.name} in {path} does not match assets.lock.json "
            f"(sha256 {found[:12]}…, pinned {asset.sha256[:12]}…): delete it and run `{FETCH_COMMAND}`"
        )
    return path


@cache
def asset_path(name: str) -> Path:
    """Path of a verified asset in the cache (verified once per process)."""
    return verify(locked(name))


# --- charts ----------------------------------------------------------------------------


def chart_metadata(tree: Path) -> dict[str, Any]:
    """A chart tree's Chart.yaml."""
    data = yaml.safe_load((tree / "Chart.yaml").read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise AssetError(f"{tree / 'Chart.yaml'} is not a mapping")
    return data


def missing_subcharts(tree: Path) -> list[str]:
    """The dependencies of the chart's Chart.yaml that its `charts/` folder does not hold.

    Helm refuses to install such a chart ("found in Chart.yaml, but missing in charts/
    directory"), whatever the dependencies' conditions say; `helm template` through the
    preview's renderer does not check, so only this tells before `pulumi up`.
    """
    wanted = [str(d.get("name", "")) for d in chart_metadata(tree).get("dependencies") or [] if isinstance(d, dict)]
    folder = tree / "charts"
    held = sorted(folder.iterdir()) if folder.is_dir() else []
    present = {chart_metadata(p).get("name") for p in held if (p / "Chart.yaml").is_file()}
    present |= {p.name.removesuffix(".tgz").rpartition("-")[0] for p in held if p.name.endswith(".tgz")}
    return [name for name in wanted if name not in present]


@dataclass(frozen=True)
class LockedChart:
    """A pinned chart as a Helm release installs it: the cached tree's path and the lock's digest."""

    asset: str
    version: str
    sha256: str
    path: str
    """The tree in the cache, relative to the project root (Pulumi runs the program and the
    Kubernetes provider there), or absolute when the cache is elsewhere."""

    @property
    def description(self) -> str:
        """The release's Helm description: which locked tree, so `helm history` and the preview diff show it."""
        return f"{self.asset} {self.version} tree-sha256:{self.sha256} (assets.lock.json)"


def release_path(asset: Asset, root: Path | None = None) -> str:
    """Where Helm reads the chart: `root` (default: the cache in use) `/<name>`, project-relative if inside it."""
    path = cached_path(asset, root or cache_dir())
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def locked_chart(name: str, root: Path | None = None) -> LockedChart:
    """The locked chart `name` as a release names it (from the lock alone; `chart_problems` checks the cache)."""
    asset = locked(name)
    if asset.kind != "chart":
        raise AssetError(f"asset {name} in {LOCK_FILE.name} is a {asset.kind}, not a chart")
    return LockedChart(name, asset.version, asset.sha256, release_path(asset, root))


def chart_problems(name: str) -> list[str]:
    """Why Helm could not install exactly the locked chart `name` from the cache in use (empty: it can),
    or why it must not (a chart reference in a Bitnami repository)."""
    try:
        asset = locked(name)
    except AssetError as exc:
        return [str(exc)]
    refused = [
        f"{LOCK_FILE.name} {name} {key} {ref!r}: {BITNAMI_REFUSAL}"
        for key, ref in (("url", asset.url), ("published_url", asset.published_url))
        if is_bitnami(ref)
    ]
    try:
        tree = verify(asset)
    except AssetError as exc:
        return [*refused, str(exc)]
    if refused:
        return refused
    missing = missing_subcharts(tree)
    if not missing:
        return []
    swap = (
        f"swap in the published chart ({asset.helm_pull}; docs/versions.md says how)"
        if asset.published_url
        else f"re-pin it from its published archive ({asset.helm_pull})"
    )
    return [
        f"chart {name} {asset.version} in {tree} cannot be installed: its Chart.yaml declares the subcharts "
        f"{', '.join(missing)}, which its charts/ folder does not hold, and Helm refuses that; {swap}"
    ]


def matches_lock(name: str) -> Callable[[str], str]:
    """A field validator: a stack file's chart version may only restate the locked chart's version."""

    def check(version: str) -> str:
        asset = locked(name)
        if version != asset.version:
            published = (
                f", not a published release: it stands in for {asset.published_url} {asset.published_version}"
                if asset.published_url
                else ""
            )
            raise ValueError(
                f"is not the version of the chart the release installs: assets.lock.json pins {name} "
                f"{asset.version}{published} (docs/versions.md); delete the key (the lock decides) or re-pin the "
                "chart (python -m tools.assets pin)"
            )
        return version

    return check


def restated_chart_version(name: str) -> Any:
    """The optional `chart_version` field of a release's section: it may only restate the version of
    the locked chart `name` (`matches_lock` on the field's type checks it)."""
    from pydantic import Field  # here: the cache and the lock need no pydantic

    return Field(
        default=None,
        description=(
            f"Optional: restates the version of the chart the release installs, `{name}` in "
            "assets.lock.json (docs/versions.md); refused when it differs. Unset: the lock decides."
        ),
    )
