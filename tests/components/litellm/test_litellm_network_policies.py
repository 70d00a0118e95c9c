"""LiteLLM's NetworkPolicies built directly from a config and a wiring (no program run): every
policy is valid Kubernetes (kubernetes-validate, strict), and by NetworkPolicy semantics
(tests/support/netpol.py) the proxy reaches exactly what it is wired to, on the wired ports,
and only its clients and Prometheus reach it."""

from __future__ import annotations

from typing import Any

import pytest

from components.litellm.names import selector_labels
from components.litellm.network import network_policies
from components.litellm.wiring import GatewayWiring, TracingWiring
from components.redis.values import RedisWiring
from config import API_PORT, StackConfig
from tests.support.config import scenario_config
from tests.support.netpol import Address, Pod, can_connect
from tests.support.program import EXTERNAL_ENGINE, EXTERNAL_SERVER
from tests.support.schemas import validation_errors

NS = "llm-gateway"
DB_LABELS = {"cnpg.io/cluster": "litellm-pg"}
DB_PORT = 6543  # not PostgreSQL's default: the egress port must come from the wiring
DB = Pod(NS, {**DB_LABELS, "cnpg.io/instanceRole": "primary"})
OTHER_POD = Pod(NS, {"app.kubernetes.io/name": "something-else"})
STRANGER = Pod("team-x", {"app": "curl"})
DNS = Pod("kube-system", {"k8s-app": "kube-dns"})
INTERNET = Address("8.8.8.8")
LANGFUSE_WEB = Pod(NS, {"app.kubernetes.io/name": "langfuse", "app": "web"})
VALKEY = Pod(NS, {"app.kubernetes.io/name": "valkey"})
MEMORYSTORE = Address("10.20.0.3")
NO_CLIENTS = ("llm-gateway:litellm.network.client_namespaces=[]",)


def _wiring(external: bool = False, tracing: bool = False, redis: RedisWiring | None = None) -> GatewayWiring:
    return GatewayWiring(
        namespace=NS,
        master_key_secret="litellm-master-key",
        master_key_key="masterkey",
        salt_key_secret="litellm-salt-key",
        database_secret="litellm-db-app",
        database_host="db.example" if external else "litellm-pg-rw.llm-gateway.svc",
        database_port=DB_PORT,
        database_name="litellm",
        database_pod_selector=None if external else DB_LABELS,
        tracing=TracingWiring("http://langfuse-web:3000", "litellm-langfuse-keys", dict(LANGFUSE_WEB.labels), 3000)
        if tracing
        else None,
        redis=redis,
    )


def _proxy(cfg: StackConfig) -> Pod:
    return Pod(NS, selector_labels(cfg.litellm))


def _prometheus(cfg: StackConfig) -> Pod:
    net = cfg.litellm.network
    return Pod(net.prometheus_namespace, dict(net.prometheus_pod_labels))


@pytest.mark.parametrize(
    ("stack", "overrides", "wiring"),
    [
        ("lab", (), _wiring()),
        ("enterprise", (), _wiring(tracing=True, redis=RedisWiring("10.20.0.3", 6378, True, cidrs=("10.20.0.0/29",)))),
        ("lab", EXTERNAL_ENGINE, _wiring(external=True)),
        ("lab", NO_CLIENTS, _wiring(redis=RedisWiring("litellm-redis", 6379, False, pod_selector={"a": "b"}))),
    ],
    ids=["lab", "enterprise-tracing-memorystore", "lab-external", "lab-no-clients-valkey"],
)
def test_every_policy_is_valid_and_no_rule_admits_every_peer(
    stack: str, overrides: tuple[str, ...], wiring: GatewayWiring
) -> None:
    cfg = scenario_config(stack, *overrides)
    policies = network_policies(cfg.litellm, cfg.postgres, wiring)
    assert {p["metadata"]["namespace"] for p in policies} == {NS}
    assert {p["metadata"]["name"]: validation_errors(p) for p in policies if validation_errors(p)} == {}
    for policy in policies:
        spec = policy["spec"]
        assert all(rule.get("from") for rule in spec.get("ingress", [])), policy["metadata"]["name"]
        assert all(rule.get("to") for rule in spec.get("egress", [])), policy["metadata"]["name"]


