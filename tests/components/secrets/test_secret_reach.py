"""Secret access follows consumption (docs/security.md, Finding 1): every namespace could read exactly the
GSM secrets its ExternalSecrets consume, computed from the rendered objects and IAM bindings
(tests/support/secret_reach.py); and the computation itself catches a shared identity."""

from __future__ import annotations

import re
from typing import Any

import pytest

from components.secrets.reach import policy_grants
from offline.run import ProgramRun
from tests.support import ROOT
from tests.support.program import EXTERNAL_ENGINE, SCENARIOS, VARIANT_NAMES, created_after, run_cached, run_scenario
from tests.support.secret_reach import (
    EVERY_SECRET,
    Impersonation,
    Reach,
    SecretGrant,
    consumed,
    granted,
    name_prefixes,
    reach_of_run,
    reach_problems,
    readable,
    tenant_key_secrets,
    tenant_namespaces_of_run,
)

SECRET_STORE = "kubernetes:external-secrets.io/v1:SecretStore"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
# Namespaces beside the program's on a typical cluster (and a hostile one): they read nothing.
OTHER_NAMESPACES = ("default", "kube-system", "external-secrets", "apps", "dev-tools", "attacker")


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_namespace_reads_exactly_what_it_consumes(scenario: str) -> None:
    run = run_scenario(scenario)
    reach = reach_of_run(run)
    namespaces = reach.namespaces() | set(OTHER_NAMESPACES)
    assert reach_problems(reach, namespaces) == {}
    # Not vacuous: both consuming namespaces read something, and the gateway's secrets stay out of
    # Grafana's namespace (and out of the tenants' namespaces).
    cfg_namespaces = {es["metadata"]["namespace"] for es in reach.of_kind("ExternalSecret")}
    assert cfg_namespaces == {"llm-gateway", "monitoring"} | tenant_namespaces_of_run(run)
    assert tenant_namespaces_of_run(run)
    # Grafana's datasource: grafana_ro's password, and the server's CA certificate (public) where
    # the datasource verifies the server (CNPG, or an external server with a CA).
    assert consumed(reach, "monitoring") - {"litellm-pg-server-ca-cert"} == {"litellm-grafana-ro-password"}
    assert "litellm-master-key" in readable(reach, "llm-gateway")
    assert "litellm-master-key" not in readable(reach, "monitoring")
    _assert_one_grant_per_binding(run_scenario(scenario))


@pytest.mark.parametrize("engine", [(), EXTERNAL_ENGINE], ids=["cnpg", "external"])
def test_grafana_in_the_gateway_namespace_gets_one_store_and_one_grant_per_secret(engine: tuple[str, ...]) -> None:
    run = run_cached("lab", "llm-gateway:namespaces={gateway: gw, grafana: gw}", *engine)
    reach = reach_of_run(run)
    assert reach_problems(reach, reach.namespaces() | {"monitoring"}) == {}
    # One store of the stack's own (and the lab's tenant namespace's, dev-tools).
    stores = {s.plain_inputs["metadata"]["namespace"] for s in run.of_type(SECRET_STORE)}
    assert len(run.of_type(SECRET_STORE)) == 2 and stores == {"gw", "dev-tools"}
    _assert_one_grant_per_binding(run)


def _assert_one_grant_per_binding(run: ProgramRun) -> None:
    """Two resources for one (secret, role, member) would share one IAM binding: deleting either
    (a rename, a removed reader) would take the other's access away."""
    grants = [
        (g.plain_inputs["secretId"].rsplit("/", 1)[-1], g.plain_inputs["role"], g.plain_inputs["member"])
        for g in run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    ]
    assert len(grants) == len(set(grants)), sorted(g for g in grants if grants.count(g) > 1)


def test_enterprise_gateway_reads_its_referenced_secrets_too() -> None:
    """Provider keys, receiver credentials and the OIDC client secret: granted to the gateway only."""
    reach = reach_of_run(run_scenario("enterprise"))
    referenced = {
        "openai-api-key",
        "anthropic-api-key",
        "azure-openai-api-key",
        "oncall-slack-webhook-url",
        "oncall-smtp-password",
        "llm-gateway-oidc-client-secret",
    }
    assert referenced <= readable(reach, "llm-gateway")
    assert not referenced & readable(reach, "monitoring")


