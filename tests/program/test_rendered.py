"""Checks on everything a stack deploys: the program's objects and each Helm release
rendered through its pinned chart (offline/render.py), for both stacks and the
external-engine scenario."""

from __future__ import annotations

import base64
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from components import gateway, kit
from components.kit import stack_charts
from config import ConfigError
from config.assets import (
    CACHE_ENV,
    LANGFUSE_CHART,
    LANGFUSE_V4_CHART,
    LITELLM_CHART,
    OAUTH2_PROXY_CHART,
    VALKEY_CHART,
    asset_path,
    load_lock,
)
from offline.render import chart_asset, is_helm_test, releases
from offline.run import run_stack
from tests.support import ROOT
from tests.support import rendered as checks
from tests.support.config import scenario_config
from tests.support.program import (
    ADMIN_PASSWORD,
    HELM_RELEASE,
    SCENARIOS,
    SECRET_CONFIG,
    VARIANT_NAMES,
    run_cached,
    run_scenario,
)
from tests.support.rendered import render_run
from tests.support.schemas import validation_errors
from tools.preview import main as preview_main

SCENARIO_IDS = sorted([*VARIANT_NAMES, "lab-langfuse-v3"])
"""The shipped stacks (Langfuse v4 in enterprise), the lab on the external engine, and a v3 install's fixture."""

# Defects of the charts themselves that no value can change. Each must still occur (so the
# list cannot rot), and nothing else may.
CHART_DEFECTS = {
    "selects pods of chart:litellm Job/litellm-migrations": (
        "litellm-helm gives the migration Job's pods the Deployment's selector labels (litellm.labels + "
        "podLabels): every Service selecting the proxy also selects the running migration pod; no value "
        "separates them"
    ),
}


@cache
def _deployed(scenario: str) -> checks.Deployed:
    return checks.deployed(run_scenario(scenario))


def _without_known(findings: list[str]) -> list[str]:
    return [f for f in findings if not any(known in f for known in CHART_DEFECTS)]


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_every_rendered_object_is_valid(scenario: str) -> None:
    d = _deployed(scenario)
    chart_objects = [o for o in d.objects if o.origin != "program"]
    assert chart_objects, "nothing rendered"
    errors = [f"{o.ref}: {e}" for o in chart_objects for e in validation_errors(o.body)]
    assert errors == []


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_every_pod_the_program_runs_meets_restricted(scenario: str) -> None:
    d = _deployed(scenario)
    pods = [p for p in d.pods if not p.synthetic]
    assert {p.owner.kind for p in pods} >= {"Deployment", "Job"}
    assert [f"{p.ref}: {v}" for p in pods for v in checks.restricted_violations(p.spec)] == []


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_helm_test_pods_are_not_rendered_and_the_program_never_runs_them(scenario: str) -> None:
    """The LiteLLM chart's `helm test` pods (`busybox` without a tag, no securityContext, no value to pin or
    disable them) are left out as `helm template --skip-tests` leaves them out: only `helm test` creates
    them, and docs/security.md says not to run it. Before, both were rendered in every scenario."""
    d = _deployed(scenario)
    assert d.helm_test_pods == []
    assert [o.ref for o in d.objects if is_helm_test(o.body)] == []
    security = " ".join((ROOT / "docs" / "security.md").read_text().split())
    assert "Do not run `helm test` on the release" in security


