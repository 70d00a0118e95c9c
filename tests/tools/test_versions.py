"""docs/versions.md lists every pinned version exactly as the files that set them; one LiteLLM version
everywhere (tests/harness/litellm/pins.py); the LiteLLM venv and the schema package are the pinned ones."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from config.assets import load_lock
from tests.harness.litellm import pins
from tests.support import ROOT, role_sql
from tests.support.components import require
from tools import versions


def test_versions_table_is_generated_from_the_sources() -> None:
    assert versions.OUT.read_text(encoding="utf-8") == versions.render(), (
        "docs/versions.md is out of date: python -m tools.versions --write"
    )


def test_versions_table_names_litellm_and_its_schema_package() -> None:
    text = versions.render()
    for what in ("LiteLLM Helm chart (lab)", "LiteLLM image (enterprise)", "litellm[proxy]", "litellm-proxy-extras"):
        assert f"| {what} |" in text


def _pin(path: str, package: str) -> str:
    for line in (ROOT / path).read_text().splitlines():
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep and name.split("[")[0].lower() == package:
            return version.strip()
    raise AssertionError(f"{package} is not pinned in {path}")


def venv_litellm() -> tuple[str, set[str]]:
    """The LiteLLM venv's `litellm` version and the litellm-proxy-extras versions it requires."""
    python = require("litellm").absolute().parent / "python"
    script = (
        "import importlib.metadata as m; print(m.version('litellm')); "
        "print(*[r for r in m.requires('litellm') or [] if r.startswith('litellm-proxy-extras')], sep='\\n')"
    )
    found = subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=True, timeout=60)
    installed, *extras = found.stdout.splitlines()
    return installed, {e.split(";")[0].split("==")[1].strip() for e in extras if "==" in e}


def check_the_venv_runs_the_pin() -> None:
    installed, _ = venv_litellm()
    pinned = _pin("tests/harness/litellm/requirements.txt", "litellm")
    assert installed == pinned, (
        f"the LiteLLM venv has {installed}, the pin is {pinned}: every real-proxy test ran another LiteLLM; "
        "bash tests/harness/litellm/install.sh"
    )


def test_the_litellm_venv_runs_the_pinned_version() -> None:
    check_the_venv_runs_the_pin()


def test_a_venv_that_drifted_from_the_pin_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The drift this file exists to catch is a failure, not a skip (main skipped it)."""
    for name, body in (("litellm", "exit 0"), ("python", "echo 1.0.0; echo 'litellm-proxy-extras==0.0.1'")):
        (tmp_path / name).write_text(f"#!/bin/sh\n{body}\n")
        (tmp_path / name).chmod(0o755)
    monkeypatch.setenv("LITELLM_BIN", str(tmp_path / "litellm"))
    with pytest.raises(AssertionError, match=r"the LiteLLM venv has 1\.0\.0, the pin is .*install\.sh"):
        check_the_venv_runs_the_pin()


def test_schema_package_is_the_one_the_pinned_litellm_requires() -> None:
    """The PostgreSQL schema the tests load (litellm-proxy-extras) is the pinned proxy's own."""
    check_the_venv_runs_the_pin()
    _, wanted = venv_litellm()
    pinned = _pin("tests/harness/litellm/requirements.txt", "litellm")
    assert wanted == {_pin("requirements-dev.txt", "litellm-proxy-extras")}, (
        f"litellm {pinned} requires litellm-proxy-extras {wanted}: pin that in requirements-dev.txt"
    )


# --- one LiteLLM version ------------------------------------------------------------------


def test_every_statement_of_the_litellm_version_is_the_pin() -> None:
    """The stacks' image tags, the locked chart, the probe pin, and every capture (routes, pass-through
    routes, OpenAPI document, the three metric lists) name one version."""
    found = pins.statements()
    assert len(found) == 11
    assert pins.disagreements() == [], (
        f"LiteLLM {pins.pinned()} is pinned in tests/harness/litellm/requirements.txt; move everything at once: "
        "venv/bin/python -m tests.harness.litellm.bump (CONTRIBUTING.md, Bumping LiteLLM)"
    )


def _copy_of_the_statements(tmp_path: Path) -> Path:
    rels = [s.where.split(":", 1)[0] for s in pins.statements()] + ["assets.lock.json"]
    for rel in set(rels):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes((ROOT / rel).read_bytes())
    return tmp_path


