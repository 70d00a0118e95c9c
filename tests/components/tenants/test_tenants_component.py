"""The tenants' Pulumi side: the desired document the reconciler accepts, one GSM secret per key
without a version, the reconciler's Job (named by its inputs, after LiteLLM) and CronJob under PSA
`restricted`, its NetworkPolicies, and each delivered key's ExternalSecret."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.tenants import manifests, reconciler
from components.tenants.desired import desired_document, document_text, run_hash
from offline.run import ProgramRun
from tests.support.config import stack_config
from tests.support.program import STACKS, created_after, run_cached
from tests.support.schemas import validation_errors

SECRET = "gcp:secretmanager/secret:Secret"


def _document(stack: str) -> dict[str, Any]:
    cfg = stack_config(stack)
    return desired_document(cfg.tenants, cfg.litellm, cfg.gcp.project, cfg.secrets.prefix)


@pytest.mark.parametrize("stack", STACKS)
def test_the_desired_document_is_one_the_reconciler_accepts(stack: str) -> None:
    doc = _document(stack)
    assert reconciler.check(json.loads(document_text(doc))) == []
    assert doc["keys"] and doc["teams"] and "sk-" not in document_text(doc)
    assert document_text(doc) == document_text(_document(stack))  # deterministic


def test_a_key_without_its_own_limits_carries_litellms_key_defaults() -> None:
    """Enterprise's default_key_rpm_limit (600) is what LiteLLM stores for a key without rpm_limit: the document
    says so, or the reconciler would report drift on every run."""
    keys = {k["key_alias"]: k for k in _document("enterprise")["keys"]}
    assert keys["search-prod"]["rpm_limit"] == 600 and keys["search-batch"]["rpm_limit"] == 300
    assert keys["research-notebooks"]["expires"] == "2027-06-30T00:00:00Z"
    assert keys["search-batch"]["models"] == ["gpt-4o-mini"] and keys["search-prod"]["models"] == [
        "gpt-4o",
        "gpt-4o-mini",
    ]
    assert (
        keys["search-prod"]["gsm_secret"]
        == f"projects/{stack_config('enterprise').gcp.project}/secrets/tenant-search-search-prod"
    )


def test_the_run_is_named_by_the_document_and_the_reconciler() -> None:
    base = run_hash("doc", "src")
    assert len({base, run_hash("doc2", "src"), run_hash("doc", "src2"), run_hash("docs", "rc")}) == 4


def _job(run: ProgramRun, kind: str) -> dict[str, Any]:
    (found,) = [
        o for o in run.kubernetes_objects() if o["kind"] == kind and o["metadata"]["name"].startswith("litellm-tenants")
    ]
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_the_job_runs_this_document_and_this_reconciler_under_restricted(stack: str) -> None:
    run = run_cached(stack)
    (cm,) = [
        o for o in run.kubernetes_objects() if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "litellm-tenants"
    ]
    assert cm["data"]["reconciler.py"] == manifests.RECONCILER_PATH.read_text(encoding="utf-8")
    assert cm["data"]["desired.json"] == document_text(_document(stack))
    job, cron = _job(run, "Job"), _job(run, "CronJob")
    assert (
        job["metadata"]["name"]
        == f"litellm-tenants-{run_hash(cm['data']['desired.json'], cm['data']['reconciler.py'])}"
    )
    assert cron["spec"]["schedule"] == stack_config(stack).tenants.reconcile_schedule
    for obj in (job, cron):
        assert validation_errors(obj) == []
    for pod in (job["spec"]["template"], cron["spec"]["jobTemplate"]["spec"]["template"]):
        spec = pod["spec"]
        assert spec["serviceAccountName"] == "litellm-tenants" and spec["automountServiceAccountToken"] is False
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        (container,) = spec["containers"]
        assert container["image"] == stack_config(stack).litellm.image
        assert container["command"] == ["python3", "/opt/tenants/reconciler.py", "/opt/tenants/desired.json"]
        sc = container["securityContext"]
        assert (
            sc["readOnlyRootFilesystem"]
            and not sc["allowPrivilegeEscalation"]
            and sc["capabilities"] == {"drop": ["ALL"]}
        )
        env = {e["name"]: e for e in container["env"]}
        assert env["LITELLM_URL"]["value"] == "http://litellm.llm-gateway.svc:4000"
        assert env["LITELLM_MASTER_KEY"]["valueFrom"] == {
            "secretKeyRef": {"name": "litellm-master-key", "key": "masterkey"}
        }


def test_the_job_runs_after_the_litellm_release_its_secrets_and_grants() -> None:
    run = run_cached("lab")
    waits = created_after(run, "llm-gateway-tenants-run")
    assert {"llm-gateway-litellm", "llm-gateway-master-key", "llm-gateway-tenants-config"} <= waits
    assert {"llm-gateway-tenants-workload-identity", "llm-gateway-tenants-ksa"} <= waits
    grants = [g.name for g in run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember") if "tenants" in g.name]
    assert grants and {g for g in grants if not g.endswith("-reader")} <= waits


@pytest.mark.parametrize("stack", STACKS)
def test_one_gsm_secret_per_key_without_a_version_never_deleted_by_pulumi(stack: str) -> None:
    """The secret is the key value's only copy: retained on delete (removing the key from config forgets it,
    the value stays in GSM) and deletion-protected in every stack; not `protect`, so removal is not refused."""
    run, cfg = run_cached(stack), stack_config(stack)
    secrets = {s.inputs["secretId"]: s for s in run.of_type(SECRET) if "key-alias" in (s.inputs.get("labels") or {})}
    assert len(secrets) == len([k for t in cfg.tenants.teams for k in t.keys])
    versions = {str(v.plain_inputs.get("secret")) for v in run.of_type("gcp:secretmanager/secretVersion:SecretVersion")}
    for secret_id, s in secrets.items():
        assert not [v for v in versions if secret_id in v]
        assert s.inputs["deletionProtection"] is True
        assert (s.protect, s.retain_on_delete) == (False, True)
        assert {"team", "key-alias", "cost-centre"} <= set(s.inputs["labels"])
        assert all(v == v.lower() and len(v) <= 63 for v in s.inputs["labels"].values())


def test_labels_and_deliveries_of_the_lab() -> None:
    run = run_cached("lab")
    (secret,) = [s for s in run.of_type(SECRET) if s.inputs["secretId"] == "tenant-platform-platform-cli"]
    assert {k: secret.inputs["labels"][k] for k in ("team", "key-alias", "cost-centre")} == {
        "team": "platform",
        "key-alias": "platform-cli",
        "cost-centre": "lab-0001",
    }
    (es,) = [e for e in run.custom_resources("ExternalSecret") if e["metadata"]["namespace"] == "dev-tools"]
    assert validation_errors(es) == []
    assert es["spec"]["target"]["name"] == "litellm-key"
    assert es["spec"]["secretStoreRef"] == {"name": "gcp-secret-manager", "kind": "SecretStore"}
    assert es["spec"]["data"] == [
        {
            "secretKey": "api-key",
            "remoteRef": {"key": "tenant-platform-platform-cli", "version": "latest", "property": "key"},
        }
    ]


def test_the_reconcilers_pods_reach_dns_litellm_the_metadata_server_and_https_only() -> None:
    run = run_cached("lab")
    policies = {
        o["metadata"]["name"]: o["spec"]
        for o in run.kubernetes_objects()
        if o["kind"] == "NetworkPolicy" and "tenants" in o["metadata"]["name"]
    }
    assert set(policies) == {"litellm-tenants-default-deny", "litellm-tenants-egress"}
    assert policies["litellm-tenants-default-deny"]["policyTypes"] == ["Ingress", "Egress"]
    dns, litellm, metadata, dataplane, google = policies["litellm-tenants-egress"]["egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    assert litellm == {
        "to": [
            {
                "podSelector": {
                    "matchLabels": {"app.kubernetes.io/name": "litellm", "app.kubernetes.io/instance": "litellm"}
                }
            }
        ],
        "ports": [{"protocol": "TCP", "port": 4000}],
    }
    assert metadata["to"] == [{"ipBlock": {"cidr": "169.254.169.254/32"}}] and metadata["ports"][0]["port"] == 80
    assert dataplane["ports"][0]["port"] == 988
    assert google["ports"] == [{"protocol": "TCP", "port": 443}]


def test_no_tenants_no_objects() -> None:
    run = run_cached("lab", "llm-gateway:tenants={}")
    assert not [r for r in run.resources if "tenants" in r.name]
    assert not [s for s in run.of_type(SECRET) if "key-alias" in (s.inputs.get("labels") or {})]
