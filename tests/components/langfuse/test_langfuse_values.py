"""Langfuse's builders checked directly (no program run): the pinned `langfuse` chart rendered
from `helm_values` reads only Secret keys that the ExternalSecrets of `credentials_secret` and
of the database password render; the NetworkPolicies select the chart's real pods and, by
NetworkPolicy semantics (tests/support/netpol.py) on those pods' labels, LiteLLM reaches the web
UI/API only, the subcharts stay internal, the app pods reach the database and, with GCS,
HTTPS; the Ingress and LiteLLM's tracing name the chart's web Service; the database tenant's
clients are the app pods. Settings the stack files leave at one value (admin user, UI ingress,
GCS on the lab) are varied through overrides."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from components.database.args import database_passwords
from components.langfuse import chart as lf_chart
from components.langfuse import clickhouse as lf_clickhouse
from components.langfuse import credentials as lf_credentials
from components.langfuse import database as lf_database
from components.langfuse import names as lf_names
from components.langfuse import network as lf_network
from components.langfuse import values as lf_values
from components.litellm.names import selector_labels
from components.redis.component import SharedStateArgs
from components.secrets.eso import StoreRef
from components.secrets.managed import basic_auth_consumer, consumer_manifests, managed_secret_args
from components.secrets.store import StoreAccess
from config import StackConfig
from config.inventory import LANGFUSE_DB_PASSWORD
from offline.render import RenderedObject
from tests.support.config import redis_wiring, scenario_config
from tests.support.direct import core_errors, crd_errors, deployed, render
from tests.support.ingress_nginx import IngressNginx
from tests.support.netpol import Address, Pod, can_connect
from tests.support.program import EXTERNAL_ENGINE, EXTERNAL_SERVER, LAB_LANGFUSE, LAB_UI, LANGFUSE_V3, V3_MINIO
from tests.support.rendered import (
    Deployed,
    existing_secret_findings,
    matches,
    network_policy_findings,
    reference_findings,
    restricted_violations,
    selected_pods,
)

STORE = StoreAccess(StoreRef("gcp-secret-manager", "ClusterSecretStore"), "eso@example.iam.gserviceaccount.com")
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "lab-minio": ("lab", (*LAB_LANGFUSE, *V3_MINIO)),
    "lab-gcs-admin-ui": ("lab", (*LAB_LANGFUSE, *LAB_UI)),
    "lab-v3-gcs-admin-ui": ("lab", (*LAB_LANGFUSE, *LANGFUSE_V3, *LAB_UI)),
    "lab-minio-ui": ("lab", (*LAB_LANGFUSE, *V3_MINIO, *LAB_UI)),
    "lab-external": ("lab", (*LAB_LANGFUSE, *EXTERNAL_ENGINE)),
    "enterprise": ("enterprise", ()),
}
INTERNET = Address("8.8.8.8")
CLICKHOUSE_HTTP = 8123
ESO_CRD = "crd/eso-externalsecrets"


@cache
def _config(variant: str) -> StackConfig:
    stack, overrides = VARIANTS[variant]
    return scenario_config(stack, *overrides)


@cache
def _render(variant: str) -> list[RenderedObject]:
    cfg = _config(variant)
    lf = cfg.langfuse
    return render(
        lf.release_name, cfg.namespaces.gateway, lf_chart.helm_chart(lf), lf_chart.helm_values(cfg, redis_wiring(cfg))
    )


def _secrets(cfg: StackConfig) -> list[dict[str, Any]]:
    """The ExternalSecrets the chart's Secrets come from: the credentials, LiteLLM's keys, the database
    password, the database's CA certificate (rendered by the database component), the shared Redis's."""
    store, ns = STORE.ref, cfg.namespaces.gateway
    db_consumer = basic_auth_consumer(lf_credentials.DB_SECRET, ns, cfg.langfuse.owner, {"cnpg.io/reload": "true"})
    ca_cert = database_passwords(cfg, STORE).ca_cert
    shared = SharedStateArgs.from_config(cfg, STORE, selector_labels(cfg.litellm))
    return [
        # The shared Redis's password (and Memorystore's server CA): Langfuse reads them like LiteLLM.
        *consumer_manifests(shared.auth),
        *(consumer_manifests(shared.server_ca) if shared.server_ca is not None else []),
        lf_credentials.credentials_secret(cfg, store),
        lf_credentials.litellm_keys_secret(cfg, store),
        *consumer_manifests(managed_secret_args(cfg, LANGFUSE_DB_PASSWORD, STORE, (db_consumer,))),
        *(consumer_manifests(ca_cert) if ca_cert is not None else []),
    ]


def _deployed(variant: str) -> Deployed:
    cfg = _config(variant)
    clusters = [lf_clickhouse.clickhouse_cluster(cfg), lf_clickhouse.keeper_cluster(cfg)]
    return deployed([*_secrets(cfg), *lf_network.network_policies(cfg, redis_wiring(cfg)), *clusters], _render(variant))


def _pod(d: Deployed, workload: str) -> Pod:
    """A netpol Pod with the labels of the rendered workload named `workload`."""
    (found,) = [p for p in d.pods if p.owner.name == workload and not p.is_job]
    return Pod(found.owner.namespace, found.labels)


def _app_network(variant: str) -> tuple[StackConfig, list[dict[str, Any]], tuple[Pod, Pod, Pod]]:
    """The variant's config, its NetworkPolicies, and the web, worker and ClickHouse pods."""
    d = _deployed(variant)
    (server,) = [p for p in d.pods if p.operator == "clickhouse" and p.owner.kind == "ClickHouseCluster"]
    pods = (_pod(d, "langfuse-web"), _pod(d, "langfuse-worker"), Pod(server.owner.namespace, server.labels))
    return _config(variant), [o.body for o in d.of_kind("NetworkPolicy")], pods


