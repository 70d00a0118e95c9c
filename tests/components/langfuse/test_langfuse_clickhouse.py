"""Langfuse's ClickHouse on the upstream ClickHouse operator: the program's ClickHouseCluster and
KeeperCluster are valid for the pinned CRDs, the pods the operator makes of them meet `restricted` and run as
ClickHouse's own uid, only Langfuse's web and worker (and the operator, and the peers) reach them, and the
chart renders no ClickHouse or ZooKeeper of its own (the Bitnami ones are gone)."""

from __future__ import annotations

import copy
from functools import cache

import pytest

from components.langfuse import clickhouse as ch
from components.langfuse.credentials import CLICKHOUSE_PASSWORD_KEY, CREDENTIALS_SECRET
from components.litellm.names import selector_labels
from config import StackConfig, parse_config
from config.langfuse_clickhouse import MAX_CLUSTER_NAME
from tests.support import ROOT
from tests.support import rendered as checks
from tests.support.config import errors_for, namespace, scenario_config
from tests.support.netpol import Address, Pod, can_connect
from tests.support.program import SCENARIOS, release, run_scenario
from tests.support.schemas import validation_errors

SCENARIO_IDS = ["enterprise", "lab-langfuse", "lab-langfuse-v3"]
KINDS = ("ClickHouseCluster", "KeeperCluster")


def _config(scenario: str) -> StackConfig:
    stack, overrides = SCENARIOS[scenario]
    return scenario_config(stack, *overrides)


@cache
def _deployed(scenario: str) -> checks.Deployed:
    return checks.deployed(run_scenario(scenario))


def _operator_pod(d: checks.Deployed, kind: str) -> checks.Pod:
    (pod,) = [p for p in d.pods if p.operator == "clickhouse" and p.owner.kind == kind]
    return pod


def _net(pod: checks.Pod) -> Pod:
    return Pod(pod.owner.namespace, pod.labels)


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_the_clusters_are_valid_for_the_pinned_operator_crds(scenario: str) -> None:
    d = _deployed(scenario)
    clusters = [o for o in d.objects if o.kind in KINDS and o.origin == "program"]
    assert sorted(o.kind for o in clusters) == sorted(KINDS)
    assert [f"{o.ref}: {e}" for o in clusters for e in validation_errors(o.body)] == []
    # The schemas are the CRDs' own, closed: a misspelt field is caught.
    broken = copy.deepcopy(clusters[0].body)
    broken["spec"]["replicaz"] = 1
    assert validation_errors(broken)


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_the_operator_pods_meet_restricted_and_run_as_clickhouse(scenario: str) -> None:
    d = _deployed(scenario)
    cfg = _config(scenario)
    for kind in KINDS:
        pod = _operator_pod(d, kind)
        assert checks.restricted_violations(pod.spec) == [], pod.ref
        assert checks.identity_violations(pod.spec) == [], pod.ref
        assert pod.spec["securityContext"]["runAsUser"] == ch.CLICKHOUSE_UID
    (server,) = _operator_pod(d, "ClickHouseCluster").spec["containers"]
    assert server["image"] == cfg.langfuse.clickhouse.image
    (keeper,) = _operator_pod(d, "KeeperCluster").spec["containers"]
    assert keeper["image"] == cfg.langfuse.clickhouse.keeper.image


