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
    "enterprise-in-cluster-replicas": (*REDIS_IN_CLUSTER, "llm-gateway:redis.in_cluster.replicas=2"),
}
LANGFUSE_PODS = {"app.kubernetes.io/name": "langfuse", "app.kubernetes.io/instance": "langfuse"}
"""A second client as the root would name it (Langfuse's web and worker share these labels)."""
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


def _args(cfg: StackConfig, other_clients: dict[str, dict[str, str]] | None = None) -> SharedStateArgs:
    """The component's arguments, built from the config as the root builds them."""
    return SharedStateArgs.from_config(cfg, ACCESS, selector_labels(cfg.litellm), other_clients)


def _policies(
    cfg: StackConfig, redis: redis_values.RedisWiring, other_clients: dict[str, dict[str, str]] | None = None
) -> list[dict[str, Any]]:
    """Valkey's policies (in-cluster only) and LiteLLM's, wired as the root wires them."""
    args = _args(cfg, other_clients)
    own = (
        redis_values.valkey_network_policies(args.redis.in_cluster, args.namespace, args.clients)
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
    assert isinstance(wiring.host, str) and wiring.host.startswith(f"{redis_values.valkey_fullname(ic)}.{ns}.")
    assert can_connect(policies, litellm, valkey, wiring.port)
    assert not can_connect(policies, litellm, valkey, wiring.port + 1)
    for caller in (Pod(ns, {"app": "other"}), Pod(ns, LANGFUSE_PODS), Pod("team-x", selector_labels(cfg.litellm))):
        assert not can_connect(policies, caller, valkey, wiring.port), caller
    # Replicas reach the primary (and resolve its name); Valkey opens no other connection of its own.
    assert can_connect(policies, valkey, valkey, wiring.port) is bool(ic.replicas)
    assert can_connect(policies, valkey, Pod("kube-system", {"k8s-app": "kube-dns"}), 53, "UDP") is bool(ic.replicas)
    assert not can_connect(policies, valkey, Address("8.8.8.8"), 443)
    assert not can_connect(policies, valkey, litellm, 4000)


@pytest.mark.parametrize("variant", IN_CLUSTER)
def test_another_client_the_root_names_reaches_the_in_cluster_valkey_and_nothing_more(variant: str) -> None:
    """Langfuse's pods (when Langfuse shares the Redis) get their own policy: the Redis port, on Valkey only."""
    cfg = scenario_config("enterprise", *IN_CLUSTER[variant])
    ic, ns = cfg.redis.in_cluster, cfg.namespaces.gateway
    wiring = redis_values.in_cluster_wiring(ic, ns)
    policies = _policies(cfg, wiring, {"langfuse": LANGFUSE_PODS})
    valkey, langfuse = Pod(ns, redis_values.valkey_pod_labels(ic)), Pod(ns, LANGFUSE_PODS)
    names = {p["metadata"]["name"] for p in policies}
    assert f"{redis_values.valkey_fullname(ic)}-from-langfuse" in names
    # Valkey's side admits it (LiteLLM's egress policy is LiteLLM's: this checks Valkey's ingress alone).
    own = [p for p in policies if p["metadata"]["name"].startswith(redis_values.valkey_fullname(ic))]
    with_egress = [*own, _egress_anywhere(ns, LANGFUSE_PODS)]
    assert can_connect(with_egress, langfuse, valkey, wiring.port)
    assert not can_connect(with_egress, langfuse, valkey, wiring.port + 1)
    assert not can_connect(with_egress, Pod(ns, {"app": "other"}), valkey, wiring.port)


def _egress_anywhere(ns: str, labels: dict[str, str]) -> dict[str, Any]:
    """A client's own egress policy that allows everything (what its release would narrow)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "client-egress", "namespace": ns},
        "spec": {"podSelector": {"matchLabels": labels}, "policyTypes": ["Egress"], "egress": [{}]},
    }


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
def test_valkey_pods_are_restricted_with_a_read_only_root(variant: str) -> None:
    """The chart renders `podSecurityContext` and `securityContext` whole on every Valkey container (init
    and server, Deployment or StatefulSet); the rendered pods are checked in tests/components/redis/test_redis.py."""
    vals = redis_values.valkey_values(scenario_config("enterprise", *IN_CLUSTER[variant]).redis.in_cluster)
    container = {"name": "valkey", "securityContext": vals["securityContext"]}
    spec = {"securityContext": vals["podSecurityContext"], "containers": [container], "initContainers": [container]}
    assert restricted_violations(spec) == []
    assert vals["securityContext"]["readOnlyRootFilesystem"] is True
    assert vals["serviceAccount"] == {"create": True, "automount": False}
