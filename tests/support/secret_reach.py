"""Which Google Secret Manager secrets each namespace could read, for the program's rendered objects.

The computation is components/secrets/reach.py (docs/security.md, Finding 1), shared with the live
check `python -m tools.verify STACK --only reach`; `reach_of_run` feeds it what the program renders
under the mock engine: its Kubernetes objects and IAM bindings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.secrets.reach import (
    EVERY_SECRET,
    IMPERSONATION_ROLES,
    Impersonation,
    Reach,
    SecretGrant,
    consumed,
    granted,
    gsm_secret_id,
    name_prefixes,
    reach_problems,
    readable,
)

__all__ = [
    "EVERY_SECRET",
    "Impersonation",
    "Reach",
    "SecretGrant",
    "consumed",
    "granted",
    "gsm_secret_id",
    "name_prefixes",
    "project_grants_beyond_the_tenants_reconciler",
    "reach_of_run",
    "reach_problems",
    "readable",
    "tenant_key_secrets",
    "tenant_namespaces_of_run",
]


_SECRET_IAM = {
    "gcp:secretmanager/secretIamMember:SecretIamMember": "member",
    "gcp:secretmanager/secretIamBinding:SecretIamBinding": "members",
}
_PROJECT_IAM = {"gcp:projects/iAMMember:IAMMember": "member", "gcp:projects/iAMBinding:IAMBinding": "members"}
_GSA_IAM = {"gcp:serviceaccount/iAMMember:IAMMember": "member", "gcp:serviceaccount/iAMBinding:IAMBinding": "members"}


def _members(inputs: Mapping[str, Any], key: str) -> list[str]:
    value = inputs.get(key)
    return [value] if isinstance(value, str) else list(value or [])


def reach_of_run(run: Any) -> Reach:
    """A `offline.run.ProgramRun`'s Kubernetes objects and IAM bindings as a Reach."""
    grants: list[SecretGrant] = []
    impersonations: list[Impersonation] = []
    for r in run.resources:
        inputs = r.plain_inputs
        if r.type in _SECRET_IAM:
            secret = gsm_secret_id(str(inputs["secretId"]))
            grants += [SecretGrant(secret, inputs["role"], m) for m in _members(inputs, _SECRET_IAM[r.type])]
        elif r.type in _PROJECT_IAM:
            condition = (inputs.get("condition") or {}).get("expression")
            members = _members(inputs, _PROJECT_IAM[r.type])
            grants += [SecretGrant(None, inputs["role"], m, condition) for m in members]
        elif r.type in _GSA_IAM and inputs["role"] in IMPERSONATION_ROLES:
            email = str(inputs["serviceAccountId"]).rsplit("/", 1)[-1]
            impersonations += [Impersonation(email, m) for m in _members(inputs, _GSA_IAM[r.type])]
    secrets = {str(s.plain_inputs["secretId"]) for s in run.of_type("gcp:secretmanager/secret:Secret")}
    return Reach(objects=run.kubernetes_objects(), grants=grants, impersonations=impersonations, secrets=secrets)


def tenant_key_secrets(run: Any) -> set[str]:
    """The GSM secrets of the tenants' keys: those labelled with a `key-alias` (components/tenants)."""
    return {
        str(s.plain_inputs["secretId"])
        for s in run.of_type("gcp:secretmanager/secret:Secret")
        if "key-alias" in (s.plain_inputs.get("labels") or {})
    }


def tenant_namespaces_of_run(run: Any) -> set[str]:
    """The namespaces whose ExternalSecrets deliver a tenant's key."""
    keys = tenant_key_secrets(run)
    return {
        es["metadata"]["namespace"]
        for es in run.custom_resources("ExternalSecret")
        if any(gsm_secret_id(d["remoteRef"]["key"]) in keys for d in es["spec"].get("data") or [])
    }


def project_grants_beyond_the_tenants_reconciler(run: Any) -> list[str]:
    """Project-level IAM grants other than the tenants reconciler's two, which a condition limits
    to the tenants' key secrets (components/tenants): any other is a grant on every secret."""
    return [
        r.name
        for r in run.resources
        if r.type.startswith("gcp:projects/")
        and not (
            r.name.startswith("llm-gateway-tenants-keys-")
            and "startsWith" in str((r.plain_inputs.get("condition") or {}).get("expression", ""))
        )
    ]