@pytest.mark.parametrize("variant", VARIANTS)
def test_rendered_chart_reads_only_keys_the_external_secrets_render(variant: str) -> None:
    cfg = _config(variant)
    d = _deployed(variant)
    assert reference_findings(d) == []
    values = {cfg.langfuse.release_name: lf_chart.helm_values(cfg, redis_wiring(cfg))}
    assert existing_secret_findings(d, values, cfg.namespaces.gateway) == []
    assert {
        o.name: crd_errors(o.body, ESO_CRD) for o in d.of_kind("ExternalSecret") if crd_errors(o.body, ESO_CRD)
    } == {}


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_policy_selects_a_rendered_pod_and_every_pod_is_limited(variant: str) -> None:
    d = _deployed(variant)
    assert d.pods
    assert network_policy_findings(d) == []
    assert [np.ref for np in d.of_kind("NetworkPolicy") if np.origin != "program"] == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_litellm_reaches_the_web_ui_only_and_the_subcharts_stay_internal(variant: str) -> None:
    cfg, policies, (web, worker, clickhouse) = _app_network(variant)
    ns = cfg.namespaces.gateway
    litellm, stranger = Pod(ns, selector_labels(cfg.litellm)), Pod("team-x", {"app": "curl"})
    assert can_connect(policies, litellm, web, lf_names.WEB_PORT)
    assert not can_connect(policies, litellm, clickhouse, CLICKHOUSE_HTTP)
    assert not can_connect(policies, litellm, worker, lf_names.WEB_PORT)
    assert not can_connect(policies, stranger, web, lf_names.WEB_PORT)
    assert not can_connect(policies, Pod(ns, {"app": "other"}), web, lf_names.WEB_PORT)
    assert can_connect(policies, worker, clickhouse, CLICKHOUSE_HTTP)
    assert can_connect(policies, web, clickhouse, CLICKHOUSE_HTTP)
    controller = cfg.litellm.network.ingress_controller_namespace
    if controller:
        from_controller = can_connect(policies, Pod(controller, {"app": "controller"}), web, lf_names.WEB_PORT)
        assert from_controller == (cfg.langfuse.ingress_host is not None)


