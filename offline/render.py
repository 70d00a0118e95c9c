"""Render every Helm release of a preview run through its real, pinned chart.

The charts are the locked trees the releases install (assets.lock.json, `python -m tools.assets
fetch`): a release names its tree in the cache (`chart`) and the lock's digest (`description`),
and renders from that tree, verified against the lock. The engine is Helm v4 as a library
(PyPI `helm-python-sdk`), offline: no cluster, `lookup` returns nothing. Each release renders
with its own name and namespace, Kubernetes 1.31 and the API versions of the cluster add-ons
the program relies on (Prometheus Operator), from the values the program passed to the release,
secrets already redacted (`[secret]`), so nothing rendered can hold a secret.

    rendered/<release>/<kind>-<name>.yaml   one object per file, keys sorted
    rendered/index.json                     release -> chart asset, version, digest, objects

`python -m tools.preview --out` renders in a second process (`RenderWorker`, this
module run as `python -m offline.render`), started before the program runs: it loads
the Helm library and verifies and loads the charts while the program runs, then
renders and writes `rendered/` while the preview writes the other files, each on
its own core (`write_releases` in-process writes the same files).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from config.assets import AssetError, asset_path, load_lock
from offline.inputs import exit_cli
from offline.yamlout import dump_yaml

if TYPE_CHECKING:
    from helm_python import Chart

    from offline.run import ProgramRun, Recorded

ROOT = Path(__file__).resolve().parent.parent
# libyaml's parser where PyYAML has it (10x faster); it builds the same objects as PyYAML's own.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

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


class RenderError(Exception):
    """A release whose chart is not pinned or does not render, or no renderer; one line."""


def renderer_missing(exc: Exception) -> RenderError:
    return RenderError(
        f"the chart renderer is not installed ({exc}): run `venv/bin/pip install -r requirements.txt` "
        "(it pins helm-python-sdk)"
    )


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


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    chart: str
    version: str
    values: dict[str, Any]
    description: str = ""
    """The lock's digest of the chart's tree, as the release names it (kit.helm_release_args)."""


def chart_asset(chart: str) -> str:
    """The lock's name of the chart a release installs: its path in the cache ends with it (`chart/<name>`)."""
    return "/".join(chart.rstrip("/").split("/")[-2:])


def chart_assets() -> list[str]:
    """Every chart of the lock."""
    return [name for name, asset in load_lock().items() if asset.kind == "chart"]


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
                    description=str(inputs.get("description", "")),
                )
            )
    return sorted(found, key=lambda rel: rel.name)


def _is_release(r: Recorded) -> bool:
    return r.type.startswith("kubernetes:helm.sh/") and r.type.endswith(":Release")


# Charts loaded ahead by `preload_charts`, each taken (and closed) by the first release that renders it.
_PRELOADED: dict[str, Chart] = {}


def preload_charts() -> None:
    """Load the Helm library and verify and load every pinned chart, ahead of rendering.

    An asset or chart that fails here is left alone: the release that needs it reports
    the same error when it renders.
    """
    try:
        from helm_python import Chart, HelmError
    except ImportError:  # the release that renders first reports it
        return
    for asset in chart_assets():
        try:
            _PRELOADED.setdefault(asset, Chart.load(asset_path(asset)))
        except (AssetError, HelmError):
            continue


