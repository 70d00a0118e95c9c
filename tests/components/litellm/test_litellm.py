"""The LiteLLM release as the real program renders it (mock engine), both stacks."""

from __future__ import annotations

import copy
import urllib.parse
from pathlib import Path
from typing import Any

import psycopg
import pytest

from components.database.endpoint import external_uri_template
from config import ConfigError, parse_config
from config.assets import LITELLM_CHART, locked_chart
from config.inventory import GRAFANA_RO_PASSWORD, LITELLM_DB_PASSWORD
from offline.run import ProgramRun
from tests.harness.pglab.server import PostgresServer
from tests.support.chart_keys import DATA, undocumented
from tests.support.config import errors_for, namespace, stack_config
from tests.support.program import EXTERNAL_ENGINE, HELM_RELEASE, STACKS, run_cached

KEYS_FILE = DATA / "litellm_helm_values_keys.txt"


def release(run: ProgramRun) -> dict[str, Any]:
    (rel,) = [r for r in run.of_type(HELM_RELEASE) if str(r.inputs.get("chart", "")).endswith("/litellm-helm")]
    return rel.plain_inputs  # type: ignore[no-any-return]


def values(stack: str, *overrides: str) -> dict[str, Any]:
    return release(run_cached(stack, *overrides))["values"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("stack", STACKS)
def test_every_values_key_is_a_documented_chart_key(stack: str) -> None:
    assert undocumented(KEYS_FILE, values(stack)) == []


def test_the_key_check_catches_a_typo() -> None:
    broken = copy.deepcopy(values("lab"))
    broken["db"]["usExisting"] = True
    broken["serviceMonitr"] = {}
    assert undocumented(KEYS_FILE, broken) == ["db.usExisting", "serviceMonitr"]


@pytest.mark.parametrize("stack", STACKS)
def test_release_installs_the_locked_chart(stack: str) -> None:
    rel = release(run_cached(stack))
    pinned = stack_config(stack).litellm
    repository, tag = pinned.image.rsplit(":", 1)
    chart = locked_chart(LITELLM_CHART)
    assert (rel["chart"], rel["version"], rel["description"]) == (chart.path, chart.version, chart.description)
    assert rel["values"]["image"] == {"repository": repository, "tag": tag, "pullPolicy": "IfNotPresent"}


@pytest.mark.parametrize(
    ("path", "value"),
    [("litellm.image", "ghcr.io/berriai/litellm-database:main-latest"), ("litellm.chart_version", "latest")],
)
def test_floating_versions_are_config_errors(path: str, value: str) -> None:
    raw = namespace("lab")
    section, key = path.split(".")
    raw[section] = {**raw[section], key: value}
    assert f"llm-gateway:{path}:" in errors_for(raw)


def test_database_wiring_uses_the_encoded_uri_everywhere() -> None:
    for stack, overrides, secret in [("lab", (), "litellm-pg-app"), ("lab", EXTERNAL_ENGINE, "litellm-db-app")]:
        v = values(stack, *overrides)
        assert v["db"]["useExisting"] is True
        assert v["db"]["deployStandalone"] is False
        assert v["db"]["secret"] == {"name": secret, "usernameKey": "username", "passwordKey": "password"}
        uri = {"secretKeyRef": {"name": secret, "key": "uri"}}
        if overrides:  # the external engine's URI carries its parameters (sslmode) already
            assert v["extraEnvVars"] == [{"name": "DATABASE_URL", "valueFrom": uri}]
        else:
            assert v["extraEnvVars"][0] == {"name": "LLMGW_DATABASE_URI", "valueFrom": uri}
            assert v["extraEnvVars"][1]["name"] == "DATABASE_URL"
        assert v["migrationJob"]["enabled"] is True


def test_litellm_verifies_the_cnpg_server_against_the_mounted_ca() -> None:
    """CNPG's URI has no parameters: DATABASE_URL adds libpq's verify-full with the CA that is mounted
    (the certificate item only), which the pinned LiteLLM turns into Prisma's sslcert/sslaccept=strict."""
    v = values("lab")
    env = _chart_env(v, {"username": "litellm", "password": "pw", "uri": "postgresql://litellm:pw@db/litellm"})
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(env["DATABASE_URL"]).query))
    assert query["sslmode"] == "verify-full"
    mounts = {m["mountPath"]: m["name"] for m in v["volumeMounts"]}
    ca_dir = query["sslrootcert"].rsplit("/", 1)[0]
    volume = next(vol for vol in v["volumes"] if vol["name"] == mounts[ca_dir])
    assert [item["key"] for item in volume["secret"]["items"]] == ["ca.crt"]


