"""Fetch, verify and re-pin the pinned external files: the charts the program installs, the CRD schemas the tests read.

The lock and the cache are `config/assets.py` (the program reads them too: every Helm
release installs its chart's tree from the cache, verified against the lock); this is the
command on top of it. A local mirror folder can stand in for the network (CI machines here
have none): `LLM_GATEWAY_ASSET_MIRROR=DIR` (or `--mirror DIR`) makes `fetch` copy each asset
from `DIR/<mirror>` (the lock's `mirror` path) instead of downloading it; `--archive
NAME=FILE` takes a chart from an archive `helm pull` wrote (charts in OCI registries, which
this command does not pull itself).

    python -m tools.assets fetch                             # fill the cache (network or mirror)
    python -m tools.assets fetch --archive NAME=FILE         # ... NAME from a pulled chart archive
    python -m tools.assets verify                            # check the cache against the lock
    python -m tools.assets list                              # the lock: name, kind, version, source
    python -m tools.assets pin NAME                          # the digest of what `fetch` brings now
    python -m tools.assets pin NAME --archive FILE --source URL --write
                                                             # re-pin NAME to a published chart archive
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from config.assets import (
    FETCH_COMMAND,
    LOCK_FILE,
    Asset,
    AssetError,
    cache_dir,
    cached_path,
    chart_metadata,
    digest,
    load_lock,
    verify,
)

MIRROR_ENV = "LLM_GATEWAY_ASSET_MIRROR"
_TIMEOUT_S = 60


def _download(url: str) -> bytes:
    if not url.startswith("https://"):
        raise AssetError(f"refusing to download {url}: only https sources are fetched")
    import urllib.request  # here: the program and the preview's renderer only verify the cache

    with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:  # noqa: S310 (https only, checked above)
        data: bytes = response.read()
    return data


def _unpack_chart(data: bytes, into: Path) -> None:
    """Unpack a chart .tgz (one top-level folder) into `into`, subchart archives too.

    A packaged chart carries its dependencies as `charts/<name>-<version>.tgz`; they are
    unpacked into `charts/<name>/`, the layout `helm template` reads and mirrors keep.
    """
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            members = [m for m in tar.getmembers() if m.isfile() or m.isdir()]
            tops = {Path(m.name).parts[0] for m in members}
            if len(tops) != 1:
                raise AssetError(f"chart archive has {len(tops)} top-level folders, expected 1")
            with tempfile.TemporaryDirectory() as tmp:
                tar.extractall(tmp, members=members, filter="data")
                shutil.copytree(Path(tmp) / tops.pop(), into)
    except tarfile.TarError as exc:
        raise AssetError(f"not a chart archive: {exc}") from exc
    for archive in sorted((into / "charts").glob("*.tgz")):
        _unpack_chart(archive.read_bytes(), into / "charts" / _chart_name(archive))
        archive.unlink()


def _chart_name(archive: Path) -> str:
    """`clickhouse-8.0.5.tgz` -> `clickhouse` (the name is everything before the version)."""
    stem = archive.name.removesuffix(".tgz")
    name, _, _version = stem.rpartition("-")
    return name or stem


def _obtain(asset: Asset, into: Path, mirror: Path | None, archive: Path | None = None) -> None:
    """Put the asset's content at `into` (a file or a folder): from `archive`, the mirror or the network."""
    note = f" ({asset.note})" if asset.note else ""
    if archive is not None:
        try:
            data = archive.read_bytes()
            if asset.kind == "chart":
                _unpack_chart(data, into)
            else:
                into.write_bytes(data)
        except (AssetError, OSError) as exc:
            raise AssetError(f"asset {asset.name}: {archive}: {exc}") from None
        return
    if mirror is not None:
        source = mirror / asset.mirror
        if not source.exists():
            raise AssetError(f"asset {asset.name}: {source} is not in the mirror {mirror}")
        if asset.kind == "file":
            shutil.copyfile(source, into)
        else:
            # Mirrors may be read-only; the cache must stay writable so a re-fetch can replace it.
            shutil.copytree(source, into, copy_function=shutil.copyfile)
            for path in [into, *into.rglob("*")]:
                if path.is_dir():
                    path.chmod(0o755)
        return
    if asset.published_url:
        raise AssetError(
            f"asset {asset.name} is not a published release{note}, so no download brings its tree: point "
            f"{MIRROR_ENV} (or --mirror) at a mirror folder holding {asset.mirror}, or swap in the published "
            "chart (docs/versions.md)"
        )
    if asset.url.startswith("oci://"):
        raise AssetError(
            f"asset {asset.name}: {asset.url} is an OCI registry, which this command does not pull: run "
            f"`{asset.helm_pull}`, then `{FETCH_COMMAND} --archive {asset.name}=<the .tgz it wrote>`; or point "
            f"{MIRROR_ENV} (or --mirror) at a mirror folder holding {asset.mirror}"
        )
    try:
        data = _download(asset.url)
    except OSError as exc:  # no network, DNS, TLS, HTTP errors (urllib's URLError is an OSError)
        raise AssetError(
            f"asset {asset.name}: cannot download {asset.url}: {getattr(exc, 'reason', None) or exc}. "
            f"Without network, point {MIRROR_ENV} (or --mirror) at a local mirror folder "
            f"holding {asset.mirror}{note}"
        ) from None
    try:
        if asset.kind == "chart":
            _unpack_chart(data, into)
            return
    except (AssetError, OSError) as exc:
        raise AssetError(f"asset {asset.name}: {exc}{note}") from exc
    into.write_bytes(data)