def test_the_helm_test_filter_knows_each_hook_spelling() -> None:
    def hooked(value: str) -> dict[str, Any]:
        return {"kind": "Pod", "metadata": {"name": "t", "annotations": {"helm.sh/hook": value}}}

    for value in ("test", "test-success", "pre-install, test", "test-failure"):
        assert is_helm_test(hooked(value)), value
    for value in ("pre-install", "post-upgrade,pre-rollback", "tests"):
        assert not is_helm_test(hooked(value)), value
    assert not is_helm_test({"kind": "Pod", "metadata": {"name": "t"}})


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_every_pod_runs_as_a_verifiable_non_root_user(scenario: str) -> None:
    """`runAsNonRoot` alone is refused at start (CreateContainerConfigError) when the
    image's user is root, and cannot be verified when it is a name: runAsUser/runAsGroup must be set."""
    d = _deployed(scenario)
    pods = [p for p in d.pods if not p.synthetic]
    offenders = [f"{p.ref}: {v}" for p in pods for v in checks.identity_violations(p.spec)]
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_every_root_filesystem_is_read_only_or_its_object_says_why(scenario: str) -> None:
    """readOnlyRootFilesystem, or a CKV_K8S_22 skip with its reason on the object
    (the same reason Checkov reports and docs/security.md lists under "Scanner skips")."""
    d = _deployed(scenario)
    # The ClickHouse operator's pods: docs/langfuse.md says why (tests/components/langfuse/test_langfuse_clickhouse.py).
    pods = [p for p in d.pods if not p.synthetic and p.operator != "clickhouse"]
    offenders = [f"{p.ref}: {v}" for p in pods for v in checks.writable_root_violations(p.owner.body, p.spec)]
    assert not offenders, "\n".join(offenders)


def test_identity_and_read_only_checks_catch_each_case() -> None:
    def pod(image: str, pod_sc: dict[str, object], container_sc: dict[str, object]) -> dict[str, object]:
        return {
            "securityContext": pod_sc,
            "containers": [{"name": "c", "image": image, "securityContext": container_sc}],
        }

    root_image = "ghcr.io/berriai/litellm-database:v1.108.7"
    found = checks.identity_violations(pod(root_image, {"runAsNonRoot": True}, {}))
    assert len(found) == 2 and "runAsUser unset" in found[0] and "runAsGroup unset" in found[1]
    assert checks.identity_violations(pod(root_image, {"runAsUser": 1000, "runAsGroup": 1000}, {})) == []
    assert checks.identity_violations(pod(root_image, {"runAsUser": 1000}, {"runAsGroup": 1000})) == []
    assert checks.identity_violations(pod(root_image, {"runAsUser": 1000, "runAsGroup": 1000}, {"runAsUser": 0})) == [
        f"container c ({root_image}): runAsUser: 0"
    ]
    # A known numeric non-root USER may stay the image's, with or without a tag or digest.
    for image in ("ghcr.io/cloudnative-pg/postgresql:17.6-standard-trixie", "docker.io/bitnamilegacy/valkey@sha256:ab"):
        assert checks.identity_violations(pod(image, {}, {})) == []
    assert checks.image_repository("registry:5000/a/b:1.0@sha256:cd") == "registry:5000/a/b"
    assert checks.image_repository("registry:5000/a/b") == "registry:5000/a/b"

    writable = pod(root_image, {}, {"readOnlyRootFilesystem": False})
    unset = pod(root_image, {}, {})
    owner: dict[str, object] = {"metadata": {"name": "x"}}
    assert len(checks.writable_root_violations(owner, writable)) == 1
    assert len(checks.writable_root_violations(owner, unset)) == 1
    assert checks.writable_root_violations(owner, pod(root_image, {}, {"readOnlyRootFilesystem": True})) == []
    reasoned = {"metadata": {"annotations": {"checkov.io/skip1": "CKV_K8S_22=the UI is rewritten at start"}}}
    assert checks.writable_root_violations(reasoned, writable) == []
    # A reason on the pod template is not the object's (Checkov ignores it too); a bare id gives no reason.
    template_only = {"metadata": {}, "spec": {"template": reasoned}}
    bare = {"metadata": {"annotations": {"checkov.io/skip1": "CKV_K8S_22"}}}
    assert len(checks.writable_root_violations(template_only, writable)) == 1
    assert len(checks.writable_root_violations(bare, writable)) == 1