@pytest.mark.parametrize("variant", VARIANTS)
def test_app_pods_reach_the_database_and_https_only_with_gcs_or_the_identity_provider(variant: str) -> None:
    cfg, policies, (web, worker, clickhouse) = _app_network(variant)
    host, port = lf_database.database_host(cfg)
    pg = cfg.postgres
    if pg.engine == "cnpg":
        database: Pod | Address = Pod(cfg.namespaces.gateway, {"cnpg.io/cluster": pg.cnpg.name})
        assert host.startswith(f"{pg.cnpg.name}-rw.")
    else:
        database = Address(EXTERNAL_SERVER)
        assert not can_connect(policies, web, INTERNET, port)
    for app in (web, worker):
        assert can_connect(policies, app, database, port)
        # GCS over HTTPS; with sso the web pods also reach the identity provider (its default range is all).
        https = cfg.langfuse.blob_storage == "gcs" or (app is web and cfg.langfuse.sso is not None)
        assert can_connect(policies, app, INTERNET, 443) == https
    assert not can_connect(policies, clickhouse, INTERNET, 443)


@pytest.mark.parametrize("variant", VARIANTS)
def test_database_tenant_clients_are_the_app_pods(variant: str) -> None:
    cfg = _config(variant)
    d = _deployed(variant)
    clients = lf_database.database_tenant(cfg).clients
    chosen = {p.owner.name for p in selected_pods(d, cfg.namespaces.gateway, dict(clients)) if not p.is_job}
    assert chosen == {"langfuse-web", "langfuse-worker"}
    if cfg.postgres.engine == "cnpg":
        assert crd_errors(lf_database.cnpg_database(cfg), "crd/cnpg-databases") == []


@pytest.mark.parametrize("variant", ["lab-gcs-admin-ui", "enterprise"])
def test_ui_ingress_and_tracing_name_the_charts_web_service(variant: str) -> None:
    cfg = _config(variant)
    rendered = _render(variant)
    services = {o.body["metadata"]["name"]: o.body for o in rendered if o.body["kind"] == "Service"}
    web = services[lf_names.names(cfg).web_service]
    assert lf_names.WEB_PORT in {p["port"] for p in web["spec"]["ports"]}
    d = _deployed(variant)
    assert {p.owner.name for p in d.pods if matches(web["spec"]["selector"], p.labels)} == {"langfuse-web"}
    tracing = lf_credentials.litellm_tracing(cfg)
    assert tracing is not None
    assert tracing.otel_host == f"http://{web['metadata']['name']}.{cfg.namespaces.gateway}.svc:{lf_names.WEB_PORT}"
    ingress = lf_network.ingress(cfg)
    if cfg.langfuse.ingress_host is None:
        assert ingress is None
        return
    assert ingress is not None and core_errors(ingress) == []
    (root,) = [p for p in ingress["spec"]["rules"][0]["http"]["paths"] if p["path"] == "/"]
    assert root["backend"]["service"] == {"name": web["metadata"]["name"], "port": {"number": lf_names.WEB_PORT}}


# --- the public host serves the UI, not the API (docs/security.md, Finding 4) -----------------------

# Paths the SDKs and LiteLLM use (web/src/pages/api/public/**), the probes', and the UI's own.
PUBLIC_API = ("/api/public/ingestion", "/api/public/otel/v1/traces", "/api/public/health", "/api/public/ready")
UI = ("/", "/project/litellm/traces", "/api/auth/callback/custom", "/api/auth/signin", "/api/trpc/traces.all")


# The blocked prefixes as a client could spell them: NGINX decodes and merges slashes before it
# matches (tests/support/ingress_nginx.py), and a Prefix matches whole path elements only.
SPELLINGS = ("{p}", "{p}/", "{p}/x", "/{p}", "/ui/..{p}/x", "{p}?x=1")


def _backend(ingress: dict[str, Any], request_path: str) -> str | None:
    """The Service ingress-nginx picks for a request path on the Ingress's host (the tests' own
    referee, tests/support/ingress_nginx.py)."""
    nginx = IngressNginx([ingress])
    (rule,) = ingress["spec"]["rules"]
    assert nginx.ingresses and not nginx.regex_mode(rule["host"])
    chosen = nginx.route(rule["host"], request_path)
    return None if chosen is None else chosen.service