def _chart_env(values: dict[str, Any], secret: dict[str, str]) -> dict[str, str]:
    """The env the chart renders (templates/_deployment.tpl and migrations-job.yaml order:
    DATABASE_* from db.*, DATABASE_URL from db.url, envVars, extraEnvVars), resolved the
    way the kubelet does: $(VAR) expansion from earlier entries, the last duplicate wins."""
    db = values["db"]
    entries: list[tuple[str, str]] = [
        ("DATABASE_USERNAME", secret[db["secret"]["usernameKey"]]),
        ("DATABASE_PASSWORD", secret[db["secret"]["passwordKey"]]),
        ("DATABASE_HOST", db["endpoint"]),
        ("DATABASE_NAME", db["database"]),
        (
            "DATABASE_URL",
            db.get("url", "postgresql://$(DATABASE_USERNAME):$(DATABASE_PASSWORD)@$(DATABASE_HOST)/$(DATABASE_NAME)"),
        ),
    ]
    entries += [(k, str(v)) for k, v in values.get("envVars", {}).items()]
    for e in values.get("extraEnvVars", []):
        if "value" in e:
            entries.append((e["name"], e["value"]))
        else:
            entries.append((e["name"], secret[e["valueFrom"]["secretKeyRef"]["key"]]))
    env: dict[str, str] = {}
    for name, raw in entries:
        value = raw
        for var, resolved in env.items():
            value = value.replace(f"$({var})", resolved)
        env[name] = value
    return env


# Every character that breaks a naive URL. Not a space: Go's `urlquery` (the ESO template
# function) encodes it as "+", which a URI's userinfo reads literally; generated passwords
# never contain one (see test_generated_database_passwords_are_uri_safe).
PASSWORD = "p@ss:w/rd?#%&+=x"


def _go_urlquery(text: str) -> str:
    """Go's text/template `urlquery` (url.QueryEscape)."""
    return urllib.parse.quote_plus(text)


def test_naive_chart_url_breaks_on_special_passwords() -> None:
    """Why the override exists: the chart's own DATABASE_URL misparses this password."""
    v = values("lab")
    naive = {**v, "extraEnvVars": []}
    url = _chart_env(naive, {"username": "litellm", "password": PASSWORD, "uri": ""})["DATABASE_URL"]
    parsed = urllib.parse.urlsplit(url)
    assert parsed.password != PASSWORD


def test_external_engine_uri_is_encoded_and_connects(postgres_server: PostgresServer, superuser_dsn: str) -> None:
    """Render the external engine's `uri` template as ESO would (Go urlquery) with a hostile
    password, resolve the env as the kubelet would, and log in to a real PostgreSQL with it."""
    cfg = parse_config(
        {
            **namespace("lab"),
            "postgres": {
                **namespace("lab")["postgres"],
                "engine": "external",
                "cnpg": None,
                "external": {
                    "host": "127.0.0.1",
                    "admin_user": "pgadmin",
                    "sslmode": "disable",
                    "server_cidrs": ["127.0.0.1/32"],
                },
            },
        },
        frozenset({"postgresAdminPassword"}),
    )
    template = external_uri_template(cfg).replace(
        "127.0.0.1:5432/litellm", f"127.0.0.1:{postgres_server.port}/postgres"
    )
    uri = template.replace("{{ .password | urlquery }}", _go_urlquery(PASSWORD))
    role = "litellm_uri_probe"
    with psycopg.connect(superuser_dsn, autocommit=True) as admin:
        admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        admin.execute(
            psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                psycopg.sql.Identifier(role), psycopg.sql.Literal(PASSWORD)
            )
        )
    try:
        uri = uri.replace("postgresql://litellm:", f"postgresql://{role}:")
        env = _chart_env(values("lab", *EXTERNAL_ENGINE), {"username": role, "password": PASSWORD, "uri": uri})
        with psycopg.connect(env["DATABASE_URL"]) as conn:
            assert conn.execute("SELECT current_user").fetchone() == (role,)
    finally:
        with psycopg.connect(superuser_dsn, autocommit=True) as admin:
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_generated_database_passwords_are_uri_safe() -> None:
    for spec in (GRAFANA_RO_PASSWORD, LITELLM_DB_PASSWORD):
        assert set(spec.policy.override_special) <= set("-_.~"), spec.key


def test_master_key_comes_from_the_managed_secret() -> None:
    v = values("lab")
    assert v["masterkeySecretName"] == "litellm-master-key"
    assert v["masterkeySecretKey"] == "masterkey"
    assert v["proxy_config"]["general_settings"]["master_key"] == "os.environ/PROXY_MASTER_KEY"
    assert v["proxy_config"]["general_settings"]["database_url"] == "os.environ/DATABASE_URL"