def test_restricted_checker_catches_each_rule() -> None:
    good = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {"name": "c", "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}
        ],
        "volumes": [{"name": "v", "secret": {"secretName": "s"}}],
    }
    assert checks.restricted_violations(good) == []
    bad = {
        "hostNetwork": True,
        "securityContext": {},
        "containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}],
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
    }
    found = "\n".join(checks.restricted_violations(bad))
    for rule in (
        "hostNetwork",
        "hostPath",
        "allowPrivilegeEscalation",
        "runAsNonRoot",
        "seccomp",
        "drop ALL",
        "NET_ADMIN",
    ):
        assert rule in found


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_every_secret_and_config_map_reference_resolves(scenario: str) -> None:
    d = _deployed(scenario)
    assert checks.reference_findings(d) == []
    run = run_scenario(scenario)
    values = {rel.name: rel.values for rel in releases(run)}
    namespace = {rel.namespace for rel in releases(run)}
    assert len(namespace) == 1
    assert checks.existing_secret_findings(d, values, namespace.pop()) == []


def test_reference_check_catches_a_missing_key() -> None:
    d = _deployed("lab")
    deployment = next(p for p in d.pods if p.owner.kind == "Deployment")
    env = [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "litellm-master-key", "key": "nope"}}}]
    spec = {"containers": [{"name": "x", "env": env}, {"name": "y", "envFrom": [{"secretRef": {"name": "absent"}}]}]}
    broken = checks.Deployed(d.objects, [checks.Pod(deployment.owner, deployment.labels, spec)])
    findings = checks.reference_findings(broken)
    assert any("has no key 'nope'" in f for f in findings) and any("absent is not deployed" in f for f in findings)


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_network_policies_select_pods_and_every_pod_is_limited(scenario: str) -> None:
    d = _deployed(scenario)
    assert [np for np in d.of_kind("NetworkPolicy") if np.origin == "program"]
    assert checks.network_policy_findings(d) == []


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_no_chart_brings_its_own_network_policy(scenario: str) -> None:
    assert checks.chart_network_policy_findings(_deployed(scenario)) == []


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_every_service_selects_only_the_pods_it_serves(scenario: str) -> None:
    d = _deployed(scenario)
    findings = checks.service_findings(d)
    assert _without_known(findings) == []
    for known, reason in CHART_DEFECTS.items():
        assert any(known in f for f in findings), f"fixed? remove from CHART_DEFECTS: {reason}"


JOB_POD_LABEL = "job-name"  # set by the Job controller on every pod it creates


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_service_monitors_scrape_no_job_pods(scenario: str) -> None:
    """A Job pod selected by a scraped Service is a target that never serves metrics: `up == 0`."""
    d = _deployed(scenario)
    findings = []
    for sm in d.of_kind("ServiceMonitor"):
        spec = sm.body["spec"]
        namespaces = (spec.get("namespaceSelector") or {}).get("matchNames") or [sm.namespace]
        services = [
            s
            for s in d.of_kind("Service")
            if s.namespace in namespaces
            and checks.matches(spec["selector"], (s.body.get("metadata") or {}).get("labels") or {})
        ]
        for endpoint in spec.get("endpoints") or []:
            drops_jobs = any(
                r.get("action", "replace").lower() == "drop"
                and r.get("sourceLabels") == ["__meta_kubernetes_pod_label_" + JOB_POD_LABEL.replace("-", "_")]
                and r.get("regex") in (".+", ".*.+")
                for r in endpoint.get("relabelings") or []
            )
            for svc in services:
                jobs = [
                    p
                    for p in checks.selected_pods(d, svc.namespace, svc.body["spec"].get("selector") or {})
                    if p.owner.kind == "Job"
                ]
                if jobs and not drops_jobs:
                    findings.append(
                        f"{sm.ref} endpoint {endpoint.get('port')}: scrapes {svc.ref}, which selects {[p.ref for p in jobs]}"
                    )
    assert d.of_kind("ServiceMonitor")
    assert findings == []


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_database_url_last_wins_in_the_proxy_and_the_migration_job(scenario: str) -> None:
    """docs/litellm.md, "Database URL": the release's DATABASE_URL (database Secret `uri`) comes last."""
    run = run_scenario(scenario)
    secret = run.outputs["database"]["app_secret"]
    d = _deployed(scenario)
    workloads = {p.owner.kind: p for p in d.pods if p.owner.origin == "chart:litellm"}
    assert set(workloads) == {"Deployment", "Job"}
    for kind, pod in workloads.items():
        (container,) = [c for c in pod.spec["containers"] if any(e["name"] == "DATABASE_URL" for e in c.get("env", []))]
        env = container["env"]
        entries = [e for e in env if e["name"] == "DATABASE_URL"]
        assert len(entries) >= 2, f"{kind}: the chart's own DATABASE_URL is gone; revisit docs/litellm.md"
        uri = {"secretKeyRef": {"name": secret, "key": "uri"}}
        last = entries[-1]
        if "valueFrom" in last:
            assert last["valueFrom"] == uri, kind
        else:  # the Secret's URI plus the TLS parameters, by $(VAR) expansion of an earlier entry
            var = last["value"].removeprefix("$(").split(")", 1)[0]
            position = {e["name"]: i for i, e in enumerate(env)}
            assert position[var] < env.index(last), kind
            assert env[position[var]]["valueFrom"] == uri, kind


