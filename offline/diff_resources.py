"""What `python -m tools.diff` says about resources: create, delete, replace or update, and options.

A resource is matched by type and name, or by an alias naming a resource only the base has
(a rename that keeps the resource); a changed input forces a replacement by the rules below,
or the resource's own `replace_on_changes`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from offline.diff_sources import Preview

ALL = "*"

# Inputs the provider cannot change in place (its schema's ForceNew/replaceOnChanges).
REPLACE_ON: Mapping[str, tuple[str, ...]] = {
    # Every argument of a random resource forces a new value.
    "random:index/randomPassword:RandomPassword": (ALL,),
    "random:index/randomBytes:RandomBytes": (ALL,),
    "gcp:secretmanager/secret:Secret": ("secretId", "replication", "project"),
    "gcp:secretmanager/secretVersion:SecretVersion": ("secret", "secretData"),
    "gcp:secretmanager/secretIamMember:SecretIamMember": (ALL,),
    "gcp:serviceaccount/account:Account": ("accountId", "project"),
    "gcp:serviceaccount/iAMMember:IAMMember": (ALL,),
    "gcp:storage/bucket:Bucket": ("name", "location", "project"),
    "gcp:storage/bucketIAMMember:BucketIAMMember": (ALL,),
    "gcp:storage/hmacKey:HmacKey": ("serviceAccountEmail", "project"),
    "kubernetes:helm.sh/v3:Release": ("name", "namespace"),
    "postgresql:index/database:Database": ("name",),
}
# Every Kubernetes object is replaced when its identity changes.
KUBERNETES_IDENTITY = ("metadata.name", "metadata.namespace")


# Plus the Kubernetes fields the API server treats as immutable. A change at or under a path forces replacement.
K8S_IMMUTABLE: dict[str, tuple[str, ...]] = {
    "kubernetes:batch/v1:Job": ("spec.selector", "spec.template", "spec.completions"),
    "kubernetes:apps/v1:Deployment": ("spec.selector",),
    "kubernetes:apps/v1:DaemonSet": ("spec.selector",),
    "kubernetes:apps/v1:StatefulSet": (
        "spec.selector",
        "spec.serviceName",
        "spec.volumeClaimTemplates",
        "spec.podManagementPolicy",
    ),
    "kubernetes:core/v1:Service": ("spec.clusterIP",),
    "kubernetes:core/v1:Secret": ("type",),
    "kubernetes:core/v1:PersistentVolumeClaim": ("spec.accessModes", "spec.storageClassName", "spec.volumeName"),
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": ("roleRef",),
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": ("roleRef",),
}
_K8S_ALWAYS = (*KUBERNETES_IDENTITY, "apiVersion", "kind")


def replace_rules(type_: str) -> tuple[str, ...]:
    rules = [("" if p == ALL else p) for p in REPLACE_ON.get(type_, ())]
    rules += K8S_IMMUTABLE.get(type_, ())
    if type_.startswith("kubernetes:") and not type_.startswith("kubernetes:helm.sh/"):
        rules += _K8S_ALWAYS
    return tuple(rules)


def changed_paths(old: Any, new: Any, path: str = "") -> list[str]:
    """Dotted paths of every leaf that differs (lists compared by index)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            here = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                out.append(here)
            else:
                out += changed_paths(old[key], new[key], here)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            out += changed_paths(a, b, f"{path}[{i}]")
        return out
    return [] if old == new else [path or "<root>"]


def _under(path: str, prefix: str) -> bool:
    if prefix == "":
        return True
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def replacement_causes(type_: str, paths: Sequence[str], options: dict[str, Any]) -> list[str]:
    rules = [*replace_rules(type_), *(p.removeprefix("*") for p in options.get("replace_on_changes") or [])]
    return [p for p in paths if any(_under(p, rule) for rule in rules)]


@dataclass
class ResourceChange:
    op: str  # create, delete, replace, update
    type: str
    name: str
    detail: str = ""


def short(paths: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(f"`{p}`" for p in paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def diff_resources(base: Preview, head: Preview) -> tuple[list[ResourceChange], list[str]]:
    changes: list[ResourceChange] = []
    options: list[str] = []
    renamed = _renames(base, head)
    for key in sorted((set(base.resources) | set(head.resources)) - set(renamed.values())):
        type_, name = key
        old, new = base.resources.get(renamed.get(key, key)), head.resources.get(key)
        if key in renamed:
            options.append(
                f"`{name}` ({type_}): renamed from `{renamed[key][1]}` (an alias keeps it the same resource)"
            )
        if old is None and new is not None:
            flags = [k for k in ("protect", "retain_on_delete") if (new.get("options") or {}).get(k)]
            changes.append(ResourceChange("create", type_, name, f"options: {', '.join(flags)}" if flags else ""))
            continue
        if new is None and old is not None:
            opts = old.get("options") or {}
            note = "**protected: Pulumi will refuse until unprotected**" if opts.get("protect") else ""
            if opts.get("retain_on_delete"):
                note = (note + "; " if note else "") + "retained in the cloud (retain_on_delete)"
            changes.append(ResourceChange("delete", type_, name, note))
            continue
        assert old is not None and new is not None
        paths = changed_paths(old.get("inputs"), new.get("inputs"))
        if old.get("parent") != new.get("parent"):
            options.append(f"`{name}` ({type_}): parent `{old.get('parent')}` → `{new.get('parent')}`")
        options += option_changes(type_, name, old.get("options") or {}, new.get("options") or {})
        if not paths:
            continue
        causes = replacement_causes(type_, paths, new.get("options") or {})
        if causes:
            protected = (old.get("options") or {}).get("protect")
            note = f"replaced because of {short(causes)}" + ("; **protected: Pulumi will refuse**" if protected else "")
            changes.append(ResourceChange("replace", type_, name, note))
        else:
            changes.append(ResourceChange("update", type_, name, short(paths)))
    return changes, options


def _alias_names(resource: dict[str, Any]) -> set[str]:
    """Names in the recorded aliases (`name`, `name (type)`, `name (parent p)`); not type-only aliases."""
    names = {str(a).split(" (", 1)[0] for a in (resource.get("options") or {}).get("aliases") or []}
    return names - {"<same name>", resource["name"]}


def _renames(base: Preview, head: Preview) -> dict[tuple[str, str], tuple[str, str]]:
    """Head resource -> the base resource it aliases (present only in base, same type)."""
    out = {}
    for key, resource in head.resources.items():
        if key in base.resources:
            continue
        for alias in sorted(_alias_names(resource)):
            old_key = (key[0], alias)
            if old_key in base.resources and old_key not in head.resources:
                out[key] = old_key
                break
    return out


def option_changes(type_: str, name: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """One line per resource whose options differ (nothing when a side did not record options)."""
    if not old or not new:
        return []
    parts = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, list) or isinstance(b, list):
            added = sorted(set(b or []) - set(a or []))
            removed = sorted(set(a or []) - set(b or []))
            parts.append(f"{key} " + ", ".join([f"+`{x}`" for x in added] + [f"-`{x}`" for x in removed]))
        else:
            parts.append(f"{key} {json.dumps(a)} → {json.dumps(b)}")
    return [f"`{name}` ({type_}): {'; '.join(parts)}"] if parts else []