def _documented_readers() -> dict[str, set[str]]:
    """docs/security.md, Finding 5's table: GSM secret -> the namespaces documented to read it."""
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    table = text.split("## Finding 5:", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:-1] for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    out: dict[str, set[str]] = {}
    for cells in rows[1:]:
        for secret in re.findall(r"`([a-z0-9-]+)`", cells[1]):
            out[secret] = set(re.findall(r"`([a-z0-9-]+)`", cells[2]))
    return out


def test_the_documented_readers_are_the_rendered_ones() -> None:
    """Enterprise exactly; every generated secret of every scenario is in the table, and every row is
    what some scenario grants (the external engine's grafana_ro row is the one documented exception)."""
    documented = _documented_readers()
    seen: dict[str, set[frozenset[str]]] = {}
    for scenario in SCENARIOS:
        run = run_scenario(scenario)
        reach = reach_of_run(run)
        readers: dict[str, set[str]] = {}
        for ns in reach.namespaces():
            for secret in readable(reach, ns):
                readers.setdefault(secret, set()).add(ns)
        # The tenants' key secrets are the stack's data, listed in docs/tenants.md: reach tests below.
        tenant_keys = tenant_key_secrets(run)
        readers = {secret: namespaces for secret, namespaces in readers.items() if secret not in tenant_keys}
        generated = {s.inputs["secretId"] for s in run.of_type("gcp:secretmanager/secret:Secret")} - tenant_keys
        assert generated <= set(documented), scenario
        for secret, namespaces in readers.items():
            seen.setdefault(secret, set()).add(frozenset(namespaces))
        if scenario == "enterprise":
            assert {s: documented[s] for s in readers} == readers
    assert {s: {frozenset(n)} for s, n in documented.items() if n} == {
        s: seen[s] - {frozenset({"monitoring"})} if s == "litellm-grafana-ro-password" else seen[s]
        for s, n in documented.items()
        if n
    }


@pytest.mark.parametrize("scenario", VARIANT_NAMES)
def test_every_external_secret_waits_for_its_namespaces_store(scenario: str) -> None:
    """On an upgrade the ExternalSecrets switch stores only once the new store, its identity and its
    grants exist (the old ClusterSecretStore is deleted last, as Pulumi deletes what a program no
    longer declares after everything else)."""
    run = run_scenario(scenario)
    stores = {r.plain_inputs["metadata"]["namespace"]: r.name for r in run.of_type(SECRET_STORE)}
    externals = run.of_type(EXTERNAL_SECRET)
    assert len(externals) > 3
    for es in externals:
        ns = es.plain_inputs["metadata"]["namespace"]
        waits = created_after(run, es.name)
        assert stores[ns] in waits, f"{es.name} may sync before SecretStore {ns}"
        unit = run.named(stores[ns]).parent
        assert {f"{unit}-gsa", f"{unit}-ksa", f"{unit}-workload-identity"} <= waits, es.name
    # Every grant waits for the whole store of the namespace it grants.
    grants = run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert grants and all(set(stores.values()) & created_after(run, g.name) for g in grants)


# --- the tenants' keys -----------------------------------------------------------------

ADDER = "roles/secretmanager.secretVersionAdder"
ACCESSOR = "roles/secretmanager.secretAccessor"


def _delivered(reach: Reach) -> dict[str, set[str]]:
    """Tenant namespace -> the key secrets its ExternalSecrets deliver (from the rendered objects)."""
    out: dict[str, set[str]] = {}
    for es in reach.of_kind("ExternalSecret"):
        ns = es["metadata"]["namespace"]
        if ns not in ("llm-gateway", "monitoring"):
            out.setdefault(ns, set()).update(consumed(reach, ns))
    return out


def test_a_tenant_namespace_reads_only_its_own_keys() -> None:
    """Enterprise delivers into `apps` and `data-science`: each reads exactly its keys, never the other's,
    never a gsm_only key, never a secret of the stack's."""
    run = run_scenario("enterprise")
    reach, keys = reach_of_run(run), tenant_key_secrets(run)
    delivered = _delivered(reach)
    assert set(delivered) == {"apps", "data-science"}
    assert delivered["apps"] == {"tenant-search-search-prod", "tenant-support-bot-support-bot-prod"}
    for ns, own in delivered.items():
        assert readable(reach, ns) == own
        others = set().union(*(v for k, v in delivered.items() if k != ns))
        assert others and not readable(reach, ns) & others
    gsm_only = keys - set().union(*delivered.values())
    assert gsm_only == {"tenant-search-search-batch"}
    assert all(not gsm_only & readable(reach, ns) for ns in {*delivered, "monitoring", *OTHER_NAMESPACES})


