"""An independent scanner agrees: Checkov (pinned in tests/harness/checkov/requirements.txt, its own
venv) over every object each stack deploys, as `python -m tools.preview STACK --out DIR` writes them:
the program's objects (manifests/) and each chart's (rendered/<release>/), less the Helm test hooks.

Every failed check is fixed at its cause or skipped with a reason: on the object (Checkov's own
annotation `checkov.io/skipN: CKV_K8S_xx=<reason>` on its TOP-LEVEL metadata, `scanner_skips` in
components/scanner.py), or, for a chart object no value can annotate or fix, in ALLOWED below.
docs/security.md, "Scanner skips", lists every one, and the objects left out. One Checkov process
scans both stacks twice (as rendered, and with the skip annotations stripped, to show that each skip
is needed) plus a self-test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.scanner import scanner_skips
from tests.harness.checkov import scan as checkov
from tests.support import ROOT
from tests.support.components import require
from tests.support.rendered import containers, pod_template
from tools.preview import main as preview_main

STACKS = ("lab", "enterprise")

NOT_SCANNED_REASON = (
    "Helm test hook (`helm.sh/hook: test`): created only by `helm test`, which the program never runs; "
    "busybox with no securityContext or resources, and no chart value to change or disable it"
)
"""Why the Helm test hooks are left out of the scan (docs/security.md lists each one)."""

MIGRATION_JOB = "Job.llm-gateway.litellm-migrations"
_HOOK = "the chart fixes this Helm hook's annotations, so no skip reaches it"
_VALKEY = (
    "the official valkey subchart (valkey-io 0.9.4) of langfuse 2.0.0 renders no annotations on its Deployment "
    "and has no value for them (only podAnnotations, which Checkov does not read)"
)
LANGFUSE_VALKEY = "Deployment.llm-gateway.langfuse-redis"
ALLOWED: dict[tuple[str, str], str] = {
    (MIGRATION_JOB, "CKV_K8S_15"): (
        f"{_HOOK}; IfNotPresent on the exact version tag of litellm.image, as the proxy; a digest there passes"
    ),
    (MIGRATION_JOB, "CKV_K8S_29"): (
        f"{_HOOK}; the locked chart renders no pod securityContext for it (BerriAI/litellm PR 35482 adds one), its "
        "container's sets runAsNonRoot, uid and gid 65534, seccomp RuntimeDefault, no privilege escalation"
    ),
    (MIGRATION_JOB, "CKV_K8S_35"): (
        f"{_HOOK}; LiteLLM's migration reads the database URL from the environment only, from the database Secret"
    ),
    (MIGRATION_JOB, "CKV_K8S_38"): (
        f"{_HOOK}; no token is mounted: its ServiceAccount (components/litellm) sets automountServiceAccountToken "
        "false, and the chart has no value for the pod spec's own field"
    ),
    (MIGRATION_JOB, "CKV_K8S_43"): (
        f"{_HOOK}; litellm.image pins an exact version tag and takes a digest (tag@sha256:<64 hex>), which passes"
    ),
    (LANGFUSE_VALKEY, "CKV_K8S_9"): (
        f"{_VALKEY}; the chart gives Valkey a startup and a liveness probe (valkey-cli ping) and no readiness probe "
        "value; its one client, Langfuse, reaches it through the Service"
    ),
    (LANGFUSE_VALKEY, "CKV_K8S_15"): (
        f"{_VALKEY}; IfNotPresent on the exact version tag the program sets (components/langfuse/values_v4.py)"
    ),
    (LANGFUSE_VALKEY, "CKV_K8S_40"): (
        f"{_VALKEY}; it runs as the chart's non-root uid/gid 1000 (its podSecurityContext), not verified with another"
    ),
    (LANGFUSE_VALKEY, "CKV_K8S_43"): (
        f"{_VALKEY}; an exact version tag (the subchart's appVersion); no registry is reachable here for a digest"
    ),
}
"""(Checkov id, check) -> reason: a chart object's finding that neither a value can fix nor a
top-level annotation can skip (the chart renders none there, or only one that would land on every
object of a subchart). Each must still fail (so the list cannot rot) and docs/security.md lists it."""


# --- one scan of everything -------------------------------------------------------------


@dataclass(frozen=True)
class StackScan:
    staged: checkov.Staged
    report: checkov.Report
    """The objects as rendered."""
    unskipped: checkov.Report
    """The same objects without their skip annotations."""


@dataclass(frozen=True)
class Scans:
    version: str
    stacks: dict[str, StackScan]
    selftest: checkov.Report


SELFTEST_REASON = "self-test reason"


def _selftest_objects() -> list[dict[str, Any]]:
    """Two identical Deployments skipping CKV_K8S_43 (image digest): one on its top-level metadata,
    one only on its pod template, where Checkov does not look."""

    def deployment(name: str, top: dict[str, str], template: dict[str, str]) -> dict[str, Any]:
        meta = {"name": name, "namespace": "selftest", **({"annotations": top} if top else {})}
        pod_meta = {"labels": {"app": name}, **({"annotations": template} if template else {})}
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": pod_meta, "spec": {"containers": [{"name": "c", "image": "example/app:1.0"}]}},
            },
        }

    skips = scanner_skips({"CKV_K8S_43": SELFTEST_REASON})
    return [deployment("top-level", skips, {}), deployment("pod-template", {}, skips)]


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Scans:
    executable = require("checkov")
    previews = tmp_path_factory.mktemp("previews")
    root = tmp_path_factory.mktemp("checkov")
    staged: dict[str, tuple[checkov.Staged, checkov.Staged]] = {}
    for stack in STACKS:
        assert preview_main([stack, "--out", str(previews / stack)]) == 0
        staged[stack] = (
            checkov.stage(previews / stack, root / stack / "as-rendered"),
            checkov.stage(previews / stack, root / stack / "unskipped", strip_skips=True),
        )
    selftest = root / "selftest" / "objects"
    selftest.mkdir(parents=True)
    (selftest / "deployments.yaml").write_text(yaml.safe_dump_all(_selftest_objects()), encoding="utf-8")
    folders = [f"{s}/{v}" for s in STACKS for v in ("as-rendered", "unskipped")] + ["selftest/objects"]
    version, reports = checkov.scan(executable, root, folders)
    return Scans(
        version,
        {s: StackScan(staged[s][0], reports[f"{s}/as-rendered"], reports[f"{s}/unskipped"]) for s in STACKS},
        reports["selftest/objects"],
    )


def _pairs(results: list[checkov.Result]) -> set[tuple[str, str]]:
    return {(r.resource, r.check) for r in results}


# --- the gate ---------------------------------------------------------------------------------


def test_the_scanner_is_the_pinned_checkov(scans: Scans) -> None:
    assert scans.version == checkov.pinned_version()
    for stack in STACKS:
        assert scans.stacks[stack].report.checks > 200, stack
        assert scans.stacks[stack].staged.objects, stack


@pytest.mark.parametrize("stack", STACKS)
def test_no_finding_without_a_reason(scans: Scans, stack: str) -> None:
    report = scans.stacks[stack].report
    unexplained = [r.line() for r in report.failed if (r.resource, r.check) not in ALLOWED]
    assert not unexplained, "fix each at its cause, or skip it on the object with a reason:\n" + "\n".join(unexplained)


def test_allowed_findings_still_occur(scans: Scans) -> None:
    """ALLOWED cannot rot: a line whose finding no stack shows any more must go."""
    failing = set().union(*(_pairs(scans.stacks[s].report.failed) for s in STACKS))
    assert sorted(ALLOWED.keys() - failing) == [], "no longer failing: remove from ALLOWED and docs/security.md"


@pytest.mark.parametrize("stack", STACKS)
def test_every_skip_is_needed(scans: Scans, stack: str) -> None:
    """Without its skip annotations, each object fails exactly the checks it skipped, and nothing more."""
    scan = scans.stacks[stack]
    assert _pairs(scan.unskipped.failed) == _pairs(scan.report.failed) | _pairs(scan.report.skipped)


@pytest.mark.parametrize("stack", STACKS)
def test_every_skip_annotation_is_one_checkov_reads_with_its_reason(scans: Scans, stack: str) -> None:
    """A skip on a pod template (or any place but the object's own metadata) is silently ignored by
    Checkov; a bare check id has no reason; a reason Checkov reads differently is not the one we wrote."""
    scan = scans.stacks[stack]
    problems = []
    annotated = set()
    for resource, body in scan.staged.objects.items():
        for where, check, reason in checkov.annotated_skips(body):
            if where != "metadata":
                problems.append(f"{resource}: skip of {check} at {where}, where Checkov does not read it")
            elif not reason:
                problems.append(f"{resource}: skip of {check} without a reason")
            else:
                annotated.add((resource, check, reason))
    reported = {(r.resource, r.check, r.reason) for r in scan.report.skipped}
    assert problems == []
    assert reported <= annotated
    # A skip Checkov does not report is one of a check it never runs on that object. Only an object
    # without containers may carry one, where no container check applies: the langfuse chart copies each
    # Deployment's annotations onto its PodDisruptionBudget. On a workload it would be a skip that does nothing.
    inert = sorted((res, check) for res, check, _ in annotated - reported if pod_template(scan.staged.objects[res]))
    assert inert == [], "skips of checks Checkov does not run on these workloads"


# --- docs/security.md, "Scanner skips" -----------------------------------------------------------

HOW = ("annotation", "allow-list", "not scanned")


@dataclass(frozen=True, order=True)
class Row:
    object: str
    check: str
    reason: str
    stacks: tuple[str, ...]
    how: str


def documented(text: str) -> list[Row]:
    """The rows of the table under `## Scanner skips`: object | check | reason | stacks | how."""
    match = re.search(r"^## Scanner skips\n(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    assert match, "docs/security.md has no `## Scanner skips` section"
    rows = []
    for line in match.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) != 5 or cells[0] in ("object", "") or set(cells[0]) <= {"-", ":"}:
            continue
        obj, check, reason, stacks, how = cells
        rows.append(Row(obj.strip("`"), check.strip("`"), reason, tuple(s.strip() for s in stacks.split(",")), how))
    return sorted(rows)


RUN_NAME = re.compile(r"^(Job\.[^.]+\.litellm-tenants-)[0-9a-f]{10}$")
"""The tenants reconciler's Job (components/tenants/manifests.py): `litellm-tenants-<hash of its inputs>`."""


def expected_rows(scans: Scans) -> list[Row]:
    found: dict[tuple[str, str, str, str], list[str]] = {}
    for stack in STACKS:
        scan = scans.stacks[stack]
        keys = [(r.resource, r.check, r.reason, "annotation") for r in scan.report.skipped]
        keys += [
            (res, check, ALLOWED[(res, check)], "allow-list")
            for res, check in _pairs(scan.report.failed) & ALLOWED.keys()
        ]
        keys += [(res, "all", NOT_SCANNED_REASON, "not scanned") for res in scan.staged.excluded]
        for obj, check, reason, how in keys:
            # The tenants' Job is named by the hash of its document: one row for every run.
            found.setdefault((RUN_NAME.sub(r"\1<run>", obj), check, reason, how), []).append(stack)
    return sorted(Row(obj, check, reason, tuple(stacks), how) for (obj, check, reason, how), stacks in found.items())


def markdown(row: Row) -> str:
    check = row.check if row.check == "all" else f"`{row.check}`"
    return f"| `{row.object}` | {check} | {row.reason} | {', '.join(row.stacks)} | {row.how} |"


def test_docs_list_every_skip_and_every_object_left_out(scans: Scans) -> None:
    rows = documented((ROOT / "docs" / "security.md").read_text(encoding="utf-8"))
    assert {r.how for r in rows} <= set(HOW)
    expected = expected_rows(scans)
    # offline/render.py leaves `helm test` pods out (as `helm template --skip-tests`): none is left to exclude.
    assert [r for r in expected if r.how == "not scanned"] == []
    missing = [markdown(r) for r in expected if r not in rows]
    stale = [markdown(r) for r in rows if r not in expected]
    assert not missing and not stale, (
        "docs/security.md, Scanner skips:\nadd\n" + "\n".join(missing) + "\nremove\n" + "\n".join(stale)
    )
    assert len(rows) == len(set(rows)), "a row is listed twice"


def test_nothing_rendered_is_left_out_of_the_scan(scans: Scans) -> None:
    """The render leaves `helm test` pods out (as `helm template --skip-tests`), so the scan sees
    every rendered object; the staging's exclusion (its own test below) has nothing to do."""
    for stack in STACKS:
        assert scans.stacks[stack].staged.excluded == (), stack


def test_the_docs_table_is_read_as_written() -> None:
    text = (
        "## Scanner skips\n\nIntro.\n\n| object | check | reason | stacks | how |\n|---|---|---|---|---|\n"
        "| `Deployment.ns.a` | `CKV_K8S_43` | why not | lab, enterprise | annotation |\n"
        "| `Pod.ns.t` | all | a hook | enterprise | not scanned |\n\n## Next\n| `X.y.z` | `C` | r | lab | annotation |\n"
    )
    rows = [
        Row("Deployment.ns.a", "CKV_K8S_43", "why not", ("lab", "enterprise"), "annotation"),
        Row("Pod.ns.t", "all", "a hook", ("enterprise",), "not scanned"),
    ]
    assert documented(text) == rows
    assert [markdown(r) for r in rows] == text.splitlines()[6:8]


# --- the self-test: the skip annotation works where scanner_skips puts it, and only there ----------


def test_checkov_honours_a_skip_on_the_object_and_ignores_one_on_its_pod_template(scans: Scans) -> None:
    skipped = {(r.resource, r.check, r.reason) for r in scans.selftest.skipped}
    failed = _pairs(scans.selftest.failed)
    assert skipped == {("Deployment.selftest.top-level", "CKV_K8S_43", SELFTEST_REASON)}
    assert ("Deployment.selftest.pod-template", "CKV_K8S_43") in failed
    assert ("Deployment.selftest.top-level", "CKV_K8S_43") not in failed
    misplaced = [where for where, _, _ in checkov.annotated_skips(_selftest_objects()[1])]
    assert misplaced == ["spec.template.metadata"]


def test_staging_strips_only_top_level_skips_and_leaves_helm_test_hooks_out(tmp_path: Path) -> None:
    preview = tmp_path / "preview"
    (preview / "manifests").mkdir(parents=True)
    (preview / "rendered" / "chart").mkdir(parents=True)
    app, hooked = _selftest_objects()
    hook = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "t", "annotations": {"helm.sh/hook": "test"}}}
    (preview / "manifests" / "a.yaml").write_text(yaml.safe_dump(app), encoding="utf-8")
    (preview / "rendered" / "chart" / "b.yaml").write_text(yaml.safe_dump_all([hooked, hook]), encoding="utf-8")
    (preview / "rendered" / "index.json").write_text("{}", encoding="utf-8")
    staged = checkov.stage(preview, tmp_path / "out", strip_skips=True)
    assert staged.excluded == ("Pod.default.t",)
    assert sorted(staged.objects) == ["Deployment.selftest.pod-template", "Deployment.selftest.top-level"]
    assert checkov.annotated_skips(staged.objects["Deployment.selftest.top-level"]) == []
    assert len(checkov.annotated_skips(staged.objects["Deployment.selftest.pod-template"])) == 1
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.*")) == [
        "manifests/a.yaml",
        "rendered/chart/b.yaml",
    ]