@pytest.mark.parametrize("opened", [False, True])
@pytest.mark.parametrize("variant", ["lab-gcs-admin-ui", "enterprise"])
def test_the_public_api_reaches_langfuse_through_the_ingress_only_where_a_setting_opens_it(
    variant: str, opened: bool
) -> None:
    stack, overrides = VARIANTS[variant]
    cfg = scenario_config(stack, *overrides, f"llm-gateway:langfuse.public_api_on_ingress={str(opened).lower()}")
    ingress = lf_network.ingress(cfg)
    blocked = lf_network.blocked_service(cfg)
    assert ingress is not None and blocked is not None
    assert core_errors(ingress) == [] and core_errors(blocked) == []
    assert "selector" not in blocked["spec"], "the blocked Service must have no endpoints"
    web, nowhere = lf_names.names(cfg).web_service, blocked["metadata"]["name"]
    for path in PUBLIC_API:
        assert _backend(ingress, path) == (web if opened else nowhere), path
    for path in UI:
        assert _backend(ingress, path) == web, path
    assert _backend(ingress, "/api/admin/ingestion-secret") == nowhere
    for prefix in ("/api/public", "/api/admin"):
        for spelling in SPELLINGS:
            request = spelling.format(p=prefix)
            assert _backend(ingress, request) == (web if opened and prefix == "/api/public" else nowhere), request
        assert _backend(ingress, prefix.upper()) == web  # case-sensitive: Langfuse has no /API/PUBLIC route
    for path in ("/api/publicx", "/api/%61dmin/x"):
        assert _backend(ingress, path) == (web if path == "/api/publicx" else nowhere), path
    # Inside the cluster nothing changes: LiteLLM posts OTLP to the web Service, the kubelet probes the pod.
    tracing = lf_credentials.litellm_tracing(cfg)
    assert tracing is not None and tracing.otel_host.startswith(f"http://{web}.")
    web_pod = _app_pods(variant)["langfuse-web"]["containers"][0]
    assert web_pod["livenessProbe"]["httpGet"]["path"] == "/api/public/health"


def test_no_ui_host_means_no_ingress_and_no_blocked_service() -> None:
    cfg = _config("lab-minio")
    assert lf_network.ingress(cfg) is None and lf_network.blocked_service(cfg) is None


# --- the app pods: their own user, a read-only root, no token (docs/security.md, Finding 4 and 6) ----


def _app_pods(variant: str) -> dict[str, dict[str, Any]]:
    """The rendered web and worker pod specs, by Deployment name."""
    return {
        o.body["metadata"]["name"]: o.body["spec"]["template"]["spec"]
        for o in _render(variant)
        if o.body["kind"] == "Deployment" and o.body["metadata"]["name"] in ("langfuse-web", "langfuse-worker")
    }


@pytest.mark.parametrize("variant", VARIANTS)
def test_web_and_worker_mount_no_service_account_token(variant: str) -> None:
    """Neither calls the Kubernetes API and GCS is reached with an HMAC key: no token in the pods,
    none on their ServiceAccount either (a pod added later without the field would get none)."""
    pods = _app_pods(variant)
    assert set(pods) == {"langfuse-web", "langfuse-worker"}
    assert {name: spec["automountServiceAccountToken"] for name, spec in pods.items()} == dict.fromkeys(pods, False)
    (account,) = [
        o.body
        for o in _render(variant)
        if o.body["kind"] == "ServiceAccount" and o.body["metadata"]["name"] == "langfuse"
    ]
    assert account["automountServiceAccountToken"] is False
    assert {spec["serviceAccountName"] for spec in pods.values()} == {"langfuse"}


@pytest.mark.parametrize("variant", VARIANTS)
def test_web_and_worker_run_as_the_images_user_on_a_read_only_root_writing_only_to_emptydirs(variant: str) -> None:
    for name, spec in _app_pods(variant).items():
        pod_sc = spec["securityContext"]
        assert (pod_sc["runAsUser"], pod_sc["runAsGroup"]) == (1001, 1001), name
        assert restricted_violations(spec) == [], name
        (container,) = spec["containers"]
        sc = container["securityContext"]
        assert (sc["readOnlyRootFilesystem"], sc["runAsUser"], sc["runAsGroup"]) == (True, 1001, 1001), name
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        writable = {path: m["name"] for path, m in mounts.items() if not m.get("readOnly")}
        assert writable == {"/tmp": "tmp", "/app/web/.next/cache": "next-cache"}, name  # noqa: S108
        volumes = {v["name"]: v for v in spec["volumes"]}
        for volume in writable.values():
            assert volumes[volume]["emptyDir"]["sizeLimit"] == lf_values.SCRATCH_SIZE, name
        # Read-only: the database's CA certificate (a Secret volume), nothing else.
        assert all("secret" in volumes[m["name"]] for m in mounts.values() if m.get("readOnly")), name
        resources = container["resources"]
        assert resources["requests"]["cpu"] and resources["limits"]["memory"], name


