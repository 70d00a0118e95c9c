"""Where the stack runs: the GCP project, the GKE cluster, the namespaces, the
cluster's capacity for this program and the protection of stateful resources."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from config.types import DnsLabel, GcpLocation, GcpRegion, Section


class GcpConfig(Section):
    project: Annotated[str, StringConstraints(pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")]
    region: GcpRegion


class GkeConfig(Section):
    """The GKE cluster: Workload Identity needs its name and location."""

    cluster_name: DnsLabel
    location: GcpLocation
    # kubeconfig context the Kubernetes provider uses; defaults to the name
    # `gcloud container clusters get-credentials` writes, so a stack can never
    # be applied to whatever cluster happens to be the current context.
    kube_context: str | None = None


class NamespacesConfig(Section):
    gateway: DnsLabel
    grafana: DnsLabel
    create_gateway: bool = True


class DataSafetyConfig(Section):
    """Resource options for stateful resources (database, buckets, GSM secrets)."""

    protect: bool
    retain_on_delete: bool
