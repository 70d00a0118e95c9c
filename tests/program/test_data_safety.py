"""Who may read the credentials, and what a change may delete.

Each namespace reads its secrets through its own store; the gateway namespace and
Langfuse's data carry the data-safety options; a rotation replaces exactly the
value and its GSM version, never a protected resource; the values stored data
depends on cannot be rotated at all.
"""

from __future__ import annotations

import re

import pytest

from components.database.cnpg import backup_soft_delete_seconds
from components.kit import namespace_holds_data
from components.secrets.reach import store_admits
from config import ConfigError, inventory, parse_config
from config.inventory import SALT_KEY, secret_inventory
from offline.run import ProgramRun
from tests.support import ROOT
from tests.support.assets import require
from tests.support.config import namespace, with_value
from tests.support.plan import plan
from tests.support.program import STACKS, VARIANTS, run_cached
from tests.support.schemas import validation_errors
from tests.support.secret_reach import tenant_namespaces_of_run

# Namespaces that exist beside the program's on a typical cluster (and a hostile one).
OTHER_NAMESPACES = ["default", "kube-system", "external-secrets", "apps", "dev-tools", "data-science", "attacker"]


def secret_stem(run: ProgramRun, gsm_secret_id: str) -> str:
    """The ManagedSecret resource-name stem of a GSM secret id (`<stem>-gsm`, `-value`, `-version`)."""
    (secret,) = [s for s in run.of_type("gcp:secretmanager/secret:Secret") if s.inputs["secretId"] == gsm_secret_id]
    return secret.name.removesuffix("-gsm")


# --- 1. each namespace reads through its own store -----------------------------
# (What each namespace could read, store by store and grant by grant:
# tests/components/secrets/test_secret_reach.py.)


@pytest.mark.parametrize(("stack", "overrides"), VARIANTS)
def test_each_external_secret_reads_through_the_store_of_its_namespace(stack: str, overrides: tuple[str, ...]) -> None:
    run = run_cached(stack, *overrides)
    assert run.custom_resources("ClusterSecretStore") == []
    stores = {s["metadata"]["namespace"]: s for s in run.custom_resources("SecretStore")}
    assert all(validation_errors(s) == [] for s in stores.values())
    externals = run.custom_resources("ExternalSecret")
    assert len(externals) > 3
    for es in externals:
        ns = es["metadata"]["namespace"]
        assert es["spec"]["secretStoreRef"] == {"name": stores[ns]["metadata"]["name"], "kind": "SecretStore"}
    assert set(stores) == {e["metadata"]["namespace"] for e in externals}
    # Beside the program's own, only the namespaces tenants' keys are delivered into get a store.
    tenants = tenant_namespaces_of_run(run)
    assert tenants <= set(OTHER_NAMESPACES) - {"default", "kube-system", "external-secrets", "attacker"}
    assert [ns for ns in OTHER_NAMESPACES if ns in stores] == [ns for ns in OTHER_NAMESPACES if ns in tenants]


def test_stores_follow_the_configured_namespaces() -> None:
    run = run_cached("lab", "llm-gateway:namespaces={gateway: gw, grafana: grafana}")
    own = {"gw", "grafana", "dev-tools"}  # dev-tools: the lab's tenant key delivery
    assert {e["metadata"]["namespace"] for e in run.custom_resources("ExternalSecret")} == own
    assert {s["metadata"]["namespace"] for s in run.custom_resources("SecretStore")} == own


def test_the_admission_rule_matches_esos() -> None:
    """No condition admits everything (today's defect); selectors and regexes as ESO reads them."""
    open_store: dict[str, dict[str, object]] = {"spec": {}}
    assert store_admits(open_store, "attacker")
    by_label = {"spec": {"conditions": [{"namespaceSelector": {"matchLabels": {"team": "llm"}}}]}}
    assert store_admits(by_label, "x", {"team": "llm"}) and not store_admits(by_label, "x", {"team": "web"})
    by_regex = {"spec": {"conditions": [{"namespaceRegexes": ["^llm-"]}]}}
    assert store_admits(by_regex, "llm-gateway") and not store_admits(by_regex, "apps")
    # The builder refuses a store without a condition: tests/components/secrets/test_eso_manifests.py.


# --- 2. the namespace that holds the database --------------------------------


def test_enterprise_gateway_namespace_carries_the_data_safety_options() -> None:
    ns = run_cached("enterprise").named("llm-gateway-namespace")
    assert ns.protect and ns.retain_on_delete


@pytest.mark.parametrize(
    ("override", "refused"),
    [
        ("llm-gateway:namespaces.create_gateway=false", {"llm-gateway-namespace"}),
        (
            "llm-gateway:namespaces.gateway=llm-gw",
            {"llm-gateway-namespace", "llm-gateway-database-cluster", "llm-gateway-langfuse-database"},
        ),
    ],
)
def test_dropping_or_renaming_the_namespace_is_refused(override: str, refused: set[str]) -> None:
    """Kubernetes would cascade the namespace's deletion to the CNPG cluster and its volumes."""
    p = plan(run_cached("enterprise"), run_cached("enterprise", override))
    assert "llm-gateway-namespace" in p.names("delete") | p.names("replace")
    assert refused <= p.refused


def test_a_namespace_without_stateful_resources_is_not_pinned() -> None:
    external = namespace("lab")
    external["postgres"] = {
        "engine": "external",
        "external": {"host": "pg.example", "admin_user": "admin", "server_cidrs": ["10.0.0.5/32"]},
    }
    cfg = parse_config(external, frozenset({"postgresAdminPassword"}))
    assert not namespace_holds_data(cfg)
    assert namespace_holds_data(parse_config(namespace("lab")))  # CNPG lives there
    assert namespace_holds_data(parse_config(namespace("enterprise")))


