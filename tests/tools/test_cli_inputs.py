"""Every command-line tool answers bad input with one message and exit 2, never a traceback.

Each class of bad input runs through a tool's `main` with the stack files read
from a temporary folder (so malformed and personal stack files never touch the
checkout); the real CLI (`python -m tools.X` in a subprocess, in a copy of the
repository) proves the exit code, the absence of tracebacks, the `--out`
handling and byte-identical output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bench import preview as bench_preview
from bench import spend_queries as bench_spend_queries
from config import assets as config_assets
from offline import stackfile
from offline.inputs import InputError, _FastStrictLoader, _load, _StrictLoader
from tests.harness.litellm import probe as litellm_probe
from tests.support import FIRST_PARTY, ROOT, captured, snapshot
from tools import assets as assets_tool
from tools import config_reference, diff, preview, verify, versions

# What the tools need from the repository (no venvs, caches or .git; of tests/ only the snapshots
# and the command that compares the program with them, tests/support/snapshot.py).
_COPIED = (
    "__main__.py",
    "Pulumi.yaml",
    "Pulumi.lab.yaml",
    "Pulumi.enterprise.yaml",
    "assets.lock.json",
    "tests/__init__.py",
    "tests/support/__init__.py",
    "tests/support/snapshot.py",
)
_COPIED_DIRS = (*FIRST_PARTY, "tests/snapshots")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("repo")
    for name in _COPIED:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    for name in _COPIED_DIRS:
        shutil.copytree(ROOT / name, copy / name, ignore=_IGNORED)
    return copy


def run_tool(repo: Path, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m tools.TOOL ARGS` (or `python -m TOOL` for a dotted module) in the copy `repo`."""
    # The copy has no asset cache of its own: it reads this checkout's (verified on use).
    env = {**os.environ, config_assets.CACHE_ENV: str(config_assets.cache_dir())}
    return captured([sys.executable, "-m", tool if "." in tool else f"tools.{tool}", *args], cwd=repo, env=env)


@pytest.fixture
def stacks_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository root for stack files: the shipped ones, plus whatever a test writes."""
    for name in ("Pulumi.lab.yaml", "Pulumi.enterprise.yaml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    monkeypatch.setattr(stackfile, "ROOT", tmp_path)
    return tmp_path


def refused_in_process(code: int, captured: pytest.CaptureFixture[str], *expected: str) -> None:
    out, err = captured.readouterr()
    assert code == 2, (out, err)
    assert err.startswith("error: ") and err.count("\nerror:") == 0, err
    assert "Traceback" not in out + err
    for text in expected:
        assert text in err, err


def refused(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    """The run exited 2 with one `error:` message containing every expected text."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.startswith("error: ") or result.stderr.startswith("usage: "), result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr
    return result.stderr


# --- malformed stack files ---------------------------------------------------------

STACK_FILES = {
    "indent": ("config:\n  llm-gateway:gcp:\n    project: acme\n   region: x\n", ["line 4, column 4", "invalid YAML"]),
    "tab": ("config:\n\tllm-gateway:gcp: {}\n", ["line 2, column 1", "invalid YAML", "tab"]),
    "bracket": ("config:\n  llm-gateway:gcp: {project: [acme\n", ["line 3", "invalid YAML"]),
    "list": ("- config\n- llm-gateway\n", ["Pulumi.list.yaml: the document must be a mapping", "found a list"]),
    "config-list": ("config: [a, b]\n", ["'config' must be a mapping"]),
    "two-docs": (
        "config: {}\n---\nconfig: {}\n",
        ["line 2, column 1", "expected a single document in the stream, but found another document"],
    ),
    "duplicate": (
        "config:\n  llm-gateway:gcp: {project: acme-lab, region: europe-west1}\n  llm-gateway:gcp: {}\n",
        ["line 3, column 3", "duplicate key 'llm-gateway:gcp' (first on line 2)"],
    ),
    "nested-duplicate": (
        "config:\n  llm-gateway:gcp:\n    project: a\n    project: b\n",
        ["line 4, column 5", "duplicate key 'project'"],
    ),
    "int-key": ("config:\n  llm-gateway:secrets:\n    rotation:\n      1: 2\n", ["a key must be a string, found int"]),
    "bool-key": ("config:\n  yes: 1\n", ["line 2, column 3", "a key must be a string, found bool"]),
    "complex-key": ("config:\n  ? [a, b]\n  : 1\n", ["a key must be a string, found a sequence"]),
    "bomb": (
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "config: {llm-gateway:x: *f}\n",
        ["expands to more than 100000 nodes", "refused"],
    ),
    "not-utf8": (b"config:\n  llm-gateway:gcp: {project: \xff}\n".decode("latin-1"), ["not UTF-8 text"]),
}