@pytest.mark.parametrize(
    ("rel", "old", "new"),
    [
        ("Pulumi.lab.yaml", "litellm-non_root:v1.108.7", "litellm-non_root:v1.190.0"),
        ("Pulumi.enterprise.yaml", "litellm-non_root:v1.108.7", "litellm-non_root:v1.190.0"),
        ("assets.lock.json", '"published_version": "1.108.7"', '"published_version": "1.190.0"'),
        ("components/litellm/routes.json", '"litellm_version": "1.108.7"', '"litellm_version": "1.190.0"'),
        ("components/litellm/openapi.json", '"info_version": "1.108.7"', '"info_version": "1.190.0"'),
        ("tests/data/litellm_metrics.txt", "# litellm==1.108.7\n", "# litellm==1.108.7.post1\n"),
        ("tests/data/litellm_metric_labels.txt", "# litellm==1.108.7\n", "# litellm==1.108.7; other\n"),
        ("tests/data/litellm_cleanup_metrics.txt", "# litellm==1.108.7\n", "# LiteLLM 1.108.7\n"),
    ],
)
def test_a_statement_that_moved_alone_is_named(tmp_path: Path, rel: str, old: str, new: str) -> None:
    """What main let through (both stacks moved to 1.190.0: 974 passed), and headers that only start right."""
    root = _copy_of_the_statements(tmp_path)
    assert pins.disagreements(root) == []
    text = (root / rel).read_text(encoding="utf-8")
    assert text.count(old) == 1, (rel, old)
    (root / rel).write_text(text.replace(old, new), encoding="utf-8")
    (wrong,) = pins.disagreements(root)
    assert wrong.startswith(f"{rel}: "), wrong


def test_the_schema_package_the_tests_import_is_the_pinned_one() -> None:
    """litellm-proxy-extras in venv/ (the migrations tests/harness/pglab loads) is requirements-dev.txt's."""
    assert importlib.metadata.version("litellm-proxy-extras") == _pin("requirements-dev.txt", "litellm-proxy-extras")


# --- what the role SQL translators mirror ---------------------------------------------------


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def role_sql_drift(cnpg_crds: set[str], cnpg_minimum: str, pulumi_postgresql: set[str]) -> list[str]:
    """How tests/support/role_sql.py's records disagree with the pins (empty: they agree)."""
    problems = []
    if cnpg_crds != {role_sql.CNPG.version}:
        problems.append(
            f"role_sql.CNPG mirrors CloudNativePG {role_sql.CNPG.version}, the lock's CNPG CRDs are "
            f"{sorted(cnpg_crds)}: re-read the role reconciler at that release and update tests/support/role_sql.py"
        )
    if _release(cnpg_minimum) > _release(role_sql.CNPG.version):
        problems.append(f"docs/deploying.md admits CloudNativePG {cnpg_minimum}+, newer than the mirrored one")
    if pulumi_postgresql != {role_sql.PULUMI_POSTGRESQL}:
        problems.append(
            f"role_sql.PULUMI_POSTGRESQL is {role_sql.PULUMI_POSTGRESQL} (bridging terraform-provider-postgresql "
            f"{role_sql.TERRAFORM_PROVIDER.version}), the pin/installation/plugin say {sorted(pulumi_postgresql)}: "
            "find the Terraform provider that release bridges and re-read it"
        )
    return problems


def _stack_pins() -> tuple[set[str], str, set[str]]:
    cnpg = {a.version.removeprefix("v") for name, a in load_lock().items() if name.startswith("crd/cnpg-")}
    deploying = (ROOT / "docs" / "deploying.md").read_text(encoding="utf-8")
    minimum = re.search(r"CloudNativePG ≥ (\d+(?:\.\d+)*)", deploying)
    assert minimum, "docs/deploying.md no longer states the CloudNativePG minimum"
    plugin = json.loads((resources.files("pulumi_postgresql") / "pulumi-plugin.json").read_text(encoding="utf-8"))
    provider = {
        _pin("requirements.txt", "pulumi-postgresql"),
        importlib.metadata.version("pulumi_postgresql"),
        str(plugin["version"]),
    }
    return cnpg, minimum.group(1), provider


def test_the_role_sql_mirrors_the_cnpg_and_provider_the_stacks_pin() -> None:
    assert role_sql_drift(*_stack_pins()) == []


def test_a_cnpg_or_provider_upgrade_fails_until_the_role_sql_is_reread() -> None:
    cnpg, minimum, provider = _stack_pins()
    assert len(role_sql_drift({"1.31.0"}, minimum, provider)) == 1
    assert len(role_sql_drift(cnpg, "1.31", provider)) == 1
    assert len(role_sql_drift(cnpg, minimum, {"3.19.0"})) == 1
    assert len(role_sql_drift(cnpg, minimum, {*provider, "3.18.3"})) == 1


def test_the_role_sql_names_the_files_it_mirrors_at_their_release() -> None:
    for mirror in (role_sql.CNPG, role_sql.TERRAFORM_PROVIDER):
        assert re.fullmatch(r"\d+\.\d+\.\d+", mirror.version) and re.fullmatch(r"[0-9a-f]{40}", mirror.commit)
        assert mirror.files and all(path and functions for path, functions in mirror.files), mirror.repository