@pytest.mark.parametrize("stack", ["lab", "enterprise"])
def test_only_clients_reach_the_api_and_only_prometheus_the_metrics(stack: str) -> None:
    cfg = scenario_config(stack)
    policies, proxy, prometheus = network_policies(cfg.litellm, cfg.postgres, _wiring()), _proxy(cfg), _prometheus(cfg)
    net = cfg.litellm.network
    callers = [Pod(ns, {"app": "client"}) for ns in net.client_namespaces]
    if net.ingress_controller_namespace:
        callers.append(Pod(net.ingress_controller_namespace, {"app": "controller"}))
    assert [c for c in callers if not can_connect(policies, c, proxy, API_PORT)] == []
    assert [c for c in callers if can_connect(policies, c, proxy, cfg.litellm.metrics_port)] == []
    assert not can_connect(policies, STRANGER, proxy, API_PORT)
    assert can_connect(policies, prometheus, proxy, cfg.litellm.metrics_port)
    assert not can_connect(policies, prometheus, proxy, API_PORT)
    neighbour = Pod(net.prometheus_namespace, {"app.kubernetes.io/name": "grafana"})
    assert not can_connect(policies, neighbour, proxy, cfg.litellm.metrics_port)


def test_no_client_namespace_admits_no_caller() -> None:
    cfg = scenario_config("lab", *NO_CLIENTS)
    policies = network_policies(cfg.litellm, cfg.postgres, _wiring())
    for caller in (OTHER_POD, STRANGER, Pod("dev-tools", {})):
        assert not can_connect(policies, caller, _proxy(cfg), API_PORT), caller
    assert can_connect(policies, _prometheus(cfg), _proxy(cfg), cfg.litellm.metrics_port)


def test_the_proxy_reaches_its_database_on_the_wired_port_only() -> None:
    cfg = scenario_config("lab")
    policies, proxy = network_policies(cfg.litellm, cfg.postgres, _wiring()), _proxy(cfg)
    assert can_connect(policies, proxy, DB, DB_PORT)
    assert not can_connect(policies, proxy, DB, 5432)
    assert not can_connect(policies, proxy, OTHER_POD, DB_PORT)
    assert can_connect(policies, proxy, DNS, 53, "UDP") and can_connect(policies, proxy, DNS, 53, "TCP")
    assert not can_connect(policies, proxy, DNS, 8080)


def test_an_external_database_is_reached_at_its_server_cidrs_only() -> None:
    cfg = scenario_config("lab", *EXTERNAL_ENGINE)
    policies, proxy = network_policies(cfg.litellm, cfg.postgres, _wiring(external=True)), _proxy(cfg)
    assert can_connect(policies, proxy, Address(EXTERNAL_SERVER), DB_PORT)
    assert not can_connect(policies, proxy, INTERNET, DB_PORT)
    assert not can_connect(policies, proxy, DB, DB_PORT)


@pytest.mark.parametrize("stack", ["lab", "enterprise"])
def test_model_egress_is_https_to_the_configured_cidrs(stack: str) -> None:
    cfg = scenario_config(stack)
    policies, proxy = network_policies(cfg.litellm, cfg.postgres, _wiring()), _proxy(cfg)
    assert cfg.litellm.network.egress_cidrs == ["0.0.0.0/0"]
    assert can_connect(policies, proxy, INTERNET, 443)
    assert not can_connect(policies, proxy, INTERNET, 80)
    narrowed = scenario_config(stack, "llm-gateway:litellm.network.egress_cidrs=[203.0.113.0/24]")
    narrow_policies = network_policies(narrowed.litellm, narrowed.postgres, _wiring())
    assert can_connect(narrow_policies, proxy, Address("203.0.113.7"), 443)
    assert not can_connect(narrow_policies, proxy, INTERNET, 443)


def test_langfuse_and_redis_are_reached_only_when_wired() -> None:
    cfg = scenario_config("lab")
    proxy = _proxy(cfg)
    bare = network_policies(cfg.litellm, cfg.postgres, _wiring())
    valkey = RedisWiring("litellm-redis", 6379, False, pod_selector=dict(VALKEY.labels))
    memorystore = RedisWiring("10.20.0.3", 6378, True, cidrs=("10.20.0.0/29",))
    wired: dict[str, list[dict[str, Any]]] = {
        "tracing": network_policies(cfg.litellm, cfg.postgres, _wiring(tracing=True)),
        "valkey": network_policies(cfg.litellm, cfg.postgres, _wiring(redis=valkey)),
        "memorystore": network_policies(cfg.litellm, cfg.postgres, _wiring(redis=memorystore)),
    }
    assert not can_connect(bare, proxy, LANGFUSE_WEB, 3000)
    assert can_connect(wired["tracing"], proxy, LANGFUSE_WEB, 3000)
    assert not can_connect(wired["tracing"], proxy, LANGFUSE_WEB, 5432)
    assert not can_connect(bare, proxy, VALKEY, 6379)
    assert can_connect(wired["valkey"], proxy, VALKEY, 6379)
    assert not can_connect(wired["valkey"], proxy, OTHER_POD, 6379)
    assert not can_connect(bare, proxy, MEMORYSTORE, 6378)
    assert can_connect(wired["memorystore"], proxy, MEMORYSTORE, 6378)
    assert not can_connect(wired["memorystore"], proxy, Address("10.30.0.3"), 6378)
