"""Single sign-on for the admin UI: oauth2-proxy in the enterprise stack, nothing of it in the lab.

The real program runs under the mock engine; assertions are on what it registers:
the pinned release and its values (every key a documented chart key), the
credentials as GSM references rendered by ESO, the Ingress path split, the
NetworkPolicies, and LiteLLM's docs switches. Bad SSO config is a clean error.
"""

from __future__ import annotations

import base64
import copy
from functools import cache
from typing import Any

import pytest

from components.litellm import names as litellm_names
from components.secrets.managed import urlsafe_base64
from components.sso import values as sso_values
from config import parse_config
from config.assets import OAUTH2_PROXY_CHART, locked_chart
from config.inventory import OAUTH2_PROXY_COOKIE_SECRET, secret_inventory
from offline.run import ProgramRun
from tests.support.chart_keys import DATA, undocumented
from tests.support.config import errors_for, namespace, stack_config, with_value, without
from tests.support.ingress_nginx import IngressNginx
from tests.support.program import HELM_RELEASE, run_cached, walk_strings
from tests.support.schemas import validation_errors

KEYS_FILE = DATA / "oauth2_proxy_values_keys.txt"
HOST = "llm.acme.example"
CLIENT_SECRET_GSM = "llm-gateway-oidc-client-secret"
COOKIE_GSM = "oauth2-proxy-cookie-secret"
CREDENTIALS = "oauth2-proxy-credentials"
OAUTH2_PROXY_POD = {"app.kubernetes.io/name": "oauth2-proxy", "app.kubernetes.io/instance": "oauth2-proxy"}
LITELLM_POD = {"app.kubernetes.io/name": "litellm", "app.kubernetes.io/instance": "litellm"}


def sso_release(run: ProgramRun) -> dict[str, Any]:
    (rel,) = [r for r in run.of_type(HELM_RELEASE) if r.plain_inputs["chart"].endswith("/oauth2-proxy")]
    return rel.plain_inputs  # type: ignore[no-any-return]


def sso_values_of(*overrides: str) -> dict[str, Any]:
    return sso_release(run_cached("enterprise", *overrides))["values"]  # type: ignore[no-any-return]


def litellm_env(stack: str) -> dict[str, str]:
    (rel,) = [r for r in run_cached(stack).of_type(HELM_RELEASE) if r.plain_inputs["chart"].endswith("litellm-helm")]
    return rel.plain_inputs["values"]["envVars"]  # type: ignore[no-any-return]


def gateway_ingress(stack: str) -> dict[str, Any]:
    (ing,) = [
        o
        for o in run_cached(stack).kubernetes_objects()
        if o["kind"] == "Ingress" and o["metadata"]["name"] == "litellm"
    ]
    return ing


def policy(run: ProgramRun, name: str) -> dict[str, Any]:
    (found,) = [o for o in run.kubernetes_objects() if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == name]
    return found


# --- the release and its values ------------------------------------------------


def test_every_values_key_is_a_documented_chart_key() -> None:
    assert undocumented(KEYS_FILE, sso_values_of()) == []


def test_the_key_check_catches_a_typo() -> None:
    broken = copy.deepcopy(sso_values_of())
    broken["config"]["existingSecrets"] = "x"
    broken["extraArg"] = []
    assert undocumented(KEYS_FILE, broken) == ["config.existingSecrets", "extraArg"]


def test_release_installs_the_locked_chart() -> None:
    rel = sso_release(run_cached("enterprise"))
    chart = locked_chart(OAUTH2_PROXY_CHART)
    assert (rel["chart"], rel["version"], rel["description"]) == (chart.path, chart.version, chart.description)
    pinned = stack_config("enterprise").sso
    image, tag = pinned.image.rsplit(":", 1)
    registry, repository = image.split("/", 1)
    assert rel["namespace"] == "llm-gateway"
    assert rel["values"]["image"] == {
        "registry": registry,
        "repository": repository,
        "tag": tag,
        "pullPolicy": "IfNotPresent",
    }


