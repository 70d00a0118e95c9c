"""Render every Helm release of a preview run through its real, pinned chart.

The charts are assets like the CRD schemas (assets.lock.json, `python -m tools.assets
fetch`); the engine is Helm v4 as a library (PyPI `helm-python-sdk`), offline: no
cluster, `lookup` returns nothing. Each release renders with its own name and
namespace, Kubernetes 1.31 and the API versions of the cluster add-ons the program
relies on (Prometheus Operator), from the values the program passed to the release,
secrets already redacted (`[secret]`), so nothing rendered can hold a secret.

    rendered/<release>/<kind>-<name>.yaml   one object per file, keys sorted
    rendered/index.json                     release -> chart asset, versions, objects
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tools.assets import asset_path, load_lock
from tools.offline import ProgramRun, Recorded, sorted_keys

KUBE_VERSION = "1.31.0"
# API groups beyond the built-in ones that the target clusters serve (Capabilities.APIVersions).
API_VERSIONS = (
    "monitoring.coreos.com/v1",
    "monitoring.coreos.com/v1/ServiceMonitor",
    "monitoring.coreos.com/v1/PrometheusRule",
    "monitoring.coreos.com/v1/PodMonitor",
    "external-secrets.io/v1",
    "postgresql.cnpg.io/v1",
)

# The one table from a release's chart (its last path segment) to the pinned asset.
# Add a row when the program deploys another chart (e.g. a standalone valkey).
CHART_ASSETS: dict[str, str] = {
    "litellm-helm": "chart/litellm-helm",
    "langfuse": "chart/langfuse",
    "oauth2-proxy": "chart/oauth2-proxy",
}


class RenderError(Exception):
    """A release whose chart is not pinned or does not render; one line."""


class KubeObjectView:
    """Kind, name and namespace read from a Kubernetes object's `body` (for dataclasses holding one)."""

    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        return str((self.body.get("metadata") or {}).get("name", ""))

    @property
    def namespace(self) -> str:
        return str((self.body.get("metadata") or {}).get("namespace", ""))


@dataclass(frozen=True)
class RenderedObject(KubeObjectView):
    release: str
    source: str
    """The chart template that produced the object (e.g. `litellm-helm/templates/deployment.yaml`)."""
    body: dict[str, Any]

    @property
    def is_hook(self) -> bool:
        return "helm.sh/hook" in ((self.body.get("metadata") or {}).get("annotations") or {})


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    chart: str
    version: str
    values: dict[str, Any]


def chart_key(chart: str) -> str:
    return chart.rstrip("/").rsplit("/", 1)[-1]


def releases(run: ProgramRun) -> list[Release]:
    """Every Helm release of the run, with its values as recorded (secrets redacted), by name."""
    found = []
    for r in run.resources:
        if _is_release(r):
            inputs = r.redacted_inputs
            found.append(
                Release(
                    name=str(inputs.get("name", r.name)),
                    namespace=str(inputs.get("namespace", "default")),
                    chart=str(inputs.get("chart", "")),
                    version=str(inputs.get("version", "")),
                    values=dict(inputs.get("values") or {}),
                )
            )
    return sorted(found, key=lambda rel: rel.name)


def _is_release(r: Recorded) -> bool:
    return r.type.startswith("kubernetes:helm.sh/") and r.type.endswith(":Release")


def render_release(release: Release) -> list[RenderedObject]:
    """The release's objects as `helm template` would print them (hooks and tests included)."""
    from helm_python import Chart, HelmError, _native

    key = chart_key(release.chart)
    asset = CHART_ASSETS.get(key)
    if asset is None:
        raise RenderError(f"release {release.name}: chart {release.chart!r} has no pinned asset (tools/render.py)")
    chart = Chart.load(asset_path(asset))
    options = {
        "name": release.name,
        "namespace": release.namespace,
        "is_install": True,
        "kube_version": KUBE_VERSION,
        "api_versions": list(API_VERSIONS),
    }
    try:
        # Chart.render does not expose kube_version/api_versions; the C entry point takes them.
        raw = _native.call_string("helm_render", chart._raw(), json.dumps(release.values), json.dumps(options))
    except HelmError as exc:
        raise RenderError(f"release {release.name}: {exc}") from exc
    finally:
        chart.close()
    manifests: dict[str, str] = json.loads(raw)
    objects = []
    for source in sorted(manifests):
        if not source.endswith((".yaml", ".yml")):
            continue
        for doc in yaml.safe_load_all(manifests[source]):
            if isinstance(doc, dict) and doc.get("kind"):
                meta = doc.setdefault("metadata", {})
                if doc["kind"] not in CLUSTER_SCOPED:
                    meta.setdefault("namespace", release.namespace)
                objects.append(RenderedObject(release.name, source, doc))
    return objects


CLUSTER_SCOPED = frozenset(
    {"ClusterRole", "ClusterRoleBinding", "Namespace", "PersistentVolume", "StorageClass", "PriorityClass"}
)


def render_run(run: ProgramRun) -> dict[str, list[RenderedObject]]:
    return {rel.name: render_release(rel) for rel in releases(run)}


def dump_object(obj: RenderedObject) -> str:
    body: dict[str, Any] = {k: obj.body[k] for k in ("apiVersion", "kind", "metadata") if k in obj.body}
    body.update({k: v for k, v in obj.body.items() if k not in body})
    text = yaml.safe_dump(
        {k: sorted_keys(v) for k, v in body.items()}, sort_keys=False, default_flow_style=False, width=120
    )
    return f"# Source: {obj.source}\n{text}"


def object_filename(obj: RenderedObject) -> str:
    return "-".join(p.lower() for p in (obj.kind, obj.name) if p) + ".yaml"


def write_rendered(run: ProgramRun, out: Path) -> int:
    """Write `rendered/` for the run; returns the number of objects written."""
    root = out / "rendered"
    root.mkdir(parents=True, exist_ok=True)
    lock = load_lock()
    index: dict[str, Any] = {}
    total = 0
    for release in releases(run):
        objects = render_release(release)
        folder = root / release.name
        folder.mkdir(exist_ok=True)
        seen: dict[str, int] = {}
        for obj in objects:
            filename = object_filename(obj)
            seen[filename] = seen.get(filename, 0) + 1
            if seen[filename] > 1:
                filename = filename.removesuffix(".yaml") + f"-{seen[filename]}.yaml"
            (folder / filename).write_text(dump_object(obj))
        asset = lock[CHART_ASSETS[chart_key(release.chart)]]
        index[release.name] = {
            "chart": release.chart,
            "release_version": release.version,
            "rendered_with": f"{asset.name} {asset.version}",
            "objects": len(objects),
        }
        total += len(objects)
    (root / "index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    return total


def load_rendered(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Rendered objects of a preview folder, by release."""
    out: dict[str, list[dict[str, Any]]] = {}
    root = folder / "rendered"
    for release_dir in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        out[release_dir.name] = [yaml.safe_load(p.read_text()) for p in sorted(release_dir.glob("*.yaml"))]
    return out


def all_objects(rendered: dict[str, list[RenderedObject]]) -> Iterable[RenderedObject]:
    for release in sorted(rendered):
        yield from rendered[release]
