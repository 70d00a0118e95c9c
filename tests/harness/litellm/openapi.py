"""Capture the OpenAPI document the pinned LiteLLM proxy serves into components/litellm/openapi.json.

    venv/bin/python -m tests.harness.litellm.openapi            # compare the capture with the installed proxy
    venv/bin/python -m tests.harness.litellm.openapi --write    # rewrite it (after a LiteLLM bump)

A real proxy starts on loopback (`probe.proxy_session` on tests/harness/litellm/probe_config.yaml:
mock models, no database, the probe's environment), and `/openapi.json` is read without a key, as
FastAPI serves it (about 2 MB, 717 paths for LiteLLM 1.108.7). What is kept (`trim`):

- `paths`: every path with its HTTP methods;
- `management`: the operations LiteLLM tags `key management` or `team management` (what a
  tenants reconciler calls: /team/new, /key/generate, /key/block, /key/list, ...), with their
  parameters (query and header, e.g. `litellm-changed-by`) and request body;
- `schemas`: every component schema those operations reference, transitively (GenerateKeyRequest,
  NewTeamRequest, ...), without descriptions and examples.

`tests/harness/litellm/test_openapi.py` checks the committed capture against the installed proxy
(a real_proxy test) and its version against the pin (tests/tools/test_versions.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from offline.inputs import read_yaml_mapping
from tests.harness.litellm import probe
from tests.harness.litellm.captured import write_or_compare

ROOT: Final = Path(__file__).resolve().parents[3]
OUTPUT: Final = ROOT / "components" / "litellm" / "openapi.json"
PROBE_CONFIG: Final = Path(__file__).with_name("probe_config.yaml")
MANAGEMENT_TAGS: Final = frozenset({"key management", "team management"})
METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
DROPPED: Final = frozenset({"description", "examples", "example"})
STARTUP_TIMEOUT_S: Final = 300.0
SOURCE: Final = (
    "tests/harness/litellm/openapi.py: /openapi.json of a real proxy on probe_config.yaml; paths with their methods, "
    "the key and team management operations (parameters, request body) and the schemas they reference"
)


def _without_prose(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_prose(v) for k, v in node.items() if k not in DROPPED}
    if isinstance(node, list):
        return [_without_prose(v) for v in node]
    return node


def _refs(node: Any) -> Iterator[str]:
    """The component schema names `node` references (`#/components/schemas/<name>`)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value.rsplit("/", 1)[1]
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def trim(document: Mapping[str, Any], litellm_version: str) -> dict[str, Any]:
    """What the repository keeps of the served document (see the module docstring)."""
    paths: dict[str, list[str]] = {}
    management: dict[str, dict[str, Any]] = {}
    for path, item in sorted(document["paths"].items()):
        operations = {m: op for m, op in item.items() if m in METHODS and isinstance(op, dict)}
        paths[path] = sorted(m.upper() for m in operations)
        for method, operation in sorted(operations.items()):
            if MANAGEMENT_TAGS & set(operation.get("tags", [])):
                kept = {k: operation[k] for k in ("tags", "parameters", "requestBody") if k in operation}
                management.setdefault(path, {})[method.upper()] = _without_prose(kept)
    all_schemas = document.get("components", {}).get("schemas", {})
    todo, schemas = list(_refs(management)), {}
    while todo:
        name = todo.pop()
        if name not in schemas:
            schemas[name] = _without_prose(all_schemas[name])
            todo.extend(_refs(schemas[name]))
    return {
        "litellm_version": litellm_version,
        "source": SOURCE,
        "openapi": document["openapi"],
        "info_version": document["info"]["version"],
        "paths": paths,
        "management": management,
        "schemas": dict(sorted(schemas.items())),
    }


def text(capture: Mapping[str, Any]) -> str:
    return json.dumps(capture, indent=1, sort_keys=False) + "\n"


def served_document(litellm: Path) -> dict[str, Any]:
    """/openapi.json of a real proxy started on the probe's config."""
    config = read_yaml_mapping(PROBE_CONFIG)
    with probe.proxy_session(litellm, config, STARTUP_TIMEOUT_S) as proxy:
        answer = probe.http_call("GET", f"{proxy.base_url}/openapi.json", timeout=120)
    if answer.status != 200:
        raise probe.ProbeError(f"/openapi.json answered {answer.status}: {answer.body[:500]}")
    document: dict[str, Any] = json.loads(answer.body)
    return document


def capture(litellm: Path) -> dict[str, Any]:
    version = probe.litellm_version(litellm, probe.proxy_env(os.environ))
    return trim(served_document(litellm), version)


def default_litellm() -> Path:
    configured = os.environ.get("LITELLM_BIN")
    return Path(configured) if configured else ROOT / ".venv-litellm" / "bin" / "litellm"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.harness.litellm.openapi",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--litellm", type=Path, default=None, help="the litellm executable (default: $LITELLM_BIN)")
    parser.add_argument("--write", action="store_true", help=f"rewrite {OUTPUT.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    litellm: Path = args.litellm or default_litellm()
    if not (litellm.is_file() and os.access(litellm, os.X_OK)):
        print(f"error: {litellm} is not an executable: bash tests/harness/litellm/install.sh", file=sys.stderr)
        return 2
    try:
        now = text(capture(litellm))
    except probe.ProbeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return write_or_compare(OUTPUT, now, write=args.write, root=ROOT)


if __name__ == "__main__":
    raise SystemExit(main())
