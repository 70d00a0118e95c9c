"""The offline preview CLI: output files, overrides, and the clean config error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.support.program import EXTERNAL_ENGINE
from tools.preview import main


def test_writes_resources_and_manifests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["enterprise", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "placeholders made up by the mock engine" in out
    resources = json.loads((tmp_path / "resources.json").read_text())
    assert {r["type"] for r in resources} >= {"kubernetes:postgresql.cnpg.io/v1:Cluster", "gcp:storage/bucket:Bucket"}
    manifests = [yaml.safe_load(p.read_text()) for p in (tmp_path / "manifests").glob("*.yaml")]
    assert manifests and all({"apiVersion", "kind", "metadata"} <= set(m) for m in manifests)
    cluster = next(m for m in manifests if m["kind"] == "Cluster")
    assert cluster["spec"]["instances"] == 3 and isinstance(cluster["spec"]["instances"], int)


def test_set_overrides_a_key(tmp_path: Path) -> None:
    assert main(["lab", "--set", "llm-gateway:postgres.cnpg.instances=2", "--out", str(tmp_path)]) == 0
    cluster = yaml.safe_load(next((tmp_path / "manifests").glob("cluster-*.yaml")).read_text())
    assert cluster["spec"]["instances"] == 2


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["lab", "--set", "llm-gateway:postgres.cnpg.instances=0"], "llm-gateway:postgres.cnpg.instances"),
        (["lab", "--set", "llm-gateway:postgres.cnpg.image=postgres:latest"], "floating tag 'latest'"),
        (["lab", "--set", "llm-gateway:postgres.backup.enabled=true"], "bucket is required when backups are enabled"),
        (["nosuchstack"], "no stack file Pulumi.nosuchstack.yaml"),
    ],
)
def test_bad_config_exits_2_with_one_clean_message(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert expected in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_a_bad_set_is_named_as_the_input_at_fault_not_the_stack_file(capsys: pytest.CaptureFixture[str]) -> None:
    """Pulumi.lab.yaml is fine: the message must not send the user to it."""
    assert main(["lab", "--set", "llm-gateway:postgres.cnpg.instances=0"]) == 2
    err = _refused_with(capsys, one_line=False)
    assert err.startswith("error: --set llm-gateway:postgres.cnpg.instances: invalid stack config (1 problem):\n")
    assert "Pulumi.lab.yaml" not in err


@pytest.mark.parametrize(
    ("typo", "suggested"),
    [
        ("llm-gateway:postgres.cnpg.instancs=2", "llm-gateway:postgres.cnpg.instances"),
        ("llm-gateway:gpc={project: x}", "llm-gateway:gcp"),
        ("llm-gateway:gcp.zone=europe-west1-b", None),  # no key of gcp is close: no guess
    ],
)
def test_an_unknown_key_suggests_the_nearest_valid_key(
    typo: str, suggested: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lab", "--set", typo]) == 2
    err = _refused_with(capsys, "unknown key (not part of the config schema)", one_line=False)
    if suggested:
        assert f"; did you mean {suggested}?\n" in err
    else:
        assert "did you mean" not in err


def test_external_engine_with_its_secret(tmp_path: Path) -> None:
    args = [
        "lab",
        *(arg for override in EXTERNAL_ENGINE for arg in ("--set", override)),
        "--secret",
        "llm-gateway:postgresAdminPassword=s3cr3t-Admin",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    assert "s3cr3t-Admin" not in (tmp_path / "resources.json").read_text()


def test_output_is_byte_identical_between_runs(tmp_path: Path) -> None:
    """Reviewers diff preview output: it must not depend on the engine's registration order."""
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["enterprise", "--out", str(first)]) == 0
    assert main(["enterprise", "--out", str(second)]) == 0
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert [f for f in files if (first / f).read_bytes() != (second / f).read_bytes()] == []


def _refused_with(capsys: pytest.CaptureFixture[str], *expected: str, one_line: bool = True) -> str:
    """The one error message on stderr (one line unless told), holding every expected text."""
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert captured.err.startswith("error: ") and captured.err.count("error: ") == 1, captured.err
    assert captured.err.count("\n") == 1 or not one_line, captured.err
    for text in expected:
        assert text in captured.err
    return captured.err


def test_a_missing_chart_renderer_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A venv built from an older requirements.txt has no helm_python: one line, the remedy, no traceback."""
    shadow = tmp_path / "shadow" / "helm_python"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'helm_python'\", name='helm_python')\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(shadow.parent))  # the rendering process imports this one first
    assert main(["lab", "--out", str(tmp_path / "out")]) == 2
    _refused_with(capsys, "chart renderer is not installed", "pip install -r requirements.txt", "--no-render")


def test_charts_not_fetched_yet_name_the_fetch_command_and_no_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LLM_GATEWAY_ASSET_CACHE", str(tmp_path / "empty-cache"))
    assert main(["lab", "--out", str(tmp_path / "out")]) == 2
    _refused_with(capsys, "python -m tools.assets fetch", "--no-render")
    assert main(["lab", "--no-render", "--out", str(tmp_path / "out")]) == 0


def test_the_footprint_prints_as_tables_only_and_is_kept_whole_in_outputs_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its JSON was one line of ~1,800 characters repeating the tables below it."""
    assert main(["lab", "--no-render", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert not [line for line in out.splitlines() if line.strip().startswith("footprint:")]
    assert max(len(line) for line in out.splitlines()) < 400
    assert "footprint (CPU cores, memory; requests must fit capacity):" in out
    assert "  database: " in out  # the other outputs are still printed
    footprint = json.loads((tmp_path / "outputs.json").read_text())["footprint"]
    assert {"capacity", "connections", "workloads"} <= set(footprint)
