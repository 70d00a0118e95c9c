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
    name: str
    kind: str = "ClusterSecretStore"


@dataclass(frozen=True)
class RemoteEntry:
    """One GSM secret read into the template context under `secret_key`."""

    secret_key: str
    gsm_secret_id: str
    version: str = "latest"


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


def cluster_secret_store(
    *,
    name: str,
    project_id: str,
    cluster_location: str,
    cluster_name: str,
    service_account: str,
    service_account_namespace: str,
    namespaces: Sequence[str],
) -> dict[str, Any]:
    """A GCP Secret Manager ClusterSecretStore authenticating by Workload Identity.

    `spec.conditions` admits ExternalSecrets from `namespaces` only: without it, an
    ExternalSecret in any namespace could read every secret the store's account may.
    """
    if not namespaces:
        raise ValueError(f"ClusterSecretStore {name} needs at least one namespace")
    return {
        "apiVersion": API_VERSION,
        "kind": "ClusterSecretStore",
        "metadata": metadata(name, app="external-secrets-store"),
        "spec": {
            "provider": {
                "gcpsm": {
                    "projectID": project_id,
                    "auth": {
                        "workloadIdentity": {
                            "clusterLocation": cluster_location,
                            "clusterName": cluster_name,
                            "clusterProjectID": project_id,
                            "serviceAccountRef": {
                                "name": service_account,
                                "namespace": service_account_namespace,
                            },
                        }
                    },
                }
            },
            "conditions": [{"namespaces": sorted(set(namespaces))}],
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
                    "remoteRef": {"key": e.gsm_secret_id, "version": e.version},
                }
                for e in entries
            ],
        },
    }
