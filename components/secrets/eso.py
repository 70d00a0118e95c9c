"""Pure builders for External Secrets Operator objects (external-secrets.io/v1).

No Pulumi calls: plain dicts from typed arguments, validated in the tests
against ESO's CRD schemas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.kit import metadata

API_VERSION = "external-secrets.io/v1"


@dataclass(frozen=True)
class StoreRef:
    """The store an ExternalSecret reads through (`spec.secretStoreRef`)."""

    name: str
    kind: str = "SecretStore"
    namespace: str | None = None
    """A SecretStore's namespace: only ExternalSecrets of that namespace may use it (None: not known here)."""


@dataclass(frozen=True)
class RemoteEntry:
    """One GSM secret read into the template context under `secret_key`."""

    secret_key: str
    gsm_secret_id: str
    version: str = "latest"
    property: str | None = None
    """A field of the version's JSON payload (ESO's `remoteRef.property`); None: the whole payload."""


@dataclass(frozen=True)
class TargetSecret:
    """The Kubernetes Secret ESO renders (`spec.target`)."""

    name: str
    namespace: str
    secret_type: str = "Opaque"
    labels: Mapping[str, str] = field(default_factory=dict)
    # Go templates (ESO engine v2) keyed by the rendered Secret's data keys; when
    # empty, the Secret holds the remote entries under their secret_key.
    template_data: Mapping[str, str] = field(default_factory=dict)


def secret_store(
    *,
    name: str,
    namespace: str,
    project_id: str,
    cluster_location: str,
    cluster_name: str,
    service_account: str,
) -> dict[str, Any]:
    """A namespaced GCP Secret Manager SecretStore authenticating by Workload Identity.

    It acts as the Kubernetes service account `service_account` of its own namespace (ESO
    ignores `serviceAccountRef.namespace` on a SecretStore), so only ExternalSecrets of this
    namespace use it and it reads only what that namespace's Google service account may.
    """
    return {
        "apiVersion": API_VERSION,
        "kind": "SecretStore",
        "metadata": metadata(name, namespace, app="external-secrets-store"),
        "spec": {
            "provider": {
                "gcpsm": {
                    "projectID": project_id,
                    "auth": {
                        "workloadIdentity": {
                            "clusterLocation": cluster_location,
                            "clusterName": cluster_name,
                            "clusterProjectID": project_id,
                            "serviceAccountRef": {"name": service_account},
                        }
                    },
                }
            },
        },
    }


def external_secret(
    *,
    name: str,
    store: StoreRef,
    entries: Sequence[RemoteEntry],
    target: TargetSecret,
    refresh_interval: str,
) -> dict[str, Any]:
    """An ExternalSecret that renders GSM entries into one Kubernetes Secret."""
    if not entries:
        raise ValueError(f"ExternalSecret {name} needs at least one remote entry")
    if store.kind == "SecretStore" and store.namespace not in (None, target.namespace):
        raise ValueError(
            f"ExternalSecret {target.namespace}/{name} cannot read through SecretStore {store.namespace}/{store.name}: "
            "a SecretStore serves its own namespace only"
        )
    template: dict[str, Any] = {
        "engineVersion": "v2",
        "type": target.secret_type,
        "metadata": {"labels": {**metadata(target.name, app=name)["labels"], **target.labels}},
    }
    if target.template_data:
        template["data"] = dict(target.template_data)
    return {
        "apiVersion": API_VERSION,
        "kind": "ExternalSecret",
        "metadata": metadata(name, target.namespace),
        "spec": {
            "refreshInterval": refresh_interval,
            "secretStoreRef": {"name": store.name, "kind": store.kind},
            "target": {
                "name": target.name,
                "creationPolicy": "Owner",
                "deletionPolicy": "Retain",
                "template": template,
            },
            "data": [
                {
                    "secretKey": e.secret_key,
                    "remoteRef": {
                        "key": e.gsm_secret_id,
                        "version": e.version,
                        **({"property": e.property} if e.property is not None else {}),
                    },
                }
                for e in entries
            ],
        },
    }