# --- 3. rotation in enterprise -----------------------------------------------


def test_rotating_every_rotatable_secret_in_enterprise_replaces_only_values_and_versions() -> None:
    base = run_cached("enterprise")
    cfg = parse_config(namespace("enterprise"))
    rotatable = [s for s in secret_inventory(cfg) if s.rotation == "generation"]
    assert len(rotatable) >= 5
    bump = "{" + ", ".join(f"{s.key}: 1" for s in rotatable) + "}"
    rotated = run_cached("enterprise", f"llm-gateway:secrets.rotation={bump}")
    stems = [secret_stem(base, f"{cfg.secrets.prefix}{s.gsm_name}") for s in rotatable]
    p = plan(base, rotated)
    assert p.changes == {"replace": {f"{stem}-{part}" for stem in stems for part in ("value", "version")}}
    assert p.refused == set()
    for stem in stems:
        assert rotated.named(f"{stem}-version").plain_inputs["deletionPolicy"] == "DISABLE"  # old one disabled


def test_enterprise_protects_every_gsm_secret_that_matters_not_its_versions() -> None:
    run = run_cached("enterprise")
    cfg = parse_config(namespace("enterprise"))
    for spec in secret_inventory(cfg):
        stem = secret_stem(run, spec.gsm_name)
        assert run.named(f"{stem}-gsm").protect is not spec.disposable, spec.key
        assert run.named(f"{stem}-version").protect is (spec.rotation == "never"), spec.key


@pytest.mark.parametrize(
    "key",
    [s.key for s in secret_inventory(parse_config(namespace("enterprise"))) if s.rotation != "generation"],
)
def test_a_value_that_cannot_rotate_refuses_a_rotation_key(key: str) -> None:
    raw = with_value("enterprise", "secrets.rotation", {key: 1})
    with pytest.raises(ConfigError, match=f"must not name \\['{key}'\\]"):
        parse_config(raw)


# --- 4. LITELLM_SALT_KEY -----------------------------------------------------


@pytest.mark.parametrize(("stack", "overrides"), VARIANTS)
def test_salt_key_reaches_litellm_from_gsm_through_eso(stack: str, overrides: tuple[str, ...]) -> None:
    run = run_cached(stack, *overrides)
    (es,) = [e for e in run.custom_resources("ExternalSecret") if e["spec"]["target"]["name"] == "litellm-salt-key"]
    assert es["spec"]["data"] == [
        {"secretKey": "LITELLM_SALT_KEY", "remoteRef": {"key": SALT_KEY.gsm_name, "version": "latest"}}
    ]
    assert es["metadata"]["namespace"] == "llm-gateway"
    release = run.named("llm-gateway-litellm-release").plain_inputs
    assert "litellm-salt-key" in release["values"]["environmentSecrets"]
    assert SALT_KEY.rotation == "never"


def test_master_key_rotation_leaves_the_salt_key_alone() -> None:
    p = plan(run_cached("enterprise"), run_cached("enterprise", "llm-gateway:secrets.rotation={litellm-master-key: 1}"))
    assert p.changes == {"replace": {"llm-gateway-master-key-value", "llm-gateway-master-key-version"}}
    assert p.refused == set()


# --- low-severity items ------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_litellm_pods_mount_no_service_account_token(stack: str) -> None:
    run = run_cached(stack)
    account = run.named("llm-gateway-litellm-service-account").plain_inputs
    assert account["automountServiceAccountToken"] is False
    assert validation_errors(run.named("llm-gateway-litellm-service-account").redacted_inputs) == []
    values = run.named("llm-gateway-litellm-release").plain_inputs["values"]
    name = account["metadata"]["name"]
    assert values["serviceAccount"] == {"create": False, "name": name}
    assert values["migrationJob"]["serviceAccountName"] == name


def test_backup_bucket_keeps_deleted_objects_for_the_retention_period() -> None:
    run = run_cached("enterprise")
    bucket = run.named("llm-gateway-database-backup-bucket").plain_inputs
    cfg = parse_config(namespace("enterprise"))
    seconds = bucket["softDeletePolicy"]["retentionDurationSeconds"]
    assert seconds >= cfg.postgres.backup.retention_days * 86400
    days = {
        d: backup_soft_delete_seconds(cfg.postgres.backup.model_copy(update={"retention_days": d})) // 86400
        for d in (1, 30, 365)
    }
    assert days == {1: 7, 30: 30, 365: 90}  # GCS allows 7 to 90 days


def test_litellm_chart_test_pods_are_test_hooks_only() -> None:
    """They lack a securityContext (PSA `restricted` rejects them) but only `helm test` creates them."""
    tests_dir = require("chart/litellm-helm") / "templates" / "tests"
    templates = sorted(tests_dir.glob("*.yaml"))
    assert templates
    for template in templates:
        assert '"helm.sh/hook": test' in template.read_text(), template.name


def test_documented_inventory_states_each_secrets_rotation_rule() -> None:
    """`never` rows say never, `manual` rows say there is no rotation key, the others say bump (docs/security.md)."""
    readme = (ROOT / "docs" / "security.md").read_text()
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| `[a-z0-9-]+`[^|]*\| `([a-z0-9-]+)` \|.*\| ([^|]+) \|$", readme, flags=re.MULTILINE)
    }
    specs = [v for v in vars(inventory).values() if isinstance(v, inventory.SecretSpec) and v.key in rows]
    assert SALT_KEY in specs and len(specs) >= 10
    words = {"never": "never", "manual": "no rotation key", "generation": "bump"}
    assert {s.key: words[s.rotation] in rows[s.key] for s in specs} == {s.key: True for s in specs}