def test_rendering_is_deterministic_and_shows_no_secret() -> None:
    run = run_cached("enterprise")
    first = {k: [o.body for o in v] for k, v in render_run(run).items()}
    second = {k: [o.body for o in v] for k, v in render_run(run).items()}
    assert first == second
    assert set(first) == {"litellm", "langfuse", "oauth2-proxy"}


def test_rendered_preview_output_holds_no_secret_even_encoded(tmp_path: Path) -> None:
    """Charts base64-encode what they put in Secrets: neither form of any secret may appear."""
    assert preview_main(["enterprise", "--out", str(tmp_path)]) == 0
    files = sorted((tmp_path / "rendered").rglob("*.yaml"))
    assert len(files) > 15  # LiteLLM's and Langfuse's (Langfuse runs no Valkey of its own)
    run = run_cached("enterprise")
    secrets = set(run.generated_secrets) | {ADMIN_PASSWORD}
    forms = secrets | {base64.b64encode(s.encode()).decode() for s in secrets}
    for path in files:
        text = path.read_text()
        assert not [s for s in forms if s in text], path


def test_existing_secret_and_network_policy_checks_catch_defects() -> None:
    d = _deployed("lab")
    values = {
        "x": {
            "auth": {"existingSecret": "absent"},
            "db": {"existingSecret": "litellm-master-key", "passwordKey": "nope"},
        }
    }
    findings = checks.existing_secret_findings(d, values, "llm-gateway")
    assert any("Secret absent is not deployed" in f for f in findings)
    assert any("has no key 'nope'" in f for f in findings)
    stray = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "stray", "namespace": "llm-gateway"},
        "spec": {"podSelector": {"matchLabels": {"app": "nothing"}}, "policyTypes": ["Ingress"]},
    }
    without_policies = [o for o in d.objects if o.kind != "NetworkPolicy"]
    broken = checks.Deployed([*without_policies, checks.Obj(stray, "program")], d.pods)
    findings = checks.network_policy_findings(broken)
    assert "program NetworkPolicy/stray: selects no deployed pod" in findings
    assert any(f.endswith("no NetworkPolicy limits its ingress") for f in findings)


def test_preview_without_the_chart_cache_fails_in_one_line_or_skips_rendering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LLM_GATEWAY_ASSET_CACHE", str(tmp_path / "empty-cache"))
    asset_path.cache_clear()
    try:
        failed = preview_main(["lab", "--out", str(tmp_path / "with")])
        err = capsys.readouterr().err
        skipped = preview_main(["lab", "--out", str(tmp_path / "without"), "--no-render"])
    finally:
        monkeypatch.undo()
        asset_path.cache_clear()
    assert failed == 2
    assert err.strip().count("\n") == 0 and "python -m tools.assets fetch" in err
    assert skipped == 0 and not (tmp_path / "without" / "rendered").exists()


# --- what is reviewed is what is installed (docs/security.md, Finding 7) ------------------

