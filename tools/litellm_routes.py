"""Derive LiteLLM's route list from the pinned proxy into components/litellm_routes.json.

Runs under the LiteLLM venv (tools/install_litellm.sh), not the repository's:

    .venv-litellm/bin/python tools/litellm_routes.py           # compare with the committed file
    .venv-litellm/bin/python tools/litellm_routes.py --write   # regenerate it (after a LiteLLM bump)

It imports the proxy's FastAPI app (no server, no network: the model cost map is
the local copy) and lists every route it serves: HTTP routes with their methods,
websockets, and static mounts (`/ui`, `/_next`, ...). Each route is classified
by LiteLLM's own `LiteLLMRoutes.llm_api_routes` (the routes a virtual key may call
as an API client, and their `/{provider}/...` forms): `client` true for those, false for everything else (admin UI,
login and SSO routes, key/team/user management, spend, config, ...).
components/litellm_values.py builds the gateway Ingress from this file: client
routes straight to LiteLLM, the rest through oauth2-proxy when SSO is on.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "components" / "litellm_routes.json"


def _walk(routes: Any) -> Iterator[tuple[str, str, list[str]]]:
    """(kind, path, methods) of every route, lazily included routers expanded."""
    for route in routes:
        name = type(route).__name__
        if name == "_IncludedRouter":
            for ctx in route.effective_route_contexts():
                methods = sorted(getattr(ctx, "methods", None) or [])
                yield ("http" if methods else "websocket"), ctx.path, methods
        elif name == "Mount":
            yield "mount", route.path, []
        elif "WebSocket" in name:
            yield "websocket", route.path, []
        else:
            yield "http", route.path, sorted(getattr(route, "methods", None) or [])


def _plain(path: str) -> str:
    """`/files/{file_id:path}` and `/files/{file_id}` name one route: drop converters and queries."""
    return re.sub(r"\{([^}:]+):[^}]+\}", r"{\1}", path.split("?", 1)[0])


def _is_client(path: str, client_routes: set[str]) -> bool:
    path = _plain(path)
    for entry in map(_plain, client_routes):
        if path == entry or (entry.endswith("/*") and (path + "/").startswith(entry[:-1])):
            return True
    # `/{provider}/v1/files`, `/{mcp_server_name}/mcp`: a provider- or server-scoped form of a
    # client route (`/v1/files`, `/mcp`) is a client route too.
    head, _, tail = path.lstrip("/").partition("/")
    return head.startswith("{") and bool(tail) and _is_client("/" + tail, client_routes)


def routes() -> dict[str, Any]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from importlib.metadata import version

    from litellm.proxy._types import LiteLLMRoutes
    from litellm.proxy.proxy_server import app

    client_routes = set(LiteLLMRoutes.llm_api_routes.value)
    merged: dict[tuple[str, str], set[str]] = {}
    for kind, path, methods in _walk(app.routes):
        merged.setdefault((kind, path), set()).update(methods)
    return {
        "litellm_version": version("litellm"),
        "source": "tools/litellm_routes.py: the proxy's FastAPI app; client = LiteLLMRoutes.llm_api_routes",
        "routes": [
            {"path": path, "kind": kind, "methods": sorted(methods), "client": _is_client(path, client_routes)}
            for (kind, path), methods in sorted(merged.items(), key=lambda item: (item[0][1], item[0][0]))
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help=f"rewrite {OUTPUT.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    text = json.dumps(routes(), indent=1) + "\n"
    if args.write:
        OUTPUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUTPUT.relative_to(ROOT)}")
        return 0
    committed = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
    if committed == text:
        print(f"{OUTPUT.relative_to(ROOT)} is up to date")
        return 0
    sys.stdout.writelines(difflib.unified_diff(committed.splitlines(True), text.splitlines(True), "committed", "now"))
    print(f"\n{OUTPUT.relative_to(ROOT)} differs from the installed LiteLLM: rerun with --write", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
