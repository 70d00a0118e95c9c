"""Langfuse on the stack's shared Redis: neither chart (2.x for v4, 1.5.x for v3) renders a Redis or
Valkey of its own (the 1.5.x chart's was Bitnami's); web and worker connect to the Redis LiteLLM uses (the
in-cluster Valkey release or Memorystore, with TLS and its CA), in database `LANGFUSE_REDIS_DB`, with the
password of the shared Redis's ESO Secret; the shared Redis admits them and their egress reaches it; a stack
that turns Langfuse on without a shared Redis, or on a Memorystore that evicts, is refused.

Checked on the whole program's run, its releases rendered through their locked charts
(tests/support/rendered.py), so the root's wiring (`SharedStateArgs.other_clients`) is covered too."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from components.redis import values as shared
from config.footprint import footprint
from config.redis import LANGFUSE_REDIS_DB
from offline.run import ProgramRun
from tests.support.config import errors_for, namespace, stack_config
from tests.support.netpol import Address, can_connect
from tests.support.netpol import Pod as NetPod
from tests.support.program import LANGFUSE_V3, run_cached, run_scenario
from tests.support.rendered import Deployed, Pod, containers, deployed, reference_findings

GW = "llm-gateway"
RUNS: dict[str, tuple[str, tuple[str, ...]] | str] = {
    "enterprise-v4-memorystore": "enterprise",
    "enterprise-v3-memorystore": ("enterprise", LANGFUSE_V3),
    "lab-v4-in-cluster": "lab-langfuse",
    "lab-v3-minio-in-cluster": "lab-langfuse-v3",
}
"""Both Langfuse versions on both kinds of shared Redis."""


def _run(variant: str) -> ProgramRun:
    spec = RUNS[variant]
    if isinstance(spec, str):
        return run_scenario(spec)
    stack, overrides = spec
    return run_cached(stack, *overrides)


@cache
def _deployed(variant: str) -> Deployed:
    return deployed(_run(variant))


def _workload_pod(d: Deployed, name: str) -> Pod:
    (pod,) = [p for p in d.pods if p.owner.name == name and not p.is_job]
    return pod


def _env(pod: Pod, container: str) -> dict[str, dict[str, Any]]:
    (found,) = [c for c in containers(pod.spec) if c["name"] == container]
    return {e["name"]: e for e in found.get("env") or []}


def _images(body: Any) -> list[str]:
    if isinstance(body, dict):
        return [v for k, v in body.items() if k == "image" and isinstance(v, str)] + [
            i for v in body.values() for i in _images(v)
        ]
    if isinstance(body, list):
        return [i for v in body for i in _images(v)]
    return []


@pytest.mark.parametrize("variant", RUNS)
def test_no_langfuse_chart_render_contains_a_redis_or_valkey(variant: str) -> None:
    chart = [o for o in _deployed(variant).objects if o.origin == "chart:langfuse"]
    assert {o.kind for o in chart} >= {"Deployment", "Service"}  # the render is there
    assert [o.ref for o in chart if "redis" in o.name or "valkey" in o.name] == []
    assert [i for o in chart for i in _images(o.body) if "valkey" in i or "redis" in i] == []


@pytest.mark.parametrize("variant", RUNS)
def test_langfuse_uses_the_shared_redis_with_its_eso_password(variant: str) -> None:
    d = _deployed(variant)
    tls = "memorystore" in variant
    # Where LiteLLM's proxy connects: the same Redis (its REDIS_HOST/PORT from the same wiring).
    proxy = _env(_workload_pod(d, "litellm"), "litellm")
    host, port = proxy["REDIS_HOST"]["value"], proxy["REDIS_PORT"]["value"]
    assert port == str(shared.MEMORYSTORE_TLS_PORT if tls else shared.VALKEY_PORT)
    scheme = "rediss" if tls else "redis"
    for workload, container in (("langfuse-web", "langfuse-web"), ("langfuse-worker", "langfuse-worker")):
        pod = _workload_pod(d, workload)
        env = _env(pod, container)
        assert env["REDIS_CONNECTION_STRING"]["value"] == (
            f"{scheme}://default:$(REDIS_PASSWORD)@{host}:{port}/{LANGFUSE_REDIS_DB}"
        )
        assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": shared.AUTH_SECRET,
            "key": shared.PASSWORD_KEY,
        }
        assert env["REDIS_TLS_ENABLED"]["value"] == ("true" if tls else "false")
        if tls:
            ca = env["REDIS_TLS_CA_PATH"]["value"]
            assert ca == f"{shared.CA_MOUNT_DIR}/{shared.CA_KEY}"
            volumes = {v["name"]: v for v in pod.spec["volumes"]}
            (mount,) = [
                m for c in containers(pod.spec) for m in c.get("volumeMounts") or [] if ca.startswith(m["mountPath"])
            ]
            assert volumes[mount["name"]]["secret"]["secretName"] == shared.CA_SECRET
        else:
            assert "REDIS_TLS_CA_PATH" not in env
    # Both Secrets are ESO's, in Langfuse's namespace, and every key the pods read is one ESO renders.
    targets = {
        (e.body["spec"]["target"]["name"], e.body["metadata"]["namespace"])
        for e in d.of_kind("ExternalSecret")
        if e.origin == "program"
    }
    assert (shared.AUTH_SECRET, GW) in targets
    assert ((shared.CA_SECRET, GW) in targets) == tls
    assert reference_findings(d) == []


@pytest.mark.parametrize("variant", RUNS)
def test_the_shared_redis_admits_langfuse_web_and_worker_only(variant: str) -> None:
    d = _deployed(variant)
    policies = [o.body for o in d.of_kind("NetworkPolicy")]
    web, worker = (NetPod(GW, _workload_pod(d, n).labels) for n in ("langfuse-web", "langfuse-worker"))
    (keeper,) = [p for p in d.pods if p.operator == "clickhouse" and p.owner.kind == "KeeperCluster"]
    others = [NetPod(keeper.owner.namespace, keeper.labels)]
    if "memorystore" in variant:
        server: NetPod | Address = Address("10.200.0.3")  # in Pulumi.enterprise.yaml's reserved_ip_range
        port = shared.MEMORYSTORE_TLS_PORT
    else:
        server = NetPod(GW, _workload_pod(d, "litellm-redis").labels)
        port = shared.VALKEY_PORT
        minio = [p for p in d.pods if p.owner.origin == "chart:langfuse" and "minio" in p.owner.name]
        others += [NetPod(GW, p.labels) for p in minio]
    for client in (web, worker):
        assert can_connect(policies, client, server, port), client
        assert not can_connect(policies, client, server, port + 1), client
    for pod in others:
        assert not can_connect(policies, pod, server, port), pod


def test_langfuse_without_a_shared_redis_is_refused() -> None:
    raw = namespace("enterprise")
    raw["redis"] = {"mode": "none"}
    message = errors_for(raw)
    assert "llm-gateway:redis.mode: none with langfuse.enabled" in message
    # Listed beside the other problem of the same key (LiteLLM's 20 processes).
    assert "= 20 processes" in message and "(2 problems)" in message
    assert "Traceback" not in message


def test_langfuse_on_an_evicting_memorystore_is_refused_and_noeviction_is_set() -> None:
    raw = namespace("enterprise")
    raw["redis"]["memorystore"]["maxmemory_policy"] = "volatile-lru"
    message = errors_for(raw)
    assert "llm-gateway:redis.memorystore.maxmemory_policy: volatile-lru with langfuse.enabled" in message
    # The program owns Memorystore's setting: noeviction on the instance it creates.
    cfg = stack_config("enterprise")
    args = shared.memorystore_args(cfg.redis.memorystore, cfg.gcp.region)
    assert args["redis_configs"] == {"maxmemory-policy": "noeviction"}
    (instance,) = run_cached("enterprise").of_type("gcp:redis/instance:Instance")
    assert instance.plain_inputs["redisConfigs"] == {"maxmemory-policy": "noeviction"}


def test_the_footprint_counts_no_langfuse_valkey() -> None:
    rows = {r.component for r in footprint(stack_config("enterprise")).rows}
    assert "langfuse web" in rows
    assert not [r for r in rows if "valkey" in r and "langfuse" in r]