CHART_SCENARIOS = sorted({*SCENARIO_IDS, "lab-langfuse", "enterprise-redis-in-cluster"})


@pytest.mark.parametrize("scenario", CHART_SCENARIOS)
def test_every_release_installs_the_locked_tree_the_preview_renders(scenario: str) -> None:
    """Each release's chart is a local path to its locked tree in the cache (no registry, no chart
    repository, no pull by version at deploy time), its version that tree's Chart.yaml version, and its
    description the lock's digest: a change of the locked bytes is a change of the release in the diff."""
    run = run_scenario(scenario)
    lock = load_lock()
    installed = []
    for rel in (r.plain_inputs for r in run.of_type(HELM_RELEASE)):
        asset = lock[chart_asset(rel["chart"])]
        assert rel["chart"] == f".cache/assets/{asset.name}" and "repositoryOpts" not in rel, rel["name"]
        assert rel["version"] == asset.version
        assert rel["description"] == f"{asset.name} {asset.version} tree-sha256:{asset.sha256} (assets.lock.json)"
        installed.append(asset.name)
    stack, overrides = SCENARIOS[scenario]
    assert sorted(installed) == sorted(stack_charts(scenario_config(stack, *overrides)))
    # The preview renders each release from exactly the tree it names.
    for rel in releases(run):
        assert asset_path(chart_asset(rel.chart)).relative_to(ROOT).as_posix() == rel.chart


def _deploying(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    """Run the program as `pulumi up` would for its charts (the engine loads them) from `cache`; and
    fail if the program got as far as building the gateway (a resource registering)."""

    def registered(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a resource registered before the charts were checked")

    monkeypatch.setattr(kit, "engine_reads_charts", lambda: True)
    monkeypatch.setattr(gateway, "LlmGateway", registered)
    monkeypatch.setenv(CACHE_ENV, str(cache))


def test_a_tampered_cached_chart_is_refused_before_anything_registers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(asset_path(LITELLM_CHART), cache / LITELLM_CHART)
    values = cache / LITELLM_CHART / "values.yaml"
    values.write_text(values.read_text().replace("runAsNonRoot: true", "runAsNonRoot: false", 1))
    _deploying(monkeypatch, cache)
    with pytest.raises(ConfigError) as err:
        run_stack("lab", (), extra_config=SECRET_CONFIG)
    message = str(err.value)
    assert message.startswith("the locked Helm charts cannot be installed as pinned (1 problem):\n  - ")
    assert f"asset {LITELLM_CHART} in {cache / LITELLM_CHART} does not match assets.lock.json" in message
    assert "run `python -m tools.assets fetch`" in message


def test_charts_never_fetched_are_refused_with_the_fetch_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _deploying(monkeypatch, tmp_path / "empty")
    with pytest.raises(ConfigError) as err:
        run_stack("enterprise", (), extra_config=SECRET_CONFIG)
    lines = str(err.value).splitlines()[1:]
    assert [line.split(" ")[4] for line in lines] == [LITELLM_CHART, LANGFUSE_V4_CHART, OAUTH2_PROXY_CHART]
    assert all(line.endswith("run `python -m tools.assets fetch`") for line in lines)


def test_a_locked_chart_helm_cannot_install_is_refused_with_the_swap(monkeypatch: pytest.MonkeyPatch) -> None:
    """The assembled LiteLLM tree declares subcharts it does not carry: Helm would refuse it at
    `pulumi up` with a misleading message; the program says why and what to do, first."""
    _deploying(monkeypatch, asset_path(LITELLM_CHART).parent.parent)
    with pytest.raises(ConfigError) as err:
        run_stack("lab", (), extra_config=SECRET_CONFIG)
    message = str(err.value)
    assert f"chart {LITELLM_CHART} 1.1.0 in" in message and "declares the subcharts postgresql, redis" in message
    assert "helm pull oci://ghcr.io/berriai/litellm-helm --version 1.108.7; docs/versions.md says how" in message
    kit.require_charts([LANGFUSE_CHART, VALKEY_CHART])  # installable and intact: no error
