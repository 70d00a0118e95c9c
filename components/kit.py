"""The kit every component shares: Kubernetes labels and metadata, resource options from settings, GCP helpers.

Pure helpers, testable without an engine, and a few registration helpers that register
exactly what a pure builder rendered (or one small GCP pattern several components share).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from config import DataSafetyConfig, NetworkConfig, Resources, StackConfig

PART_OF = "llm-gateway"


def labels(name: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The labels every object carries (docs/design.md, "Conventions")."""
    base = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    }
    return {**base, **(extra or {})}


def metadata(
    name: str,
    namespace: str | None = None,
    *,
    app: str | None = None,
    extra_labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels(app or name, extra_labels)}
    if namespace is not None:
        meta["namespace"] = namespace
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def object_meta(meta: Mapping[str, Any]) -> k8s.meta.v1.ObjectMetaArgs:
    """Typed ObjectMeta for the SDK's typed resources, from a `metadata()` dict."""
    return k8s.meta.v1.ObjectMetaArgs(
        name=meta["name"],
        namespace=meta.get("namespace"),
        labels=meta.get("labels"),
        annotations=meta.get("annotations"),
    )


SCANNER_SKIP = "checkov.io/skip"
"""The annotation key prefix (`checkov.io/skip1`, `checkov.io/skip2`...) of a Checkov skip."""
_SCANNER_CHECK = re.compile(r"CKV2?_K8S_[0-9]+")


def scanner_skips(reasons: Mapping[str, str]) -> dict[str, str]:
    """The annotations that skip Checkov checks on one object, each with its one-line reason:
    `{"CKV_K8S_43": "why"}` -> `{"checkov.io/skip1": "CKV_K8S_43=why"}` (numbered in check order).

    Checkov reads them from the object's TOP-LEVEL `metadata.annotations` only (not a pod
    template's). docs/security.md ("Scanner skips") lists every skip a stack renders, and
    tests/program/test_checkov.py keeps that list equal to the rendered objects'. A reason is
    one line without `=` (Checkov splits the value on it) or `|` (it is a Markdown table cell).
    """
    problems = [
        f"{check!r}: not a Checkov Kubernetes check id" for check in reasons if not _SCANNER_CHECK.fullmatch(check)
    ]
    problems += [
        f"{check}: the reason must be one line of text without '=' or '|'"
        for check, reason in reasons.items()
        if not reason.strip() or reason != reason.strip() or any(c in reason for c in "=|\n\r")
    ]
    if problems:
        raise ValueError("scanner skips: " + "; ".join(problems))
    ordered = sorted(reasons, key=lambda check: (check.startswith("CKV2"), int(check.rsplit("_", 1)[1])))
    return {f"{SCANNER_SKIP}{i}": f"{check}={reasons[check]}" for i, check in enumerate(ordered, 1)}


def restricted_pod(uid: int | None = None) -> dict[str, Any]:
    """Pod securityContext for the namespace's PSA `restricted` profile (optionally a fixed uid/gid)."""
    pod: dict[str, Any] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    if uid is not None:
        pod.update(runAsUser=uid, runAsGroup=uid, fsGroup=uid)
    return pod


def restricted_container(**extra: Any) -> dict[str, Any]:
    """Container securityContext for PSA `restricted`: no escalation, no capabilities, seccomp on."""
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
        **extra,
    }


def ingress(
    resource_name: str, manifest: Mapping[str, Any] | None, opts: pulumi.ResourceOptions
) -> k8s.networking.v1.Ingress | None:
    """Register an Ingress exactly as a pure builder rendered it (None: nothing to register)."""
    if manifest is None:
        return None
    return k8s.networking.v1.Ingress(
        resource_name, metadata=object_meta(manifest["metadata"]), spec=manifest["spec"], opts=opts
    )


def deny_all(pods: Mapping[str, Any]) -> dict[str, Any]:
    """The spec of a default-deny policy: the selected pods get no traffic in or out but what
    other policies of theirs allow."""
    return {"podSelector": pods, "policyTypes": ["Ingress", "Egress"]}


