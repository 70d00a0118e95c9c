"""LiteLLM's object builders checked directly (no program run), against the pinned chart
rendered from `helm_values`: the metrics Service selects the proxy pods, the ServiceMonitor
(valid against the Prometheus Operator CRD) selects that Service, its port and its job label;
every Ingress backend is a Service that exists with that port; the provider-key ExternalSecret
is valid and its keys become environment variables; every `os.environ/` reference of the proxy
config is set in the proxy container. Settings the stack files leave at one value (the lab
behind an Ingress, another release name, an in-cluster Redis) are varied through overrides."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest

from components.database.endpoint import endpoint
from components.gateway import wire_litellm
from components.langfuse import credentials as langfuse_credentials
from components.litellm import names as litellm_names
from components.litellm import network as litellm_network
from components.litellm import proxy_config as litellm_proxy_config
from components.litellm import values as litellm_values
from components.litellm import wiring as litellm_wiring
from components.litellm.component import LiteLLMArgs
from components.redis import values as redis_values
from components.secrets.eso import StoreRef
from components.secrets.store import StoreAccess
from components.sso import values as sso_values
from config import API_PORT, StackConfig
from offline.render import RenderedObject
from tests.support.config import scenario_config
from tests.support.direct import core_errors, crd_errors, deployed, render
from tests.support.program import REDIS_IN_CLUSTER
from tests.support.rendered import containers, matches

STORE = StoreRef("gcp-secret-manager", "ClusterSecretStore")
ACCESS = StoreAccess(STORE, "eso@project.iam.gserviceaccount.com")
MEMORYSTORE_HOST = "10.200.0.3"
LAB_INGRESS = (
    "llm-gateway:litellm.ingress={enabled: true, host: llm.lab.example, class_name: nginx, cluster_issuer: lab-ca}",
    "llm-gateway:litellm.network.ingress_controller_namespace=ingress-nginx",
    "llm-gateway:litellm.release_name=gateway",
)
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "lab": ("lab", ()),
    "lab-ingress-renamed": ("lab", LAB_INGRESS),
    "enterprise": ("enterprise", ()),
    "enterprise-redis-in-cluster": ("enterprise", REDIS_IN_CLUSTER),
}
INGRESS_VARIANTS = ["lab-ingress-renamed", "enterprise"]
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""What envFrom turns into a variable; a Secret key of another shape is skipped without an error."""


@cache
def _config(variant: str) -> StackConfig:
    stack, overrides = VARIANTS[variant]
    return scenario_config(stack, *overrides)


def _redis(cfg: StackConfig) -> redis_values.RedisWiring | None:
    """The shared Redis's wiring as its component computes it (Memorystore's host stands in for the instance's)."""
    if cfg.redis.mode == "memorystore":
        return redis_values.memorystore_wiring(cfg.redis.memorystore, MEMORYSTORE_HOST)
    if cfg.redis.mode == "in_cluster":
        return redis_values.in_cluster_wiring(cfg.redis.in_cluster, cfg.namespaces.gateway)
    return None


def _wiring(cfg: StackConfig) -> litellm_wiring.GatewayWiring:
    return wire_litellm(cfg, endpoint(cfg, "grafana-ro"), _redis(cfg))


@cache
def _args(variant: str) -> LiteLLMArgs:
    """The component's arguments, built from the config as the root builds them."""
    cfg = _config(variant)
    return LiteLLMArgs.from_config(cfg, _wiring(cfg), ACCESS)


@cache
def _render(variant: str) -> list[RenderedObject]:
    args = _args(variant)
    lit = args.litellm
    values = litellm_values.helm_values(lit, args.wiring)
    return render(lit.release_name, args.wiring.namespace, litellm_values.helm_chart(lit), values)


def _proxy(variant: str) -> dict[str, Any]:
    (deployment,) = [o.body for o in _render(variant) if o.body["kind"] == "Deployment"]
    return deployment


def _services(variant: str) -> dict[str, dict[str, Any]]:
    args = _args(variant)
    lit, ns = args.litellm, args.wiring.namespace
    own = [litellm_values.metrics_service(lit, ns), litellm_network.blocked_service(lit, ns)]
    rendered = [o.body for o in _render(variant) if o.body["kind"] == "Service"]
    return {s["metadata"]["name"]: s for s in [*rendered, *own] if s is not None}