def test_without_its_own_capability_the_operator_adds_what_restricted_refuses() -> None:
    """The model of the operator's pod is what makes the test above able to fail: the operator's defaults
    (IPC_LOCK, PERFMON, SYS_PTRACE) come back when the container adds nothing itself."""
    (obj,) = [o for o in _deployed("enterprise").objects if o.kind == "ClickHouseCluster"]
    body = copy.deepcopy(obj.body)
    del body["spec"]["containerTemplate"]["securityContext"]["capabilities"]["add"]
    pod = checks.clickhouse_operator_pod(checks.Obj(body, "program"))
    assert pod is not None
    assert "capabilities add ['IPC_LOCK', 'PERFMON', 'SYS_PTRACE']" in " ".join(checks.restricted_violations(pod.spec))


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_only_langfuse_the_operator_and_the_peers_reach_clickhouse_and_keeper(scenario: str) -> None:
    d = _deployed(scenario)
    cfg = _config(scenario)
    policies = [o.body for o in d.of_kind("NetworkPolicy")]
    server, keeper = _net(_operator_pod(d, "ClickHouseCluster")), _net(_operator_pod(d, "KeeperCluster"))
    apps = [Pod(p.owner.namespace, p.labels) for p in d.pods if p.owner.name in ("langfuse-web", "langfuse-worker")]
    assert len(apps) == 2
    ns = cfg.namespaces.gateway
    operator_ns = cfg.langfuse.clickhouse.operator_namespace
    assert operator_ns is not None
    litellm, stranger = Pod(ns, selector_labels(cfg.litellm)), Pod("team-x", {"app": "curl"})
    operator = Pod(operator_ns, {"app": "clickhouse-operator"})
    for app in apps:
        assert can_connect(policies, app, server, ch.HTTP_PORT)
        assert can_connect(policies, app, server, ch.NATIVE_PORT)
        assert not can_connect(policies, app, keeper, ch.KEEPER_CLIENT_PORT)
    for intruder in (litellm, stranger, Pod(ns, {"app": "other"})):
        assert not can_connect(policies, intruder, server, ch.HTTP_PORT)
        assert not can_connect(policies, intruder, keeper, ch.KEEPER_CLIENT_PORT)
    assert can_connect(policies, server, server, ch.INTERSERVER_PORT)
    assert can_connect(policies, server, keeper, ch.KEEPER_CLIENT_PORT)
    assert can_connect(policies, keeper, keeper, ch.KEEPER_RAFT_PORT)
    assert not can_connect(policies, keeper, server, ch.HTTP_PORT)
    assert can_connect(policies, operator, server, ch.MANAGEMENT_PORT)
    assert can_connect(policies, operator, keeper, ch.KEEPER_CLIENT_PORT)
    assert not can_connect(policies, operator, server, ch.HTTP_PORT)
    for pod in (server, keeper):
        assert not can_connect(policies, pod, Address("8.8.8.8"), 443)


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_langfuse_uses_the_operators_clickhouse_and_the_chart_renders_none(scenario: str) -> None:
    run = run_scenario(scenario)
    cfg = _config(scenario)
    values = release(run, cfg.langfuse.release_name)["values"]["clickhouse"]
    n = ch.clickhouse_names(cfg)
    assert values["deploy"] is False
    assert values["host"] == f"{n.name}-clickhouse-headless.{n.namespace}.svc.cluster.local"
    assert values["auth"] == {
        "username": "default",
        "existingSecret": CREDENTIALS_SECRET,
        "existingSecretKey": CLICKHOUSE_PASSWORD_KEY,
    }
    (cluster,) = [o for o in _deployed(scenario).objects if o.kind == "ClickHouseCluster"]
    assert cluster.body["spec"]["settings"]["defaultUserPassword"] == {
        "secret": {"name": CREDENTIALS_SECRET, "key": CLICKHOUSE_PASSWORD_KEY}
    }
    chart = [o for o in _deployed(scenario).objects if o.origin.startswith("chart:langfuse")]
    assert [o.ref for o in chart if o.kind == "StatefulSet" and ("clickhouse" in o.name or "zookeeper" in o.name)] == []
    images = [c["image"] for p in _deployed(scenario).pods for c in checks.containers(p.spec)]
    assert sorted(i for i in images if "clickhouse" in i or "zookeeper" in i) == sorted(
        [cfg.langfuse.clickhouse.image, cfg.langfuse.clickhouse.keeper.image]
    )


def test_the_operator_namespace_is_required_with_langfuse() -> None:
    raw = namespace("lab")
    raw["langfuse"] = {"enabled": True, "blob_storage": "gcs", "gcs": {"bucket": "lab-langfuse-blobs"}}
    raw["capacity"] = {"cpu": "10", "memory": "24Gi"}
    message = errors_for(raw)
    assert "llm-gateway:langfuse.clickhouse.operator_namespace: is required" in message


@pytest.mark.parametrize(
    ("version", "image", "why"),
    [
        ("4", "docker.io/clickhouse/clickhouse-server:25.11.2.24", "Langfuse v4 needs ClickHouse 25.12 or later"),
        ("3", "docker.io/clickhouse/clickhouse-server:24.2.3.70", "Langfuse v3 needs ClickHouse 24.3 or later"),
    ],
)
def test_a_clickhouse_langfuse_cannot_use_is_refused(version: str, image: str, why: str) -> None:
    raw = namespace("enterprise")
    raw["langfuse"]["version"] = version
    raw["langfuse"]["clickhouse"]["image"] = image
    message = errors_for(raw)
    line = next(ln for ln in message.splitlines() if "langfuse.clickhouse.image" in ln)
    assert why in line


def test_the_writable_root_filesystem_of_clickhouse_is_documented() -> None:
    """The one restricted-profile extra the operator's pods do not get (read-only root) says why, in the doc."""
    for kind in KINDS:
        pod = _operator_pod(_deployed("enterprise"), kind)
        (container,) = pod.spec["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is False
    doc = " ".join((ROOT / "docs" / "langfuse.md").read_text().split())
    assert "readOnlyRootFilesystem" in doc and "not verified" in doc


def test_a_release_name_too_long_for_the_operators_pod_labels_is_refused() -> None:
    """The operator's StatefulSet `<name>-clickhouse-0-0` plus `-<hash>` is a pod label value (63 at most)."""
    raw = namespace("enterprise")
    raw["langfuse"]["release_name"] = "f" * (MAX_CLUSTER_NAME + 1)
    assert "llm-gateway:langfuse.release_name: at most 37 characters with Langfuse on" in errors_for(raw)
    raw["langfuse"]["release_name"] = "f" * MAX_CLUSTER_NAME
    cfg = parse_config(raw)
    longest = f"{cfg.langfuse.release_name}-clickhouse-0-0-{'h' * 10}"
    assert len(longest) == 63