@pytest.mark.parametrize(
    ("reasons", "problem"),
    [
        ({"CKV_K8S_43": "a=b"}, "without '=' or '|'"),
        ({"CKV_K8S_43": "a | b"}, "without '=' or '|'"),
        ({"CKV_K8S_43": "two\nlines"}, "without '=' or '|'"),
        ({"CKV_K8S_43": " "}, "without '=' or '|'"),
        ({"K8S_43": "why"}, "not a Checkov Kubernetes check id"),
    ],
)
def test_scanner_skips_refuses_what_checkov_or_the_docs_would_misread(reasons: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        scanner_skips(reasons)


def test_scanner_skips_numbers_the_annotations_in_check_order() -> None:
    assert scanner_skips({"CKV_K8S_43": "digest", "CKV_K8S_9": "probe"}) == {
        "checkov.io/skip1": "CKV_K8S_9=probe",
        "checkov.io/skip2": "CKV_K8S_43=digest",
    }


# --- a digest in the image settings: both pin checks pass, and their skips go ----------------------

DIGEST = "sha256:" + "0123456789abcdef" * 4
PINNED_BY_SETTING = {
    "litellm.image": ("ghcr.io/berriai/litellm-non_root:v1.108.7", ("Deployment.litellm", "Job.litellm-migrations")),
    "sso.image": ("quay.io/oauth2-proxy/oauth2-proxy:v7.15.3", ("Deployment.oauth2-proxy",)),
    "postgres.cnpg.image": ("ghcr.io/cloudnative-pg/postgresql:17.11-standard-trixie", ("CronJob.litellm-reporting",)),
}


def test_a_digest_in_an_image_setting_reaches_its_containers_and_drops_the_pin_skips(tmp_path: Path) -> None:
    """`repository:tag@sha256:<64 hex>` is accepted by each image setting, rendered as written into every
    container it runs (the charts take it in their tag value), and the object no longer skips the digest
    (CKV_K8S_43) and pull-policy (CKV_K8S_15) checks: Checkov passes both on a digest (test_checkov's gate
    would fail on a skip no longer needed). As rendered today they carry both skips."""
    sets = [
        a for key, (image, _) in PINNED_BY_SETTING.items() for a in ("--set", f"llm-gateway:{key}={image}@{DIGEST}")
    ]
    for out, args in (("tag", []), ("digest", sets)):
        assert preview_main(["enterprise", "--out", str(tmp_path / out), *args]) == 0
    tagged = checkov.stage(tmp_path / "tag", tmp_path / "tag-staged").objects
    pinned = checkov.stage(tmp_path / "digest", tmp_path / "digest-staged").objects
    pin_checks = {"CKV_K8S_15", "CKV_K8S_43"}
    for key, (image, objects) in PINNED_BY_SETTING.items():
        for name in objects:
            kind, _, obj = name.partition(".")
            resource = f"{kind}.llm-gateway.{obj}"
            for staged, expected in ((tagged, image), (pinned, f"{image}@{DIGEST}")):
                template = pod_template(staged[resource])
                assert template is not None, resource
                assert {c["image"] for c in containers(template["spec"])} == {expected}, (key, resource)
            skipped = {check for _, check, _ in checkov.annotated_skips(pinned[resource])}
            assert not skipped & pin_checks, resource
            if kind != "Job":  # the migration Job's skips are ALLOWED (the chart fixes its annotations)
                assert pin_checks <= {check for _, check, _ in checkov.annotated_skips(tagged[resource])}, resource
