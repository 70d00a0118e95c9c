"""Which Google Secret Manager secrets each namespace could read through External Secrets Operator.

The reading logic of docs/security.md, Finding 1, kept apart from where its inputs come from: the
tests feed it the objects and IAM bindings the program renders (tests/support/secret_reach.py); the
live check (`python -m tools.verify STACK --only reach`) feeds it what `kubectl get` and the IAM
policies of the secrets, the project and the Google service accounts say (`policy_bindings`).

A namespace N reads a GSM secret when an identity usable from N holds a role on it that
includes `secretmanager.versions.access`. The identities usable from N:

1. every store N's ExternalSecrets may use: a `SecretStore` in N, and every `ClusterSecretStore`
   whose `spec.conditions` admit N (ESO's rule, `store_admits`). A gcpsm store with
   `auth.workloadIdentity` acts as the Kubernetes service account it names (for a
   SecretStore, in its own namespace; for a ClusterSecretStore, in `serviceAccountRef.namespace`,
   or in N when that is omitted: referent auth). ESO then uses the Google service account of the
   KSA's `iam.gke.io/gcp-service-account` annotation if that KSA may impersonate it
   (`roles/iam.workloadIdentityUser` or `serviceAccountTokenCreator`), otherwise the KSA's own
   federated principal (`serviceAccount:<project>.svc.id.goog[<ns>/<ksa>]`);
2. whatever anyone who may edit in N can configure there on their own: ESO's chart lets
   `edit` create SecretStores and ExternalSecrets, and `edit` creates ServiceAccounts, so every
   KSA principal of N (existing or not) and every Google service account that a KSA of N may
   impersonate.

A grant to one of those identities on a secret (or project-wide: every secret) makes the
secret readable from N. A conditional grant counts as if it always applied, except a project-wide
one whose condition is a disjunction of `resource.name.startsWith("projects/P/secrets/PREFIX")`
terms (`name_prefixes`): that one reads the known secrets (`Reach.secrets`) whose id starts with a
PREFIX (the tenants reconciler's grants, docs/decisions.md). What N consumes is what its ExternalSecrets reference
(`spec.data[].remoteRef.key`, `spec.dataFrom[].extract.key`).

Pure: no Pulumi, no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

READ_ROLES = frozenset({"roles/secretmanager.secretAccessor", "roles/secretmanager.admin", "roles/owner"})
"""Predefined roles that include `secretmanager.versions.access` (reading a secret's value)."""
IMPERSONATION_ROLES = frozenset({"roles/iam.workloadIdentityUser", "roles/iam.serviceAccountTokenCreator"})
"""Roles on a Google service account that let a member obtain its tokens."""
GSA_ANNOTATION = "iam.gke.io/gcp-service-account"
EVERY_SECRET = "*"
"""In a readable set: a project-wide grant, so every secret of the project."""

_KSA_PRINCIPAL = re.compile(r"^serviceAccount:(?P<pool>[^\[\]]+\.svc\.id\.goog)\[(?P<ns>[^/\]]+)/(?P<ksa>[^\]]+)\]$")


@dataclass(frozen=True)
class SecretGrant:
    """One IAM member on one GSM secret (`secret_id`), or on the project (`secret_id` None)."""

    secret_id: str | None
    role: str
    member: str
    condition: str | None = None
    """The binding's IAM condition expression (None: unconditional)."""


@dataclass(frozen=True)
class Impersonation:
    """`member` may act as the Google service account `gsa_email` (a role of IMPERSONATION_ROLES)."""

    gsa_email: str
    member: str


@dataclass(frozen=True)
class Reach:
    """The inputs: Kubernetes objects (stores, ServiceAccounts, ExternalSecrets) and IAM bindings."""

    objects: Sequence[Mapping[str, Any]]
    grants: Sequence[SecretGrant]
    impersonations: Sequence[Impersonation] = ()
    namespace_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Labels of namespaces (for `namespaceSelector` conditions), beyond `kubernetes.io/metadata.name`."""
    secrets: Collection[str] = ()
    """The GSM secret ids known (rendered, or this stack's): what a prefix-conditioned project grant reads."""

    def of_kind(self, kind: str) -> list[Mapping[str, Any]]:
        return [o for o in self.objects if o.get("kind") == kind]

    def members(self) -> list[str]:
        """Every IAM principal granted a secret or allowed to impersonate a Google service account."""
        return [g.member for g in self.grants] + [i.member for i in self.impersonations]

    def namespaces(self) -> set[str]:
        """Every namespace an object or an IAM principal names."""
        named = {str(o["metadata"]["namespace"]) for o in self.objects if (o.get("metadata") or {}).get("namespace")}
        return named | {p[1] for p in map(ksa_principal, self.members()) if p is not None}


def gsm_secret_id(key: str) -> str:
    """A remoteRef key or an IAM resource (`projects/P/secrets/ID`) as the secret id."""
    return key.rsplit("/secrets/", 1)[-1].split("/", 1)[0]


def ksa_principal(member: str) -> tuple[str, str, str] | None:
    """(pool, namespace, ksa) of a Workload Identity member, None for any other member."""
    m = _KSA_PRINCIPAL.match(member)
    return (m["pool"], m["ns"], m["ksa"]) if m else None


TENANTS_CONFIG_MAP = "litellm-tenants"
"""The tenants reconciler's ConfigMap (components/tenants/manifests.py): its document names the secrets it reads."""
TENANTS_DOCUMENT = "desired.json"
"""The ConfigMap's key holding the reconciler's desired document."""


def read_directly(reach: Reach, namespace: str) -> set[str]:
    """The GSM secrets the program's own workloads of `namespace` read without ESO: the tenants reconciler's keys."""
    out: set[str] = set()
    for cm in reach.of_kind("ConfigMap"):
        meta = cm["metadata"]
        if meta.get("namespace") == namespace and meta["name"] == TENANTS_CONFIG_MAP:
            document = json.loads(cm["data"][TENANTS_DOCUMENT])
            out |= {gsm_secret_id(key["gsm_secret"]) for key in document["keys"]}
    return out


def consumed(reach: Reach, namespace: str) -> set[str]:
    """The GSM secrets the ExternalSecrets of `namespace` reference, and those its own workloads read directly."""
    out: set[str] = read_directly(reach, namespace)
    for es in reach.of_kind("ExternalSecret"):
        if es["metadata"].get("namespace") != namespace:
            continue
        spec = es.get("spec") or {}
        out |= {gsm_secret_id(d["remoteRef"]["key"]) for d in spec.get("data") or []}
        for item in spec.get("dataFrom") or []:
            if "extract" not in item:
                raise ValueError(f"ExternalSecret {namespace}/{es['metadata']['name']}: dataFrom {item} is unbounded")
            out.add(gsm_secret_id(item["extract"]["key"]))
    return out


def _gsa_of(reach: Reach, ksa_namespace: str, ksa: str) -> str | None:
    for sa in reach.of_kind("ServiceAccount"):
        meta = sa["metadata"]
        if meta.get("namespace") == ksa_namespace and meta["name"] == ksa:
            return (meta.get("annotations") or {}).get(GSA_ANNOTATION)
    return None


def _may_impersonate(reach: Reach, member: str, gsa: str) -> bool:
    return any(i.gsa_email == gsa and i.member == member for i in reach.impersonations)


def store_identity(reach: Reach, store: Mapping[str, Any], namespace: str) -> set[str]:
    """The IAM members a gcpsm store acts as for an ExternalSecret of `namespace` (empty: no gcpsm)."""
    gcpsm = ((store.get("spec") or {}).get("provider") or {}).get("gcpsm")
    if gcpsm is None:
        return set()
    name = f"{store['kind']} {store['metadata']['name']}"
    auth = gcpsm.get("auth") or {}
    wi = auth.get("workloadIdentity")
    if wi is None or set(auth) != {"workloadIdentity"}:
        raise ValueError(f"{name}: only auth.workloadIdentity can be followed, got {sorted(auth) or 'none'}")
    ref = wi["serviceAccountRef"]
    # A SecretStore's KSA is of its own namespace; a ClusterSecretStore's of the ref's, else the reader's.
    own = store["metadata"]["namespace"] if store["kind"] == "SecretStore" else None
    ksa_ns = own or ref.get("namespace") or namespace
    pool = f"{wi.get('clusterProjectID') or gcpsm['projectID']}.svc.id.goog"
    principal = f"serviceAccount:{pool}[{ksa_ns}/{ref['name']}]"
    gsa = _gsa_of(reach, ksa_ns, ref["name"])
    if gsa is None:
        return {principal}
    return {f"serviceAccount:{gsa}"} if _may_impersonate(reach, principal, gsa) else set()


def usable_stores(reach: Reach, namespace: str) -> list[Mapping[str, Any]]:
    """The SecretStores of `namespace` and the ClusterSecretStores that admit it."""
    own = [s for s in reach.of_kind("SecretStore") if s["metadata"].get("namespace") == namespace]
    labels = reach.namespace_labels.get(namespace)
    cluster = [s for s in reach.of_kind("ClusterSecretStore") if store_admits(s, namespace, labels)]
    return own + cluster


def editor_identities(reach: Reach, namespace: str) -> set[str]:
    """What someone who may edit in `namespace` can make a store of their own act as: any KSA of
    the namespace (the members naming one) and every GSA a KSA of the namespace may impersonate."""
    own = {m for m in reach.members() if (p := ksa_principal(m)) is not None and p[1] == namespace}
    gsas = {f"serviceAccount:{i.gsa_email}" for i in reach.impersonations if i.member in own}
    return own | gsas


def identities(reach: Reach, namespace: str) -> set[str]:
    """Every IAM member usable from `namespace` (the stores it may use, and what its editors can set up)."""
    out = editor_identities(reach, namespace)
    for store in usable_stores(reach, namespace):
        out |= store_identity(reach, store, namespace)
    return out


_STARTS_WITH = re.compile(r'^resource\.name\.startsWith\("projects/[^/"]+/secrets/(?P<prefix>[^/"]+)"\)$')


def name_prefixes(condition: str) -> set[str] | None:
    """The secret-id prefixes of a condition that is only `resource.name.startsWith("projects/P/secrets/X")`
    terms joined by `||` (a secret's versions have names under it too); None for any other condition."""
    out: set[str] = set()
    for term in condition.split("||"):
        m = _STARTS_WITH.match(term.strip())
        if m is None:
            return None
        out.add(m["prefix"])
    return out


def granted(reach: Reach, grant: SecretGrant) -> set[str]:
    """The GSM secrets one grant covers: its secret; for a project-wide one EVERY_SECRET, or the known
    secrets its name-prefix condition admits. Any other condition may apply, so it is ignored."""
    if grant.secret_id is not None:
        return {grant.secret_id}
    prefixes = None if grant.condition is None else name_prefixes(grant.condition)
    if prefixes is None:
        return {EVERY_SECRET}
    return {s for s in reach.secrets if s.startswith(tuple(prefixes))}


def readable(reach: Reach, namespace: str) -> set[str]:
    """The GSM secrets `namespace` could read (EVERY_SECRET for a project-wide grant)."""
    usable = identities(reach, namespace)
    out: set[str] = set()
    for g in reach.grants:
        if g.role in READ_ROLES and g.member in usable:
            out |= granted(reach, g)
    return out


def reach_problems(
    reach: Reach, namespaces: Iterable[str], within: Collection[str] | None = None
) -> dict[str, dict[str, list[str]]]:
    """Per namespace whose readable set differs from what it consumes: the secrets it could read
    but does not consume (`extra`) and those it consumes but could not read (`unreadable`).

    `within`: compare only these secrets (a project-wide grant reads each of them), for a live
    cluster where the IAM policies of other teams' secrets are neither known nor this stack's business."""
    out: dict[str, dict[str, list[str]]] = {}
    for ns in sorted(set(namespaces)):
        can, uses = readable(reach, ns), consumed(reach, ns)
        if within is not None:
            scope = set(within)
            can = scope if EVERY_SECRET in can else can & scope
            uses &= scope
        if can != uses:
            out[ns] = {"extra": sorted(can - uses), "unreadable": sorted(uses - can)}
    return out


def policy_grants(secret_id: str | None, policy: Mapping[str, Any]) -> list[SecretGrant]:
    """The members of an IAM policy (`{"bindings": [{"role", "members"}]}`, as `getIamPolicy` answers)
    on one secret, or on the project (`secret_id` None), each with its condition's expression."""
    return [
        SecretGrant(secret_id, b["role"], m, (b.get("condition") or {}).get("expression"))
        for b in policy.get("bindings") or []
        for m in b.get("members") or []
    ]


def policy_impersonations(gsa_email: str, policy: Mapping[str, Any]) -> list[Impersonation]:
    """Who may act as `gsa_email`, from the Google service account's own IAM policy."""
    return [
        Impersonation(gsa_email, m)
        for b in policy.get("bindings") or []
        if b["role"] in IMPERSONATION_ROLES
        for m in b.get("members") or []
    ]


# --- ESO: which namespaces a ClusterSecretStore admits (`spec.conditions`) ----------------------


def _selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def store_admits(store: Mapping[str, Any], namespace: str, labels: Mapping[str, str] | None = None) -> bool:
    """Whether a ClusterSecretStore serves `namespace`. No condition: every namespace. Otherwise one
    condition names it (`namespaces`), matches one of its regexes (`namespaceRegexes`, Go `MatchString`:
    unanchored) or selects its labels (`namespaceSelector`; every namespace carries
    `kubernetes.io/metadata.name`)."""
    conditions = (store.get("spec") or {}).get("conditions") or []
    if not conditions:
        return True
    ns_labels = {"kubernetes.io/metadata.name": namespace, **(labels or {})}
    for cond in conditions:
        if namespace in (cond.get("namespaces") or []):
            return True
        if any(re.search(rx, namespace) for rx in cond.get("namespaceRegexes") or []):
            return True
        if cond.get("namespaceSelector") and _selects(cond["namespaceSelector"], ns_labels):
            return True
    return False
