"""The Grafana PostgreSQL datasource: an ESO-rendered provisioning Secret.

Checked on the program's real output (Pulumi mocks) for both stacks and the
external engine, and by rendering the ESO template the way ESO v2 does for the
one action it contains (`replace "$" "$$" | toJson`, sprig), then reading the
file the way Grafana does (YAML, `$$` -> `$`).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from components.observability.datasource import CA_TEMPLATE, FILE_KEY, PASSWORD_TEMPLATE, SECRET_NAME
from offline.run import ProgramRun
from tests.support.program import EXTERNAL_ENGINE, run_cached, walk_strings
from tests.support.schemas import validation_errors

LAB_PASSWORD_SECRET = "litellm-grafana-ro-password"
CA_SECRET = "litellm-pg-server-ca-cert"
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHHIG...\n-----END CERTIFICATE-----\n"


def datasource_es(run: ProgramRun) -> dict[str, Any]:
    found = [es for es in run.custom_resources("ExternalSecret") if es["metadata"]["name"] == SECRET_NAME]
    assert len(found) == 1
    return found[0]


def go_to_json(value: str) -> str:
    """Go's json.Marshal of a string (sprig toJson): HTML-safe escapes included."""
    text = json.dumps(value, ensure_ascii=False)
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def eso_render(template: str, password: str, ca: str = CA_PEM) -> str:
    """ESO v2 for this template: the password pipeline, and the CA certificate's `toJson` when present."""
    with_ca = CA_TEMPLATE in template
    assert template.count("{{") == 1 + with_ca and template.count(PASSWORD_TEMPLATE) == 1
    text = template.replace(PASSWORD_TEMPLATE, go_to_json(password.replace("$", "$$")))
    return text.replace(CA_TEMPLATE, go_to_json(ca))


def grafana_expand(value: str, env: dict[str, str]) -> str:
    """Grafana's provisioning interpolation: `$$` is a literal `$`, `$VAR`/`${VAR}` read the env."""
    pattern = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
    return pattern.sub(lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1) or m.group(2), ""), value)


@pytest.mark.parametrize(
    ("stack", "overrides", "url"),
    [
        ("lab", (), "litellm-pg-rw.llm-gateway.svc:5432"),  # one instance: -ro has no endpoints
        ("enterprise", (), "litellm-pg-ro.llm-gateway.svc:5432"),  # replicas
        ("lab", EXTERNAL_ENGINE, "pg.home.arpa:5432"),
    ],
    ids=["lab-rw", "enterprise-ro", "external"],
)
def test_datasource_file(stack: str, overrides: tuple[str, ...], url: str) -> None:
    run = run_cached(stack, *overrides)
    es = datasource_es(run)
    spec = es["spec"]
    assert es["metadata"]["namespace"] == "monitoring"
    assert spec["target"]["template"]["metadata"]["labels"]["grafana_datasource"] == "1"
    assert spec["target"]["template"]["engineVersion"] == "v2"
    password = {"secretKey": "password", "remoteRef": {"key": LAB_PASSWORD_SECRET, "version": "latest"}}
    ca = {"secretKey": "ca", "remoteRef": {"key": CA_SECRET, "version": "latest"}}
    cnpg = not overrides  # the program's CA; the external scenario gives none (sslmode from its config)
    assert spec["data"] == ([password, ca] if cnpg else [password])
    doc = yaml.safe_load(eso_render(spec["target"]["template"]["data"][FILE_KEY], "pw"))
    assert doc["apiVersion"] == 1
    (ds,) = doc["datasources"]
    assert ds == {
        "name": "LiteLLM spend (PostgreSQL)",
        "uid": "llm-gateway-spend-pg",
        "type": "grafana-postgresql-datasource",
        "access": "proxy",
        "url": url,
        "user": "grafana_ro",
        "editable": False,
        "isDefault": False,
        "jsonData": {
            "database": "litellm",
            "sslmode": "verify-full",
            "postgresVersion": 1500,
            "maxOpenConns": 10 if stack == "enterprise" else 5,
            "maxIdleConns": 2,
            "connMaxLifetime": 14400,
            **({"tlsConfigurationMethod": "file-content"} if cnpg else {}),
        },
        "secureJsonData": {"password": "pw", **({"tlsCACert": CA_PEM} if cnpg else {})},
    }
    assert validation_errors(es) == []


