"""Every place the repository states which LiteLLM it deploys, tests or captured, read from the files.

One list (`statements`) for the version test (tests/tools/test_versions.py: all must be the pin)
and for the bump (tests/harness/litellm/bump.py: each statement names the step that rewrites it).

- the proxy image tag of each shipped stack (`litellm.image` in Pulumi.<stack>.yaml);
- the locked chart (`chart/litellm-helm` in assets.lock.json): a published chart's `app_version`;
  a tree that only stands in for a published chart (`published_url` set: today's, assembled from
  source files, whose Chart.yaml says 1.1.0 / v1.85.1) states the version through the published
  chart it stands in for (`published_version`), not through its own Chart.yaml. A stack's
  `litellm.chart_version`, when set, must equal the lock's version (config/litellm.py refuses
  anything else), so it follows the lock;
- the probe requirements pin (`litellm[proxy]==` in tests/harness/litellm/requirements.txt);
- the captures: `litellm_version` of components/litellm/routes.json, passthrough.json and
  openapi.json (and the OpenAPI document's own `info.version`), and the first line of each metric
  list in tests/data, exactly `# litellm==<version>`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

ROOT: Final = Path(__file__).resolve().parents[3]
STACKS: Final = ("lab", "enterprise")
LITELLM_CHART: Final = "chart/litellm-helm"
PROBE_REQUIREMENTS: Final = "tests/harness/litellm/requirements.txt"
REQUIREMENT: Final = re.compile(r"^litellm\[proxy\]==(\S+)\s*$", re.MULTILINE)
ROUTE_CAPTURES: Final = ("components/litellm/routes.json", "components/litellm/passthrough.json")
OPENAPI_CAPTURE: Final = "components/litellm/openapi.json"
METRIC_LISTS: Final = ("tests/data/litellm_metrics.txt", "tests/data/litellm_metric_labels.txt")
CLEANUP_LIST: Final = "tests/data/litellm_cleanup_metrics.txt"
HEADER: Final = re.compile(r"# litellm==(\S+)")


@dataclass(frozen=True)
class Statement:
    where: str
    version: str | None
    """The LiteLLM version it states; None when the file does not state one the way it must."""
    step: str
    """The step of `python -m tests.harness.litellm.bump` that rewrites it."""


def image_tag(image: str) -> str:
    """`ghcr.io/berriai/litellm-non_root:v1.108.7` -> `1.108.7` (a digest after `@` ignored)."""
    return image.split("@", 1)[0].rpartition(":")[2].removeprefix("v")


def _read(root: Path, rel: str) -> str | None:
    path = root / rel
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _json(root: Path, rel: str) -> dict[str, Any]:
    text = _read(root, rel)
    data = json.loads(text) if text else {}
    return data if isinstance(data, dict) else {}


def _stack_images(root: Path) -> list[Statement]:
    found = []
    for stack in STACKS:
        rel = f"Pulumi.{stack}.yaml"
        text = _read(root, rel)
        config = (yaml.safe_load(text) or {}).get("config", {}) if text else {}
        image = (config.get("llm-gateway:litellm") or {}).get("image")
        found.append(Statement(f"{rel}: litellm.image", image_tag(image) if image else None, "pins"))
    return found


def _chart(root: Path) -> Statement:
    entries = _json(root, "assets.lock.json").get("assets", [])
    entry: dict[str, Any] = next((a for a in entries if a.get("name") == LITELLM_CHART), {})
    if entry.get("published_url"):
        where = f"assets.lock.json: {LITELLM_CHART} published_version (the published chart its tree stands in for)"
        return Statement(where, entry.get("published_version"), "chart")
    app = entry.get("app_version")
    return Statement(f"assets.lock.json: {LITELLM_CHART} app_version", app.removeprefix("v") if app else None, "chart")


def _requirement(root: Path) -> Statement:
    match = REQUIREMENT.search(_read(root, PROBE_REQUIREMENTS) or "")
    return Statement(f"{PROBE_REQUIREMENTS}: litellm[proxy]", match.group(1) if match else None, "pins")


def _header(root: Path, rel: str, step: str) -> Statement:
    first = (_read(root, rel) or "").split("\n", 1)[0]
    match = HEADER.fullmatch(first)
    return Statement(f"{rel}: first line '# litellm==...'", match.group(1) if match else None, step)


def statements(root: Path = ROOT) -> list[Statement]:
    openapi = _json(root, OPENAPI_CAPTURE)
    return [
        *_stack_images(root),
        _chart(root),
        _requirement(root),
        *(
            Statement(f"{rel}: litellm_version", _json(root, rel).get("litellm_version"), "routes")
            for rel in ROUTE_CAPTURES
        ),
        Statement(f"{OPENAPI_CAPTURE}: litellm_version", openapi.get("litellm_version"), "openapi"),
        Statement(f"{OPENAPI_CAPTURE}: info_version (what /openapi.json said)", openapi.get("info_version"), "openapi"),
        *(_header(root, rel, "metrics") for rel in METRIC_LISTS),
        _header(root, CLEANUP_LIST, "cleanup"),
    ]


def pinned(root: Path = ROOT) -> str:
    """The LiteLLM the real-proxy tests run (the probe requirements pin)."""
    version = _requirement(root).version
    if version is None:
        raise ValueError(f"{PROBE_REQUIREMENTS}: no litellm[proxy]==<version> line")
    return version


def disagreements(root: Path = ROOT) -> list[str]:
    """Every statement that is not the pin, as `where: version` (empty: one version everywhere)."""
    version = pinned(root)
    return [f"{s.where}: {s.version or 'no version stated'}" for s in statements(root) if s.version != version]