def test_a_grant_of_another_namespaces_key_is_caught() -> None:
    """The checker is not vacuous: give `apps`' reader data-science's key and `apps` reads too much."""
    reach = reach_of_run(run_scenario("enterprise"))
    apps_reader = next(
        g.member
        for g in reach.grants
        if g.secret_id == "tenant-search-search-prod" and g.role == ACCESSOR and "apps" in g.member
    )
    leaked = Reach(
        objects=reach.objects,
        grants=[*reach.grants, SecretGrant("tenant-research-research-eval", ACCESSOR, apps_reader)],
        impersonations=reach.impersonations,
    )
    assert reach_problems(leaked, ["apps", "data-science"]) == {
        "apps": {"extra": ["tenant-research-research-eval"], "unreadable": []}
    }


def test_the_reconciler_identity_reaches_only_the_tenant_key_secrets() -> None:
    """Its Google account (the KSA litellm-tenants' annotation) holds versionAdder and accessor once each, on the
    project, conditioned on the tenant prefix: it covers exactly the key secrets; the gateway namespace reads them
    through it, and nothing of them reaches Grafana's."""
    run = run_scenario("enterprise")
    reach, keys = reach_of_run(run), tenant_key_secrets(run)
    (ksa,) = [o for o in reach.of_kind("ServiceAccount") if o["metadata"]["name"] == "litellm-tenants"]
    member = f"serviceAccount:{ksa['metadata']['annotations']['iam.gke.io/gcp-service-account']}"
    held = [g for g in reach.grants if g.member == member]
    assert len(keys) == 6
    assert sorted(g.role for g in held) == [ACCESSOR, ADDER]
    assert all(g.secret_id is None and g.condition for g in held)
    assert all(granted(reach, g) == keys for g in held)
    assert keys <= readable(reach, "llm-gateway")
    assert not keys & readable(reach, "monitoring")


def test_a_prefix_grant_reads_the_known_secrets_it_admits_and_no_other() -> None:
    """A tenant namespace given the reconciler's kind of grant with a wider prefix reads the other tenants' keys
    and the stack's own secrets: caught. An expression the reader cannot follow counts as project-wide."""
    reach = reach_of_run(run_scenario("enterprise"))
    apps_reader = next(
        g.member
        for g in reach.grants
        if g.secret_id == "tenant-search-search-prod" and g.role == ACCESSOR and "apps" in g.member
    )
    wide = 'resource.name.startsWith("projects/123456789012/secrets/tenant-") || resource.name.startsWith("projects/p/secrets/x")'
    leaked = Reach(
        objects=reach.objects,
        grants=[*reach.grants, SecretGrant(None, ACCESSOR, apps_reader, wide)],
        impersonations=reach.impersonations,
        secrets=reach.secrets,
    )
    problems = reach_problems(leaked, ["apps", "data-science"])
    assert set(problems) == {"apps"}
    assert "tenant-research-research-eval" in problems["apps"]["extra"]
    assert "tenant-search-search-batch" in problems["apps"]["extra"]
    assert name_prefixes(wide) == {"tenant-", "x"}
    assert name_prefixes('resource.name.startsWith("projects/p/secrets/tenant-") && request.time < x') is None
    opaque = SecretGrant(None, ACCESSOR, apps_reader, 'resource.type == "secretmanager.googleapis.com/Secret"')
    assert granted(reach, opaque) == {EVERY_SECRET}


# --- the computation on small hand-made inputs ---------------------------------------------

POOL = "p.svc.id.goog"
GSA = "eso@p.iam.gserviceaccount.com"


def _es(namespace: str, *keys: str, store: str = "gsm", kind: str = "ClusterSecretStore") -> dict[str, Any]:
    return {
        "kind": "ExternalSecret",
        "metadata": {"name": f"es-{namespace}", "namespace": namespace},
        "spec": {
            "secretStoreRef": {"name": store, "kind": kind},
            "data": [{"secretKey": k, "remoteRef": {"key": k}} for k in keys],
        },
    }