def network_policy(name: str, namespace: str, app: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """One NetworkPolicy manifest: the kit's metadata around a spec."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(name, namespace, app=app),
        "spec": spec,
    }


def network_policies(
    prefix: str, manifests: Sequence[Mapping[str, Any]], opts: pulumi.ResourceOptions
) -> list[k8s.networking.v1.NetworkPolicy]:
    """Register NetworkPolicies exactly as a pure builder rendered them."""
    return [
        k8s.networking.v1.NetworkPolicy(
            f"{prefix}-{policy['metadata']['name']}",
            metadata=object_meta(policy["metadata"]),
            spec=policy["spec"],
            opts=opts,
        )
        for policy in manifests
    ]


def custom_resource(
    resource_name: str, manifest: Mapping[str, Any], opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    """Register a custom resource exactly as a pure builder rendered it."""
    body = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind", "metadata")}
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata=manifest["metadata"],
        opts=opts,
        **body,
    )


def container_resources(res: Resources) -> dict[str, Any]:
    """A container's `resources` block (requests and limits) from config."""
    return {
        "requests": {"cpu": res.requests.cpu, "memory": res.requests.memory},
        "limits": {"cpu": res.limits.cpu, "memory": res.limits.memory},
    }


def tcp_ports(*ports: int) -> list[dict[str, Any]]:
    """The `ports` of a NetworkPolicy rule: these TCP ports."""
    return [{"protocol": "TCP", "port": port} for port in ports]


def namespace_peer(namespace: str) -> dict[str, Any]:
    """A NetworkPolicy peer: every pod of one namespace (by its immutable name label)."""
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}


def prometheus_peer(net: NetworkConfig) -> dict[str, Any]:
    """The Prometheus server pods only (one peer: namespace AND pod labels), not the whole
    monitoring namespace (Grafana and friends): they alone may read unauthenticated metrics."""
    return {**namespace_peer(net.prometheus_namespace), "podSelector": {"matchLabels": dict(net.prometheus_pod_labels)}}


DNS_NAMESPACE = "kube-system"
DNS_PORT = 53


def dns_egress() -> dict[str, Any]:
    """The egress rule every default-deny policy needs: DNS (UDP and TCP) to the cluster's resolver."""
    return {
        "to": [namespace_peer(DNS_NAMESPACE)],
        "ports": [{"protocol": "UDP", "port": DNS_PORT}, {"protocol": "TCP", "port": DNS_PORT}],
    }


def helm_fullname(release: str, chart: str) -> str:
    """A chart's `<chart>.fullname` without fullnameOverride: the release name when it already
    contains the chart's name, else `<release>-<chart>` (the rule of Helm's scaffold)."""
    return release if chart in release else f"{release}-{chart}"


def service_host(service: str, namespace: str, *, fully_qualified: bool = False) -> str:
    """A Service's in-cluster DNS name: `<svc>.<ns>.svc` (resolved through the pod's search
    domains), or with `fully_qualified` the absolute `<svc>.<ns>.svc.cluster.local`."""
    host = f"{service}.{namespace}.svc"
    return f"{host}.cluster.local" if fully_qualified else host


def tls_ingress(
    name: str,
    namespace: str,
    *,
    app: str,
    host: str,
    class_name: str,
    cluster_issuer: str,
    paths: Sequence[Mapping[str, Any]],
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An Ingress for one host with TLS from cert-manager (certificate Secret `<name>-tls`)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata(
            name,
            namespace,
            app=app,
            annotations={"cert-manager.io/cluster-issuer": cluster_issuer, **(annotations or {})},
        ),
        "spec": {
            "ingressClassName": class_name,
            "tls": [{"hosts": [host], "secretName": f"{name}-tls"}],
            "rules": [{"host": host, "http": {"paths": [dict(p) for p in paths]}}],
        },
    }


@dataclass(frozen=True)
class HelmChart:
    """Where a pinned chart comes from and how long its install may take."""

    chart: str
    version: str
    timeout: int
    """Seconds Helm waits for the release's resources (atomic: rolled back after that)."""
    repository: str | None = None
    """A classic chart repository URL; None for an OCI reference in `chart`."""