@pytest.mark.parametrize("variant", VARIANTS)
def test_metrics_service_selects_the_proxy_pods_on_the_port_they_serve_metrics_on(variant: str) -> None:
    args = _args(variant)
    service = litellm_values.metrics_service(args.litellm, args.wiring.namespace)
    assert core_errors(service) == []
    d = deployed([service], _render(variant))
    selected = [p for p in d.pods if matches(service["spec"]["selector"], p.labels)]
    assert {p.owner.kind for p in selected if not p.is_job} == {"Deployment"}
    (port,) = service["spec"]["ports"]
    (proxy,) = _proxy(variant)["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in proxy.get("env") or []}
    assert env["PROMETHEUS_METRICS_PORT"] == str(port["targetPort"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_service_monitor_is_valid_and_selects_the_metrics_service_its_port_and_job_label(variant: str) -> None:
    cfg, args = _config(variant), _args(variant)
    lit, ns = args.litellm, args.wiring.namespace
    monitor = litellm_values.service_monitor(lit, ns, args.prometheus_release)
    service = litellm_values.metrics_service(lit, ns)
    assert crd_errors(monitor, "crd/promop-servicemonitors") == []
    spec, labels = monitor["spec"], service["metadata"]["labels"]
    assert matches(spec["selector"], labels)
    assert service["metadata"]["namespace"] in spec["namespaceSelector"]["matchNames"]
    port_names = {p["name"] for p in service["spec"]["ports"]}
    assert [e["port"] for e in spec["endpoints"] if e["port"] not in port_names] == []
    # The job name the alert rules select on comes from this Service label.
    assert labels[spec["jobLabel"]] == litellm_names.scrape_job(cfg.litellm)
    assert monitor["metadata"]["labels"]["release"] == cfg.monitoring.prometheus_release
    # No other Service of the release carries the labels the monitor selects (no duplicate targets).
    others = [s for name, s in _services(variant).items() if name != service["metadata"]["name"]]
    assert [s["metadata"]["name"] for s in others if matches(spec["selector"], s["metadata"].get("labels") or {})] == []


@pytest.mark.parametrize("variant", INGRESS_VARIANTS)
def test_every_ingress_backend_is_an_existing_service_port(variant: str) -> None:
    cfg, args = _config(variant), _args(variant)
    lit, wiring = args.litellm, args.wiring
    ingress = litellm_network.ingress(lit, wiring.namespace, wiring.admin)
    assert ingress is not None and core_errors(ingress) == []
    services = _services(variant)
    if cfg.sso.enabled:  # oauth2-proxy's Service (rendered from its chart in tests/components/sso)
        services[sso_values.service_name(cfg.sso)] = {"spec": {"ports": [{"port": sso_values.SERVICE_PORT}]}}
    backends = {
        (p["backend"]["service"]["name"], p["backend"]["service"]["port"]["number"])
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    }
    missing = [
        (n, port)
        for n, port in backends
        if port not in {p["port"] for p in services.get(n, {"spec": {"ports": []}})["spec"]["ports"]}
    ]
    assert missing == []
    assert (litellm_names.service_name(cfg.litellm), API_PORT) in backends
    blocked = litellm_network.blocked_service(lit, wiring.namespace)
    assert blocked is not None and "selector" not in blocked["spec"] and core_errors(blocked) == []


@pytest.mark.parametrize("variant", ["enterprise", "enterprise-redis-in-cluster"])
def test_provider_key_external_secret_is_valid_and_every_key_becomes_a_variable(variant: str) -> None:
    cfg, args = _config(variant), _args(variant)
    es = litellm_values.provider_keys_secret(args.litellm, STORE, args.wiring.namespace, args.refresh_interval)
    assert es is not None and crd_errors(es, "crd/eso-externalsecrets") == []
    keys = [item["secretKey"] for item in es["spec"]["data"]]
    assert [k for k in keys if not ENV_NAME.match(k)] == []
    assert es["spec"]["target"]["name"] in _env_from(variant)
    assert {item["remoteRef"]["key"] for item in es["spec"]["data"]} == {
        k.gsm_secret for k in cfg.litellm.provider_keys
    }


def _env_from(variant: str) -> set[str]:
    (proxy,) = _proxy(variant)["spec"]["template"]["spec"]["containers"]
    return {e["secretRef"]["name"] for e in proxy.get("envFrom") or [] if "secretRef" in e}


def _os_environ(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set().union(*(_os_environ(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_os_environ(v) for v in node)) if node else set()
    return {node.removeprefix("os.environ/")} if isinstance(node, str) and node.startswith("os.environ/") else set()


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_os_environ_reference_of_the_proxy_config_is_set_in_the_proxy(variant: str) -> None:
    cfg, args = _config(variant), _args(variant)
    lit, wiring = args.litellm, args.wiring
    config = litellm_values.helm_values(lit, wiring)["proxy_config"]
    provided: set[str] = set()
    for container in containers(_proxy(variant)["spec"]["template"]["spec"]):
        provided |= {e["name"] for e in container.get("env") or []}
    mounted = {
        litellm_values.PROVIDER_KEYS_SECRET: litellm_values.provider_keys_secret(
            lit, STORE, wiring.namespace, args.refresh_interval
        ),
        langfuse_credentials.LITELLM_KEYS_SECRET: langfuse_credentials.litellm_keys_secret(cfg, STORE),
    }
    for name in _env_from(variant):
        es = mounted.get(name)
        if es is not None:
            provided |= {item["secretKey"] for item in es["spec"]["data"]}
    if wiring.redis is not None:
        assert wiring.redis.auth_secret in _env_from(variant)
        provided.add(redis_values.PASSWORD_KEY)
    referenced = _os_environ(config)
    assert litellm_proxy_config.MASTER_KEY_ENV in referenced
    assert sorted(referenced - provided) == []
