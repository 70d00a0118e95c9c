"""The database layer as rendered by the real program (mock engine), both engines."""

from __future__ import annotations

from typing import Any

import pytest

from components.database.endpoint import endpoint, external_uri_template, read_host
from components.kit import stateful_options
from components.observability.datasource import FILE_KEY
from offline.run import run_stack
from tests.support.config import errors_for, scenario_config, stack_config, with_value, without
from tests.support.netpol import Address, Pod, can_connect
from tests.support.program import EXTERNAL_ENGINE, run_cached
from tests.support.secret_reach import project_grants_beyond_the_tenants_reconciler
from tools import preview

CNPG_KINDS = {"Cluster", "ObjectStore", "ScheduledBackup", "PodMonitor", "Database"}


def kinds(stack: str, *overrides: str) -> set[str]:
    return {o["kind"] for o in run_cached(stack, *overrides).kubernetes_objects()}


def test_lab_is_one_instance_without_backups() -> None:
    run = run_cached("lab")
    (cluster,) = run.custom_resources("Cluster")
    assert cluster["spec"]["instances"] == 1
    assert cluster["spec"]["enablePDB"] is False
    assert "plugins" not in cluster["spec"] and "serviceAccountTemplate" not in cluster["spec"]
    assert not {"ObjectStore", "ScheduledBackup"} & kinds("lab")
    assert not run.of_type("gcp:storage/bucket:Bucket")


