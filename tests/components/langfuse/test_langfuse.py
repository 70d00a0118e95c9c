"""Langfuse v3 behind one switch: nothing when off; when on, the release, its database, its
secrets (references only) and LiteLLM's `langfuse_otel` wiring, checked on the real program."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from components.langfuse import names as lf_names
from components.langfuse import values as lf_values
from components.langfuse.credentials import (
    CREDENTIALS_SECRET,
    DB_SECRET,
    LITELLM_KEYS_SECRET,
    OIDC_CLIENT_SECRET_KEY,
)
from components.redis.values import AUTH_SECRET
from config import parse_config
from config.assets import LANGFUSE_CHART, LANGFUSE_V4_CHART, locked_chart
from config.inventory import langfuse_secrets, secret_inventory
from offline.mocks import unwrap_secrets
from offline.run import ProgramRun
from tests.support.chart_keys import DATA, undocumented
from tests.support.config import errors_for, namespace, stack_config
from tests.support.ingress_nginx import IngressNginx
from tests.support.program import (
    EXTERNAL_ENGINE,
    LAB_LANGFUSE,
    SCENARIOS,
    release,
    run_cached,
    run_scenario,
    walk_strings,
)
from tests.support.schemas import validation_errors

KEYS_FILES = {"3": DATA / "langfuse_values_keys.txt", "4": DATA / "langfuse_v4_values_keys.txt"}
KEYS_FILE = KEYS_FILES["4"]

LAB_ON_EXTERNAL = SCENARIOS["lab-langfuse-external"][1]
ENABLED = [
    ("enterprise", ()),
    SCENARIOS["lab-langfuse"],
    SCENARIOS["lab-langfuse-external"],
    SCENARIOS["lab-langfuse-v3"],
]


def _langfuse_things(run: ProgramRun) -> list[str]:
    return [f"{r.type} {r.name}" for r in run.resources if "langfuse" in f"{r.type} {r.name}".lower()]


# --- the switch -----------------------------------------------------------------


@pytest.mark.parametrize("overrides", [(), EXTERNAL_ENGINE])
def test_disabled_means_nothing_of_langfuse_anywhere(overrides: tuple[str, ...]) -> None:
    run = run_cached("lab", *overrides)
    assert _langfuse_things(run) == []
    for r in run.resources:
        assert not any("langfuse" in s.lower() for s in walk_strings(r.plain_inputs)), r.name
    assert not any("langfuse" in k for k in run.outputs)
    cfg = stack_config("lab")
    assert langfuse_secrets(cfg) == ()
    assert not any("langfuse" in spec.key for spec in secret_inventory(cfg))
    values = release(run, "litellm")["values"]
    assert values["proxy_config"]["litellm_settings"]["callbacks"] == ["prometheus"]


@pytest.mark.parametrize(("stack", "overrides"), ENABLED)
def test_enabled_creates_the_release_database_and_secrets(stack: str, overrides: tuple[str, ...]) -> None:
    run = run_cached(stack, *overrides)
    (component,) = run.of_type("llm-gateway:langfuse:Langfuse")
    rel = release(run, "langfuse")
    chart = locked_chart(LANGFUSE_CHART if "llm-gateway:langfuse.version=3" in overrides else LANGFUSE_V4_CHART)
    assert (rel["chart"], rel["version"], rel["description"]) == (chart.path, chart.version, chart.description)
    assert rel["namespace"] == "llm-gateway"
    assert run.named("llm-gateway-langfuse-release").parent == component.name
    cfg_specs = {r.plain_inputs["secretId"] for r in run.of_type("gcp:secretmanager/secret:Secret")}
    expected = {
        "langfuse-salt",
        "langfuse-nextauth-secret",
        "langfuse-encryption-key",
        "langfuse-db-password",
        "langfuse-clickhouse-password",
        "langfuse-public-key",
        "langfuse-secret-key",
    }
    assert expected <= cfg_specs
    # No Valkey of its own: Langfuse authenticates to the stack's shared Redis with that Redis's password.
    assert "langfuse-valkey-password" not in cfg_specs
    minio = "llm-gateway:langfuse.blob_storage=minio" in overrides
    assert ("langfuse-gcs-hmac" in cfg_specs) != minio
    assert ("langfuse-minio-password" in cfg_specs) == minio
    # The chart's own PostgreSQL is off; it uses the stack's database as role `langfuse`.
    pg = rel["values"]["postgresql"]
    assert pg["deploy"] is False
    assert pg["auth"] == {
        "username": "langfuse",
        "existingSecret": DB_SECRET,
        "secretKeys": {"userPasswordKey": "password"},
        "database": "langfuse",
    }


@pytest.mark.parametrize(("stack", "overrides"), [("enterprise", ()), ("lab", LAB_LANGFUSE)])
def test_cnpg_database_role_and_reloadable_password_secret(stack: str, overrides: tuple[str, ...]) -> None:
    run = run_cached(stack, *overrides)
    (db,) = [d for d in run.custom_resources("Database") if d["spec"]["name"] == "langfuse"]
    assert db["spec"] == {
        "cluster": {"name": "litellm-pg"},
        "name": "langfuse",
        "owner": "langfuse",
        "ensure": "present",
        # Kept with the stack's data (enterprise); dropped with its salt and keys in the lab.
        "databaseReclaimPolicy": "retain" if stack == "enterprise" else "delete",
    }
    (cluster,) = run.custom_resources("Cluster")
    roles = {r["name"]: r for r in cluster["spec"]["managed"]["roles"]}
    assert set(roles) == {"grafana_ro", "reporting", "langfuse"}
    assert roles["langfuse"]["login"] is True and roles["langfuse"]["superuser"] is False
    assert roles["langfuse"]["passwordSecret"] == {"name": DB_SECRET}
    es = next(e for e in run.custom_resources("ExternalSecret") if e["metadata"]["name"] == DB_SECRET)
    template = es["spec"]["target"]["template"]
    assert template["type"] == "kubernetes.io/basic-auth"
    assert template["metadata"]["labels"]["cnpg.io/reload"] == "true"
    assert template["data"]["username"] == "langfuse"
    assert run.named("llm-gateway-langfuse-database").inputs  # registered under the component
    assert rel_host(run) == "litellm-pg-rw.llm-gateway.svc"


def rel_host(run: ProgramRun) -> str:
    return str(release(run, "langfuse")["values"]["postgresql"]["host"])


def test_external_engine_gets_a_role_and_database_on_the_server() -> None:
    run = run_cached("lab", *LAB_ON_EXTERNAL)
    roles = {r.plain_inputs["name"]: r for r in run.of_type("postgresql:index/role:Role")}
    assert "langfuse" in roles
    assert roles["langfuse"].parent == "llm-gateway-langfuse"
    dbs = {r.plain_inputs["name"]: r.plain_inputs for r in run.of_type("postgresql:index/database:Database")}
    assert dbs["langfuse"]["owner"] == "langfuse"
    assert run.custom_resources("Database") == []
    values = release(run, "langfuse")["values"]
    assert values["postgresql"]["host"] == "pg.home.arpa"
    # Prisma knows no verify-full: without a CA for the server (no postgres.external.ca_cert) it
    # encrypts only; the CNPG case below verifies against the mounted CA.
    assert values["postgresql"]["args"] == "connection_limit=5&sslmode=require"


def test_langfuse_verifies_the_cnpg_server_against_the_mounted_ca() -> None:
    """Langfuse hands DATABASE_URL to Prisma untranslated: the CA goes in Prisma's own parameters,
    and only the CA certificate (not its key) is mounted into web and worker."""
    values = release(run_scenario("lab-langfuse"), "langfuse")["values"]
    args = dict(part.split("=", 1) for part in values["postgresql"]["args"].split("&"))
    assert args["sslmode"] == "require"
    assert args["sslaccept"] == "strict"
    mounts = {m["mountPath"]: m["name"] for m in values["langfuse"]["extraVolumeMounts"]}
    ca_dir = args["sslcert"].rsplit("/", 1)[0]
    assert ca_dir in mounts
    volume = next(v for v in values["langfuse"]["extraVolumes"] if v["name"] == mounts[ca_dir])
    assert [item["key"] for item in volume["secret"]["items"]] == ["ca.crt"]


# --- secrets are references, never values ----------------------------------------


def _value_keys(tree: Any, path: str = "") -> list[str]:
    """Paths of keys that would carry a credential inline (`password`, `rootPassword`, `{value: ...}`)."""
    found: list[str] = []
    if isinstance(tree, dict):
        for key, sub in tree.items():
            here = f"{path}.{key}" if path else key
            if key in ("password", "rootPassword") or (key == "value" and not path.endswith("additionalEnv")):
                found.append(here)
            found += _value_keys(sub, here)
    elif isinstance(tree, list):
        for item in tree:
            if isinstance(item, dict) and "name" in item:
                found += [p for p in _value_keys(item, path) if not p.endswith(".value")]
            else:
                found += _value_keys(item, path)
    return found


def _refs(values: dict[str, Any]) -> dict[str, dict[str, str]]:
    lf, s3 = values["langfuse"], values["s3"]
    return {
        "salt": lf["salt"]["secretKeyRef"],
        "encryptionKey": lf["encryptionKey"]["secretKeyRef"],
        "nextauth": lf["nextauth"]["secret"]["secretKeyRef"],
        "s3.accessKeyId": s3["accessKeyId"]["secretKeyRef"],
        "s3.secretAccessKey": s3["secretAccessKey"]["secretKeyRef"],
    }


@pytest.mark.parametrize(("stack", "overrides"), ENABLED)
def test_every_secret_reaches_the_chart_as_a_reference(stack: str, overrides: tuple[str, ...]) -> None:
    run = run_cached(stack, *overrides)
    values = release(run, "langfuse")["values"]
    for name, ref in _refs(values).items():
        assert ref["name"] == CREDENTIALS_SECRET, name
    assert values["clickhouse"]["auth"]["existingSecret"] == CREDENTIALS_SECRET
    assert values["redis"]["auth"]["existingSecret"] == AUTH_SECRET  # the shared Redis's (test_shared_redis.py)
    # No value of a credential anywhere in the values, and no key that carries one.
    texts = set(walk_strings(values))
    assert not texts & run.generated_secrets
    assert not _value_keys(values), "credentials must be references, not values"
    for env in values["langfuse"]["additionalEnv"]:
        if re.search(r"KEY|PASSWORD|SECRET", env["name"]):
            assert "value" not in env and "secretKeyRef" in env["valueFrom"], env["name"]
    # The credential ExternalSecret renders every key the values reference.
    es = next(e for e in run.custom_resources("ExternalSecret") if e["metadata"]["name"] == CREDENTIALS_SECRET)
    rendered = set(es["spec"]["target"]["template"]["data"])
    referenced = {ref["key"] for ref in _refs(values).values()}
    referenced.add(values["clickhouse"]["auth"]["existingSecretKey"])
    referenced |= {
        e["valueFrom"]["secretKeyRef"]["key"] for e in values["langfuse"]["additionalEnv"] if "valueFrom" in e
    }
    assert referenced <= rendered


def test_generated_values_stay_secret_and_have_their_shape() -> None:
    run = run_cached("enterprise")
    versions = {r.name: r for r in run.of_type("gcp:secretmanager/secretVersion:SecretVersion")}
    for stem in ("encryption-key", "public-key", "secret-key", "gcs-hmac", "salt"):
        rec = versions[f"llm-gateway-langfuse-{stem}-version"]
        assert rec.redacted_inputs["secretData"] == "[secret]", stem
    plain = {
        stem: versions[f"llm-gateway-langfuse-{stem}-version"].plain_inputs["secretData"]
        for stem in ("encryption-key", "public-key", "secret-key", "gcs-hmac")
    }
    assert re.fullmatch(r"[0-9a-f]{64}", plain["encryption-key"])
    assert plain["public-key"].startswith("pk-lf-")
    assert plain["secret-key"].startswith("sk-lf-")
    # The provider-generated HMAC secret: JSON in GSM, never outside a secret.
    assert '"access_id"' in plain["gcs-hmac"] and '"secret"' in plain["gcs-hmac"]
    (hmac,) = run.of_type("gcp:storage/hmacKey:HmacKey")
    assert hmac.plain_inputs["serviceAccountEmail"] == "langfuse-blob@acme-llm-prod.iam.gserviceaccount.com"
    secret = hmac.outputs["secret"]
    for r in run.resources:
        if r.type == "gcp:secretmanager/secretVersion:SecretVersion":
            continue
        assert not any(secret in s for s in walk_strings(unwrap_secrets(r.inputs))), r.name


def test_gcs_bucket_and_its_own_service_account() -> None:
    run = run_cached("enterprise")
    bucket = run.named("llm-gateway-langfuse-bucket")
    assert bucket.plain_inputs["name"] == "acme-llm-prod-langfuse"
    assert "llm-gateway-langfuse-bucket" in run.protected
    (grant,) = [
        r.plain_inputs
        for r in run.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
        if r.parent == "llm-gateway-langfuse"
    ]
    assert grant["bucket"] == "acme-llm-prod-langfuse"
    assert grant["member"] == "serviceAccount:langfuse-blob@acme-llm-prod.iam.gserviceaccount.com"
    s3 = release(run, "langfuse")["values"]["s3"]
    assert s3["deploy"] is False
    assert s3["endpoint"] == "https://storage.googleapis.com"
    assert s3["bucket"] == "acme-llm-prod-langfuse"


# --- chart values -------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "overrides"), ENABLED)
def test_every_values_key_is_a_documented_chart_key(stack: str, overrides: tuple[str, ...]) -> None:
    keys = KEYS_FILES["3" if "llm-gateway:langfuse.version=3" in overrides else "4"]
    assert undocumented(keys, release(run_cached(stack, *overrides), "langfuse")["values"]) == []


def test_the_key_check_catches_a_typo() -> None:
    broken = copy.deepcopy(release(run_cached("enterprise"), "langfuse")["values"])
    broken["clickhouse"]["clusterEnabld"] = True
    broken["valkey"] = {}
    assert undocumented(KEYS_FILE, broken) == ["clickhouse.clusterEnabld", "valkey"]


def test_small_profile_clickhouse_settings() -> None:
    v3 = release(run_scenario("lab-langfuse-v3"), "langfuse")["values"]
    v4 = release(run_cached("enterprise"), "langfuse")["values"]
    for values in (v3, v4):
        # ClickHouse is the operator's ClickHouseCluster (test_langfuse_clickhouse.py), never the chart's.
        assert values["clickhouse"]["deploy"] is False
    assert v3["s3"]["deploy"] is True  # the v3 scenario keeps the 1.5.x chart's MinIO
    assert v4["s3"]["deploy"] is False
    assert v3["clickhouse"]["clusterEnabled"] is True
    assert v4["clickhouse"]["cluster"] == {"enabled": True}


def test_headless_initialization_reads_the_keys_from_secrets() -> None:
    env = {e["name"]: e for e in release(run_cached("enterprise"), "langfuse")["values"]["langfuse"]["additionalEnv"]}
    assert env["LANGFUSE_INIT_ORG_ID"]["value"] == "acme"
    assert env["LANGFUSE_INIT_PROJECT_ID"]["value"] == "litellm-prod"
    for name, key in [
        ("LANGFUSE_INIT_PROJECT_PUBLIC_KEY", "public-key"),
        ("LANGFUSE_INIT_PROJECT_SECRET_KEY", "secret-key"),
        ("LANGFUSE_INIT_USER_PASSWORD", "admin-password"),
    ]:
        assert env[name] == {"name": name, "valueFrom": {"secretKeyRef": {"name": CREDENTIALS_SECRET, "key": key}}}
    assert env["LANGFUSE_INIT_USER_EMAIL"]["value"] == "llm-oncall@acme.example"


# --- LiteLLM wiring -------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "overrides"), ENABLED)
def test_litellm_sends_traces_with_keys_from_the_same_secrets(stack: str, overrides: tuple[str, ...]) -> None:
    run = run_cached(stack, *overrides)
    values = release(run, "litellm")["values"]
    assert values["proxy_config"]["litellm_settings"]["callbacks"] == ["prometheus", "langfuse_otel"]
    assert values["envVars"]["LANGFUSE_OTEL_HOST"] == "http://langfuse-web.llm-gateway.svc:3000"
    assert LITELLM_KEYS_SECRET in values["environmentSecrets"]
    assert not any(k.startswith("LANGFUSE_") and k != "LANGFUSE_OTEL_HOST" for k in values["envVars"])
    externals = {e["metadata"]["name"]: e for e in run.custom_resources("ExternalSecret")}
    keys = {d["secretKey"]: d["remoteRef"]["key"] for d in externals[LITELLM_KEYS_SECRET]["spec"]["data"]}
    assert keys == {"LANGFUSE_PUBLIC_KEY": "langfuse-public-key", "LANGFUSE_SECRET_KEY": "langfuse-secret-key"}
    creds = {d["secretKey"]: d["remoteRef"]["key"] for d in externals[CREDENTIALS_SECRET]["spec"]["data"]}
    assert creds["public_key"] == keys["LANGFUSE_PUBLIC_KEY"]
    assert creds["secret_key"] == keys["LANGFUSE_SECRET_KEY"]
    # LiteLLM may reach the Langfuse web pods, and nothing else of Langfuse.
    egress = next(
        p for p in run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") if p.name.endswith("litellm-egress")
    ).plain_inputs["spec"]["egress"]
    web_pods = {"app.kubernetes.io/name": "langfuse", "app.kubernetes.io/instance": "langfuse", "app": "web"}
    assert {"to": [{"podSelector": {"matchLabels": web_pods}}], "ports": [{"protocol": "TCP", "port": 3000}]} in egress
    # The release waits for the keys' ExternalSecret (not for the whole Langfuse release).
    assert run.outputs["langfuse_otel_host"] == "http://langfuse-web.llm-gateway.svc:3000"


def test_network_policies_and_ingress() -> None:
    run = run_cached("enterprise")
    policies = {
        p.plain_inputs["metadata"]["name"]: p.plain_inputs["spec"]
        for p in run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if p.parent == "llm-gateway-langfuse"
    }
    assert set(policies) == {
        "langfuse-default-deny",
        "langfuse-internal",
        "langfuse-web",
        "langfuse-egress",
        "langfuse-gcs-egress",
        "langfuse-idp-egress",
        "langfuse-clickhouse-egress",
        "langfuse-redis-egress",
        "langfuse-clickhouse-default-deny",
        "langfuse-clickhouse",
        "langfuse-keeper-default-deny",
        "langfuse-keeper",
    }
    assert policies["langfuse-default-deny"]["policyTypes"] == ["Ingress", "Egress"]
    web_from = policies["langfuse-web"]["ingress"][0]["from"]
    assert {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "litellm", "app.kubernetes.io/instance": "litellm"}}
    } in web_from
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}} in web_from
    (ing,) = [
        r.plain_inputs
        for r in run.of_type("kubernetes:networking.k8s.io/v1:Ingress")
        if r.parent == "llm-gateway-langfuse"
    ]
    assert ing["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt-prod"}
    assert ing["spec"]["tls"] == [{"hosts": ["langfuse.acme.example"], "secretName": "langfuse-tls"}]
    by_path = {p["path"]: p["backend"]["service"] for p in ing["spec"]["rules"][0]["http"]["paths"]}
    assert by_path == {
        "/": {"name": "langfuse-web", "port": {"number": 3000}},
        "/api/public": {"name": "langfuse-blocked", "port": {"number": 80}},
        "/api/admin": {"name": "langfuse-blocked", "port": {"number": 80}},
    }
    (blocked,) = [
        r.plain_inputs for r in run.of_type("kubernetes:core/v1:Service") if r.parent == "llm-gateway-langfuse"
    ]
    assert blocked["metadata"]["name"] == "langfuse-blocked" and "selector" not in blocked["spec"]
    assert release(run, "langfuse")["values"]["langfuse"]["nextauth"]["url"] == "https://langfuse.acme.example"
    assert run.outputs["langfuse_url"] == "https://langfuse.acme.example"


# --- config ---------------------------------------------------------------------------


def test_gcs_blob_storage_needs_its_section() -> None:
    raw = namespace("enterprise")
    raw["langfuse"] = {**raw["langfuse"], "gcs": None}
    assert "llm-gateway:langfuse.blob_storage: blob_storage gcs needs the langfuse.gcs section" in errors_for(raw)


def test_ui_ingress_needs_the_gateway_issuer() -> None:
    raw = namespace("lab")
    raw["langfuse"] = {
        "enabled": True,
        "ingress_host": "langfuse.lab.example",
        "local_sign_in_reason": REASON,
        "clickhouse": {"operator_namespace": "clickhouse-operator-system"},
        "blob_storage": "gcs",
        "gcs": {"bucket": "lab-langfuse-blobs"},
    }
    raw["capacity"] = {"cpu": "10", "memory": "24Gi"}
    assert "llm-gateway:langfuse.ingress_host: needs litellm.ingress.cluster_issuer" in errors_for(raw)


def test_floating_chart_version_is_refused() -> None:
    raw = namespace("enterprise")
    raw["langfuse"] = {**raw["langfuse"], "chart_version": "latest"}
    assert "llm-gateway:langfuse.chart_version:" in errors_for(raw)


@pytest.mark.parametrize(("stack", "overrides"), ENABLED)
def test_every_emitted_object_validates(stack: str, overrides: tuple[str, ...]) -> None:
    """Conformance for the Langfuse variants the stack files do not cover (MinIO, external engine)."""
    objects = run_cached(stack, *overrides).kubernetes_objects()
    problems = {f"{o['kind']}/{o['metadata']['name']}": e for o in objects if (e := validation_errors(o))}
    assert problems == {}


# --- sign-in on the public host (docs/security.md, Finding 4) ---------------------------------

REASON = "lab reached over the office VPN only, reviewed 2026-12"
OIDC_GSM = "langfuse-oidc-client-secret"


def _enterprise_langfuse(**changes: Any) -> dict[str, Any]:
    raw = namespace("enterprise")
    raw["langfuse"] = {**raw["langfuse"], **changes}
    return raw


def test_enterprise_ui_signs_in_by_its_own_oidc_client_with_password_sign_in_off() -> None:
    run = run_cached("enterprise")
    lf = release(run, "langfuse")["values"]["langfuse"]
    assert lf["auth"]["disableUsernamePassword"] is True
    custom = lf["auth"]["providers"]["custom"]
    assert custom == {
        "name": "Acme SSO",
        "issuer": "https://login.acme.example/realms/acme",
        "clientId": "langfuse",
        "clientSecret": {"secretKeyRef": {"name": CREDENTIALS_SECRET, "key": OIDC_CLIENT_SECRET_KEY}},
        "scope": "openid email profile",
        "checks": "pkce,state",
        "allowAccountLinking": "true",
    }
    # The stack's identity provider: the issuer oauth2-proxy uses too.
    assert custom["issuer"] == stack_config("enterprise").sso.issuer_url
    # With SSO a first sign-in creates the account (no access until invited): sign-up is by SSO only.
    assert lf["features"]["signUpDisabled"] is False
    assert lf["nextauth"]["url"] == "https://langfuse.acme.example"


def test_the_oidc_client_secret_is_the_identity_teams_gsm_secret_granted_alone() -> None:
    run = run_cached("enterprise")
    es = next(e for e in run.custom_resources("ExternalSecret") if e["metadata"]["name"] == CREDENTIALS_SECRET)
    remote = {d["secretKey"]: d["remoteRef"]["key"] for d in es["spec"]["data"]}
    assert remote["oidc_client_secret"] == OIDC_GSM
    assert es["spec"]["target"]["template"]["data"][OIDC_CLIENT_SECRET_KEY] == "{{ .oidc_client_secret }}"
    grant = run.named("llm-gateway-langfuse-oidc-client-secret-accessor").plain_inputs
    assert grant["role"] == "roles/secretmanager.secretAccessor"
    assert grant["secretId"] == f"projects/acme-llm-prod/secrets/{OIDC_GSM}"
    assert not [r for r in run.of_type("gcp:secretmanager/secret:Secret") if r.plain_inputs["secretId"] == OIDC_GSM]


def test_a_public_host_without_sso_is_refused_unless_a_reason_accepts_password_sign_in() -> None:
    message = errors_for(_enterprise_langfuse(sso=None))
    assert "llm-gateway:langfuse.ingress_host: a public UI needs langfuse.sso" in message
    assert "langfuse.local_sign_in_reason" in message and "Traceback" not in message
    accepted = parse_config(_enterprise_langfuse(sso=None, local_sign_in_reason=REASON)).langfuse
    assert accepted.password_sign_in and accepted.sign_up_refused
    assert lf_values.auth(accepted) == {"disableUsernamePassword": False}


def test_a_reason_beside_sso_keeps_password_sign_in_on() -> None:
    lf = parse_config(_enterprise_langfuse(local_sign_in_reason=REASON)).langfuse
    assert lf_values.auth(lf)["disableUsernamePassword"] is False
    assert "custom" in lf_values.auth(lf)["providers"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"ingress_host": None}, "llm-gateway:langfuse.sso: needs langfuse.ingress_host"),
        (
            {"sso": {**namespace("enterprise")["langfuse"]["sso"], "link_existing_accounts": False}},
            "llm-gateway:langfuse.init.admin_email: is created as a password account",
        ),
        ({"local_sign_in_reason": "because"}, "llm-gateway:langfuse.local_sign_in_reason"),
        ({"sso": {**namespace("enterprise")["langfuse"]["sso"], "issuer_url": "http://x"}}, "langfuse.sso.issuer_url"),
    ],
)
def test_bad_sign_in_settings_get_one_error_naming_the_key(changes: dict[str, Any], expected: str) -> None:
    message = errors_for(_enterprise_langfuse(**changes))
    assert expected in message and "Traceback" not in message


def test_sign_up_follows_sso_unless_set() -> None:
    assert stack_config("enterprise").langfuse.sign_up_refused is False
    assert parse_config(_enterprise_langfuse(sign_up_disabled=True)).langfuse.sign_up_refused is True
    lab = release(run_cached("lab", *LAB_LANGFUSE), "langfuse")["values"]["langfuse"]
    assert lab["features"]["signUpDisabled"] is True
    assert lab["auth"] == {"disableUsernamePassword": False}  # no public host: port-forward and the admin password


# --- retention of the blobs (docs/security.md, Finding 4) -------------------------------------


def test_the_bucket_deletes_raw_events_and_exports_at_the_retention_setting() -> None:
    """The lifecycle rule's age is `gcs.retention_days` and its prefixes are exactly the ones the
    chart values give Langfuse's event uploads and batch exports; media (the bucket root) are kept."""
    run = run_cached("enterprise")
    gcs = stack_config("enterprise").langfuse.gcs
    assert gcs is not None and gcs.retention_days == 30
    (rule,) = run.named("llm-gateway-langfuse-bucket").plain_inputs["lifecycleRules"]
    assert rule["action"] == {"type": "Delete"}
    assert rule["condition"]["age"] == gcs.retention_days
    s3 = release(run, "langfuse")["values"]["s3"]
    written = {s3["eventUpload"]["prefix"], s3["batchExport"]["prefix"]}
    assert set(rule["condition"]["matchesPrefixes"]) == written == {"events/", "exports/"}
    assert "mediaUpload" not in s3