def _install(staged: Path, target: Path) -> None:
    """Replace the cached `target` with `staged` (same filesystem: a rename)."""
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    staged.rename(target)


def fetch(
    assets: Sequence[Asset],
    mirror: Path | None,
    log: io.TextIOBase | None = None,
    archives: Mapping[str, Path] | None = None,
) -> None:
    """Fetch every asset that is missing or stale into the cache; verify each one.

    `archives` maps an asset's name to a local archive to take it from (e.g. one `helm pull` wrote).
    """
    out = log or sys.stderr
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    archives = archives or {}
    unknown = sorted(set(archives) - {a.name for a in assets})
    if unknown:
        raise AssetError(f"--archive names no asset of assets.lock.json: {', '.join(unknown)}")
    for asset in assets:
        try:
            verify(asset)
            print(f"assets: {asset.name} {asset.version}: cached, verified", file=out)
            continue
        except AssetError:
            pass
        archive = archives.get(asset.name)
        source = archive or mirror or asset.url
        with tempfile.TemporaryDirectory(dir=root) as tmp:
            staged = Path(tmp) / asset.name
            staged.parent.mkdir(parents=True, exist_ok=True)
            print(f"assets: {asset.name} {asset.version}: fetching from {source}", file=out)
            _obtain(asset, staged, mirror, archive)
            found = digest(asset, staged)
            if found != asset.sha256:
                raise AssetError(
                    f"asset {asset.name} from {source} has sha256 {found}, "
                    f"assets.lock.json pins {asset.sha256}: refused" + (f" ({asset.note})" if asset.note else "")
                )
            _install(staged, cached_path(asset))


def repinned(entry: Mapping[str, Any], asset: Asset, found: str, staged: Path, source: str | None) -> dict[str, Any]:
    """The lock entry re-pinned to the tree at `staged` (digest `found`).

    A chart's `version` and `app_version` are read from its Chart.yaml. With `source` (where the
    published archive came from) the entry becomes that published chart: `url` is the source and
    what described the tree it replaces (`published_url`, `published_version`, `note`) goes.
    """
    new = dict(entry)
    new["sha256"] = found
    if asset.kind == "chart":
        meta = chart_metadata(staged)
        new["version"] = str(meta.get("version", ""))
        if meta.get("appVersion") is not None:
            new["app_version"] = str(meta["appVersion"])
    if source is not None:
        new["url"] = source
        for key in ("published_url", "published_version", "note"):
            new.pop(key, None)
    return new