def test_provider_issuer_client_and_allowed_groups_come_from_config() -> None:
    v = sso_values_of()
    args = v["extraArgs"]
    assert "--provider=oidc" in args
    assert "--oidc-issuer-url=https://login.acme.example/realms/acme" in args
    assert f"--redirect-url=https://{HOST}/oauth2/callback" in args
    assert [a for a in args if a.startswith("--allowed-group=")] == ["--allowed-group=llm-gateway-admins"]
    assert v["config"]["emailDomains"] == ["*"]  # groups restrict; no domain list configured
    # The client id is not a secret: a flag (the Secret keeps it for the pods of an earlier release).
    assert "--client-id=llm-gateway-admin-ui" in args


def test_email_domains_and_keycloak_provider_are_settings() -> None:
    v = sso_values_of(
        "llm-gateway:sso.provider=keycloak-oidc",
        "llm-gateway:sso.allowed_groups=[]",
        "llm-gateway:sso.allowed_email_domains=[acme.example, acme-labs.example]",
    )
    assert v["config"]["emailDomains"] == ["acme.example", "acme-labs.example"]
    assert "--provider=keycloak-oidc" in v["extraArgs"]
    assert not [a for a in v["extraArgs"] if a.startswith("--allowed-group")]


def test_upstream_is_the_litellm_service() -> None:
    cfg = stack_config("enterprise")
    service = litellm_names.service_name(cfg.litellm)
    assert sso_values_of()["config"]["upstreams"] == [f"http://{service}.llm-gateway.svc.cluster.local:4000/"]


# --- secrets: references only ----------------------------------------------------


def test_credentials_are_references_never_values() -> None:
    run = run_cached("enterprise")
    v = sso_values_of()
    # Files of the mounted Secret, not environment variables (Checkov's CKV_K8S_35).
    assert v["proxyVarsAsSecrets"] is False
    (volume,) = v["extraVolumes"]
    assert volume["secret"]["secretName"] == CREDENTIALS
    assert volume["secret"]["defaultMode"] == 0o440
    assert not {"clientID", "clientSecret", "cookieSecret"} & set(v["config"])
    strings = " ".join(walk_strings(v))
    assert not [s for s in run.generated_secrets if s in strings]
    (es,) = [e for e in run.custom_resources("ExternalSecret") if e["metadata"]["name"] == CREDENTIALS]
    refs = {d["secretKey"]: d["remoteRef"]["key"] for d in es["spec"]["data"]}
    assert refs == {"clientSecret": CLIENT_SECRET_GSM, "cookieSecret": COOKIE_GSM}
    template = es["spec"]["target"]
    assert template["name"] == CREDENTIALS
    assert template["template"]["data"] == {
        "client-id": "llm-gateway-admin-ui",
        "client-secret": "{{ .clientSecret }}",
        "cookie-secret": "{{ .cookieSecret }}",
    }
    assert validation_errors(es) == []