@pytest.mark.parametrize("name", sorted(STACK_FILES))
def test_malformed_stack_file_is_one_clean_error(
    stacks_dir: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text, expected = STACK_FILES[name]
    (stacks_dir / f"Pulumi.{name}.yaml").write_bytes(text.encode("latin-1") if name == "not-utf8" else text.encode())
    refused_in_process(preview.main([name]), capsys, *expected)


def test_the_real_cli_exits_2_without_a_traceback(repo: Path) -> None:
    path = repo / "Pulumi.broken.yaml"
    path.write_text("config:\n  llm-gateway:gcp: {project: [acme\n")
    try:
        refused(run_tool(repo, "preview", "broken"), "Pulumi.broken.yaml, line 3, column 1: invalid YAML")
        refused(run_tool(repo, "preview", "lab", "--set", "llm-gateway:gcp={a: 1, a: 2}"), "duplicate key 'a'")
    finally:
        path.unlink()


def test_merge_keys_are_not_duplicates(stacks_dir: Path) -> None:
    """`<<: *base` then an explicit key overrides the merged one: YAML's meaning, not a duplicate."""
    lab = (stacks_dir / "Pulumi.lab.yaml").read_text()
    (stacks_dir / "Pulumi.merged.yaml").write_text(lab + "base: &base {x: 1}\nmerged:\n  <<: *base\n  x: 2\n")
    assert preview.main(["merged"]) == 0


# --- bad --set / --secret / --out ------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "postgres.cnpg.instances=2"], ["--set expects NAMESPACE:KEY[.PATH]=VALUE"]),
        (["--set", "llm-gateway:postgres.cnpg.instances"], ["--set expects NAMESPACE:KEY[.PATH]=VALUE"]),
        (["--set", "llm-gateway:postgres..instances=2"], ["empty key in the path"]),
        (["--set", "llm-gateway:gcp={project: [x"], ["--set llm-gateway:gcp value, line 1", "invalid YAML"]),
        (["--set", "llm-gateway:gcp={a: 1, a: 2}"], ["duplicate key 'a'"]),
        (["--set", "llm-gateway:gcp.project.id=x"], ["llm-gateway:gcp.project is not a mapping"]),
        (["--set", "llm-gateway:capacity={1: 2}"], ["a key must be a string, found int"]),
        (["--secret", "llm-gateway:postgresAdminPassword"], ["--secret expects NAMESPACE:KEY=VALUE"]),
        (["--secret", "llm-gateway:gcp=x"], ["not a stack secret of this program"]),
        (["--secret", "llm-gateway:postgresAdminPassword="], ["the value is empty"]),
        (["--set", "llm-gateway:gcp.project=2024-01-01"], ["llm-gateway:gcp.project: expected a GCP project"]),
        (
            ["--set", "llm-gateway:litellm.models[7].rpm=5"],
            ["--set llm-gateway:litellm.models[7].rpm: index [7] is out of range: llm-gateway:litellm.models has"],
        ),
        (["--set", "llm-gateway:gcp[0]=x"], ["--set llm-gateway:gcp[0]: llm-gateway:gcp is not a list"]),
        (["--set", "llm-gateway:litellm.models[x].rpm=5"], ["cannot read the key path at position 26"]),
        (["--set", "llm-gateway:litellm.models[-1].rpm=5"], ["the list index [-1] is negative"]),
        (
            ["--set", "llm-gateway:litellm.models[0].rpm=0"],
            [
                "error: --set llm-gateway:litellm.models[0].rpm: invalid stack config",
                "llm-gateway:litellm.models[0].rpm: Input should be greater than or equal to 1",
            ],
        ),
    ],
)
def test_bad_set_and_secret_values(args: list[str], expected: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    refused_in_process(preview.main(["lab", *args]), capsys, *expected)


def test_set_takes_list_indexes_as_pulumi_config_set_path_does() -> None:
    """`litellm.models[0].rpm=5` sets the first model's rpm; `[len]` appends an item."""
    base = stackfile.overridden_config("lab")["llm-gateway:litellm"]["models"]
    config = stackfile.overridden_config(
        "lab", ["llm-gateway:litellm.models[0].rpm=5", "llm-gateway:litellm.models[0].tpm=9"]
    )
    models = config["llm-gateway:litellm"]["models"]
    assert models[0] == {**base[0], "rpm": 5, "tpm": 9} and models[1:] == base[1:]
    appended = stackfile.overridden_config(
        "lab", [f"llm-gateway:litellm.models[{len(base)}]={{name: x, model: openai/x}}"]
    )
    assert appended["llm-gateway:litellm"]["models"][len(base)] == {"name": "x", "model": "openai/x"}


def test_config_problems_are_named_by_the_input_that_caused_them(
    stacks_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The file's own problems are the file's; the others are the `--set` that touched the key."""
    doc = yaml.safe_load((stacks_dir / "Pulumi.lab.yaml").read_text())
    doc["config"]["llm-gateway:gcp"]["zone"] = "europe-west1-b"
    (stacks_dir / "Pulumi.mine.yaml").write_text(yaml.safe_dump(doc))
    refused_in_process(preview.main(["mine"]), capsys, "error: Pulumi.mine.yaml: invalid stack config (1 problem):")
    code = preview.main(["mine", "--set", "llm-gateway:postgres.cnpg.instances=0", "--set", "llm-gateway:gcp.x=1"])
    refused_in_process(
        code,
        capsys,
        "error: Pulumi.mine.yaml and --set llm-gateway:gcp.x and --set llm-gateway:postgres.cnpg.instances: "
        "invalid stack config (3 problems):\n",
        "  - llm-gateway:gcp.x: unknown key",
        "(--set llm-gateway:gcp.x)\n",
        "  - llm-gateway:gcp.zone: unknown key (not part of the config schema) (Pulumi.mine.yaml)\n",
        "  - llm-gateway:postgres.cnpg.instances: Input should be greater than or equal to 1 (got 0) "
        "(--set llm-gateway:postgres.cnpg.instances)\n",
    )


def test_out_naming_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    refused_in_process(preview.main(["lab", "--out", str(target)]), capsys, "exists and is not a folder")
    assert target.read_text() == "mine"


def test_out_naming_a_foreign_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "thesis.tex").write_text("mine")
    code = preview.main(["lab", "--out", str(tmp_path)])
    refused_in_process(code, capsys, "was not written by python -m tools.preview")
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.tex"]


def test_out_of_an_earlier_preview_is_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "preview"
    assert preview.main(["enterprise", "--out", str(out)]) == 0
    assert (out / "helm" / "langfuse").is_dir()
    (out / "manifests" / "stale.yaml").write_text("left over")
    assert preview.main(["lab", "--out", str(out)]) == 0
    assert not (out / "manifests" / "stale.yaml").exists()
    assert not (out / "helm" / "langfuse").exists()  # lab has no Langfuse: nothing of the enterprise run is left


# --- other tools -----------------------------------------------------------------


TOOLS = {
    "tools.preview": preview.main,
    "tests.support.snapshot": snapshot.main,
    "bench.preview": bench_preview.main,
    "bench.spend_queries": bench_spend_queries.main,
    "tests.harness.litellm.probe": litellm_probe.main,
    "tools.assets": assets_tool.main,
    "tools.versions": versions.main,
    "tools.verify": verify.main,
    "tools.config_reference": config_reference.main,
    "tools.diff": diff.main,
}


def test_every_user_command_is_checked_for_help() -> None:
    """Each tools/ module with a `main` is a user command: it is in TOOLS, so its --help runs."""
    commands = {f"tools.{p.stem}" for p in (ROOT / "tools").glob("*.py") if "\ndef main(" in p.read_text()}
    assert commands - set(TOOLS) == set()


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_every_tool_has_help(tool: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        TOOLS[tool](["--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: python -m {tool}")


@pytest.mark.parametrize(
    ("tool", "args", "expected"),
    [
        ("bench.preview", ["--runs", "0"], "--runs: must be at least 1"),
        ("bench.spend_queries", ["--rows", "many"], "--rows: expected a whole number"),
        ("tests.support.snapshot", ["--wrte"], "unrecognized arguments"),
        ("tools.versions", ["--wrte"], "unrecognized arguments"),
    ],
)
def test_bad_arguments(tool: str, args: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        TOOLS[tool](args)
    assert exited.value.code == 2
    assert expected in capsys.readouterr().err


def test_assets_refuses_an_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    refused_in_process(assets_tool.main(["pin", "no/such"]), capsys, "no asset named 'no/such'")


def test_litellm_probe_refuses_a_malformed_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "proxy.yaml"
    config.write_text("model_list:\n  - model_name: a\n  - model_name: b\n    model_name: c\n")
    code = litellm_probe.main(["--litellm", sys.executable, "--config", str(config)])
    refused_in_process(code, capsys, "proxy.yaml, line 4, column 5", "duplicate key 'model_name'")


def test_assets_refuses_a_malformed_lock(tmp_path: Path) -> None:
    lock = tmp_path / "assets.lock.json"
    lock.write_text((ROOT / "assets.lock.json").read_text().replace('"assets": [', '"assets": [,', 1))
    with pytest.raises(config_assets.AssetError, match=r"assets.lock.json, line 3, column \d+: invalid JSON"):
        config_assets.load_lock(lock)


# --- personal stacks, committed files --------------------------------------------


def test_a_personal_stack_file_changes_nothing_for_the_shipped_stacks(
    stacks_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`Pulumi.alice.dev.yaml` (even an unfinished one) is not globbed into snapshots or benchmarks."""
    (stacks_dir / "Pulumi.alice.dev.yaml").write_text("config:\n  llm-gateway:gcp: {project: [unfinished\n")
    assert snapshot.main([]) == 0
    assert "alice" not in capsys.readouterr().out
    refused_in_process(preview.main(["nosuch"]), capsys, "stacks: alice.dev, enterprise, lab")
    refused_in_process(preview.main(["alice.dev"]), capsys, "Pulumi.alice.dev.yaml, line 3")


def test_snapshot_does_not_rewrite_committed_files_without_write(repo: Path) -> None:
    path = repo / "tests" / "snapshots" / "lab.json"
    committed = path.read_text()
    path.write_text(committed.replace('"parent": null', '"parent": "moved"', 1))
    try:
        result = run_tool(repo, "tests.support.snapshot")
        assert result.returncode == 1
        assert "tests/snapshots/lab.json: out of date (review the change" in result.stdout
        assert path.read_text() != committed  # reported, not rewritten (that takes --write)
    finally:
        path.write_text(committed)


# --- deterministic output ----------------------------------------------------------


def test_preview_prints_and_writes_the_same_bytes_twice(repo: Path, tmp_path: Path) -> None:
    runs = [run_tool(repo, "preview", "lab", "--out", str(tmp_path / name)) for name in ("a", "b")]
    assert [r.returncode for r in runs] == [0, 0]
    first, second = (r.stdout.replace(str(tmp_path / n), "OUT") for r, n in zip(runs, "ab", strict=True))
    assert first == second
    assert "preview took" not in first and "preview took" in runs[0].stderr  # timings on stderr
    a, b = tmp_path / "a", tmp_path / "b"
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert [f for f in files if (a / f).read_bytes() != (b / f).read_bytes()] == []


def test_libyaml_and_pure_python_parse_alike() -> None:
    """load_yaml parses with libyaml first (offline/inputs.py): it keeps the strict checks itself, and reads every
    shipped stack file and a tenants section exactly as the pure-Python loader does."""
    with pytest.raises(InputError, match="duplicate key 'a'"):
        _load(_FastStrictLoader, "a: 1\nb: {c: 2}\na: 3\n", "x")
    with pytest.raises(InputError, match="a key must be a string"):
        _load(_FastStrictLoader, "1: x\n", "x")
    texts = [p.read_text() for p in sorted(ROOT.glob("Pulumi*.yaml"))]
    texts.append("teams: [{alias: a, keys: [{alias: k, deliver: gsm_only, max_budget: 1.5e1, rotation: 0x1}]}]\n")
    for text in texts:
        assert _load(_FastStrictLoader, text, "x") == _load(_StrictLoader, text, "x")
