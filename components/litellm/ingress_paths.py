"""Which public paths of the gateway go straight to LiteLLM, derived from LiteLLM's route list.

`components/litellm/routes.json` lists every route the pinned LiteLLM serves, each
marked `client` when LiteLLM itself counts it as an LLM API route (what a virtual
key calls: /v1/chat/completions, /embeddings, /v1/models, pass-through, ...);
`tests/harness/litellm/routes.py` regenerates it from the installed proxy.

From it, `direct_paths()` computes the fewest Kubernetes Ingress paths (`Prefix`
where no other route lies below, else `Exact`) that cover every client route and
no other route. The gateway Ingress sends those to LiteLLM and everything else
(`/`: the UI, `/login`, `/v2/login`, the SSO and fallback-login routes, the
key/team/user management API, spend, config) through oauth2-proxy when SSO is
on, and blocks `/metrics`. Matching follows the Ingress rules: a `Prefix` matches
whole path segments, the longest match wins, `Exact` beats `Prefix` on a tie. The tests
route requests through the rendered Ingress with their own ingress-nginx model
(tests/support/ingress_nginx.py), not with this module.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

ROUTES_FILE = Path(__file__).with_name("routes.json")
BLOCKED = ("/metrics",)
"""Never routed from the public Ingress: LiteLLM's Prometheus mount (`/metrics`, `/metrics/`)."""


STRICT_PATH = re.compile(r"^[A-Za-z0-9/_-]+$")
"""What ingress-nginx's strict-validate-path-type accepts in an Exact or Prefix path."""


def prefix_type(path: str) -> str:
    """`Prefix`, or `ImplementationSpecific` for a path ingress-nginx refuses as a Prefix (`/eu.assemblyai`):
    a plain NGINX string prefix there, which blocks at least as much."""
    return "Prefix" if STRICT_PATH.match(path) else "ImplementationSpecific"


@dataclass(frozen=True)
class Route:
    path: str
    kind: str
    client: bool

    @cached_property
    def segments(self) -> tuple[str, ...]:
        """Path segments; a mount covers its whole subtree (a trailing `{rest:path}`)."""
        segs = tuple(s for s in self.path.split("/") if s)
        return (*segs, "{rest:path}") if self.kind == "mount" else segs


@cache
def routes() -> tuple[Route, ...]:
    data: dict[str, Any] = json.loads(ROUTES_FILE.read_text(encoding="utf-8"))
    return tuple(Route(r["path"], r["kind"], r["client"]) for r in data["routes"] if r["path"])


def _param(segment: str) -> bool:
    return "{" in segment


def covers(path_type: str, path: str, route: Route, params_match: bool = True) -> bool:
    """Whether an Ingress path could match some request for `route` (`params_match` false: only
    through the route's literal segments, i.e. not merely because a parameter can take any value)."""
    prefix = tuple(s for s in path.split("/") if s)
    segs = route.segments
    for i, seg in enumerate(prefix):
        if i >= len(segs):
            return False
        if _param(segs[i]):
            if not params_match:
                return False
            if ":path" in segs[i]:
                return True
            continue
        if segs[i] != seg:
            return False
    return path_type == "Prefix" or len(segs) == len(prefix)


def _literal(segs: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for seg in segs:
        if _param(seg):
            break
        out.append(seg)
    return tuple(out)


@dataclass(frozen=True)
class PathTable:
    direct: tuple[tuple[str, str], ...]
    """(pathType, path) sent straight to LiteLLM: every client route that paths can single out."""
    gated: tuple[tuple[str, str], ...]
    """Carve-outs below a direct prefix that lead to admin routes (sent through oauth2-proxy)."""


def _carve_out(route: Route) -> tuple[str, str]:
    literal = _literal(route.segments)
    return ("Exact", route.path) if literal == route.segments else ("Prefix", "/" + "/".join(literal))


@cache
def path_table() -> PathTable:
    """The fewest Ingress paths that send every client route LiteLLM serves straight to it and
    every other route (and /metrics) elsewhere. A client route that no path can tell apart from
    an admin route (`/responses/{id}` beside `/responses/compact` is fine: a carve-out; but
    `/models/{name}:generateContent` beside `/models/{model_id}` is not) stays behind oauth2-proxy."""
    clients = [r for r in routes() if r.client]
    others = [r for r in routes() if not r.client] + [Route(p, "mount", False) for p in BLOCKED]
    direct: set[tuple[str, str]] = set()
    gated: set[tuple[str, str]] = set()
    for route in clients:
        literal = _literal(route.segments)
        if not literal:  # `/{provider}/v1/files`: direct where a provider prefix is (`/openai/...`)
            continue
        # The shortest prefix that needs no carve-out, else the shortest whose carve-outs (admin
        # routes below it, singled out by a longer path) shadow no client route's literal path.
        candidates = ["/" + "/".join(literal[:k]) for k in range(1, len(literal) + 1)]
        # Only routes starting with this literal segment (or a parameter) can lie below a candidate.
        near = [o for o in others if o.segments[:1] == literal[:1] or _param((*o.segments, "")[0])]
        for allow_carve_outs in (False, True):
            found = None
            for candidate in candidates:
                depth = len(candidate.split("/")) - 1
                carve = [_carve_out(o) for o in near if covers("Prefix", candidate, o)]
                if (not carve or allow_carve_outs) and all(
                    len([s for s in cp.split("/") if s]) > depth
                    and not any(covers(ct, cp, c, params_match=False) for c in clients)
                    for ct, cp in carve
                ):
                    found = (candidate, carve)
                    break
            if found:
                direct.add(("Prefix", found[0]))
                gated.update(found[1])
                break
        else:
            if literal == route.segments and not any(covers("Exact", route.path, o) for o in others):
                direct.add(("Exact", route.path))
    prefixes = {p for t, p in direct if t == "Prefix"}

    def redundant(path_type: str, path: str) -> bool:
        inside = Route(path, "http", True)
        under_carve_out = any(covers(ct, cp, inside) for ct, cp in gated)
        shorter = any(p != path and covers("Prefix", p, inside) for p in prefixes)
        return shorter and not under_carve_out and not (path_type == "Exact" and path in prefixes)

    return PathTable(
        direct=tuple(sorted(item for item in direct if not redundant(*item))),
        gated=tuple(sorted(g for g in gated - direct if not (g[0] == "Exact" and ("Prefix", g[1]) in gated))),
    )
