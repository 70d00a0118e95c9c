"""`python -m tools.diff`: two previews of the real program, one setting apart, and the report."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support import ROOT
from tests.support.program import run_cached
from tools import diff
from tools.preview import main as preview_main

INSTANCES_2 = "llm-gateway:postgres.cnpg.instances=2"


@pytest.fixture(scope="module")
def lab_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The lab preview as on main, and with `postgres.cnpg.instances` 1 → 2."""
    root = tmp_path_factory.mktemp("previews")
    assert preview_main(["lab", "--out", str(root / "base" / "lab")]) == 0
    assert preview_main(["lab", "--set", INSTANCES_2, "--out", str(root / "head" / "lab")]) == 0
    return root / "base", root / "head"


def test_one_setting_changed_gives_exactly_the_expected_changes(lab_pair: tuple[Path, Path], tmp_path: Path) -> None:
    base, head = lab_pair
    (d,) = diff.run(base, head, tmp_path, None, diff.DEFAULT_MAX_LINES)
    assert d.stack == "lab"
    assert [(c.op, c.type, c.name) for c in d.resources] == [
        # The Grafana datasource moves from the -rw to the -ro service ...
        (
            "update",
            "kubernetes:external-secrets.io/v1:ExternalSecret",
            "llm-gateway-grafana-datasource-external-secret",
        ),
        # ... a replication-lag alert appears ...
        ("update", "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "llm-gateway-alerting-rules"),
        # ... and the Cluster gets a second instance, in place.
        ("update", "kubernetes:postgresql.cnpg.io/v1:Cluster", "llm-gateway-database-cluster"),
    ]
    assert d.resources[2].detail == "`spec.instances`"
    assert d.counts == {"create": 0, "update": 3, "replace": 0, "delete": 0}
    assert d.options == [] and d.dashboards == [] and d.rendered == []
    assert len(d.alerts) == 1 and d.alerts[0].startswith("added alert CnpgReplicationLagHigh ")
    assert "for 5m, severity warning" in d.alerts[0]
    assert d.outputs == ['`database.read_host`: "litellm-pg-rw.llm-gateway.svc" → "litellm-pg-ro.llm-gateway.svc"']
    workloads = [line for line in d.footprint if not line.startswith("total ")]
    assert len(workloads) == 1 and workloads[0].startswith("postgres (cnpg): ") and "replicas 1 → 2" in workloads[0]
    assert {line.split(":")[0] for line in d.footprint if line.startswith("total ")} == {
        "total requests cpu",
        "total requests memory",
        "total limits cpu",
        "total limits memory",
    }
    changed_manifests = [name for name, _ in d.file_diffs["manifests"]]
    assert changed_manifests == [
        "cluster-llm-gateway-litellm-pg.yaml",
        "externalsecret-monitoring-llm-gateway-grafana-datasource.yaml",
        "prometheusrule-llm-gateway-llm-gateway-alerts.yaml",
    ]
    assert d.file_diffs["helm"] == [] and d.file_diffs["rendered"] == []
    # The embedded datasource file diffs line by line, not as one escaped string.
    datasource = dict(d.file_diffs["manifests"])["externalsecret-monitoring-llm-gateway-grafana-datasource.yaml"]
    changed_lines = [line for line in datasource if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))]
    assert [line[0] + line[1:].strip() for line in changed_lines] == [
        "-url: litellm-pg-rw.llm-gateway.svc:5432",
        "+url: litellm-pg-ro.llm-gateway.svc:5432",
    ]
    report = (tmp_path / "lab.md").read_text()
    assert "### Stack `lab`: 0 to create, 3 to update, 0 to replace, 0 to delete" in report
    comment = (tmp_path / "comment.md").read_text()
    assert comment.startswith(diff.MARKER)


def test_reports_are_deterministic_and_hold_no_secret(lab_pair: tuple[Path, Path], tmp_path: Path) -> None:
    base, head = lab_pair
    diff.run(base, head, tmp_path / "one", None, 5)
    diff.run(base, head, tmp_path / "two", None, 5)
    files = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert files == ["comment.md", "lab.md"]
    for name in files:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    secrets = run_cached("lab").generated_secrets | run_cached("lab", INSTANCES_2).generated_secrets
    for name in files:
        text = (tmp_path / "one" / name).read_text()
        assert not [s for s in secrets if s in text]


def test_identical_previews_report_no_changes(lab_pair: tuple[Path, Path], tmp_path: Path) -> None:
    base, _ = lab_pair
    (d,) = diff.run(base, base, tmp_path, None, 10)
    assert d.empty
    assert "### Stack `lab`: no changes" in (tmp_path / "comment.md").read_text()


