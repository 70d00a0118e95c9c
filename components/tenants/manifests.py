"""Pure builders of the tenants' Kubernetes objects: the ConfigMap (desired document + reconciler), the
reconciler's Job and CronJob, its NetworkPolicies, and the ExternalSecret delivering each key.

The reconciler runs in the pinned LiteLLM image (`python3 /opt/tenants/reconciler.py
/opt/tenants/desired.json`) as uid 65534 under PSA `restricted` (non-root, read-only root filesystem,
no privilege escalation, every capability dropped, seccomp RuntimeDefault), as the Kubernetes service
account `litellm-tenants` (Workload Identity: GSM), with the master key from its Secret. Its pods may
reach DNS, LiteLLM's API, the GKE metadata server (tokens) and Secret Manager over HTTPS only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from components.kit import (
    container_resources,
    deny_all,
    dns_egress,
    metadata,
    network_policy,
    restricted_container,
    restricted_pod,
    tcp_ports,
)
from components.scanner import PULL_POLICY, image_pin_skips, scanner_skips
from components.secrets.eso import RemoteEntry, StoreRef, TargetSecret, external_secret
from components.secrets.reach import TENANTS_CONFIG_MAP, TENANTS_DOCUMENT
from config import API_PORT, KEY_DATA_KEY, Resources
from config.litellm import NON_ROOT_UID

NAME: Final = TENANTS_CONFIG_MAP
"""The reconciler's Kubernetes service account, ConfigMap and CronJob, and the stem of its Jobs."""
APP: Final = NAME
MOUNT: Final = "/opt/tenants"
DOCUMENT_FILE: Final = TENANTS_DOCUMENT
RECONCILER_FILE: Final = "reconciler.py"
RECONCILER_PATH: Final = Path(__file__).with_name(RECONCILER_FILE)
PAYLOAD_PROPERTY: Final = "key"
"""The field of a key's GSM version (`{"key": "sk-...", "rotation": N}`) ESO delivers."""
METADATA_SERVER: Final = (("169.254.169.254/32", 80), ("169.254.169.252/32", 988))
"""The GKE metadata server (Workload Identity tokens): its address, and GKE Dataplane V2's redirect target."""
SECRETS_AS_ENV_REASON: Final = (
    "the reconciler (stdlib Python in the LiteLLM image) reads the master key from LITELLM_MASTER_KEY, as "
    "LiteLLM's own pods do; the Secret is the master key's ExternalSecret's, in the gateway namespace"
)
CONFIG_MAP_LIMIT: Final = 1_000_000
"""Kubernetes refuses a ConfigMap over 1 MiB (data included): the document must leave room for the source."""


def reconciler_source() -> str:
    """The reconciler's source, read when the program runs (it goes into the ConfigMap beside the document)."""
    return RECONCILER_PATH.read_text(encoding="utf-8")


def pod_labels() -> dict[str, str]:
    """The reconciler pods' labels: its NetworkPolicies and LiteLLM's ingress policy select them."""
    return {"app.kubernetes.io/name": APP}


def config_map_manifest(namespace: str, document: str, source: str) -> dict[str, Any]:
    size = len(document.encode()) + len(source.encode())
    if size > CONFIG_MAP_LIMIT:
        raise ValueError(f"ConfigMap {NAME}: {size} bytes, over Kubernetes' 1 MiB: declare fewer teams and keys")
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(NAME, namespace, app=APP),
        "data": {DOCUMENT_FILE: document, RECONCILER_FILE: source},
    }