def test_client_secret_access_is_granted_on_that_one_secret() -> None:
    run = run_cached("enterprise")
    grants = [g.plain_inputs for g in run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")]
    path = f"projects/acme-llm-prod/secrets/{CLIENT_SECRET_GSM}"
    mine = [g for g in grants if g["secretId"] == path]
    assert mine == [
        {
            "project": "acme-llm-prod",
            "secretId": path,
            "role": "roles/secretmanager.secretAccessor",
            "member": "serviceAccount:llm-gw-eso@acme-llm-prod.iam.gserviceaccount.com",
        }
    ]
    # The program never creates (or writes) the identity team's secret.
    assert CLIENT_SECRET_GSM not in {s.plain_inputs["secretId"] for s in run.of_type("gcp:secretmanager/secret:Secret")}


def test_cookie_secret_is_32_random_bytes_urlsafe_base64_in_gsm() -> None:
    run = run_cached("enterprise")
    generator = run.named("llm-gateway-sso-cookie-secret-value")
    assert generator.type == "random:index/randomBytes:RandomBytes"
    assert generator.plain_inputs == {"length": 32, "keepers": {"rotation": "0"}}
    gsm = run.named("llm-gateway-sso-cookie-secret-gsm")
    assert gsm.plain_inputs["secretId"] == COOKIE_GSM
    version = run.named("llm-gateway-sso-cookie-secret-version")
    assert "value" in version.inputs["secretData"], "the cookie secret must stay a secret Output"
    value = version.plain_inputs["secretData"]
    assert len(base64.urlsafe_b64decode(value)) == 32
    assert not set(value) & set("+/")
    assert value == urlsafe_base64(generator.outputs["base64"])


def test_urlsafe_base64_matches_the_standard_library() -> None:
    raw = bytes(range(200, 232))
    assert urlsafe_base64(base64.b64encode(raw).decode()) == base64.urlsafe_b64encode(raw).decode()


def test_cookie_secret_is_in_the_inventory_only_with_sso() -> None:
    assert OAUTH2_PROXY_COOKIE_SECRET in secret_inventory(stack_config("enterprise"))
    assert OAUTH2_PROXY_COOKIE_SECRET not in secret_inventory(stack_config("lab"))


# --- routing ----------------------------------------------------------------------


@cache
def _nginx() -> IngressNginx:
    nginx = IngressNginx(run_cached("enterprise").kubernetes_objects())
    assert not nginx.regex_mode(HOST), "regex mode would turn every path into a case-insensitive prefix"
    return nginx


def _route(request_path: str) -> tuple[str, int | str]:
    """ingress-nginx's choice on the gateway host, over every object the enterprise stack renders
    (the tests' own referee, tests/support/ingress_nginx.py)."""
    chosen = _nginx().target(HOST, request_path)
    assert chosen is not None, request_path
    return chosen


def test_ingress_splits_ui_from_api_paths() -> None:
    ing = gateway_ingress("enterprise")
    (rule,) = ing["spec"]["rules"]
    assert rule["host"] == HOST
    sso = ("oauth2-proxy", 80)
    api = ("litellm", 4000)
    for request, backend in [
        ("/ui", sso),
        ("/ui/", sso),
        ("/ui/_next/static/app.js", sso),
        ("/oauth2/callback", sso),
        ("/oauth2/sign_in", sso),
        ("/login", sso),
        ("/v2/login", sso),
        ("/sso/key/generate", sso),
        ("/fallback/login", sso),
        ("/v1/chat/completions", api),
        ("/chat/completions", api),
        ("/v1/models", api),
        ("/embeddings", api),
        ("/health/readiness", sso),
        ("/key/generate", sso),
        ("/user/update", sso),
        ("/uix", sso),
        ("/metrics/", ("litellm-blocked", 80)),
    ]:
        assert _route(request) == backend, request


def test_ingress_keeps_the_gateway_tls() -> None:
    ing = gateway_ingress("enterprise")
    assert ing["spec"]["tls"] == [{"hosts": [HOST], "secretName": "litellm-tls"}]
    assert ing["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert validation_errors(ing) == []


def test_ingress_ui_backend_is_the_chart_service() -> None:
    cfg = stack_config("enterprise")
    assert sso_values.service_name(cfg.sso) == "oauth2-proxy"
    assert sso_values.service_name(cfg.sso.model_copy(update={"release_name": "admin-sso"})) == "admin-sso-oauth2-proxy"


# --- LiteLLM's side: base URL and docs --------------------------------------------


def test_enterprise_sets_the_base_url_and_turns_the_api_docs_off() -> None:
    env = litellm_env("enterprise")
    assert env["PROXY_BASE_URL"] == f"https://{HOST}"
    assert env["DOCS_URL"] == "" and env["REDOC_URL"] == ""
    # What actually turns the routes off in LiteLLM 1.108.7 (an empty *_URL counts as unset).
    assert (env["NO_DOCS"], env["NO_REDOC"], env["NO_OPENAPI"]) == ("True", "True", "True")


def test_docs_switch_is_a_setting_not_a_stack_name() -> None:
    (rel,) = [
        r
        for r in run_cached("lab", "llm-gateway:litellm.settings.public_api_docs=false").of_type(HELM_RELEASE)
        if r.plain_inputs["chart"].endswith("litellm-helm")
    ]
    env = rel.plain_inputs["values"]["envVars"]
    assert env["NO_DOCS"] == "True" and "PROXY_BASE_URL" not in env


# --- network policies ----------------------------------------------------------------


def test_oauth2_proxy_pods_only_talk_to_the_ingress_controller_dns_litellm_and_the_idp() -> None:
    run = run_cached("enterprise")
    deny = policy(run, "oauth2-proxy-default-deny")
    assert deny["spec"] == {"podSelector": {"matchLabels": OAUTH2_PROXY_POD}, "policyTypes": ["Ingress", "Egress"]}
    ingress = policy(run, "oauth2-proxy-ingress")["spec"]
    assert ingress["ingress"] == [
        {
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}],
            "ports": [{"protocol": "TCP", "port": 4180}],
        }
    ]
    egress = policy(run, "oauth2-proxy-egress")["spec"]["egress"]
    assert egress[0]["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    assert egress[1] == {
        "to": [{"podSelector": {"matchLabels": LITELLM_POD}}],
        "ports": [{"protocol": "TCP", "port": 4000}],
    }
    assert egress[2] == {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}]}
    assert len(egress) == 3


