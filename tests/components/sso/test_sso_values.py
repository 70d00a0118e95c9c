"""oauth2-proxy's builders checked directly (no program run): the pinned chart rendered from
`helm_values` reads only Secret keys the credentials ExternalSecret renders, its pods are the
ones the NetworkPolicies select and are `restricted`, its Service is the one the Ingress names;
by NetworkPolicy semantics (tests/support/netpol.py) only the ingress controller reaches it and
it reaches only DNS, LiteLLM's API port and the identity provider; every gateway Ingress path
passes ingress-nginx's path validation. Settings the stack files leave at one value
(release name, replicas, registry, IdP ranges) are varied through overrides."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest

from components.database.endpoint import endpoint
from components.gateway import wire_litellm
from components.litellm import names as litellm_names
from components.litellm import network as litellm_network
from components.litellm.component import LiteLLMArgs
from components.secrets.eso import StoreRef
from components.secrets.store import StoreAccess
from components.sso import values as sso_values
from components.sso.component import SsoArgs
from config import API_PORT, StackConfig
from config.durations import duration_seconds
from config.inventory import OAUTH2_PROXY_COOKIE_SECRET, gsm_secret_id
from offline.render import RenderedObject
from tests.support.config import scenario_config
from tests.support.direct import core_errors, crd_errors, deployed, one, render
from tests.support.netpol import Address, Pod, can_connect
from tests.support.rendered import existing_secret_findings, reference_findings, restricted_violations, selected_pods

ACCESS = StoreAccess(StoreRef("gcp-secret-manager", "ClusterSecretStore"), "eso@project.iam.gserviceaccount.com")
INTERNET = Address("8.8.8.8")
ESO_CRD = "crd/eso-externalsecrets"
VARIANTS = {
    "enterprise": (),
    "renamed-one-replica": ("llm-gateway:sso.release_name=admin-sso", "llm-gateway:sso.replicas=1"),
    "release-named-like-the-chart": ("llm-gateway:sso.release_name=oauth2-proxy-admin",),
    "registry-with-port": ("llm-gateway:sso.image=registry.corp.example:5000/mirror/oauth2-proxy:v7.15.3",),
}


def _config(variant: str) -> StackConfig:
    return scenario_config("enterprise", *VARIANTS[variant])


def _args(cfg: StackConfig) -> SsoArgs:
    """The component's arguments, built from the config as the root builds them."""
    return SsoArgs.from_config(cfg, ACCESS)


@cache
def _render(variant: str) -> list[RenderedObject]:
    """The chart rendered from the variant's values (once per session: rendered objects are read only)."""
    args = _args(_config(variant))
    sso, wired = args.sso, args.wiring
    values = sso_values.helm_values(sso, wired)
    return render(sso.release_name, wired.namespace, sso_values.helm_chart(sso), values)


def _credentials(args: SsoArgs) -> dict[str, Any]:
    return sso_values.credentials_secret(args.sso, args.store.ref, args.wiring, args.refresh_interval)


def _own_objects(cfg: StackConfig) -> list[dict[str, Any]]:
    args = _args(cfg)
    return [_credentials(args), *sso_values.network_policies(args.sso, args.wiring)]