def _container(image: str, litellm_url: str, master_key: tuple[str, str], resources: Resources) -> dict[str, Any]:
    secret, data_key = master_key
    return {
        "name": "reconcile",
        "image": image,
        "imagePullPolicy": PULL_POLICY,
        "command": ["python3", f"{MOUNT}/{RECONCILER_FILE}", f"{MOUNT}/{DOCUMENT_FILE}"],
        "env": [
            {"name": "LITELLM_URL", "value": litellm_url},
            {"name": "LITELLM_MASTER_KEY", "valueFrom": {"secretKeyRef": {"name": secret, "key": data_key}}},
            {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
            {"name": "PYTHONUNBUFFERED", "value": "1"},
        ],
        "resources": container_resources(resources),
        "securityContext": restricted_container(
            runAsUser=NON_ROOT_UID, runAsGroup=NON_ROOT_UID, readOnlyRootFilesystem=True
        ),
        "volumeMounts": [{"name": "tenants", "mountPath": MOUNT, "readOnly": True}],
    }


def job_spec(image: str, litellm_url: str, master_key: tuple[str, str], resources: Resources) -> dict[str, Any]:
    """One reconciler run: a pod that never restarts (the Job retries twice), done in 10 minutes."""
    pod = {
        "metadata": {"labels": {**metadata(NAME, app=APP)["labels"], **pod_labels()}},
        "spec": {
            "restartPolicy": "Never",
            "serviceAccountName": NAME,
            "automountServiceAccountToken": False,
            "securityContext": restricted_pod(NON_ROOT_UID),
            "containers": [_container(image, litellm_url, master_key, resources)],
            "volumes": [{"name": "tenants", "configMap": {"name": NAME}}],
        },
    }
    return {"backoffLimit": 2, "activeDeadlineSeconds": 600, "template": pod}


def scanner_annotations(image: str) -> dict[str, str]:
    return scanner_skips(image_pin_skips(image, "litellm.image") | {"CKV_K8S_35": SECRETS_AS_ENV_REASON})


def job_manifest(namespace: str, run: str, image: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The run of this document and reconciler (`run`: their hash): a change makes a new Job."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(f"{NAME}-{run}", namespace, app=APP, annotations=scanner_annotations(image)),
        "spec": dict(spec),
    }


def cronjob_manifest(namespace: str, schedule: str, image: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The drift-correcting run on `tenants.reconcile_schedule` (UTC), never two at once."""
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata(NAME, namespace, app=APP, annotations=scanner_annotations(image)),
        "spec": {
            "schedule": schedule,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 300,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {**spec, "ttlSecondsAfterFinished": 86400}},
        },
    }


def network_policy_manifests(
    namespace: str, litellm_pods: Mapping[str, str], google_apis_cidrs: tuple[str, ...]
) -> list[dict[str, Any]]:
    """No ingress; egress to DNS, LiteLLM's API, the metadata server and Secret Manager (HTTPS) only."""
    pods = {"matchLabels": pod_labels()}
    egress = [
        dns_egress(),
        {"to": [{"podSelector": {"matchLabels": dict(litellm_pods)}}], "ports": tcp_ports(API_PORT)},
        *({"to": [{"ipBlock": {"cidr": cidr}}], "ports": tcp_ports(port)} for cidr, port in METADATA_SERVER),
        {"to": [{"ipBlock": {"cidr": cidr}} for cidr in google_apis_cidrs], "ports": tcp_ports(443)},
    ]
    return [
        network_policy(f"{NAME}-default-deny", namespace, APP, deny_all(pods)),
        network_policy(
            f"{NAME}-egress", namespace, APP, {"podSelector": pods, "policyTypes": ["Egress"], "egress": egress}
        ),
    ]


def key_external_secret(
    gsm_secret_id: str, namespace: str, secret: str, store: StoreRef, refresh_interval: str
) -> dict[str, Any]:
    """Secret `<secret>` in the tenant namespace, data key `api-key`: the `key` field of the latest version."""
    return external_secret(
        name=secret,
        store=store,
        entries=[RemoteEntry(secret_key=KEY_DATA_KEY, gsm_secret_id=gsm_secret_id, property=PAYLOAD_PROPERTY)],
        target=TargetSecret(name=secret, namespace=namespace),
        refresh_interval=refresh_interval,
    )