def test_litellm_api_port_admits_oauth2_proxy_pods() -> None:
    run = run_cached("enterprise")
    spec = policy(run, "oauth2-proxy-to-litellm")["spec"]
    assert spec == {
        "podSelector": {"matchLabels": LITELLM_POD},
        "policyTypes": ["Ingress"],
        "ingress": [
            {"from": [{"podSelector": {"matchLabels": OAUTH2_PROXY_POD}}], "ports": [{"protocol": "TCP", "port": 4000}]}
        ],
    }
    # From outside the namespace, LiteLLM's API port stays limited to the configured namespaces
    # (API clients and the ingress controller for the API paths).
    # (API clients and the ingress controller for the API paths), and inside it to the tenants
    # reconciler's pods.
    own = policy(run, "litellm-ingress")["spec"]["ingress"][0]["from"]
    names = [
        p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in own if "namespaceSelector" in p
    ]
    assert names == ["apps", "data-science", "ingress-nginx"]
    assert [p for p in own if "namespaceSelector" not in p] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "litellm-tenants"}}}
    ]


def test_policies_select_the_charts_pods() -> None:
    cfg = stack_config("enterprise")
    assert sso_values.selector_labels(cfg.sso) == OAUTH2_PROXY_POD
    assert litellm_names.selector_labels(cfg.litellm) == LITELLM_POD


def test_sso_objects_validate() -> None:
    objects = [
        o
        for o in run_cached("enterprise").kubernetes_objects()
        if o["metadata"]["name"].startswith("oauth2-proxy") or o["kind"] == "Ingress"
    ]
    assert len(objects) == 7  # 4 NetworkPolicies, the ExternalSecret, 2 Ingresses (gateway, Langfuse)
    assert {o["metadata"]["name"]: validation_errors(o) for o in objects} == {
        o["metadata"]["name"]: [] for o in objects
    }


# --- the lab has none of it ----------------------------------------------------------