def test_retention_is_a_setting() -> None:
    run = run_cached("enterprise", "llm-gateway:langfuse.gcs.retention_days=90")
    (rule,) = run.named("llm-gateway-langfuse-bucket").plain_inputs["lifecycleRules"]
    assert rule["condition"]["age"] == 90
    message = errors_for(_enterprise_langfuse(gcs={**namespace("enterprise")["langfuse"]["gcs"], "retention_days": 1}))
    assert "llm-gateway:langfuse.gcs.retention_days" in message


# --- the UI host among every Ingress the program renders (docs/security.md, Finding 4) ----------


def test_the_ui_host_blocks_the_public_and_admin_api_among_every_rendered_ingress() -> None:
    """ingress-nginx (the tests' referee, tests/support/ingress_nginx.py) over every object the
    enterprise stack renders: on Langfuse's host, the public and the admin API go to the Service
    without endpoints, the UI to the web Service, and no Ingress of the host switches it to regex
    mode (which would make every path a case-insensitive prefix)."""
    cfg = stack_config("enterprise")
    host = cfg.langfuse.ingress_host
    nginx = IngressNginx(run_cached("enterprise").kubernetes_objects())
    assert host in nginx.hosts() and not nginx.regex_mode(host)
    web = (lf_names.names(cfg).web_service, lf_names.WEB_PORT)
    nowhere = {nginx.target(host, "/api/public/ingestion"), nginx.target(host, "/api/admin/ingestion-secret")}
    assert len(nowhere) == 1 and web not in nowhere and None not in nowhere
    blocked = nowhere.pop()
    for request in (
        "/api/public",
        "/api/public/otel/v1/traces",
        "//api/public/ingestion",
        "/api/admin",
        "/api/%61dmin/x",
    ):
        assert nginx.target(host, request) == blocked, request
    for request in (
        "/",
        "/project/litellm/traces",
        "/api/auth/callback/custom",
        "/api/trpc/traces.all",
        "/api/publicx",
    ):
        assert nginx.target(host, request) == web, request
