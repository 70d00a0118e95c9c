"""Dashboards: Grafana dashboards delivered as ConfigMaps to Grafana's sidecar.

Encapsulates one ConfigMap per dashboard in Grafana's namespace, labelled
`grafana_dashboard: "1"` (kube-prometheus-stack's sidecar label; the value
must be the string "1") and annotated with the folder from config. The JSON
comes from the pure builders registered in `dashboards/`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.kit import metadata
from components.litellm.names import scrape_job
from config import StackConfig
from dashboards import DashboardSpec, all_dashboards
from dashboards.sources import DashboardSources


@dataclass(frozen=True)
class DashboardsArgs:
    namespace: str
    """Grafana's namespace, where its dashboard sidecar watches ConfigMaps."""
    folder: str
    """The Grafana folder every dashboard is filed in (`monitoring.dashboard_folder`)."""
    sources: DashboardSources
    """What the dashboards query."""

    @classmethod
    def from_config(cls, cfg: StackConfig) -> DashboardsArgs:
        return cls(
            namespace=cfg.namespaces.grafana,
            folder=cfg.monitoring.dashboard_folder,
            sources=DashboardSources(
                spend_datasource_uid=cfg.grafana.datasource_uid, litellm_job=scrape_job(cfg.litellm)
            ),
        )


def dashboard_configmap(args: DashboardsArgs, spec: DashboardSpec) -> dict[str, Any]:
    name = spec.filename.removesuffix(".json")
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(
            name,
            args.namespace,
            app="llm-gateway-dashboards",
            extra_labels={"grafana_dashboard": "1"},
            annotations={"grafana_folder": args.folder},
        ),
        "data": {spec.filename: json.dumps(spec.build(args.sources), indent=2, sort_keys=True)},
    }


class Dashboards(pulumi.ComponentResource):
    def __init__(self, name: str, args: DashboardsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-gateway:dashboards:Dashboards", name, None, opts)
        for spec in all_dashboards():
            body = dashboard_configmap(args, spec)
            k8s.core.v1.ConfigMap(
                f"{name}-{body['metadata']['name']}",
                metadata=body["metadata"],
                data=body["data"],
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({})
