"""Shared state (`redis`): what the config refuses, and what each mode registers (mock engine).

The behaviour itself (an rpm limit and a cache shared by two real proxies) is
proved on loopback in tests/components/redis/test_redis_real_proxies.py.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from components.redis import values as shared
from config import InClusterRedisConfig, parse_config
from config.assets import VALKEY_CHART, load_lock, locked_chart
from config.footprint import footprint
from config.inventory import MEMORYSTORE_AUTH, MEMORYSTORE_CA, REDIS_PASSWORD, gsm_secret_id
from offline.mocks import is_secret_wrapper
from tests.support import rendered as checks
from tests.support.chart_keys import DATA, undocumented
from tests.support.config import errors_for, namespace, stack_config
from tests.support.program import HELM_RELEASE, REDIS_IN_CLUSTER, release, run_cached
from tests.support.schemas import validation_errors

INSTANCE = "gcp:redis/instance:Instance"


def values(stack: str) -> dict[str, Any]:
    """The LiteLLM chart values the program renders for `stack`."""
    return release(run_cached(stack), "litellm")["values"]  # type: ignore[no-any-return]


def _raw(stack: str, **sections: Any) -> dict[str, Any]:
    raw = copy.deepcopy(namespace(stack))
    for key, value in sections.items():
        raw[key] = value
    return raw


def _litellm(stack: str, **changes: Any) -> dict[str, Any]:
    return {**namespace(stack)["litellm"], **changes}


# --- config refusals -------------------------------------------------------------


def test_lab_is_one_process_and_needs_no_redis() -> None:
    cfg = stack_config("lab")
    assert (cfg.litellm.replicas, cfg.litellm.num_workers, cfg.litellm.autoscaling.enabled) == (1, 1, False)
    assert cfg.redis.mode == "none"


@pytest.mark.parametrize(
    ("changes", "named", "processes"),
    [
        ({"replicas": 2}, "litellm.replicas (2) x litellm.num_workers (1)", 2),
        ({"num_workers": 2}, "litellm.replicas (1) x litellm.num_workers (2)", 2),
        (
            {"replicas": 1, "autoscaling": {"enabled": True, "min_replicas": 1, "max_replicas": 3}},
            "litellm.autoscaling.max_replicas (3) x litellm.num_workers (1)",
            3,
        ),
    ],
)
def test_more_than_one_process_without_redis_is_refused(changes: dict[str, Any], named: str, processes: int) -> None:
    message = errors_for(_raw("lab", litellm=_litellm("lab", **changes)))
    assert f"llm-gateway:redis.mode: none with {named} = {processes} processes" in message
    # LiteLLM's reason, in the message.
    assert f"a limit lets up to {processes} times its value through" in message
    assert "Traceback" not in message


def test_enterprise_at_its_hpa_maximum_is_refused_without_redis() -> None:
    message = errors_for(_raw("enterprise", redis={"mode": "none"}))
    assert "litellm.autoscaling.max_replicas (10) x litellm.num_workers (2) = 20 processes" in message


def test_memorystore_without_a_network_is_refused() -> None:
    message = errors_for(_raw("enterprise", redis={"mode": "memorystore"}))
    assert "llm-gateway:redis.mode: mode memorystore needs redis.memorystore.authorized_network" in message
    assert "redis.memorystore.authorized_network" in message


def test_in_cluster_without_auth_is_refused() -> None:
    message = errors_for(_raw("enterprise", redis={"mode": "in_cluster", "in_cluster": {"auth": False}}))
    assert "redis.in_cluster.auth must be true" in message


def test_a_network_that_is_not_a_vpc_path_is_refused() -> None:
    raw = _raw("enterprise")
    raw["redis"] = {**raw["redis"], "memorystore": {**raw["redis"]["memorystore"], "authorized_network": "default"}}
    assert "llm-gateway:redis.memorystore.authorized_network" in errors_for(raw)


# --- memorystore (enterprise) --------------------------------------------------------


def test_enterprise_memorystore_is_ha_with_auth_and_tls_on_the_cluster_vpc() -> None:
    run = run_cached("enterprise")
    (instance,) = run.of_type(INSTANCE)
    inputs = instance.plain_inputs
    assert inputs["tier"] == "STANDARD_HA"
    assert inputs["authEnabled"] is True
    assert inputs["transitEncryptionMode"] == "SERVER_AUTHENTICATION"
    assert inputs["authorizedNetwork"] == "projects/acme-llm-prod/global/networks/llm-prod-vpc"
    assert inputs["region"] == "europe-west1"
    assert inputs["connectMode"] == "DIRECT_PEERING"


def test_memorystore_auth_string_and_ca_reach_gsm_as_secret_versions() -> None:
    run = run_cached("enterprise")
    cfg = stack_config("enterprise")
    secrets = {r.inputs["secretId"]: r for r in run.of_type("gcp:secretmanager/secret:Secret")}
    for spec in (MEMORYSTORE_AUTH, MEMORYSTORE_CA):
        assert gsm_secret_id(cfg, spec) in secrets
    versions = {r.name: r for r in run.of_type("gcp:secretmanager/secretVersion:SecretVersion")}
    auth = versions["llm-gateway-redis-auth-version"]
    # Google's AUTH string (the instance's auth_string output), as a secret input: never plaintext.
    assert is_secret_wrapper(auth.inputs["secretData"])
    assert auth.plain_inputs["secretData"] in run.generated_secrets
    assert auth.plain_inputs["secretData"].startswith("Ms")  # the mock engine's auth_string
    ca = versions["llm-gateway-redis-server-ca-version"]
    assert ca.plain_inputs["secretData"].startswith("-----BEGIN CERTIFICATE-----")


def test_litellm_reaches_memorystore_over_verified_tls_with_the_password_from_eso() -> None:
    vals = values("enterprise")
    env = vals["envVars"]
    assert env["REDIS_HOST"] == "192.0.2.10"  # the instance's host output (mock engine)
    assert (env["REDIS_PORT"], env["REDIS_SSL"], env["REDIS_SSL_CERT_REQS"]) == ("6378", "True", "required")
    assert env["REDIS_SSL_CA_CERTS"] == f"{shared.CA_MOUNT_DIR}/{shared.CA_KEY}"
    assert "REDIS_PASSWORD" not in env
    assert shared.AUTH_SECRET in vals["environmentSecrets"]
    assert {"name": "redis-ca", "secret": {"secretName": shared.CA_SECRET}} in vals["volumes"]
    assert {"name": "redis-ca", "mountPath": shared.CA_MOUNT_DIR, "readOnly": True} in vals["volumeMounts"]
    run = run_cached("enterprise")
    external = {m["metadata"]["name"]: m for m in run.custom_resources("ExternalSecret")}
    for name, key, gsm in ((shared.AUTH_SECRET, "REDIS_PASSWORD", "litellm-redis-auth"),
                           (shared.CA_SECRET, "ca.crt", "litellm-redis-server-ca")):  # fmt: skip
        spec = external[name]["spec"]
        assert [(d["secretKey"], d["remoteRef"]["key"]) for d in spec["data"]] == [(key, gsm)]
        assert spec["target"]["name"] == name


def test_proxy_config_puts_router_cache_and_spend_buffer_in_redis() -> None:
    config = values("enterprise")["proxy_config"]
    refs = {"host": "os.environ/REDIS_HOST", "port": "os.environ/REDIS_PORT", "password": "os.environ/REDIS_PASSWORD"}
    router = config["router_settings"]
    assert {k: router[f"redis_{k}"] for k in refs} == refs
    assert router["routing_strategy"] == "usage-based-routing-v2"
    assert config["litellm_settings"]["cache"] is True
    assert config["litellm_settings"]["cache_params"] == {"type": "redis", **refs, "mode": "default_off"}
    assert config["general_settings"]["use_redis_transaction_buffer"] is True
    # No Redis, nothing of it in the lab's proxy config.
    lab = values("lab")["proxy_config"]
    assert not [k for k in json.dumps(lab).split('"') if "redis" in k.lower()]


def test_several_workers_get_a_startup_health_check_they_can_meet() -> None:
    assert values("enterprise")["envVars"]["TIMEOUT_WORKER_HEALTHCHECK"] == "120"
    assert "TIMEOUT_WORKER_HEALTHCHECK" not in values("lab")["envVars"]


# --- in-cluster Valkey -------------------------------------------------------------------


def _valkey_release() -> dict[str, Any]:
    run = run_cached("enterprise", *REDIS_IN_CLUSTER)
    (rel,) = [r for r in run.of_type(HELM_RELEASE) if str(r.inputs.get("chart", "")).endswith("/valkey")]
    return rel.plain_inputs  # type: ignore[no-any-return]


def test_in_cluster_valkey_is_the_official_chart_with_restricted_pods_and_eso_auth() -> None:
    rel = _valkey_release()
    chart = locked_chart(VALKEY_CHART)
    assert (rel["chart"], rel["version"], rel["description"]) == (chart.path, chart.version, chart.description)
    assert "valkey-io/valkey-helm" in load_lock()[VALKEY_CHART].url
    vals = rel["values"]
    assert undocumented(DATA / "valkey_values_keys.txt", vals) == []
    # ACL auth: the chart hashes the password it reads from the ESO Secret; it renders no Secret of its own.
    assert vals["auth"] == {
        "enabled": True,
        "usersExistingSecret": shared.AUTH_SECRET,
        "aclUsers": {"default": {"permissions": "~* &* +@all", "passwordKey": "REDIS_PASSWORD"}},
    }
    assert vals["networkPolicy"] == {} and vals["metrics"] == {"enabled": False}
    pod, container = vals["podSecurityContext"], vals["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["allowPrivilegeEscalation"] is False and container["capabilities"] == {"drop": ["ALL"]}
    assert container["readOnlyRootFilesystem"] is True


def test_the_default_valkey_image_is_the_locked_charts_app_version() -> None:
    """One version: the image the config pins by default is the one the locked chart was released with
    (bumping the chart without the image, or the reverse, fails here)."""
    image = InClusterRedisConfig().image
    assert image == f"docker.io/valkey/valkey:{load_lock()[VALKEY_CHART].app_version}"
    assert _valkey_release()["values"]["image"] == {
        "registry": "docker.io",
        "repository": "valkey/valkey",
        "tag": load_lock()[VALKEY_CHART].app_version,
        "pullPolicy": "IfNotPresent",
    }


def test_in_cluster_valkey_keeps_its_data_across_a_restart() -> None:
    """config.redis.DATA_MUST_SURVIVE: nothing evicted, every write in the append-only file on the volume,
    the one pod replaced with Recreate (its volume attaches to one node)."""
    vals = _valkey_release()["values"]
    config = vals["valkeyConfig"].splitlines()
    assert {"maxmemory-policy noeviction", "appendonly yes", "appendfsync everysec"} <= set(config)
    assert "maxmemory 402653184" in config  # 3/4 of the 512Mi limit: writes fail before the kernel kills the pod
    assert vals["dataStorage"] == {"enabled": True, "requestedSize": "2Gi", "className": "", "keepPvc": True}
    assert vals["deploymentStrategy"] == "Recreate"
    assert "replica" not in vals


def test_replicas_each_get_a_volume_and_the_primary_serves_the_clients() -> None:
    ic = parse_config({**namespace("enterprise"), "redis": {"mode": "in_cluster", "in_cluster": {"replicas": 2}}})
    vals = shared.valkey_values(ic.redis.in_cluster)
    assert vals["replica"] == {
        "enabled": True,
        "replicas": 2,
        "replicationUser": "default",
        "persistence": {"size": "2Gi", "storageClass": ""},
        "service": {"enabled": False},
    }
    assert "dataStorage" not in vals and "deploymentStrategy" not in vals
    assert ic.redis.in_cluster.pods == 3


def test_replicas_without_persistence_are_refused_with_the_rule() -> None:
    raw = _raw("enterprise", redis={"mode": "in_cluster", "in_cluster": {"replicas": 2, "persistence": False}})
    message = errors_for(raw)
    assert message.count("\n  - ") == 1
    assert "llm-gateway:redis.in_cluster.persistence: must be true with redis.in_cluster.replicas (2)" in message
    assert "LiteLLM's spend transaction buffer" in message and "replicas copy the empty data set" in message
    # One pod without persistence is a choice (documented: a restart starts empty); replicas with it are fine.
    for in_cluster in ({"persistence": False}, {"replicas": 2}):
        parse_config(_raw("enterprise", redis={"mode": "in_cluster", "in_cluster": in_cluster}))


def test_one_pod_without_persistence_writes_nothing_to_disk() -> None:
    ic = parse_config(_raw("enterprise", redis={"mode": "in_cluster", "in_cluster": {"persistence": False}}))
    vals = shared.valkey_values(ic.redis.in_cluster)
    assert {"appendonly no", 'save ""', "maxmemory-policy noeviction"} <= set(vals["valkeyConfig"].splitlines())
    assert vals["dataStorage"]["enabled"] is False


def test_in_cluster_valkey_admits_only_litellm_pods_and_litellm_may_reach_it() -> None:
    run = run_cached("enterprise", *REDIS_IN_CLUSTER)
    policies = {p["metadata"]["name"]: p["spec"] for p in run.kubernetes_objects() if p["kind"] == "NetworkPolicy"}
    allow = policies["litellm-redis-from-litellm"]
    assert allow["ingress"] == [
        {
            "from": [
                {
                    "podSelector": {
                        "matchLabels": {"app.kubernetes.io/name": "litellm", "app.kubernetes.io/instance": "litellm"}
                    }
                }
            ],
            "ports": [{"protocol": "TCP", "port": 6379}],
        }
    ]
    assert policies["litellm-redis-default-deny"]["policyTypes"] == ["Ingress", "Egress"]
    egress = policies["litellm-egress"]["egress"]
    assert {
        "to": [{"podSelector": {"matchLabels": shared.valkey_pod_labels(stack_config("enterprise").redis.in_cluster)}}],
        "ports": [{"protocol": "TCP", "port": 6379}],
    } in egress
    # The password is generated once into GSM and synced by ESO; no Memorystore here.
    assert not run.of_type(INSTANCE)
    cfg = parse_config({**namespace("enterprise"), "redis": {"mode": "in_cluster"}})
    secret_ids = {r.inputs["secretId"] for r in run.of_type("gcp:secretmanager/secret:Secret")}
    assert gsm_secret_id(cfg, REDIS_PASSWORD) in secret_ids


def test_in_cluster_valkey_is_in_the_footprint() -> None:
    cfg = parse_config({**namespace("enterprise"), "redis": {"mode": "in_cluster"}})
    rows = {r.component: r for r in footprint(cfg).rows}
    assert rows["redis (valkey, in-cluster)"].replicas == 1
    assert "redis (valkey, in-cluster)" not in {r.component for r in footprint(stack_config("enterprise")).rows}
    # Each replica is a pod of its own with the same requests (it failed with a fixed 1 before).
    replicated = parse_config(
        {**namespace("enterprise"), "redis": {"mode": "in_cluster", "in_cluster": {"replicas": 2}}}
    )
    assert {r.component: r for r in footprint(replicated).rows}["redis (valkey, in-cluster)"].replicas == 3


def test_in_cluster_variant_objects_validate_against_their_schemas() -> None:
    run = run_cached("enterprise", *REDIS_IN_CLUSTER)
    objects = {f"{o['kind']}/{o['metadata']['name']}": o for o in run.kubernetes_objects()}
    assert "NetworkPolicy/litellm-redis-from-litellm" in objects
    assert "ExternalSecret/litellm-redis-auth" in objects
    assert {name: errs for name, o in objects.items() if (errs := validation_errors(o))} == {}


@pytest.mark.parametrize("replicas", [0, 2])
def test_the_rendered_valkey_release_is_restricted_eso_fed_and_reached_only_through_the_programs_policies(
    replicas: int,
) -> None:
    """The Valkey chart rendered as the stack installs it (tests/program/test_rendered.py covers the shipped
    stacks only, neither of which runs the in-cluster Redis): no Secret or NetworkPolicy of the chart's own,
    every pod (init containers included) `restricted` with a verifiable non-root identity and a read-only root,
    the password read from the ESO Secret's key, every pod under a policy, the locked chart's image only."""
    run = run_cached("enterprise", *REDIS_IN_CLUSTER, f"llm-gateway:redis.in_cluster.replicas={replicas}")
    d = checks.deployed(run)
    valkey = [o for o in d.objects if o.origin == "chart:litellm-redis"]
    assert {o.kind for o in valkey} >= {
        "ConfigMap",
        "Service",
        "ServiceAccount",
        "StatefulSet" if replicas else "Deployment",
    }
    assert [o.ref for o in valkey if o.kind in ("Secret", "NetworkPolicy")] == []
    pods = [p for p in d.pods if p.owner.origin == "chart:litellm-redis"]
    assert len(pods) == 1
    spec = pods[0].spec
    assert [c["name"] for c in spec["initContainers"]] and [c["name"] for c in spec["containers"]]
    assert checks.restricted_violations(spec) == []
    assert checks.identity_violations(spec) == []
    assert checks.writable_root_violations(pods[0].owner.body, spec) == []
    assert {c["image"] for c in checks.containers(spec)} == {
        f"docker.io/valkey/valkey:{load_lock()[VALKEY_CHART].app_version}"
    }
    # The ESO Secret mounted whole; the init script hashes the file named by the user's passwordKey.
    assert [r for r in checks.references(spec) if r[0] == "Secret"] == [
        ("Secret", shared.AUTH_SECRET, None, "volume valkey-users-secret")
    ]
    script = "\n".join(str(v) for o in valkey if o.kind == "ConfigMap" for v in (o.body.get("data") or {}).values())
    assert f'get_user_password "default" "{shared.PASSWORD_KEY}"' in script
    assert shared.PASSWORD_KEY in (
        checks.available_keys(d)[("Secret", pods[0].owner.namespace, shared.AUTH_SECRET)] or ()
    )
    assert checks.reference_findings(d) == []
    assert checks.network_policy_findings(d) == []
    assert checks.chart_network_policy_findings(d) == []