def test_provider_keys_are_gsm_references_mounted_as_env() -> None:
    run = run_cached("enterprise")
    v = release(run)["values"]
    (es,) = [e for e in run.custom_resources("ExternalSecret") if e["metadata"]["name"] == "litellm-provider-keys"]
    assert v["environmentSecrets"][0] == "litellm-provider-keys"
    assert {d["secretKey"]: d["remoteRef"]["key"] for d in es["spec"]["data"]} == {
        "LLMGW_OPENAI_KEY": "openai-api-key",
        "LLMGW_ANTHROPIC_KEY": "anthropic-api-key",
        "LLMGW_AZURE_KEY": "azure-openai-api-key",
    }
    grants = {g.plain_inputs["secretId"] for g in run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")}
    assert {
        f"projects/acme-llm-prod/secrets/{s}" for s in ("openai-api-key", "anthropic-api-key", "azure-openai-api-key")
    } <= grants
    models = v["proxy_config"]["model_list"]
    assert all(m["litellm_params"]["api_key"].startswith("os.environ/") for m in models)


def test_models_and_settings() -> None:
    cfg = values("lab")["proxy_config"]
    assert [m["model_name"] for m in cfg["model_list"]] == ["gpt-4o-mini", "claude-haiku"]
    assert cfg["model_list"][0]["litellm_params"]["rpm"] == 500
    assert cfg["router_settings"]["fallbacks"] == [{"gpt-4o-mini": ["claude-haiku"]}]
    settings = cfg["litellm_settings"]
    assert settings["callbacks"] == ["prometheus"]
    assert settings["prometheus_exclude_labels"] == ["end_user", "client_ip", "user_agent", "user_email"]
    assert settings["turn_off_message_logging"] is True
    assert settings["default_key_generate_params"] == {"max_budget": 10.0, "budget_duration": "30d"}
    assert settings["upperbound_key_generate_params"] == {"max_budget": 50.0}


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda m, k: m.append(dict(m[0])), "model name 'gpt-4o-mini' is already used by models[0]"),
        (lambda m, k: m[0].update(fallbacks=["nope"]), "litellm.models[0].fallbacks[0]: 'nope' is not another model"),
        (
            lambda m, k: m[1].update(api_key="LLMGW_MISTRAL_KEY"),
            "litellm.models[1].api_key: 'LLMGW_MISTRAL_KEY' is not one of provider_keys",
        ),
        (
            lambda m, k: k.append(dict(k[0])),
            "litellm.provider_keys[2].env: 'LLMGW_OPENAI_KEY' is already used by provider_keys[0]",
        ),
    ],
)
def test_model_list_validation(mutate: Any, expected: str) -> None:
    raw = copy.deepcopy(namespace("lab"))
    mutate(raw["litellm"]["models"], raw["litellm"]["provider_keys"])
    message = errors_for(raw)
    assert expected in message
    assert message.count("llm-gateway:litellm") == 1


def test_a_provider_opens_its_pass_through_once() -> None:
    raw = copy.deepcopy(namespace("lab"))
    raw["litellm"]["passthrough"] = [{"provider": "openai"}, {"provider": "openai"}]
    message = errors_for(raw)
    assert "llm-gateway:litellm.passthrough[1].provider: 'openai' is already used by passthrough[0]" in message
    assert message.count("llm-gateway:litellm") == 1


def test_lab_is_one_small_replica_enterprise_is_ha() -> None:
    lab, ent = values("lab"), values("enterprise")
    assert lab["replicaCount"] == 1
    assert lab["autoscaling"]["enabled"] is False
    assert lab["pdb"] == {"enabled": False}
    assert ent["autoscaling"] == {
        "enabled": True,
        "minReplicas": 3,
        "maxReplicas": 10,
        "targetCPUUtilizationPercentage": 60,
    }
    assert ent["pdb"] == {"enabled": True, "minAvailable": 2}
    assert {c["topologyKey"] for c in ent["topologySpreadConstraints"]} == {
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
    }


def test_pdb_that_blocks_every_drain_is_refused() -> None:
    raw = copy.deepcopy(namespace("enterprise"))
    raw["litellm"]["pdb_min_available"] = 3
    assert "must be below the replica floor (3)" in errors_for(raw)