def test_password_comes_from_the_role_s_own_gsm_secret() -> None:
    run = run_cached("lab")
    es = datasource_es(run)
    secrets = run.of_type("gcp:secretmanager/secret:Secret")
    role_secret = [r.plain_inputs for r in secrets if "grafana-ro" in r.name]
    assert [s["secretId"] for s in role_secret] == [es["spec"]["data"][0]["remoteRef"]["key"]]


def test_no_password_in_any_resource_input() -> None:
    for run in (run_cached("lab"), run_cached("enterprise")):
        es_record = next(r for r in run.resources if r.inputs.get("metadata", {}).get("name") == SECRET_NAME)
        strings = set(walk_strings(es_record.plain_inputs))
        for secret in run.generated_secrets:
            assert not any(secret in s for s in strings)


def test_config_changes_reach_the_file() -> None:
    run = run_cached(
        "lab",
        "llm-gateway:grafana.sslmode=verify-ca",
        "llm-gateway:grafana.postgres_version=1400",
        "llm-gateway:grafana.datasource_uid=spend-db",
    )
    template = datasource_es(run)["spec"]["target"]["template"]["data"][FILE_KEY]
    (ds,) = yaml.safe_load(eso_render(template, "x"))["datasources"]
    settings = (ds["uid"], ds["jsonData"]["sslmode"], ds["jsonData"]["postgresVersion"])
    assert settings == ("spend-db", "verify-ca", 1400)
    for dashboard in _dashboards(run):
        uids = {t["datasource"]["uid"] for p in dashboard["panels"] for t in p.get("targets", [])}
        assert uids == {"spend-db"}


def _dashboards(run: ProgramRun) -> list[dict[str, Any]]:
    maps = [r.plain_inputs for r in run.of_type("kubernetes:core/v1:ConfigMap")]
    return [json.loads(v) for m in maps for k, v in (m.get("data") or {}).items() if k.startswith("llm-spend-")]


@pytest.mark.parametrize(
    "password",
    [
        "plain",
        "q'uo\"te:colon #hash \\back\\slash",
        "$HOME and ${PATH} and $$ and $",
        "- leading dash: [flow] {map}, *star &amp ! % @ `tick` |pipe >gt <lt",
        "ünïcødé\ttab\nnewline",
        "  spaces at both ends  ",
        "null",
        "0123",
    ],
)
def test_any_password_renders_to_valid_yaml_with_the_exact_password(password: str) -> None:
    template = datasource_es(run_cached("lab"))["spec"]["target"]["template"]["data"][FILE_KEY]
    doc = yaml.safe_load(eso_render(template, password))
    rendered = doc["datasources"][0]["secureJsonData"]["password"]
    assert isinstance(rendered, str)
    assert grafana_expand(rendered, {"HOME": "/root", "PATH": "/bin"}) == password


def test_sidecar_label_and_type_are_strings() -> None:
    es = datasource_es(run_cached("enterprise"))
    labels = es["spec"]["target"]["template"]["metadata"]["labels"]
    assert labels["grafana_datasource"] == "1" and isinstance(labels["grafana_datasource"], str)
    assert es["spec"]["target"]["template"]["type"] == "Opaque"


def test_component_registers_under_its_type_token() -> None:
    run = run_cached("lab")
    (component,) = run.of_type("llm-gateway:grafana_datasource:GrafanaDatasource")
    children = [r for r in run.resources if r.parent == component.name]
    assert [c.type for c in children] == ["kubernetes:external-secrets.io/v1:ExternalSecret"]