def _ksa(namespace: str, name: str, gsa: str | None) -> dict[str, Any]:
    annotations = {"iam.gke.io/gcp-service-account": gsa} if gsa else {}
    return {"kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace, "annotations": annotations}}


def _gcpsm(ksa: str, ksa_namespace: str | None = None) -> dict[str, Any]:
    ref = {"name": ksa} | ({"namespace": ksa_namespace} if ksa_namespace else {})
    return {"gcpsm": {"projectID": "p", "auth": {"workloadIdentity": {"serviceAccountRef": ref}}}}


def test_one_identity_behind_a_store_for_two_namespaces_lets_each_read_both() -> None:
    """The single-store layout before Finding 1: one ClusterSecretStore admitting both namespaces, one GSA granted
    everything. Grafana's namespace could read the master key."""
    store = {
        "kind": "ClusterSecretStore",
        "metadata": {"name": "gsm"},
        "spec": {"provider": _gcpsm("eso", "external-secrets"), "conditions": [{"namespaces": ["gw", "mon"]}]},
    }
    reach = Reach(
        objects=[store, _ksa("external-secrets", "eso", GSA), _es("gw", "master-key"), _es("mon", "grafana-ro")],
        grants=[
            SecretGrant(s, "roles/secretmanager.secretAccessor", f"serviceAccount:{GSA}")
            for s in ("master-key", "grafana-ro")
        ],
        impersonations=[Impersonation(GSA, f"serviceAccount:{POOL}[external-secrets/eso]")],
    )
    assert reach_problems(reach, ["gw", "mon", "attacker"]) == {
        "gw": {"extra": ["grafana-ro"], "unreadable": []},
        "mon": {"extra": ["master-key"], "unreadable": []},
    }
    # Without the Workload Identity binding the store reads nothing: both are unreadable.
    unbound = Reach(objects=reach.objects, grants=reach.grants)
    assert reach_problems(unbound, ["mon"]) == {"mon": {"extra": [], "unreadable": ["grafana-ro"]}}


def test_an_editor_reaches_every_identity_of_the_namespace_not_only_the_stores() -> None:
    """A grant to a KSA principal, or to a GSA a KSA of the namespace may impersonate, is readable
    from the namespace even with no store using it: `edit` can create the store."""
    other = "other@p.iam.gserviceaccount.com"
    reach = Reach(
        objects=[_es("mon", "a")],
        grants=[
            SecretGrant("a", "roles/secretmanager.secretAccessor", f"serviceAccount:{POOL}[mon/x]"),
            SecretGrant("b", "roles/secretmanager.secretAccessor", f"serviceAccount:{other}"),
            SecretGrant(None, "roles/secretmanager.secretAccessor", f"serviceAccount:{POOL}[apps/y]"),
        ],
        impersonations=[Impersonation(other, f"serviceAccount:{POOL}[mon/z]")],
    )
    assert readable(reach, "mon") == {"a", "b"}
    assert readable(reach, "apps") == {EVERY_SECRET}
    assert readable(reach, "default") == set()


def test_a_namespaced_store_acts_as_its_own_namespaces_service_account() -> None:
    store = {
        "kind": "SecretStore",
        "metadata": {"name": "gsm", "namespace": "mon"},
        # A namespace on the ref is ignored for a SecretStore (ESO): still mon's KSA.
        "spec": {"provider": _gcpsm("reader", "gw")},
    }
    mon_gsa, gw_gsa = "mon@p.iam.gserviceaccount.com", "gw@p.iam.gserviceaccount.com"
    reach = Reach(
        objects=[
            store,
            _ksa("mon", "reader", mon_gsa),
            _ksa("gw", "reader", gw_gsa),
            _es("mon", "a", kind="SecretStore"),
        ],
        grants=[
            SecretGrant("a", "roles/secretmanager.secretAccessor", f"serviceAccount:{mon_gsa}"),
            SecretGrant("b", "roles/secretmanager.secretAccessor", f"serviceAccount:{gw_gsa}"),
        ],
        impersonations=[
            Impersonation(mon_gsa, f"serviceAccount:{POOL}[mon/reader]"),
            Impersonation(gw_gsa, f"serviceAccount:{POOL}[gw/reader]"),
        ],
    )
    assert readable(reach, "mon") == {"a"}
    assert readable(reach, "gw") == {"b"}


def test_a_live_policys_conditional_binding_keeps_its_condition() -> None:
    """`getIamPolicy` answers a conditional binding with its expression: the live check reads the reconciler's
    project grant as covering the tenant keys only, not every secret."""
    expression = 'resource.name.startsWith("projects/1/secrets/tenant-")'
    policy = {
        "bindings": [
            {
                "role": "roles/secretmanager.secretAccessor",
                "members": ["user:a"],
                "condition": {"expression": expression},
            }
        ]
    }
    (grant,) = policy_grants(None, policy)
    live = Reach(objects=(), grants=[grant], secrets={"tenant-a-k", "litellm-master-key"})
    assert granted(live, grant) == {"tenant-a-k"}
