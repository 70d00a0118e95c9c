"""The kit every component shares: Kubernetes labels and metadata, resource options from settings
(GCP helpers: components/gcp.py).

Pure helpers, testable without an engine, and a few registration helpers that register
exactly what a pure builder rendered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi.runtime.mocks import MockMonitor

from components.scanner import scanner_skips as scanner_skips  # kit's historical home of the helper
from config import ConfigError, DataSafetyConfig, NetworkConfig, Resources, StackConfig
from config.assets import (
    DEFAULT_CACHE,
    LITELLM_CHART,
    OAUTH2_PROXY_CHART,
    ROOT,
    VALKEY_CHART,
    chart_problems,
    locked_chart,
)

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
    """Which locked chart a release installs and how long its install may take."""

    asset: str
    """A chart of assets.lock.json (e.g. `LITELLM_CHART` of config/assets.py), installed from the cache."""
    timeout: int
    """Seconds Helm waits for the release's resources (atomic: rolled back after that)."""


def engine_reads_charts() -> bool:
    """Whether the engine's Kubernetes provider loads the charts (`pulumi preview`/`up`); not under
    Pulumi's mock engine (the offline preview, the tests), where nothing reads them."""
    return not isinstance(pulumi.runtime.settings.get_monitor(), MockMonitor)


def helm_release_args(
    release: str, namespace: str, chart: HelmChart, values: Mapping[str, Any], cache: Path | None = None
) -> dict[str, Any]:
    """Keyword arguments of `k8s.helm.v3.Release`: the locked chart's tree in the cache (`cache`, default the
    one in use) as a local chart, its Chart.yaml version, and the lock's digest as the release's description
    (a change of the locked bytes is a change of the release's inputs); atomic, cleaned up on failure."""
    locked = locked_chart(chart.asset, cache)
    return {
        "name": release,
        "namespace": namespace,
        "chart": locked.path,
        "version": locked.version,
        "description": locked.description,
        "values": dict(values),
        "atomic": True,
        "cleanup_on_fail": True,
        "timeout": chart.timeout,
    }


def helm_release(
    resource_name: str,
    release: str,
    namespace: str,
    chart: HelmChart,
    values: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    """Register a locked chart as `release` in `namespace` (`helm_release_args`). Where the engine loads
    charts, the cached tree is verified first (`require_charts`); under the mock engine the release names
    the tree where `pulumi up` reads it by default (`.cache/assets/...`)."""
    reads = engine_reads_charts()
    if reads:
        require_charts([chart.asset])
    args = helm_release_args(release, namespace, chart, values, cache=None if reads else ROOT / DEFAULT_CACHE)
    return k8s.helm.v3.Release(resource_name, **args, opts=opts)


def stack_charts(cfg: StackConfig) -> list[str]:
    """The locked charts the stack installs (the releases the components register)."""
    charts = [LITELLM_CHART]
    if cfg.langfuse.enabled:
        charts.append(cfg.langfuse.chart_asset)
    if cfg.sso.enabled:
        charts.append(OAUTH2_PROXY_CHART)
    if cfg.redis.mode == "in_cluster":
        charts.append(VALKEY_CHART)
    return charts


def require_charts(assets: Sequence[str]) -> None:
    """One ConfigError listing every locked chart that is missing from the cache, differs from the lock
    or cannot be installed by Helm, each with its remedy."""
    problems = [problem for asset in assets for problem in chart_problems(asset)]
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        raise ConfigError(
            f"the locked Helm charts cannot be installed as pinned ({count}):\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


def require_stack_charts(cfg: StackConfig) -> None:
    """Before anything registers: where the engine loads charts, every chart the stack installs is in the
    cache exactly as assets.lock.json pins it and installable (`require_charts`)."""
    if engine_reads_charts():
        require_charts(stack_charts(cfg))


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
