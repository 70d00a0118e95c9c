"""Pinned external files the tests and the preview use: fetch, verify, locate.

Every asset (an upstream CRD manifest, a Helm chart) is pinned in `assets.lock.json`
by its source URL and a sha256, fetched once into a git-ignored cache, and verified
against the lock every time a process first uses it. A file asset's digest is the
sha256 of its bytes; a chart's digest is the sha256 of its file tree (every regular
file's relative path and sha256, sorted), so the same chart hashes the same whether it
came from a `.tgz` release or from an unpacked mirror.

A local mirror folder can stand in for the network (CI machines here have none):
`LLM_GATEWAY_ASSET_MIRROR=DIR` makes `fetch` copy each asset from `DIR/<mirror>`
(the lock's `mirror` path) instead of downloading it.

    python -m tools.assets fetch              # fill the cache (network or mirror)
    python -m tools.assets verify             # check the cache against the lock
    python -m tools.assets pin NAME --write   # re-pin NAME to what `fetch` brings now
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent.parent
LOCK_FILE = ROOT / "assets.lock.json"
MIRROR_ENV = "LLM_GATEWAY_ASSET_MIRROR"
CACHE_ENV = "LLM_GATEWAY_ASSET_CACHE"
FETCH_COMMAND = "python -m tools.assets fetch"
_TIMEOUT_S = 60


class AssetError(Exception):
    """A missing, tampered or unfetchable asset; the message is one line."""


@dataclass(frozen=True)
class Asset:
    name: str
    kind: Literal["file", "chart"]
    version: str
    url: str
    sha256: str
    mirror: str
    note: str = ""


def load_lock(path: Path = LOCK_FILE) -> dict[str, Asset]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {entry["name"]: Asset(**entry) for entry in data["assets"]}
    except json.JSONDecodeError as exc:
        raise AssetError(f"{path.name}, line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise AssetError(f"{path.name}: every entry of 'assets' needs exactly the fields of an asset ({exc})") from None


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or ROOT / ".cache" / "assets")


def _cached(asset: Asset, root: Path | None = None) -> Path:
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
    path = _cached(asset, root)
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
    assets = load_lock()
    if name not in assets:
        raise AssetError(f"no asset named {name!r} in assets.lock.json")
    return verify(assets[name])


def _download(url: str) -> bytes:
    if not url.startswith("https://"):
        raise AssetError(f"refusing to download {url}: only https sources are fetched")
    import urllib.request  # here: the preview's chart renderer only verifies the cache

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


def _obtain(asset: Asset, into: Path, mirror: Path | None) -> None:
    """Put the asset's content at `into` (a file or a folder), from the mirror or the network."""
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
    note = f" ({asset.note})" if asset.note else ""
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


def fetch(assets: Sequence[Asset], mirror: Path | None, log: io.TextIOBase | None = None) -> None:
    """Fetch every asset that is missing or stale into the cache; verify each one."""
    out = log or sys.stderr
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    for asset in assets:
        try:
            verify(asset)
            print(f"assets: {asset.name} {asset.version}: cached, verified", file=out)
            continue
        except AssetError:
            pass
        target = _cached(asset)
        with tempfile.TemporaryDirectory(dir=root) as tmp:
            staged = Path(tmp) / asset.name
            staged.parent.mkdir(parents=True, exist_ok=True)
            print(f"assets: {asset.name} {asset.version}: fetching from {mirror or asset.url}", file=out)
            _obtain(asset, staged, mirror)
            found = digest(asset, staged)
            if found != asset.sha256:
                raise AssetError(
                    f"asset {asset.name} from {mirror or asset.url} has sha256 {found}, "
                    f"assets.lock.json pins {asset.sha256}: refused" + (f" ({asset.note})" if asset.note else "")
                )
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            target.parent.mkdir(parents=True, exist_ok=True)
            staged.rename(target)


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
    sub.add_parser("verify", help="check every cached asset against the lock")
    sub.add_parser("list", help="print the lock: name, kind, version, source")
    p_pin = sub.add_parser("pin", help="print the digest of what `fetch` would bring for NAME")
    p_pin.add_argument("name")
    p_pin.add_argument("--mirror", type=Path)
    p_pin.add_argument("--write", action="store_true", help="also rewrite assets.lock.json with it")
    args = parser.parse_args(argv)
    try:
        assets = load_lock()
        if args.command == "fetch":
            fetch(list(assets.values()), args.mirror or _mirror_from_env())
        elif args.command == "verify":
            for asset in assets.values():
                verify(asset)
            print(f"assets: {len(assets)} verified in {cache_dir()}")
        elif args.command == "list":
            for a in assets.values():
                print(f"{a.name}\t{a.kind}\t{a.version}\t{a.url}")
        else:
            if args.name not in assets:
                raise AssetError(f"no asset named {args.name!r} in assets.lock.json")
            asset = assets[args.name]
            with tempfile.TemporaryDirectory() as tmp:
                staged = Path(tmp) / asset.name
                staged.parent.mkdir(parents=True, exist_ok=True)
                _obtain(asset, staged, args.mirror or _mirror_from_env())
                found = digest(asset, staged)
            print(f"{asset.name} {found}")
            if args.write:
                raw = json.loads(LOCK_FILE.read_text(encoding="utf-8"))
                for entry in raw["assets"]:
                    if entry["name"] == asset.name:
                        entry["sha256"] = found
                LOCK_FILE.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
    except AssetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