def helm_release_args(release: str, namespace: str, chart: HelmChart, values: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of `k8s.helm.v3.Release`: every release is atomic and cleans up on failure."""
    args: dict[str, Any] = {
        "name": release,
        "namespace": namespace,
        "chart": chart.chart,
        "version": chart.version,
        "values": dict(values),
        "atomic": True,
        "cleanup_on_fail": True,
        "timeout": chart.timeout,
    }
    if chart.repository is not None:
        args["repository_opts"] = k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository)
    return args


def helm_release(
    resource_name: str,
    release: str,
    namespace: str,
    chart: HelmChart,
    values: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    """Register a pinned chart as `release` in `namespace`: atomic, cleaned up on failure (`helm_release_args`)."""
    return k8s.helm.v3.Release(resource_name, **helm_release_args(release, namespace, chart, values), opts=opts)


def stateful_options(safety: DataSafetyConfig) -> pulumi.ResourceOptions:
    """Options for resources that hold data: the database, buckets, GSM secrets.

    `protect` makes `pulumi destroy` (or a refactor that drops the resource)
    fail instead of deleting; `retain_on_delete` keeps the cloud object even
    when Pulumi is told to forget it.
    """
    return pulumi.ResourceOptions(protect=safety.protect, retain_on_delete=safety.retain_on_delete)


def namespace_holds_data(cfg: StackConfig) -> bool:
    """Stateful resources live in the gateway namespace: the CNPG cluster, Langfuse's volumes.

    Deleting a Namespace deletes everything in it, whatever `protect` says about the
    objects inside, so such a namespace carries the data-safety options itself.
    """
    return cfg.postgres.engine == "cnpg" or cfg.langfuse.enabled


def namespace_options(cfg: StackConfig) -> pulumi.ResourceOptions:
    return stateful_options(cfg.data_safety) if namespace_holds_data(cfg) else pulumi.ResourceOptions()


# GCP


def workload_identity_member(project: str, namespace: str, service_account: str) -> str:
    """The IAM member a Kubernetes service account acts as under GKE Workload Identity."""
    return f"serviceAccount:{project}.svc.id.goog[{namespace}/{service_account}]"


PRIVATE_BUCKET: dict[str, Any] = {
    "uniform_bucket_level_access": True,
    "public_access_prevention": "enforced",
    "force_destroy": False,
}


def private_bucket(name: str, location: str, **settings: Any) -> dict[str, Any]:
    """A GCS bucket's arguments: reachable by IAM only (uniform access, public access prevented),
    never emptied by a destroy; `settings` adds versioning, lifecycle rules, soft delete..., and
    may not loosen any of the first three."""
    loosened = sorted(PRIVATE_BUCKET.keys() & settings.keys())
    if loosened:
        raise ValueError(f"a private bucket keeps {', '.join(loosened)} as they are")
    return {"name": name, "location": location, **PRIVATE_BUCKET, **settings}


@dataclass(frozen=True)
class BucketWriter:
    """A bucket and the Google service account that alone may write it."""

    bucket: gcp.storage.Bucket
    account: gcp.serviceaccount.Account
    grant: gcp.storage.BucketIAMMember


def bucket_with_writer(
    resource_name: str,
    bucket: Mapping[str, Any],
    account_resource_name: str,
    *,
    account_id: str,
    display_name: str,
    project: str,
    bucket_opts: pulumi.ResourceOptions,
    opts: pulumi.ResourceOptions,
) -> BucketWriter:
    """Register a bucket (`private_bucket` arguments; `bucket_opts` carries the data-safety options),
    a service account, and `roles/storage.objectAdmin` for that account on that bucket only
    (`<resource_name>-access`)."""
    created = gcp.storage.Bucket(resource_name, **bucket, opts=bucket_opts)
    gsa = gcp.serviceaccount.Account(
        account_resource_name, account_id=account_id, display_name=display_name, project=project, opts=opts
    )
    grant = gcp.storage.BucketIAMMember(
        f"{resource_name}-access",
        bucket=created.name,
        role="roles/storage.objectAdmin",
        member=gsa.member,
        opts=opts,
    )
    return BucketWriter(created, gsa, grant)
