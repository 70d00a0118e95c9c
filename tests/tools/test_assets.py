"""The pinned-asset cache: what the tests read is exactly what the lock pins."""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import tarfile
from pathlib import Path

import pytest

from config import ConfigError, parse_config
from config import assets as config_assets
from config.assets import Asset, AssetError, chart_metadata, load_lock, missing_subcharts
from tests.support import FIRST_PARTY, captured
from tests.support.config import namespace
from tools import assets


def _chart_tgz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_lock_pins_every_asset_by_source_and_sha256() -> None:
    """https for files and chart archives; a chart may come from an OCI registry (`helm pull`)."""
    lock = load_lock()
    assert len(lock) >= 15
    for asset in lock.values():
        schemes = ("https://", "oci://") if asset.kind == "chart" else ("https://",)
        assert asset.url.startswith(schemes), asset.name
        assert re.fullmatch(r"[0-9a-f]{64}", asset.sha256), asset.name
        assert bool(asset.published_url) == bool(asset.published_version), asset.name


def test_every_cached_asset_matches_the_lock() -> None:
    for asset in load_lock().values():
        try:
            config_assets.verify(asset)
        except AssetError as exc:
            pytest.fail(str(exc), pytrace=False)


def test_a_tampered_asset_is_refused_with_the_fetch_command(tmp_path: Path) -> None:
    asset = load_lock()["crd/eso-externalsecrets"]
    copy = tmp_path / asset.name
    copy.parent.mkdir(parents=True)
    shutil.copyfile(config_assets.verify(asset), copy)
    assert config_assets.verify(asset, root=tmp_path) == copy
    copy.write_text(copy.read_text().replace("type: string", "type: integer", 1))
    with pytest.raises(AssetError) as err:
        config_assets.verify(asset, root=tmp_path)
    message = str(err.value)
    assert "\n" not in message
    assert config_assets.FETCH_COMMAND in message
    assert "does not match assets.lock.json" in message


def test_a_missing_asset_names_the_fetch_command(tmp_path: Path) -> None:
    asset = load_lock()["chart/langfuse"]
    with pytest.raises(AssetError, match=re.escape(config_assets.FETCH_COMMAND)):
        config_assets.verify(asset, root=tmp_path)


def test_fetch_refuses_a_tampered_mirror_and_keeps_the_cache_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset = load_lock()["chart/oauth2-proxy"]
    mirror = tmp_path / "mirror"
    shutil.copytree(config_assets.verify(asset), mirror / asset.mirror)
    (mirror / asset.mirror / "values.yaml").write_text("image: {tag: latest}\n")
    monkeypatch.setenv(config_assets.CACHE_ENV, str(tmp_path / "cache"))
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
    assert config_assets.tree_digest(unpacked) == config_assets.tree_digest(mirror)
    pinned = Asset(
        "chart/app", "chart", "1", "https://example.invalid/app.tgz", config_assets.tree_digest(mirror), "app"
    )
    monkeypatch_root = tmp_path / "cache"
    (monkeypatch_root / "chart").mkdir(parents=True)
    shutil.copytree(unpacked, monkeypatch_root / "chart" / "app")
    assert config_assets.verify(pinned, root=monkeypatch_root).name == "app"


def test_no_tracked_file_reads_a_path_outside_the_repository() -> None:
    pattern = r"(\.\./shared|parent / \"shared\"|\"shared\" / |/work/)"
    found = captured(
        ["git", "grep", "-nE", pattern, "--", "tests", *FIRST_PARTY, ".github", "*.py"],
        cwd=config_assets.ROOT,
    )
    hits = [line for line in found.stdout.splitlines() if not line.startswith("tests/tools/test_assets.py:")]
    assert not hits, hits


def test_an_unreachable_source_names_the_mirror_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without network `fetch` says how to go on without it (LLM_GATEWAY_ASSET_MIRROR), in one line."""
    monkeypatch.setenv(config_assets.CACHE_ENV, str(tmp_path / "cache"))
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


# --- charts: the lock pins what Helm installs --------------------------------------------


def _charts() -> list[Asset]:
    return [a for a in load_lock().values() if a.kind == "chart"]


def test_a_chart_entry_states_its_chart_yaml() -> None:
    """`version` and `app_version` are what Helm records for the release: the pinned tree's Chart.yaml."""
    for asset in _charts():
        meta = chart_metadata(config_assets.verify(asset))
        assert (asset.version, asset.app_version) == (str(meta["version"]), str(meta["appVersion"])), asset.name


def test_every_chart_helm_cannot_install_says_which_published_chart_it_stands_in_for() -> None:
    """Helm refuses a chart whose Chart.yaml declares subcharts its charts/ folder lacks (the preview's
    renderer does not): the two trees pinned from sources rather than release archives lack them."""
    missing = {a.name: missing_subcharts(config_assets.verify(a)) for a in _charts()}
    assert {name: found for name, found in missing.items() if found} == {
        "chart/litellm-helm": ["postgresql", "redis"],
        "chart/oauth2-proxy": ["redis-ha"],
    }
    for name in ("chart/litellm-helm", "chart/oauth2-proxy"):
        asset = load_lock()[name]
        assert asset.published_url and "Helm will not install the chart" in asset.note, name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # An assembled tree: no download brings it.
        ("chart/litellm-helm", ["is not a published release", "charts/litellm-helm", "docs/versions.md"]),
        ("chart/valkey", ["is not a published release", "charts/valkey", "docs/versions.md"]),
        # A chart in an OCI registry (none is locked since chart/valkey left Bitnami's registry: the langfuse
        # entry moved to one): the Helm pull and the archive option.
        (
            "oci:chart/langfuse",
            [
                "`helm pull oci://ghcr.io/langfuse/charts/langfuse --version 1.5.41`",
                f"`{config_assets.FETCH_COMMAND} --archive chart/langfuse=<the .tgz it wrote>`",
            ],
        ),
    ],
)
def test_a_chart_no_download_brings_is_named_with_its_remedy(
    name: str, expected: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config_assets.CACHE_ENV, str(tmp_path / "cache"))
    oci, _, name = name.rpartition(":")
    asset = load_lock()[name]
    if oci:
        asset = dataclasses.replace(
            asset, url="oci://ghcr.io/langfuse/charts/langfuse", published_url="", published_version=""
        )
    with pytest.raises(AssetError) as err:
        assets.fetch([asset], None, log=io.StringIO())
    message = str(err.value)
    assert [e for e in expected if e not in message] == []
    assert "\n" not in message