@pytest.mark.parametrize("variant", VARIANTS)
def test_rendered_chart_reads_only_keys_the_external_secret_renders(variant: str) -> None:
    cfg = _config(variant)
    d = deployed(_own_objects(cfg), _render(variant))
    assert d.pods, "the chart rendered no pod"
    assert reference_findings(d) == []
    args = _args(cfg)
    values = sso_values.helm_values(args.sso, args.wiring)
    assert existing_secret_findings(d, {cfg.sso.release_name: values}, cfg.namespaces.gateway) == []
    # No credential in the environment: each secret flag names a file of the mounted credentials Secret,
    # one of the keys the ExternalSecret renders (oauth2-proxy refuses to start on a file it cannot read).
    (es,) = d.of_kind("ExternalSecret")
    rendered_keys = set(es.body["spec"]["target"]["template"]["data"])
    for pod in d.pods:
        (container,) = pod.spec["containers"]
        assert [e["name"] for e in container.get("env") or [] if "valueFrom" in e] == []
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod.spec["volumes"]}
        flags = ("--client-secret-file=", "--cookie-secret-file=")
        files = [a.partition("=")[2] for a in container["args"] if a.startswith(flags)]
        assert len(files) == len(flags), container["args"]
        for path in files:
            folder, _, name = path.rpartition("/")
            secret = volumes[mounts[folder]]["secret"]
            assert secret["secretName"] == es.body["spec"]["target"]["name"]
            (key,) = [item["key"] for item in secret["items"] if item["path"] == name]
            assert key in rendered_keys
        assert f"--client-id={cfg.sso.client_id}" in container["args"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_policies_select_the_rendered_pods_which_are_restricted_and_run_the_configured_image(variant: str) -> None:
    cfg = _config(variant)
    d = deployed(_own_objects(cfg), _render(variant))
    own = [p for p in d.of_kind("NetworkPolicy") if not p.name.endswith("-to-litellm")]
    assert {p.name: bool(selected_pods(d, p.namespace, p.body["spec"]["podSelector"])) for p in own} == {
        p.name: True for p in own
    }
    for pod in d.pods:
        assert restricted_violations(pod.spec) == [], pod.ref
        assert [c["image"] for c in pod.spec["containers"]] == [cfg.sso.image]


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_service_the_ingress_names_exists_and_reaches_the_container_port(variant: str) -> None:
    cfg = _config(variant)
    rendered = _render(variant)
    service = one(rendered, "Service")
    assert service["metadata"]["name"] == sso_values.service_name(cfg.sso)
    (port,) = service["spec"]["ports"]
    assert port["port"] == sso_values.SERVICE_PORT
    container = one(rendered, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    by_name = {p["name"]: p["containerPort"] for p in container["ports"]}
    target = port["targetPort"]
    assert by_name.get(target, target) == sso_values.HTTP_PORT
    backends = {p["backend"]["service"]["name"] for p in sso_values.ingress_paths(cfg)}
    assert backends == {service["metadata"]["name"]}


@pytest.mark.parametrize(("variant", "budgets"), [("enterprise", 1), ("renamed-one-replica", 0)])
def test_a_single_replica_gets_no_disruption_budget_that_would_block_every_drain(variant: str, budgets: int) -> None:
    rendered = _render(variant)
    pdbs = [o.body for o in rendered if o.body["kind"] == "PodDisruptionBudget"]
    assert len(pdbs) == budgets
    assert all(p["spec"]["minAvailable"] < _config(variant).sso.replicas for p in pdbs)


def test_external_secret_is_valid_and_every_template_variable_is_fetched() -> None:
    cfg = _config("enterprise")
    es = _credentials(_args(cfg))
    assert crd_errors(es, ESO_CRD) == []
    fetched = {item["secretKey"] for item in es["spec"]["data"]}
    used = {m for v in es["spec"]["target"]["template"]["data"].values() for m in re.findall(r"\{\{ \.(\w+) \}\}", v)}
    assert used == fetched
    remote = {item["remoteRef"]["key"] for item in es["spec"]["data"]}
    assert remote == {gsm_secret_id(cfg, OAUTH2_PROXY_COOKIE_SECRET), cfg.sso.client_secret_gsm_secret}


def _flows(cfg: StackConfig) -> tuple[list[dict[str, Any]], Pod, Pod]:
    args = _args(cfg)
    gateway = LiteLLMArgs.from_config(cfg, wire_litellm(cfg, endpoint(cfg, "grafana-ro"), None), ACCESS)
    policies = sso_values.network_policies(args.sso, args.wiring) + litellm_network.network_policies(
        gateway.litellm, gateway.postgres, gateway.wiring
    )
    ns = cfg.namespaces.gateway
    return policies, Pod(ns, sso_values.selector_labels(cfg.sso)), Pod(ns, litellm_names.selector_labels(cfg.litellm))


@pytest.mark.parametrize("variant", ["enterprise", "renamed-one-replica"])
def test_only_the_ingress_controller_reaches_oauth2_proxy(variant: str) -> None:
    cfg = _config(variant)
    policies, proxy, litellm = _flows(cfg)
    controller_ns = cfg.litellm.network.ingress_controller_namespace
    assert controller_ns is not None
    assert can_connect(policies, Pod(controller_ns, {"app": "controller"}), proxy, sso_values.HTTP_PORT)
    assert not can_connect(policies, Pod(controller_ns, {"app": "controller"}), proxy, 44180)
    for caller in (Pod("team-x", {"app": "curl"}), litellm, Pod(cfg.namespaces.gateway, {"app": "other"})):
        assert not can_connect(policies, caller, proxy, sso_values.HTTP_PORT), caller
    for client_ns in cfg.litellm.network.client_namespaces:
        assert not can_connect(policies, Pod(client_ns, {}), proxy, sso_values.HTTP_PORT), client_ns


@pytest.mark.parametrize("variant", ["enterprise", "renamed-one-replica"])
def test_oauth2_proxy_reaches_dns_litellms_api_port_and_https_only(variant: str) -> None:
    cfg = _config(variant)
    policies, proxy, litellm = _flows(cfg)
    assert can_connect(policies, proxy, litellm, API_PORT)
    assert not can_connect(policies, proxy, litellm, cfg.litellm.metrics_port)
    assert can_connect(policies, proxy, Pod("kube-system", {"k8s-app": "kube-dns"}), 53, "UDP")
    assert can_connect(policies, proxy, INTERNET, 443)
    assert not can_connect(policies, proxy, INTERNET, 80)
    assert not can_connect(policies, proxy, Pod(cfg.namespaces.gateway, {"app": "other"}), API_PORT)
    # The rule added on LiteLLM's side admits oauth2-proxy's pods in its namespace, not look-alikes elsewhere.
    assert not can_connect(policies, Pod("team-x", sso_values.selector_labels(cfg.sso)), litellm, API_PORT)


def test_narrowed_identity_provider_ranges_are_the_only_https_destinations() -> None:
    cfg = scenario_config("enterprise", "llm-gateway:sso.idp_egress_cidrs=[198.51.100.0/24]")
    policies, proxy, _ = _flows(cfg)
    assert can_connect(policies, proxy, Address("198.51.100.20"), 443)
    assert not can_connect(policies, proxy, INTERNET, 443)


# ingress-nginx (>= 1.12, strict-validate-path-type on by default) refuses an Ingress whose
# Exact or Prefix path holds anything but these characters; a duplicate path is refused too.
NGINX_PATH = re.compile(r"^/[A-Za-z0-9\-._~/]*$")


@pytest.mark.parametrize("variant", ["enterprise", "renamed-one-replica"])
def test_gateway_ingress_with_sso_passes_ingress_nginx_path_validation(variant: str) -> None:
    cfg = _config(variant)
    gateway = LiteLLMArgs.from_config(cfg, wire_litellm(cfg, endpoint(cfg, "grafana-ro"), None), ACCESS)
    ingress = litellm_network.ingress(gateway.litellm, gateway.wiring.namespace, gateway.wiring.admin)
    assert ingress is not None and core_errors(ingress) == []
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-buffer-size"] == "16k"
    paths = ingress["spec"]["rules"][0]["http"]["paths"]
    assert [p["path"] for p in paths if not NGINX_PATH.match(p["path"])] == []
    keys = [(p["pathType"], p["path"]) for p in paths]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)


# --- session lifetime and the pod's own user (docs/security.md, Finding 10 and 6) -----------------


def _container(variant: str) -> dict[str, Any]:
    return one(_render(variant), "Deployment")["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("variant", VARIANTS)
def test_sessions_are_refreshed_with_the_identity_provider_before_they_expire(variant: str) -> None:
    """A removed admin loses the UI within cookie_refresh, not at the end of cookie_expire: the
    rendered container runs oauth2-proxy with both flags, the refresh strictly shorter."""
    sso = _config(variant).sso
    args = _container(variant)["args"]
    assert f"--cookie-refresh={sso.cookie_refresh}" in args
    assert f"--cookie-expire={sso.cookie_expire}" in args
    flags = dict(a.removeprefix("--").split("=", 1) for a in args if a.startswith("--cookie-") and "=" in a)
    assert 0 < duration_seconds(flags["cookie-refresh"]) < duration_seconds(flags["cookie-expire"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_oauth2_proxy_runs_as_the_images_nonroot_user_on_a_read_only_root_without_a_token(variant: str) -> None:
    """The distroless `nonroot` user (65532), explicit so the kubelet can check it; nothing to write,
    so no volume; no Kubernetes API token (oauth2-proxy never calls the API)."""
    pod = one(_render(variant), "Deployment")["spec"]["template"]["spec"]
    container = _container(variant)
    assert pod["securityContext"]["runAsUser"] == pod["securityContext"]["runAsGroup"] == sso_values.NONROOT_UID
    sc = container["securityContext"]
    assert (sc["runAsUser"], sc["runAsGroup"], sc["readOnlyRootFilesystem"]) == (65532, 65532, True)
    assert pod["automountServiceAccountToken"] is False
    assert not pod.get("volumes") or all("secret" in v or "configMap" in v for v in pod["volumes"])
    assert container["resources"]["limits"] and container["resources"]["requests"]
