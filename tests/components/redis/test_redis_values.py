"""The shared Redis's builders checked directly (no program run): by NetworkPolicy semantics
(tests/support/netpol.py) over Valkey's policies and LiteLLM's, wired as the root wires them,
LiteLLM reaches the in-cluster Valkey (both sides admit it) or Memorystore's reserved range on
the TLS port, and nothing else reaches Valkey; the Memorystore arguments are ones
`gcp.redis.Instance` accepts, and the CA bundle loads every CA Google lists into a TLS context.
Settings the stack files leave at one value (an own release name) are varied through overrides."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pulumi_gcp as gcp
import pytest

from components.database.endpoint import endpoint
from components.gateway import wire_litellm
from components.litellm.component import LiteLLMArgs
from components.litellm.names import selector_labels
from components.litellm.network import network_policies as litellm_policies
from components.redis import values as redis_values
from components.redis.component import SharedStateArgs
from components.secrets.eso import StoreRef
from components.secrets.store import StoreAccess
from config import StackConfig
from tests.support.config import scenario_config
from tests.support.direct import core_errors
from tests.support.netpol import Address, Pod, can_connect
from tests.support.program import REDIS_IN_CLUSTER
from tests.support.rendered import restricted_violations

IN_CLUSTER = {
    "enterprise-in-cluster": REDIS_IN_CLUSTER,
    "enterprise-in-cluster-renamed": (*REDIS_IN_CLUSTER, "llm-gateway:redis.in_cluster.release_name=shared-cache"),
}
MEMORYSTORE_HOST = "10.200.0.3"
ACCESS = StoreAccess(StoreRef("gcp-secret-manager", "ClusterSecretStore"), "eso@project.iam.gserviceaccount.com")
SELF_SIGNED = (
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "2",
)


def _args(cfg: StackConfig) -> SharedStateArgs:
    """The component's arguments, built from the config as the root builds them."""
    return SharedStateArgs.from_config(cfg, ACCESS, selector_labels(cfg.litellm))


def _policies(cfg: StackConfig, redis: redis_values.RedisWiring) -> list[dict[str, Any]]:
    """Valkey's policies (in-cluster only) and LiteLLM's, wired as the root wires them."""
    args = _args(cfg)
    own = (
        redis_values.valkey_network_policies(args.redis.in_cluster, args.namespace, dict(args.litellm_pods))
        if redis.pod_selector
        else []
    )
    gateway = LiteLLMArgs.from_config(cfg, wire_litellm(cfg, endpoint(cfg, "grafana-ro"), redis), ACCESS)
    return own + litellm_policies(gateway.litellm, gateway.postgres, gateway.wiring)


@pytest.mark.parametrize("variant", IN_CLUSTER)
def test_litellm_and_only_litellm_reaches_the_in_cluster_valkey(variant: str) -> None:
    cfg = scenario_config("enterprise", *IN_CLUSTER[variant])
    args = _args(cfg)
    ic = args.redis.in_cluster
    wiring = redis_values.in_cluster_wiring(ic, args.namespace)
    policies = _policies(cfg, wiring)
    assert {p["metadata"]["name"]: core_errors(p) for p in policies if core_errors(p)} == {}
    ns = cfg.namespaces.gateway
    valkey, litellm = Pod(ns, redis_values.valkey_pod_labels(ic)), Pod(ns, selector_labels(cfg.litellm))
    assert isinstance(wiring.host, str) and wiring.host.startswith(f"{redis_values.valkey_fullname(ic)}-primary.{ns}.")
    assert can_connect(policies, litellm, valkey, wiring.port)
    assert not can_connect(policies, litellm, valkey, wiring.port + 1)
    for caller in (Pod(ns, {"app": "other"}), Pod("team-x", selector_labels(cfg.litellm))):
        assert not can_connect(policies, caller, valkey, wiring.port), caller
    # Valkey (standalone, no replicas) opens no connection of its own.
    assert not can_connect(policies, valkey, Address("8.8.8.8"), 443)
    assert not can_connect(policies, valkey, litellm, 4000)


def test_litellm_reaches_memorystore_on_its_reserved_range_over_tls_only() -> None:
    cfg = scenario_config("enterprise")
    args = _args(cfg)
    wiring = redis_values.memorystore_wiring(args.redis.memorystore, MEMORYSTORE_HOST)
    policies = _policies(cfg, wiring)
    litellm = Pod(cfg.namespaces.gateway, selector_labels(cfg.litellm))
    # A misspelt argument fails here.
    instance = gcp.redis.InstanceArgs(**redis_values.memorystore_args(args.redis.memorystore, args.region))
    assert instance.reserved_ip_range == cfg.redis.memorystore.reserved_ip_range
    assert can_connect(policies, litellm, Address(MEMORYSTORE_HOST), wiring.port)
    assert not can_connect(policies, litellm, Address(MEMORYSTORE_HOST), redis_values.VALKEY_PORT)
    assert not can_connect(policies, litellm, Address("10.99.0.3"), wiring.port)  # outside the reserved range


def _ca(tmp_path: Path, name: str) -> str:
    key, cert = tmp_path / f"{name}.key", tmp_path / f"{name}.pem"
    subprocess.run(
        [*SELF_SIGNED, "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert.read_text()


def test_ca_bundle_loads_every_listed_ca_into_a_tls_context(tmp_path: Path) -> None:
    current, next_ = _ca(tmp_path, "memorystore-ca-1"), _ca(tmp_path, "memorystore-ca-2")
    # Google lists CAs as objects (engine) or dicts (preview); PEMs come with or without a final newline.
    bundle = redis_values.server_ca_pem([{"cert": current.strip()}, SimpleNamespace(cert=next_ + "\n")])
    context = ssl.create_default_context(cadata=bundle)
    assert context.cert_store_stats()["x509_ca"] == 2
    assert (
        ssl.create_default_context(cadata=redis_values.server_ca_pem([{"cert": current}])).cert_store_stats()["x509_ca"]
        == 1
    )


@pytest.mark.parametrize("variant", IN_CLUSTER)
def test_valkey_primary_pod_is_restricted_as_the_chart_renders_it(variant: str) -> None:
    args = _args(scenario_config("enterprise", *IN_CLUSTER[variant]))
    primary = redis_values.valkey_values(args.redis.in_cluster)["primary"]
    # The Bitnami charts render each security context without its `enabled` switch.
    pod_context = {k: v for k, v in primary["podSecurityContext"].items() if k != "enabled"}
    container_context = {k: v for k, v in primary["containerSecurityContext"].items() if k != "enabled"}
    spec = {"securityContext": pod_context, "containers": [{"name": "valkey", "securityContext": container_context}]}
    assert primary["podSecurityContext"]["enabled"] and primary["containerSecurityContext"]["enabled"]
    assert restricted_violations(spec) == []