def test_lab_has_no_sso() -> None:
    run = run_cached("lab")
    assert not run.of_type("llm-gateway:sso:Sso")
    assert not [r for r in run.resources if r.name.startswith("llm-gateway-sso") or "oauth2" in r.name]
    assert not [r for r in run.of_type(HELM_RELEASE) if r.plain_inputs["chart"].endswith("/oauth2-proxy")]
    assert not [o for o in run.kubernetes_objects() if o["kind"] == "Ingress"]
    env = litellm_env("lab")
    assert not {"PROXY_BASE_URL", "DOCS_URL", "NO_DOCS", "NO_OPENAPI"} & set(env)


# --- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize("key", ["issuer_url", "client_id", "client_secret_gsm_secret"])
def test_enabled_sso_needs_issuer_client_and_secret(key: str) -> None:
    message = errors_for(without("enterprise", f"sso.{key}"))
    assert f"llm-gateway:sso.{key}: required when sso.enabled is true" in message
    assert "Traceback" not in message


def test_enabled_sso_needs_someone_allowed() -> None:
    message = errors_for(
        with_value(
            "enterprise", "sso", {**namespace("enterprise")["sso"], "allowed_groups": [], "allowed_email_domains": []}
        )
    )
    assert "llm-gateway:sso: an enabled sso needs allowed_email_domains or allowed_groups" in message


def test_sso_needs_the_gateway_ingress() -> None:
    raw = with_value(
        "lab",
        "sso",
        {
            "enabled": True,
            "issuer_url": "https://login.acme.example/realms/acme",
            "client_id": "ui",
            "client_secret_gsm_secret": "oidc-client-secret",
            "allowed_groups": ["admins"],
        },
    )
    message = errors_for(raw)
    assert "llm-gateway:sso.enabled: needs litellm.ingress.enabled" in message
    assert "litellm.network.ingress_controller_namespace" in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("image", "quay.io/oauth2-proxy/oauth2-proxy:latest", "floating tag"),
        ("chart_version", "latest", "floating tag"),
        ("issuer_url", "http://login.acme.example", "expected an https URL, e.g."),
        ("allowed_groups", ["a,b"], "expected a group name without commas"),
        ("client_id", "{{ .x }}", "expected an OIDC client id, e.g."),
    ],
)
def test_bad_sso_values_name_the_key(key: str, value: Any, expected: str) -> None:
    message = errors_for(with_value("enterprise", f"sso.{key}", value))
    assert f"llm-gateway:sso.{key}" in message and expected in message


def test_sso_is_off_by_default() -> None:
    assert stack_config("lab").sso.enabled is False
    assert stack_config("enterprise").sso.enabled is True


# --- session lifetime (docs/security.md, Finding 10) ----------------------------------------


def test_cookie_refresh_defaults_to_an_hour_below_the_expiry() -> None:
    sso = stack_config("enterprise").sso
    assert (sso.cookie_refresh, sso.cookie_expire) == ("1h", "12h")
    assert "--cookie-refresh=1h" in sso_values_of()["extraArgs"]


@pytest.mark.parametrize("refresh", ["12h", "13h", "720m"])
def test_a_refresh_not_shorter_than_the_expiry_is_refused(refresh: str) -> None:
    """oauth2-proxy refuses refresh >= expire (pkg/validation/cookie.go): so does the config, with the key path."""
    raw = with_value("enterprise", "sso", {**namespace("enterprise")["sso"], "cookie_refresh": refresh})
    message = errors_for(raw)
    assert f"llm-gateway:sso.cookie_refresh: {refresh} must be shorter than cookie_expire (12h)" in message
    assert "Traceback" not in message


def test_no_expiry_takes_any_refresh_and_a_zero_refresh_is_refused() -> None:
    ok = with_value("enterprise", "sso", {**namespace("enterprise")["sso"], "cookie_expire": "0s"})
    assert parse_config(ok).sso.cookie_refresh == "1h"
    message = errors_for(with_value("enterprise", "sso.cookie_refresh", "0s"))
    assert "llm-gateway:sso.cookie_refresh" in message and "must be at least 1s" in message
