"""The pinned-asset cache: what the tests read is exactly what the lock pins."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tools import assets
from tools.assets import Asset, AssetError, load_lock


def _chart_tgz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_lock_pins_every_asset_by_https_source_and_sha256() -> None:
    lock = load_lock()
    assert len(lock) >= 15
    for asset in lock.values():
        assert asset.url.startswith("https://"), asset.name
        assert re.fullmatch(r"[0-9a-f]{64}", asset.sha256), asset.name


def test_every_cached_asset_matches_the_lock() -> None:
    for asset in load_lock().values():
        try:
            assets.verify(asset)
        except AssetError as exc:
            pytest.fail(str(exc), pytrace=False)


def test_a_tampered_asset_is_refused_with_the_fetch_command(tmp_path: Path) -> None:
    asset = load_lock()["crd/eso-externalsecrets"]
    copy = tmp_path / asset.name
    copy.parent.mkdir(parents=True)
    shutil.copyfile(assets.verify(asset), copy)
    assert assets.verify(asset, root=tmp_path) == copy
    copy.write_text(copy.read_text().replace("type: string", "type: integer", 1))
    with pytest.raises(AssetError) as err:
        assets.verify(asset, root=tmp_path)
    message = str(err.value)
    assert "\n" not in message
    assert assets.FETCH_COMMAND in message
    assert "does not match assets.lock.json" in message


def test_a_missing_asset_names_the_fetch_command(tmp_path: Path) -> None:
    asset = load_lock()["chart/langfuse"]
    with pytest.raises(AssetError, match=re.escape(assets.FETCH_COMMAND)):
        assets.verify(asset, root=tmp_path)


def test_fetch_refuses_a_tampered_mirror_and_keeps_the_cache_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset = load_lock()["chart/oauth2-proxy"]
    mirror = tmp_path / "mirror"
    shutil.copytree(assets.verify(asset), mirror / asset.mirror)
    (mirror / asset.mirror / "values.yaml").write_text("image: {tag: latest}\n")
    monkeypatch.setenv(assets.CACHE_ENV, str(tmp_path / "cache"))
    with pytest.raises(AssetError, match="refused"):
        assets.fetch([asset], mirror, log=io.StringIO())
    assert not (tmp_path / "cache" / asset.name).exists()


def test_a_packaged_chart_hashes_like_its_unpacked_mirror(tmp_path: Path) -> None:
    """A release .tgz (subcharts packaged inside) and a mirror (subcharts unpacked) get one digest."""
    sub = _chart_tgz({"valkey/Chart.yaml": b"name: valkey\n", "valkey/values.yaml": b"a: 1\n"})
    release = _chart_tgz({"app/Chart.yaml": b"name: app\n", "app/charts/valkey-2.2.4.tgz": sub})
    mirror = tmp_path / "mirror" / "app"
    (mirror / "charts" / "valkey").mkdir(parents=True)
    (mirror / "Chart.yaml").write_bytes(b"name: app\n")
    (mirror / "charts" / "valkey" / "Chart.yaml").write_bytes(b"name: valkey\n")
    (mirror / "charts" / "valkey" / "values.yaml").write_bytes(b"a: 1\n")
    unpacked = tmp_path / "unpacked"
    assets._unpack_chart(release, unpacked)
    assert assets.tree_digest(unpacked) == assets.tree_digest(mirror)
    pinned = Asset("chart/app", "chart", "1", "https://example.invalid/app.tgz", assets.tree_digest(mirror), "app")
    monkeypatch_root = tmp_path / "cache"
    (monkeypatch_root / "chart").mkdir(parents=True)
    shutil.copytree(unpacked, monkeypatch_root / "chart" / "app")
    assert assets.verify(pinned, root=monkeypatch_root).name == "app"


def test_no_tracked_file_reads_a_path_outside_the_repository() -> None:
    pattern = r"(\.\./shared|parent / \"shared\"|\"shared\" / |/work/)"
    found = subprocess.run(
        ["git", "grep", "-nE", pattern, "--", "tests", "tools", "components", "dashboards", ".github", "*.py"],
        cwd=assets.ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    hits = [line for line in found.stdout.splitlines() if not line.startswith("tests/tools/test_assets.py:")]
    assert not hits, hits


def test_an_unreachable_source_names_the_mirror_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without network `fetch` says how to go on without it (LLM_GATEWAY_ASSET_MIRROR), in one line."""
    monkeypatch.setenv(assets.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(assets.MIRROR_ENV, raising=False)
    for proxy in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    unreachable = Asset("crd/nowhere", "file", "1", "https://127.0.0.1:9/nowhere.yaml", "0" * 64, "crds/nowhere.yaml")
    with pytest.raises(AssetError) as err:
        assets.fetch([unreachable], None, log=io.StringIO())
    message = str(err.value)
    assert "\n" not in message and "urlopen error" not in message
    assert "cannot download https://127.0.0.1:9/nowhere.yaml" in message
    assert f"point {assets.MIRROR_ENV} (or --mirror) at a local mirror folder holding crds/nowhere.yaml" in message
