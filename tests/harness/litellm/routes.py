"""Derive LiteLLM's route list from the pinned proxy into components/litellm/routes.json.

Runs under the LiteLLM venv (tests/harness/litellm/install.sh), not the repository's:

    .venv-litellm/bin/python tests/harness/litellm/routes.py           # compare with the committed file
    .venv-litellm/bin/python tests/harness/litellm/routes.py --write   # regenerate it (after a LiteLLM bump)

`--write` also rewrites docs/ingress-paths.md, the path table computed from it.

It also captures the provider pass-through routes into components/litellm/passthrough.json.
Most of them are registered lazily (on the first request under their prefix), so they are not
in routes.json: the script registers every lazy feature (`register_all_features`, what
LITELLM_DISABLE_LAZY_ROUTES=true does at start-up) and keeps the HTTP routes LiteLLM tags
`pass-through`, with their handler, and the name of the environment variable the pass-through
router reads a provider's key from (`PassthroughEndpointRouter`, the `{PROVIDER}` pattern).
The gateway blocks those routes on the Ingress and claims them in the proxy config unless
`litellm.passthrough` opens a provider (components/litellm/passthrough.py).

It imports the proxy's FastAPI app (no server, no network: the model cost map is
the local copy) and lists every route it serves: HTTP routes with their methods,
websockets, and static mounts (`/ui`, `/_next`, ...). Each route is classified
by LiteLLM's own `LiteLLMRoutes.llm_api_routes` (the routes a virtual key may call
as an API client, and their `/{provider}/...` forms): `client` true for those, false for everything else (admin UI,
login and SSO routes, key/team/user management, spend, config, ...).
components/litellm/values.py builds the gateway Ingress from this file: client
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

ROOT = Path(__file__).resolve().parents[3]
OUTPUT = ROOT / "components" / "litellm" / "routes.json"
PASSTHROUGH_OUTPUT = ROOT / "components" / "litellm" / "passthrough.json"
PASSTHROUGH_TAG = "pass-through"
DOC = ROOT / "docs" / "ingress-paths.md"


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
        "source": "tests/harness/litellm/routes.py: the proxy's FastAPI app; client = LiteLLMRoutes.llm_api_routes",
        "routes": [
            {"path": path, "kind": kind, "methods": sorted(methods), "client": _is_client(path, client_routes)}
            for (kind, path), methods in sorted(merged.items(), key=lambda item: (item[0][1], item[0][0]))
        ],
    }


def passthrough_routes() -> dict[str, Any]:
    """The provider pass-through routes of the installed LiteLLM (after `routes()`: it registers
    the lazy features on the same app, which routes.json leaves out)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from importlib import import_module
    from importlib.metadata import version

    from litellm.proxy._lazy_features import register_all_features
    from litellm.proxy.pass_through_endpoints.passthrough_endpoint_router import PassthroughEndpointRouter
    from litellm.proxy.proxy_server import app

    register_all_features(app)
    # FastAPI 0.165 wraps included routers (`_IncludedRouter`, no .path): this flattens them.
    iter_route_contexts = import_module("fastapi.routing").iter_route_contexts
    found: dict[str, tuple[set[str], set[str]]] = {}
    for ctx in iter_route_contexts(app.router.routes):
        if PASSTHROUGH_TAG not in (getattr(ctx, "tags", None) or []):
            continue
        endpoint = getattr(ctx, "endpoint", None)
        handler = f"{endpoint.__module__}.{endpoint.__qualname__}" if endpoint is not None else "?"
        methods, handlers = found.setdefault(ctx.path, (set(), set()))
        methods.update(getattr(ctx, "methods", None) or [])
        handlers.add(handler)
    return {
        "litellm_version": version("litellm"),
        "source": (
            "tests/harness/litellm/routes.py: HTTP routes tagged pass-through after register_all_features; "
            "key_env = PassthroughEndpointRouter._get_default_env_variable_name_passthrough_endpoint"
        ),
        "key_env": PassthroughEndpointRouter._get_default_env_variable_name_passthrough_endpoint("{provider}"),
        "routes": [
            {"path": path, "methods": sorted(methods), "handler": ",".join(sorted(handlers))}
            for path, (methods, handlers) in sorted(found.items())
        ],
    }


EVERYTHING_ELSE = (
    "`/ui`, `/login`, `/v2/login`, `/sso/*`, `/fallback/login`, the key, team, user, spend and config "
    "management API, health, docs: every route not below"
)