def _edited_copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_replacements_options_alerts_and_dashboards_read_as_a_reviewer_needs(
    lab_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    base = lab_pair[0] / "lab"
    head = _edited_copy(base, tmp_path / "head" / "lab")
    resources = json.loads((head / "resources.json").read_text())
    by_name = {r["name"]: r for r in resources}
    cluster = by_name["llm-gateway-database-cluster"]
    cluster["options"]["protect"] = not cluster["options"]["protect"]
    namespace = next(r for r in resources if r["type"] == "kubernetes:core/v1:Namespace")
    namespace["inputs"]["metadata"]["name"] = "renamed"
    deleted = resources.pop(resources.index(next(r for r in resources if r["type"].endswith("RandomPassword"))))
    dashboards = by_name["llm-gateway-dashboards"]
    dashboards["name"] = "llm-gateway-dashboards-renamed"
    dashboards["options"]["aliases"] = ["llm-gateway-dashboards"]
    (head / "resources.json").write_text(json.dumps(resources, indent=2, sort_keys=True))

    alerts_file = next((head / "alerts").glob("*.yaml"))
    rules = yaml.safe_load(alerts_file.read_text())
    group = next(g for g in rules["groups"] if any(re.search(r"> [0-9.]+$", r["expr"]) for r in g["rules"]))
    first = next(r for r in group["rules"] if re.search(r"> [0-9.]+$", r["expr"]))
    first["for"] = "42m"
    old_threshold = first["expr"].rsplit(" ", 1)[-1]
    first["expr"] = first["expr"].rsplit(" ", 1)[0] + " 12345"
    removed_rule = group["rules"].pop(-1 if group["rules"][-1] is not first else 0)
    alerts_file.write_text(yaml.safe_dump(rules))

    dash_file = head / "dashboards" / "llm-gateway-operations.json"
    dash = json.loads(dash_file.read_text())
    panels = [p for p in dash["panels"] if p.get("targets")]
    panels[0]["targets"][0]["expr"] = "vector(1)"
    dash["panels"].remove(panels[1])
    dash_file.write_text(json.dumps(dash))

    d = diff.diff_stack("lab", base, head)
    ops = {(c.op, c.name): c.detail for c in d.resources}
    assert ("replace", namespace["name"]) in ops and "`metadata.name`" in ops[("replace", namespace["name"])]
    assert ("delete", deleted["name"]) in ops
    # A rename that carries an alias is the same resource: no delete, no create.
    assert not [name for _, name in ops if name.startswith("llm-gateway-dashboards")]
    assert any("renamed from `llm-gateway-dashboards`" in line for line in d.options)
    assert [line for line in d.options if "protect " in line] == [
        f"`{cluster['name']}` ({cluster['type']}): protect {json.dumps(not cluster['options']['protect'])} → "
        f"{json.dumps(cluster['options']['protect'])}"
    ]
    alert_name = first["alert"]
    assert any(f"changed alert {alert_name} " in a and f"threshold {old_threshold} → 12345" in a for a in d.alerts)
    assert any(f"changed alert {alert_name} " in a and "for " in a and "→ 42m" in a for a in d.alerts)
    assert any(a.startswith(f"removed alert {removed_rule['alert']} ") for a in d.alerts)
    assert any(f"panel “{panels[0]['title']}” query " in line and "→ `vector(1)`" in line for line in d.dashboards)
    assert any(f"panel removed “{panels[1]['title']}" in line for line in d.dashboards)


def test_long_diffs_are_cut_in_the_comment_and_whole_in_the_report(lab_pair: tuple[Path, Path], tmp_path: Path) -> None:
    base, head = lab_pair
    diff.run(base, head, tmp_path, None, 3)
    comment = (tmp_path / "comment.md").read_text()
    report = (tmp_path / "lab.md").read_text()
    assert "more lines in the full report" in comment
    assert "more lines in the full report" not in report
    assert "+      expr: max by (namespace, pod) (cnpg_pg_replication_lag" in report


def test_git_refs_are_previewed_in_temporary_worktrees(tmp_path: Path) -> None:
    assert diff.main(["HEAD", "HEAD", "--stack", "lab", "--out", str(tmp_path)]) == 0
    assert "### Stack `lab`: no changes" in (tmp_path / "comment.md").read_text()


def test_documented_sample_comment_is_what_the_tool_writes(lab_pair: tuple[Path, Path], tmp_path: Path) -> None:
    document = (ROOT / "docs" / "preview-diff.md").read_text()
    sample = document.split("~~~markdown\n", 1)[1].split("\n~~~", 1)[0]
    diff.run(*lab_pair, tmp_path, None, diff.DEFAULT_MAX_LINES)
    written = (tmp_path / "comment.md").read_text()
    assert sample.strip() == written.split("<details>", 1)[0].strip()


def test_a_side_without_rendered_charts_is_said_and_not_compared(lab_pair: tuple[Path, Path], tmp_path: Path) -> None:
    """The footer said "charts rendered from pinned assets" whatever the previews held."""
    rendered = lab_pair[0]
    assert preview_main(["lab", "--no-render", "--out", str(tmp_path / "bare" / "lab")]) == 0
    (d,) = diff.run(rendered, tmp_path / "bare", tmp_path / "report", None, diff.DEFAULT_MAX_LINES)
    assert not d.charts_rendered and d.empty  # the missing rendered/ folder is not a removal of every object
    comment = (tmp_path / "report" / "comment.md").read_text()
    assert "charts not rendered (--no-render)" in comment and "charts rendered from pinned assets" not in comment
    diff.run(*lab_pair, tmp_path / "both", None, diff.DEFAULT_MAX_LINES)
    assert "charts rendered from pinned assets" in (tmp_path / "both" / "comment.md").read_text()


def test_git_refs_with_no_render_need_no_assets_and_say_where_they_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LLM_GATEWAY_ASSET_CACHE", str(tmp_path / "no-assets"))
    out = tmp_path / "report"
    assert diff.main(["HEAD", "HEAD", "--stack", "lab", "--no-render", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "### Stack `lab`: no changes" in captured.out and "charts not rendered" in captured.out
    assert captured.err == f"wrote {out}/: comment.md (the comment above) and lab.md (the full reports)\n"


def test_the_default_report_folder_is_ignored_by_git() -> None:
    for path in (f"{diff.DEFAULT_OUT}/comment.md", f"{diff.DEFAULT_OUT}/lab.md"):
        ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT, check=False)
        assert ignored.returncode == 0, f"{path} is not git-ignored (.gitignore)"
