"""The reporting job's manifest builders checked directly (no program run): the CronJob,
ConfigMap and NetworkPolicies are valid Kubernetes (kubernetes-validate, strict), the pod passes
the `restricted` Pod Security Standard, runs a pinned image and finds every SQL file it names in
the ConfigMap it mounts; by NetworkPolicy semantics (tests/support/netpol.py) the job reaches
DNS and its database only, and nothing reaches it. Settings the stack files leave at one value
(an own image on the CNPG engine, another schedule) are varied through overrides."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from components.database import cnpg
from components.database.args import cnpg_clients
from components.database.endpoint import DatabaseEndpoint, endpoint
from components.kit import prometheus_peer
from components.litellm.names import selector_labels
from components.reporting import component as reporting
from config import StackConfig
from tests.support.config import cnpg_section, scenario_config
from tests.support.direct import core_errors
from tests.support.netpol import Address, Pod, can_connect
from tests.support.program import EXTERNAL_ENGINE, EXTERNAL_SERVER
from tests.support.rendered import restricted_violations

OWN_IMAGE = "registry.corp.example/postgres/psql:16.4-1"
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "lab": ("lab", ()),
    "enterprise": ("enterprise", ()),
    "lab-external": ("lab", EXTERNAL_ENGINE),
    "lab-own-image-hourly": (
        "lab",
        (f"llm-gateway:reporting.image={OWN_IMAGE}", "llm-gateway:reporting.schedule='17 * * * *'"),
    ),
}
INTERNET = Address("8.8.8.8")
DNS = Pod("kube-system", {"k8s-app": "kube-dns"})


@cache
def _config(variant: str) -> StackConfig:
    stack, overrides = VARIANTS[variant]
    return scenario_config(stack, *overrides)


def _endpoint(cfg: StackConfig) -> DatabaseEndpoint:
    return endpoint(cfg, "grafana-ro-password")


def _args(cfg: StackConfig) -> reporting.ReportingArgs:
    """The component's arguments, built from the config as the root builds them."""
    return reporting.ReportingArgs.from_config(cfg, _endpoint(cfg))


def _manifests(cfg: StackConfig) -> list[dict[str, Any]]:
    args = _args(cfg)
    return [
        reporting.config_map_manifest(args),
        reporting.cronjob_manifest(args),
        *reporting.network_policy_manifests(args),
    ]


def _template(cfg: StackConfig) -> dict[str, Any]:
    template: dict[str, Any] = reporting.cronjob_manifest(_args(cfg))["spec"]["jobTemplate"]["spec"]["template"]
    return template


def _job_pod(cfg: StackConfig) -> Pod:
    return Pod(cfg.namespaces.gateway, _template(cfg)["metadata"]["labels"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_manifests_are_valid_kubernetes_and_the_pod_is_restricted(variant: str) -> None:
    cfg = _config(variant)
    assert {m["kind"] + "/" + m["metadata"]["name"]: core_errors(m) for m in _manifests(cfg) if core_errors(m)} == {}
    assert restricted_violations(_template(cfg)["spec"]) == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_file_psql_runs_is_in_the_mounted_config_map(variant: str) -> None:
    cfg = _config(variant)
    config_map = reporting.config_map_manifest(_args(cfg))
    spec = _template(cfg)["spec"]
    (container,) = spec["containers"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounted = {
        m["mountPath"]: volumes[m["name"]]["configMap"]["name"]
        for m in container["volumeMounts"]
        if "configMap" in volumes[m["name"]]
    }
    command = container["command"]
    files = [command[i + 1] for i, arg in enumerate(command) if arg == "--file"]
    assert files, command
    for path in files:
        folder, _, name = path.rpartition("/")
        assert mounted.get(folder) == config_map["metadata"]["name"], path
        assert config_map["data"].get(name), path
    assert "--single-transaction" in command and "ON_ERROR_STOP=1" in command


@pytest.mark.parametrize("variant", VARIANTS)
def test_image_is_pinned_and_the_schedule_is_the_configured_one(variant: str) -> None:
    cfg = _config(variant)
    job = reporting.cronjob_manifest(_args(cfg))
    (container,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    image = container["image"]
    assert "@sha256:" in image or (":" in image.rpartition("/")[2] and not image.endswith(":latest")), image
    if cfg.reporting.image is not None:
        assert image == cfg.reporting.image
    elif cfg.postgres.engine == "cnpg":
        assert image == cnpg_section(cfg).image  # psql of the server's own major version
    assert job["spec"]["schedule"] == cfg.reporting.schedule
    assert job["spec"]["timeZone"] == "Etc/UTC"


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_job_reaches_dns_and_its_database_only_and_nothing_reaches_it(variant: str) -> None:
    cfg = _config(variant)
    args = _args(cfg)
    ep = args.endpoint
    policies = reporting.network_policy_manifests(args)
    job = _job_pod(cfg)
    ns = cfg.namespaces.gateway
    if ep.pod_labels is not None:
        database: Pod | Address = Pod(ns, {**dict(ep.pod_labels), "cnpg.io/instanceRole": "primary"})
    else:
        database = Address(EXTERNAL_SERVER)
    assert can_connect(policies, job, database, ep.port)
    assert not can_connect(policies, job, database, ep.port + 1)
    assert can_connect(policies, job, DNS, 53, "UDP") and can_connect(policies, job, DNS, 53, "TCP")
    for other in (INTERNET, Address(EXTERNAL_SERVER) if ep.pod_labels else Pod(ns, {"app": "x"})):
        assert not can_connect(policies, job, other, 443), other
        assert not can_connect(policies, job, other, ep.port), other
    for caller in (Pod(ns, {"app": "x"}), Pod("team-x", {}), DNS):
        assert not can_connect(policies, caller, job, 5432), caller


# Both sides must agree: the job's egress and the CNPG instances' own ingress policy
# (components/database), which once admitted LiteLLM, the tenants and Grafana but not the job.
@pytest.mark.parametrize("variant", ["lab", "enterprise"])
def test_the_cnpg_instances_admit_the_job(variant: str) -> None:
    cfg = _config(variant)
    args = _args(cfg)
    ep = args.endpoint
    section = cnpg_section(cfg)
    names = cnpg.CnpgNames(section.name, cfg.namespaces.gateway)
    database_side = cnpg.network_policies(
        section,
        names,
        cnpg_clients(cfg, selector_labels(cfg.litellm)),
        prometheus_peer(cfg.litellm.network),
        cfg.postgres.backup.enabled,
    )
    policies = database_side + reporting.network_policy_manifests(args)
    primary = Pod(cfg.namespaces.gateway, {"cnpg.io/cluster": names.cluster, "cnpg.io/instanceRole": "primary"})
    assert can_connect(policies, _job_pod(cfg), primary, ep.port)