def _packaged(tree: Path, top: str, into: Path, edit: dict[str, bytes] | None = None) -> Path:
    """`tree` as a chart archive `helm package` would write (one top folder), with files replaced or added."""
    files = {p.relative_to(tree).as_posix(): p.read_bytes() for p in sorted(tree.rglob("*")) if p.is_file()}
    files.update(edit or {})
    into.write_bytes(_chart_tgz({f"{top}/{name}": data for name, data in files.items()}))
    return into


def test_fetch_takes_a_chart_from_a_pulled_archive_and_verifies_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset = load_lock()["chart/valkey"]
    archive = _packaged(config_assets.verify(asset), "valkey", tmp_path / "valkey-2.2.4.tgz")
    monkeypatch.setenv(config_assets.CACHE_ENV, str(tmp_path / "cache"))
    assert assets.main(["fetch", "--archive", f"chart/valkey={archive}", "--mirror", str(tmp_path / "none")]) == 2
    assets.fetch([asset], None, log=io.StringIO(), archives={"chart/valkey": archive})
    assert config_assets.verify(asset, root=tmp_path / "cache") == tmp_path / "cache" / "chart" / "valkey"
    tampered = _packaged(config_assets.verify(asset), "valkey", tmp_path / "other.tgz", {"values.yaml": b"image: {}\n"})
    shutil.rmtree(tmp_path / "cache")
    with pytest.raises(AssetError, match="refused"):
        assets.fetch([asset], None, log=io.StringIO(), archives={"chart/valkey": tampered})
    assert not (tmp_path / "cache" / "chart" / "valkey").exists()


def test_the_documented_swap_pins_the_published_archive_and_caches_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/versions.md: `helm pull` the published LiteLLM chart, then `pin --archive --source --write`.
    The published archive is stood in for by the locked tree as the registry packages it: the
    LiteLLM version as chart version, and the subcharts it declares."""
    lock = tmp_path / "assets.lock.json"
    shutil.copyfile(config_assets.LOCK_FILE, lock)
    old = load_lock(lock)["chart/litellm-helm"]
    locked_tree = config_assets.verify(old)
    chart_yaml = (locked_tree / "Chart.yaml").read_text()
    monkeypatch.setattr(assets, "LOCK_FILE", lock)
    monkeypatch.setenv(config_assets.CACHE_ENV, str(tmp_path / "cache"))
    published = chart_yaml.replace("version: 1.1.0", "version: 1.108.7").replace("v1.85.1", "v1.108.7")
    subcharts = {
        f"charts/{n}/Chart.yaml": f"apiVersion: v2\nname: {n}\nversion: 1.0.0\n".encode()
        for n in ("postgresql", "redis")
    }
    archive = _packaged(
        locked_tree,
        "litellm-helm",
        tmp_path / "litellm-helm-1.108.7.tgz",
        {"Chart.yaml": published.encode(), **subcharts},
    )
    argv = ["pin", "chart/litellm-helm", "--archive", str(archive), "--source", "oci://ghcr.io/berriai/litellm-helm"]
    assert assets.main([*argv, "--write"]) == 0
    new = load_lock(lock)["chart/litellm-helm"]
    assert (new.version, new.app_version, new.url) == ("1.108.7", "v1.108.7", "oci://ghcr.io/berriai/litellm-helm")
    assert (new.published_url, new.published_version, new.note) == ("", "", "")
    assert new.sha256 != old.sha256 and new.sha256 in capsys.readouterr().out
    tree = config_assets.verify(new, root=tmp_path / "cache")  # the cache holds the new tree
    assert missing_subcharts(tree) == []  # installable
    assert new.helm_pull == "helm pull oci://ghcr.io/berriai/litellm-helm --version 1.108.7"
    assert assets.main(["pin", "chart/litellm-helm", "--source", "http://example.com/x.tgz"]) == 2


def test_a_stack_file_chart_version_other_than_the_lock_is_refused() -> None:
    """The lock is the one source of a chart's version; a stack file may restate it, not differ."""
    raw = namespace("lab")
    raw["litellm"] = {**raw["litellm"], "chart_version": "1.108.7"}
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    message = str(err.value)
    assert "llm-gateway:litellm.chart_version: is not the version of the chart the release installs" in message
    assert "assets.lock.json pins chart/litellm-helm 1.1.0, not a published release" in message
    assert "oci://ghcr.io/berriai/litellm-helm 1.108.7" in message and "(got '1.108.7')" in message
    raw["litellm"]["chart_version"] = load_lock()["chart/litellm-helm"].version
    assert parse_config(raw).litellm.chart_version == "1.1.0"
    raw["litellm"] = {**raw["litellm"], "chart": "oci://ghcr.io/berriai/litellm-helm"}
    with pytest.raises(ConfigError, match=r"llm-gateway:litellm\.chart: unknown key"):
        parse_config(raw)
