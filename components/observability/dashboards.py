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
from config import StackConfig
from dashboards import DashboardSpec, all_dashboards


def dashboard_configmap(cfg: StackConfig, spec: DashboardSpec) -> dict[str, Any]:
    name = spec.filename.removesuffix(".json")
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(
            name,
            cfg.namespaces.grafana,
            app="llm-gateway-dashboards",
            extra_labels={"grafana_dashboard": "1"},
            annotations={"grafana_folder": cfg.monitoring.dashboard_folder},
        ),
        "data": {spec.filename: json.dumps(spec.build(cfg), indent=2, sort_keys=True)},
    }


@dataclass(frozen=True)
class DashboardsArgs:
    config: StackConfig
    """Each dashboard builds its JSON from the whole config; the ConfigMaps read namespaces and monitoring."""


class Dashboards(pulumi.ComponentResource):
    def __init__(self, name: str, args: DashboardsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-gateway:dashboards:Dashboards", name, None, opts)
        cfg = args.config
        for spec in all_dashboards():
            body = dashboard_configmap(cfg, spec)
            k8s.core.v1.ConfigMap(
                f"{name}-{body['metadata']['name']}",
                metadata=body["metadata"],
                data=body["data"],
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({})