def doc_text() -> str:
    """docs/ingress-paths.md: the gateway Ingress's path table with SSO, from the committed route list."""
    sys.path.insert(0, str(ROOT))
    from components.litellm import ingress_paths, passthrough

    ingress_paths.routes.cache_clear()
    ingress_paths.path_table.cache_clear()
    passthrough.paths_with.cache_clear()
    data = json.loads(OUTPUT.read_text(encoding="utf-8"))
    table = ingress_paths.path_table()
    closed = passthrough.paths_with(frozenset())
    blocked = "Service `<release>-blocked`: a provider pass-through prefix (`litellm.passthrough` opens it)"
    rows = [f"| `{p}` | {ingress_paths.prefix_type(p)} | {blocked} |" for p in closed.blocked]
    rows += [f"| `{p}` | {t} | LiteLLM (`<release>:4000`) |" for t, p in table.direct if p not in closed.blocked]
    rows += [f"| `{p}` | {t} | LiteLLM: a client route below a pass-through prefix |" for t, p in closed.clients]
    rows += [f"| `{p}` | {t} | oauth2-proxy (an admin route below a client prefix) |" for t, p in table.gated]
    clients = sum(r["client"] for r in data["routes"])
    routes_seen = json.loads(PASSTHROUGH_OUTPUT.read_text(encoding="utf-8"))["routes"]
    return f"""# Gateway Ingress paths (with `sso.enabled`)

Generated by `tests/harness/litellm/routes.py --write` from `components/litellm/routes.json` (LiteLLM
{data["litellm_version"]}: {len(data["routes"])} routes, {clients} of them API client routes by
LiteLLM's own `LiteLLMRoutes.llm_api_routes`) with `components/litellm/ingress_paths.py`;
`tests/components/litellm/test_ingress_routes.py` checks every route against the rendered Ingress, and this file.

Kubernetes picks the longest matching path (`Exact` before `Prefix` on a tie); `Prefix` matches
whole path segments. The provider pass-through prefixes come from `components/litellm/passthrough.json`
({len(routes_seen)} routes LiteLLM tags `pass-through`, most registered lazily and so not in
`routes.json`); a prefix `litellm.passthrough` opens goes to LiteLLM instead. A prefix with a dot
(`/eu.assemblyai`) is `ImplementationSpecific` (ingress-nginx's strict path validation refuses it as a
`Prefix`; there it is a plain NGINX prefix, which blocks at least as much).

| path | type | backend |
|---|---|---|
| `/metrics` | Prefix | Service `<release>-blocked` (no endpoints: ingress-nginx answers 503), with or without SSO |
| `/oauth2` | Prefix | oauth2-proxy (sign-in, callback) |
| `/` | Prefix | oauth2-proxy: {EVERYTHING_ELSE} |
{chr(10).join(rows)}

Client routes that no Ingress path can tell apart from an admin route stay behind oauth2-proxy
(the safe side): `/models/{{name}}:generateContent` (and `:countTokens`, `:streamGenerateContent`;
LiteLLM serves them at `/v1beta/models/...` too, which is direct) beside the admin
`/models/{{model_id}}`, and `/fine_tuning/jobs/{{id}}/cancel` beside the admin `/fine_tuning/jobs/{{id}}`.

Without SSO the Ingress sends everything but `/metrics` and the closed pass-through prefixes to
LiteLLM (the client routes below them included), whose own authentication (master key, virtual keys,
the UI's login) guards the admin routes.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--write",
        action="store_true",
        help=f"rewrite {OUTPUT.relative_to(ROOT)}, {PASSTHROUGH_OUTPUT.name} and {DOC.relative_to(ROOT)}",
    )
    args = parser.parse_args(argv)
    # routes() first: passthrough_routes() registers the lazy features on the same app.
    texts = {
        OUTPUT: json.dumps(routes(), indent=1) + "\n",
        PASSTHROUGH_OUTPUT: json.dumps(passthrough_routes(), indent=1) + "\n",
    }
    if args.write:
        for path, text in texts.items():
            path.write_text(text, encoding="utf-8")
        DOC.write_text(doc_text(), encoding="utf-8")
        written = ", ".join(str(p.relative_to(ROOT)) for p in (*texts, DOC))
        print(f"wrote {written}")
        return 0
    stale = []
    for path, text in texts.items():
        committed = path.read_text(encoding="utf-8") if path.exists() else ""
        if committed == text:
            print(f"{path.relative_to(ROOT)} is up to date")
            continue
        stale.append(path)
        sys.stdout.writelines(
            difflib.unified_diff(committed.splitlines(True), text.splitlines(True), "committed", "now")
        )
    for path in stale:
        print(f"{path.relative_to(ROOT)} differs from the installed LiteLLM: rerun with --write", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