def test_enterprise_is_ha_with_plugin_backups() -> None:
    run = run_cached("enterprise")
    (cluster,) = run.custom_resources("Cluster")
    spec = cluster["spec"]
    assert spec["instances"] == 3
    assert spec["affinity"]["podAntiAffinityType"] == "required"
    assert spec["enablePDB"] is True
    assert "backup" not in spec, "the in-tree barmanObjectStore is deprecated"
    (store,) = run.custom_resources("ObjectStore")
    assert spec["plugins"] == [
        {
            "name": "barman-cloud.cloudnative-pg.io",
            "isWALArchiver": True,
            "parameters": {"barmanObjectName": store["metadata"]["name"]},
        }
    ]
    assert store["spec"]["configuration"]["destinationPath"] == "gs://acme-llm-prod-pg-backups/litellm-pg"
    assert store["spec"]["configuration"]["googleCredentials"] == {"gkeEnvironment": True}
    assert store["spec"]["retentionPolicy"] == "30d"
    (scheduled,) = run.custom_resources("ScheduledBackup")
    assert scheduled["spec"]["method"] == "plugin"
    assert scheduled["spec"]["cluster"] == {"name": "litellm-pg"}
    gsa = run.named("llm-gateway-database-backup-gsa")
    annotation = spec["serviceAccountTemplate"]["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
    assert annotation == gsa.outputs["email"]


def test_backup_service_account_reaches_only_its_bucket() -> None:
    run = run_cached("enterprise")
    bucket = run.named("llm-gateway-database-backup-bucket")
    assert bucket.plain_inputs["uniformBucketLevelAccess"] is True
    assert bucket.plain_inputs["versioning"] == {"enabled": True}
    assert bucket.plain_inputs["lifecycleRules"][0]["condition"]["daysSinceNoncurrentTime"] == 7
    grant = run.named("llm-gateway-database-backup-bucket-access")
    assert grant.plain_inputs["bucket"] == "acme-llm-prod-pg-backups"
    backup_gsa = run.named("llm-gateway-database-backup-gsa").outputs["email"]
    bucket_grants = run.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
    assert [g.plain_inputs["bucket"] for g in bucket_grants if backup_gsa in g.plain_inputs["member"]] == [
        "acme-llm-prod-pg-backups"
    ]
    assert project_grants_beyond_the_tenants_reconciler(run) == []
    wi = run.named("llm-gateway-database-backup-workload-identity")
    assert wi.plain_inputs["member"] == "serviceAccount:acme-llm-prod.svc.id.goog[llm-gateway/litellm-pg]"


def test_grafana_ro_is_a_managed_read_only_role_with_an_eso_password() -> None:
    run = run_cached("enterprise")
    (cluster,) = run.custom_resources("Cluster")
    (role,) = [r for r in cluster["spec"]["managed"]["roles"] if r["name"] == "grafana_ro"]
    assert role["login"] is True
    assert "inRoles" not in role  # least privilege: the reporting schema's grants only
    assert role["connectionLimit"] == 10
    secret_name = role["passwordSecret"]["name"]
    (es,) = [e for e in run.custom_resources("ExternalSecret") if e["spec"]["target"]["name"] == secret_name]
    template = es["spec"]["target"]["template"]
    assert template["type"] == "kubernetes.io/basic-auth"
    assert template["metadata"]["labels"]["cnpg.io/reload"] == "true"
    assert template["data"]["username"] == "grafana_ro"
    assert es["spec"]["data"][0]["remoteRef"]["key"] == "litellm-grafana-ro-password"


def test_reporting_role_schema_and_password() -> None:
    run = run_cached("enterprise")
    (cluster,) = run.custom_resources("Cluster")
    (role,) = [r for r in cluster["spec"]["managed"]["roles"] if r["name"] == "reporting"]
    assert role["login"] is True
    assert "inRoles" not in role  # no pg_read_all_data: the job grants it LiteLLM's spend columns
    (es,) = [
        e
        for e in run.custom_resources("ExternalSecret")
        if e["spec"]["target"]["name"] == role["passwordSecret"]["name"]
    ]
    assert es["spec"]["target"]["template"]["data"]["username"] == "reporting"
    assert es["spec"]["target"]["template"]["metadata"]["labels"]["cnpg.io/reload"] == "true"
    assert es["spec"]["data"][0]["remoteRef"]["key"] == "litellm-reporting-password"
    (database,) = [d for d in run.custom_resources("Database") if d["spec"]["name"] == "litellm"]
    assert database["spec"]["cluster"] == {"name": "litellm-pg"}
    assert database["spec"]["databaseReclaimPolicy"] == "retain"
    assert database["spec"]["schemas"] == [{"name": "reporting", "owner": "reporting", "ensure": "present"}]


def test_pod_monitor_selects_the_cluster_for_the_platform_prometheus() -> None:
    (monitor,) = run_cached("lab").custom_resources("PodMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["selector"] == {"matchLabels": {"cnpg.io/cluster": "litellm-pg"}}
    assert monitor["spec"]["podMetricsEndpoints"] == [{"port": "metrics"}]


def test_external_engine_has_no_cnpg_objects_and_a_secret_admin_password() -> None:
    run = run_cached("lab", *EXTERNAL_ENGINE)
    assert not CNPG_KINDS & kinds("lab", *EXTERNAL_ENGINE)
    (provider,) = run.of_type("pulumi:providers:postgresql")
    assert provider.inputs["password"]["value"], "admin password must be a secret input"
    assert provider.plain_inputs["superuser"] in (False, "false")
    assert provider.plain_inputs["host"] == "pg.home.arpa"
    roles = {r.plain_inputs["name"]: r for r in run.of_type("postgresql:index/role:Role")}
    assert set(roles) == {"litellm", "grafana_ro", "reporting"}
    assert not roles["grafana_ro"].plain_inputs.get("roles")
    assert not roles["reporting"].plain_inputs.get("roles")  # no pg_read_all_data
    (schema,) = run.of_type("postgresql:index/schema:Schema")
    assert {k: schema.plain_inputs[k] for k in ("name", "owner", "database")} == {
        "name": "reporting",
        "owner": "reporting",
        "database": "litellm",
    }
    for role in roles.values():
        assert "value" in role.inputs["password"], f"{role.name}: password is not a secret input"
    (db,) = run.of_type("postgresql:index/database:Database")
    assert db.plain_inputs["owner"] == "litellm"


def test_both_engines_expose_the_same_outputs() -> None:
    cnpg = run_cached("lab").outputs["database"]
    ext = run_cached("lab", *EXTERNAL_ENGINE).outputs["database"]
    assert set(cnpg) == set(ext)
    assert cnpg["host"] == "litellm-pg-rw.llm-gateway.svc" and ext["host"] == "pg.home.arpa"
    assert cnpg["app_secret"] == "litellm-pg-app" and ext["app_secret"] == "litellm-db-app"


@pytest.mark.parametrize(
    ("stack", "expected"),
    [("lab", "litellm-pg-rw.llm-gateway.svc"), ("enterprise", "litellm-pg-ro.llm-gateway.svc")],
)
def test_read_host_uses_replicas_only_when_there_are_some(stack: str, expected: str) -> None:
    assert read_host(stack_config(stack)) == expected


@pytest.mark.parametrize(("stack", "protected"), [("lab", False), ("enterprise", True)])
def test_stateful_options_per_stack(stack: str, protected: bool) -> None:
    opts = stateful_options(stack_config(stack).data_safety)
    assert opts.protect is protected and opts.retain_on_delete is protected


def test_enterprise_protects_the_cluster_bucket_and_secrets() -> None:
    """The options reach the registered resources (checked on the recorded registrations)."""
    run = run_stack("enterprise")
    assert run.protected >= {
        "llm-gateway-database-cluster",
        "llm-gateway-database-backup-bucket",
        "llm-gateway-master-key-gsm",
        "llm-gateway-database-grafana-ro-gsm",
    }
    assert run_stack("lab").protected == set()


def test_every_login_needs_tls_and_the_readers_stay_in_litellm() -> None:
    """Finding 8: pg_hba had `host` lines and CNPG's default `host all all all` admitted plain TCP.
    Now `hostssl` for every role the program makes (Langfuse's owner in enterprise), grafana_ro and
    reporting refused in other databases, and a final `hostnossl all all all reject`."""
    (cluster,) = run_cached("enterprise").custom_resources("Cluster")
    assert cluster["spec"]["postgresql"]["pg_hba"] == [
        "hostssl litellm grafana_ro all scram-sha-256",
        "host all grafana_ro all reject",
        "hostssl litellm reporting all scram-sha-256",
        "host all reporting all reject",
        "hostssl litellm litellm all scram-sha-256",
        "hostssl langfuse langfuse all scram-sha-256",
        "hostnossl all all all reject",
    ]
    (lab,) = run_cached("lab").custom_resources("Cluster")
    assert lab["spec"]["postgresql"]["pg_hba"][-1] == "hostnossl all all all reject"
    assert not [
        line for line in lab["spec"]["postgresql"]["pg_hba"] if line.startswith("host ") and "reject" not in line
    ]


def test_cnpg_signs_its_server_certificate_with_the_programs_ca() -> None:
    """The Cluster names the program's CA (certificate and key, from GSM) and no server certificate:
    CNPG issues and renews the leaf for -rw/-ro/-r; the clients get the certificate alone."""
    run = run_cached("enterprise")
    (cluster,) = run.custom_resources("Cluster")
    assert cluster["spec"]["certificates"] == {"serverCASecret": "litellm-pg-server-ca"}
    secrets = {e["spec"]["target"]["name"]: e for e in run.custom_resources("ExternalSecret")}
    bundle = secrets["litellm-pg-server-ca"]["spec"]
    assert bundle["data"] == [
        {"secretKey": "bundle", "remoteRef": {"key": "litellm-pg-server-ca", "version": "latest"}}
    ]
    assert bundle["target"]["template"]["data"] == {
        "ca.crt": '{{ .bundle | filterPEM "CERTIFICATE" }}',
        "ca.key": '{{ .bundle | filterPEM "EC PRIVATE KEY" }}',
    }
    cert = secrets["litellm-pg-ca-cert"]["spec"]
    assert cert["target"]["template"]["data"] == {"ca.crt": "{{ .ca }}"}  # no key beside it
    assert cert["data"][0]["remoteRef"]["key"] == "litellm-pg-server-ca-cert"
    (key,) = run.of_type("tls:index/privateKey:PrivateKey")
    assert key.plain_inputs["algorithm"] == "ECDSA" and key.plain_inputs["ecdsaCurve"] == "P256"
    (ca,) = run.of_type("tls:index/selfSignedCert:SelfSignedCert")
    assert ca.plain_inputs["isCaCertificate"] is True
    assert "cert_signing" in ca.plain_inputs["allowedUses"]
    versions = {v.name: v for v in run.of_type("gcp:secretmanager/secretVersion:SecretVersion")}
    assert "value" in versions["llm-gateway-database-server-ca-version"].inputs["secretData"]  # a secret input


def test_external_langfuse_database_is_closed_to_public() -> None:
    # The enterprise clients need 185 connections (config/budget.py): a server that allows them.
    run = run_cached(
        "enterprise",
        *EXTERNAL_ENGINE,
        "llm-gateway:postgres.backup.enabled=false",
        "llm-gateway:postgres.external.max_connections=200",
    )
    grants = [g.plain_inputs for g in run.of_type("postgresql:index/grant:Grant")]
    assert {"database": "langfuse", "role": "public", "objectType": "database", "privileges": []} in [
        {k: g.get(k) for k in ("database", "role", "objectType", "privileges")} for g in grants
    ]


# --- who may reach the instances, and where they may go (findings 3 and 9) -----------------------

GRAFANA = Pod(
    "monitoring", {"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "kube-prometheus-stack"}
)
ALERTMANAGER = Pod("monitoring", {"app.kubernetes.io/name": "alertmanager"})
INSTANCE = Pod("llm-gateway", {"cnpg.io/cluster": "litellm-pg", "cnpg.io/instanceRole": "primary"})
ANYWHERE = Address("8.8.8.8")


def _policies(stack: str, *overrides: str) -> list[dict[str, Any]]:
    return [o for o in run_cached(stack, *overrides).kubernetes_objects() if o["kind"] == "NetworkPolicy"]


@pytest.mark.parametrize("stack", ["lab", "enterprise"])
def test_postgres_admits_grafanas_pods_not_its_namespace(stack: str) -> None:
    """Finding 3: every pod of `monitoring` (Alertmanager, any workload someone with `edit` starts
    there) could open a connection to 5432; now Grafana's pods only, by the configured labels."""
    pols = _policies(stack)
    assert can_connect(pols, GRAFANA, INSTANCE, 5432)
    assert not can_connect(pols, ALERTMANAGER, INSTANCE, 5432)
    assert not can_connect(pols, Pod("monitoring", {"app": "anything"}), INSTANCE, 5432)
    relabelled = _policies(stack, "llm-gateway:grafana.pod_labels={app: my-grafana}")
    assert can_connect(relabelled, Pod("monitoring", {"app": "my-grafana"}), INSTANCE, 5432)
    assert not can_connect(relabelled, GRAFANA, INSTANCE, 5432)


def test_api_server_cidrs_are_required_and_never_everywhere() -> None:
    """Finding 9: the default 0.0.0.0/0 opened HTTPS from the database pods to every address."""
    assert "llm-gateway:postgres.cnpg.api_server_cidrs: required key is missing" in errors_for(
        without("lab", "postgres.cnpg.api_server_cidrs")
    )
    message = errors_for(with_value("lab", "postgres.cnpg.api_server_cidrs", ["172.16.0.2/32", "0.0.0.0/0"]))
    assert "llm-gateway:postgres.cnpg.api_server_cidrs[1]" in message and "every address" in message
    assert "every address" in errors_for(with_value("lab", "postgres.cnpg.api_server_cidrs", ["::/0"]))
    # One clear error, exit 2, from the command a user runs.
    assert preview.main(["lab", "--set", "llm-gateway:postgres.cnpg.api_server_cidrs=[0.0.0.0/0]"]) == 2


def test_database_https_goes_to_the_api_server_only_without_backups() -> None:
    """Finding 9: HTTPS anywhere from the database pods only with backups on (GCS has no ranges)."""
    lab = _policies("lab")
    assert can_connect(lab, INSTANCE, Address("172.16.0.2"), 443)
    assert not can_connect(lab, INSTANCE, ANYWHERE, 443)
    assert not can_connect(lab, INSTANCE, Address("172.16.0.3"), 443)
    enterprise = _policies("enterprise")
    assert can_connect(enterprise, INSTANCE, ANYWHERE, 443)  # barman-cloud to the bucket
    no_backups = _policies("enterprise", "llm-gateway:postgres.backup.enabled=false")
    assert not can_connect(no_backups, INSTANCE, ANYWHERE, 443)


EXTERNAL_CA = "-----BEGIN CERTIFICATE-----\\nTUlJQmtUQ0IrZ0lKQUtISElH\\n-----END CERTIFICATE-----"
EXTERNAL_WITH_CA = (
    "llm-gateway:postgres.engine=external",
    "llm-gateway:postgres.cnpg=null",
    "llm-gateway:postgres.external={host: pg.home.arpa, admin_user: pgadmin, server_cidrs: [192.168.10.5/32],"
    f' ca_cert: "{EXTERNAL_CA}"}}',
)


def test_external_server_ca_makes_every_client_verify_it() -> None:
    """Finding 8, external engine: the CA from config (public) reaches GSM, the clients' Secret and
    Grafana's datasource; sslmode defaults to verify-full; the owner's URI names the mounted CA."""
    cfg = scenario_config("lab", *EXTERNAL_WITH_CA)
    assert cfg.postgres.engine == "external" and cfg.postgres.external.sslmode == "verify-full"
    ep = endpoint(cfg, "unused")
    assert ep.ca_secret == "litellm-db-ca-cert" and ep.uri_query == ""
    assert external_uri_template(cfg).endswith("?sslmode=verify-full&sslrootcert=/etc/llm-gateway/postgres-ca/ca.crt")
    run = run_cached("lab", *EXTERNAL_WITH_CA)
    secrets = {e["spec"]["target"]["name"]: e for e in run.custom_resources("ExternalSecret")}
    assert secrets["litellm-db-ca-cert"]["spec"]["target"]["template"]["data"] == {"ca.crt": "{{ .ca }}"}
    datasource = secrets["llm-gateway-grafana-datasource"]["spec"]
    assert {"secretKey": "ca", "remoteRef": {"key": "litellm-pg-server-ca-cert", "version": "latest"}} in datasource[
        "data"
    ]
    assert "tlsCACert" in datasource["target"]["template"]["data"][FILE_KEY]
    (job,) = [j for j in run.custom_resources("CronJob") if j["metadata"]["name"] == "litellm-reporting"]
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert {
        "name": "postgres-ca",
        "secret": {"secretName": "litellm-db-ca-cert", "items": [{"key": "ca.crt", "path": "ca.crt"}]},
    } in pod["volumes"]
    # No CA, no verification material: sslmode stays what the config says (require by default).
    plain = scenario_config(
        "lab",
        *EXTERNAL_WITH_CA[:2],
        "llm-gateway:postgres.external={host: h.arpa, admin_user: a, server_cidrs: [10.0.0.1/32]}",
    )
    assert plain.postgres.engine == "external" and plain.postgres.external.sslmode == "require"
    assert endpoint(plain, "unused").ca_secret is None


def test_external_ca_must_be_pem_certificates() -> None:
    raw = with_value("lab", "postgres.engine", "external")
    del raw["postgres"]["cnpg"]
    raw["postgres"]["external"] = {
        "host": "pg.home.arpa",
        "admin_user": "pgadmin",
        "server_cidrs": ["10.0.0.1/32"],
        "ca_cert": "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----",
    }
    assert "llm-gateway:postgres.external.ca_cert" in errors_for(raw)