def is_helm_test(body: dict[str, Any]) -> bool:
    """A `helm test` hook (`helm.sh/hook: test`, or Helm 2's `test-success`/`test-failure`)."""
    hooks = ((body.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", "")
    return bool({h.strip() for h in str(hooks).split(",")} & {"test", "test-success", "test-failure"})


def render_release(release: Release) -> list[RenderedObject]:
    """The release's objects as `helm template --skip-tests` prints them: hooks included, `helm test` pods
    left out (only `helm test` creates them, never an install or upgrade, nor Pulumi's Release)."""
    try:
        from helm_python import Chart, HelmError, _native
    except ImportError as exc:
        raise renderer_missing(exc) from None
    asset = chart_asset(release.chart)
    if asset not in chart_assets():
        raise RenderError(f"release {release.name}: chart {release.chart!r} is not a chart of assets.lock.json")
    pinned = load_lock()[asset].sha256
    if pinned not in release.description:
        raise RenderError(
            f"release {release.name} names another tree than assets.lock.json pins for {asset} "
            f"({release.description!r}, pinned {pinned})"
        )
    chart = _PRELOADED.pop(asset, None)
    if chart is None:
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
        for doc in yaml.load_all(manifests[source], Loader=_LOADER):
            if isinstance(doc, dict) and doc.get("kind") and not is_helm_test(doc):
                meta = doc.setdefault("metadata", {})
                if doc["kind"] not in CLUSTER_SCOPED:
                    meta.setdefault("namespace", release.namespace)
                objects.append(RenderedObject(release.name, source, doc))
    return objects


CLUSTER_SCOPED = frozenset(
    {"ClusterRole", "ClusterRoleBinding", "Namespace", "PersistentVolume", "StorageClass", "PriorityClass"}
)


def dump_object(obj: RenderedObject) -> str:
    body: dict[str, Any] = {k: obj.body[k] for k in ("apiVersion", "kind", "metadata") if k in obj.body}
    body.update({k: v for k, v in obj.body.items() if k not in body})
    return f"# Source: {obj.source}\n{dump_yaml(body)}"


def object_filename(obj: RenderedObject) -> str:
    return "-".join(p.lower() for p in (obj.kind, obj.name) if p) + ".yaml"


def write_releases(found: Sequence[Release], out: Path) -> int:
    """Write `rendered/` for these releases; returns the number of objects written."""
    root = out / "rendered"
    root.mkdir(parents=True, exist_ok=True)
    lock = load_lock()
    index: dict[str, Any] = {}
    total = 0
    for release in found:
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
        asset = lock[chart_asset(release.chart)]
        index[release.name] = {
            "chart": release.chart,
            "release_version": release.version,
            "rendered_with": f"{asset.name} {asset.version}",
            "sha256": asset.sha256,
            "objects": len(objects),
        }
        total += len(objects)
    (root / "index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    return total


class RenderWorker:
    """`write_releases` in a second process, started ahead so it has the charts loaded when asked.

    worker = RenderWorker()                   # before the program runs
    worker.submit(releases(run), out)         # `out` prepared; the worker starts writing
    ...                                       # meanwhile: write the other files
    objects = worker.result()                 # RenderError/AssetError message as a RenderError
    worker.close()                            # always (stops a worker never asked)
    """

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "offline.render"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self.seconds = 0.0
        """Time the worker took to render and write, once `result` returned."""

    def submit(self, found: Sequence[Release], out: Path) -> None:
        assert self._proc.stdin is not None
        request = {"out": str(out.resolve()), "releases": [asdict(r) for r in found]}
        try:
            self._proc.stdin.write(json.dumps(request))
            self._proc.stdin.close()
        except BrokenPipeError:  # the worker died: `result` reports it
            pass

    def result(self) -> int:
        assert self._proc.stdout is not None
        answer = self._proc.stdout.read()
        status = self._proc.wait()
        try:
            reply = json.loads(answer)
        except json.JSONDecodeError:
            raise RenderError(f"the rendering process stopped (exit status {status}; its messages are above)") from None
        self.seconds = float(reply.get("seconds", 0.0))
        if "error" in reply:
            raise RenderError(str(reply["error"]))
        return int(reply["objects"])

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe is not None:
                pipe.close()


def _serve(argv: Sequence[str] | None = None) -> int:
    """The worker: preload, read one request from stdin, write `rendered/`, answer on stdout."""
    argparse.ArgumentParser(
        prog="python -m offline.render",
        description="The chart renderer of `python -m tools.preview --out`, in its own process: reads one "
        "JSON request on stdin, writes rendered/, answers on stdout. Started by the preview, not by hand.",
    ).parse_args(argv)
    preload_charts()
    text = sys.stdin.read()
    if not text:  # the preview stopped before asking (bad input, bad config)
        return 0
    request = json.loads(text)
    started = time.perf_counter()
    try:
        objects = write_releases([Release(**r) for r in request["releases"]], Path(request["out"]))
        reply: dict[str, Any] = {"objects": objects}
    except (AssetError, RenderError) as exc:
        reply = {"error": str(exc)}
    reply["seconds"] = time.perf_counter() - started
    print(json.dumps(reply))
    return 0


if __name__ == "__main__":
    exit_cli(_serve())