# --- sign-in (docs/security.md, Finding 4) ---------------------------------------------------------


def _web_env(variant: str) -> dict[str, dict[str, Any]]:
    (container,) = _app_pods(variant)["langfuse-web"]["containers"]
    return {e["name"]: e for e in container["env"]}


@pytest.mark.parametrize("variant", VARIANTS)
def test_rendered_web_signs_in_by_oidc_only_where_sso_is_set(variant: str) -> None:
    """What the Langfuse process reads: with sso, password sign-in is off, the generic OIDC provider
    is configured (its secret by reference), sign-up happens by SSO only; without a public host the
    password sign-in of the admin stays the only way in. No variable is rendered empty (Langfuse's
    env schema refuses an empty enum), whatever the chart does with false options."""
    lf = _config(variant).langfuse
    env = _web_env(variant)
    value = {name: e.get("value") for name, e in env.items()}
    assert all("value" in e or "valueFrom" in e for e in env.values()), "an env var rendered without a value"
    if lf.sso is None:
        assert value["AUTH_DISABLE_USERNAME_PASSWORD"] == "false"
        assert value["AUTH_DISABLE_SIGNUP"] == "true"
        assert not [name for name in env if name.startswith("AUTH_CUSTOM_")]
        return
    assert value["AUTH_DISABLE_USERNAME_PASSWORD"] == "true"
    assert value["AUTH_DISABLE_SIGNUP"] == "false"
    assert value["NEXTAUTH_URL"] == f"https://{lf.ingress_host}"
    assert value["AUTH_CUSTOM_ISSUER"] == lf.sso.issuer_url
    assert value["AUTH_CUSTOM_CLIENT_ID"] == lf.sso.client_id
    assert value["AUTH_CUSTOM_NAME"] == lf.sso.display_name
    assert value["AUTH_CUSTOM_SCOPE"] == "openid email profile"
    assert value["AUTH_CUSTOM_CHECKS"] == "pkce,state"
    assert value["AUTH_CUSTOM_ALLOW_ACCOUNT_LINKING"] == "true"
    assert env["AUTH_CUSTOM_CLIENT_SECRET"]["valueFrom"] == {
        "secretKeyRef": {"name": lf_credentials.CREDENTIALS_SECRET, "key": lf_credentials.OIDC_CLIENT_SECRET_KEY}
    }


@pytest.mark.parametrize("variant", ["lab-minio-ui", "enterprise"])
def test_only_the_web_pods_reach_the_identity_provider(variant: str) -> None:
    cfg, policies, (web, worker, clickhouse) = _app_network(variant)
    assert can_connect(policies, web, INTERNET, 443)
    assert not can_connect(policies, web, INTERNET, 80)
    assert can_connect(policies, worker, INTERNET, 443) == (cfg.langfuse.blob_storage == "gcs")
    assert not can_connect(policies, clickhouse, INTERNET, 443)


@pytest.mark.parametrize("variant", ["lab-gcs-admin-ui", "enterprise"])
def test_rendered_pods_write_events_and_exports_under_the_prefixes_the_lifecycle_rule_expires(variant: str) -> None:
    gcs = _config(variant).langfuse.gcs
    assert gcs is not None
    rule = lf_values.blob_bucket(gcs)["lifecycle_rules"][0]
    for name, spec in _app_pods(variant).items():
        env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
        expiring = {env["LANGFUSE_S3_EVENT_UPLOAD_PREFIX"], env["LANGFUSE_S3_BATCH_EXPORT_PREFIX"]}
        assert expiring == set(rule["condition"]["matches_prefixes"]), name
        assert "LANGFUSE_S3_MEDIA_UPLOAD_PREFIX" not in env, name  # media stay at the root, never expired
        assert env["LANGFUSE_S3_EVENT_UPLOAD_BUCKET"] == gcs.bucket, name
    assert rule["condition"]["age"] == gcs.retention_days