@pytest.mark.parametrize("stack", STACKS)
def test_probes_and_restricted_security_context(stack: str) -> None:
    v = values(stack)
    assert v["livenessProbe"]["path"] == "/health/liveliness"
    assert v["readinessProbe"]["path"] == "/health/readiness"
    assert v["startupProbe"]["path"] == "/health/readiness"
    pod, ctr = v["podSecurityContext"], v["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert ctr["allowPrivilegeEscalation"] is False
    assert ctr["capabilities"] == {"drop": ["ALL"]}
    # The image's own user (nobody, 65534), explicit on the container: the migration Job's pod has no
    # pod-level securityContext, and runAsNonRoot alone made the kubelet refuse it (root image).
    assert (pod["runAsUser"], pod["runAsGroup"], ctr["runAsUser"], ctr["runAsGroup"]) == (65534,) * 4
    assert ctr["readOnlyRootFilesystem"] is True
    assert v["image"]["repository"] == "ghcr.io/berriai/litellm-non_root"


@pytest.mark.parametrize("stack", STACKS)
def test_metrics_are_scraped_from_the_private_port(stack: str) -> None:
    run = run_cached(stack)
    v = release(run)["values"]
    port = int(v["envVars"]["PROMETHEUS_METRICS_PORT"])
    (monitor,) = [m for m in run.custom_resources("ServiceMonitor") if m["metadata"]["name"] == "litellm"]
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics/"
    (service,) = [
        o for o in run.kubernetes_objects() if o["kind"] == "Service" and o["metadata"]["name"] == "litellm-metrics"
    ]
    assert service["spec"]["ports"][0]["targetPort"] == port
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert service["spec"]["selector"] == {"app.kubernetes.io/name": "litellm", "app.kubernetes.io/instance": "litellm"}


def _policies(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {
        o["metadata"]["name"]: o
        for o in run.kubernetes_objects()
        if o["kind"] == "NetworkPolicy"
        and o["metadata"]["name"] in {"litellm-default-deny", "litellm-ingress", "litellm-egress"}
    }


@pytest.mark.parametrize("stack", STACKS)
def test_network_policies_select_the_proxy_and_limit_flows(stack: str) -> None:
    run = run_cached(stack)
    cfg = stack_config(stack)
    policies = _policies(run)
    assert set(policies) == {"litellm-default-deny", "litellm-ingress", "litellm-egress"}
    for p in policies.values():
        assert p["spec"]["podSelector"] == {
            "matchLabels": {"app.kubernetes.io/name": "litellm", "app.kubernetes.io/instance": "litellm"}
        }
    api, metrics = policies["litellm-ingress"]["spec"]["ingress"]
    api_namespaces = {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for peer in api["from"]
        if "namespaceSelector" in peer
    }
    # Pods of the gateway namespace: the declared callers, and the tenants reconciler when enabled.
    pods = [peer for peer in api["from"] if "namespaceSelector" not in peer]
    expected_pods = [dict(labels) for labels in cfg.litellm.network.gateway_client_pods]
    expected_pods += [{"app.kubernetes.io/name": "litellm-tenants"}] if cfg.tenants.enabled else []
    assert pods == [{"podSelector": {"matchLabels": labels}} for labels in expected_pods]
    expected = set(cfg.litellm.network.client_namespaces)
    if cfg.litellm.network.ingress_controller_namespace:
        expected.add(cfg.litellm.network.ingress_controller_namespace)
    assert api_namespaces == expected
    assert api["ports"] == [{"protocol": "TCP", "port": 4000}]
    assert metrics["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        }
    ]
    assert metrics["ports"] == [{"protocol": "TCP", "port": 4001}]
    dns, db, *rest = policies["litellm-egress"]["spec"]["egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    assert db == {
        "to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": "litellm-pg"}}}],
        "ports": [{"protocol": "TCP", "port": 5432}],
    }
    assert rest[0]["ports"] == [{"protocol": "TCP", "port": 443}]


def test_enterprise_only_objects() -> None:
    kinds = {stack: {o["kind"] for o in run_cached(stack).kubernetes_objects()} for stack in STACKS}
    assert "Ingress" in kinds["enterprise"]
    assert "Ingress" not in kinds["lab"]
    (ing,) = [
        o
        for o in run_cached("enterprise").kubernetes_objects()
        if o["kind"] == "Ingress" and o["metadata"]["name"] == "litellm"
    ]
    assert ing["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    assert ing["spec"]["tls"] == [{"hosts": ["llm.acme.example"], "secretName": "litellm-tls"}]


def test_enabled_ingress_needs_host_and_issuer() -> None:
    raw = copy.deepcopy(namespace("lab"))
    raw["litellm"]["ingress"] = {"enabled": True}
    with pytest.raises(ConfigError, match="an enabled ingress needs host and cluster_issuer"):
        parse_config(raw)


def test_no_key_material_in_release_values(tmp_path: Path) -> None:
    for stack in STACKS:
        run = run_cached(stack)
        text = str(release(run))
        assert not [s for s in run.generated_secrets if s in text]
        assert "sk-" not in text