def _archives(values: Sequence[str]) -> dict[str, Path]:
    found = {}
    for value in values:
        name, sep, file = value.partition("=")
        if not sep or not name or not file:
            raise AssetError(f"--archive {value!r}: expected NAME=FILE, e.g. chart/valkey=valkey-2.2.4.tgz")
        found[name] = Path(file)
    return found


def _pin(lock_file: Path, assets: Mapping[str, Asset], args: argparse.Namespace) -> None:
    if args.name not in assets:
        raise AssetError(f"no asset named {args.name!r} in {lock_file.name}")
    if args.source is not None and not args.source.startswith(("https://", "oci://")):
        raise AssetError(f"--source {args.source!r}: expected an https:// archive or an oci:// chart reference")
    asset = assets[args.name]
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        staged = Path(tmp) / asset.name
        staged.parent.mkdir(parents=True, exist_ok=True)
        _obtain(asset, staged, args.mirror or _mirror_from_env(), args.archive)
        found = digest(asset, staged)
        raw = json.loads(lock_file.read_text(encoding="utf-8"))
        entries = raw["assets"]
        index = next(i for i, entry in enumerate(entries) if entry["name"] == asset.name)
        entries[index] = repinned(entries[index], asset, found, staged, args.source)
        now = entries[index]
        same = "the lock's pin" if found == asset.sha256 else f"the lock pins {asset.sha256}"
        print(f"{asset.name} {found} (version {now['version']}; {same})")
        if args.write:
            lock_file.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
            _install(staged, cached_path(asset))
            print(f"wrote {lock_file.name} and the cache ({cached_path(asset)}): review the preview diff")


def _mirror_from_env() -> Path | None:
    value = os.environ.get(MIRROR_ENV)
    return Path(value) if value else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.assets", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_fetch = sub.add_parser("fetch", help="fetch missing or stale assets into the cache and verify them")
    p_fetch.add_argument(
        "--mirror", type=Path, help=f"a local mirror folder (default: ${MIRROR_ENV}, else the network)"
    )
    p_fetch.add_argument(
        "--archive",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="take the chart NAME from this archive (e.g. what `helm pull` wrote); verified like any fetch",
    )
    sub.add_parser("verify", help="check every cached asset against the lock")
    sub.add_parser("list", help="print the lock: name, kind, version, source")
    p_pin = sub.add_parser("pin", help="print the digest of what `fetch` would bring for NAME (or of --archive)")
    p_pin.add_argument("name")
    p_pin.add_argument("--mirror", type=Path)
    p_pin.add_argument("--archive", type=Path, help="a chart archive to pin instead (e.g. what `helm pull` wrote)")
    p_pin.add_argument(
        "--source",
        help="where that archive is published (https:// archive or oci:// reference): becomes the entry's url, "
        "and the entry stops saying it stands in for a published chart",
    )
    p_pin.add_argument(
        "--write", action="store_true", help="also rewrite the entry in assets.lock.json and put the tree in the cache"
    )
    args = parser.parse_args(argv)
    try:
        assets = load_lock(LOCK_FILE)
        if args.command == "fetch":
            fetch(list(assets.values()), args.mirror or _mirror_from_env(), archives=_archives(args.archive))
        elif args.command == "verify":
            for asset in assets.values():
                verify(asset)
            print(f"assets: {len(assets)} verified in {cache_dir()}")
        elif args.command == "list":
            for a in assets.values():
                print(f"{a.name}\t{a.kind}\t{a.version}\t{a.url}")
        else:
            _pin(LOCK_FILE, assets, args)
    except AssetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
