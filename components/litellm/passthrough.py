"""LiteLLM's provider pass-through routes (`/openai/...`, `/anthropic/...`, `/azure/...`): closed unless
`litellm.passthrough` opens a provider.

A pass-through route forwards any request below its prefix to the provider with a key of the proxy's,
not the caller's: a virtual key limited to one model and a small budget could call any model, read and
change other teams' assistants, files and fine-tuning jobs, and spend where LiteLLM tracks no cost.
Three layers keep them closed, from the route list captured from the installed LiteLLM
(`components/litellm/passthrough.json`, written by `tests/harness/litellm/routes.py`):

- the provider keys reach the proxy as `LLMGW_*` (config/litellm_models.py), names LiteLLM never reads, so the
  routes that take their key from `<PROVIDER>_API_KEY` find none;
- the proxy config claims every pass-through prefix with no client route below it (`claims`): a
  configured pass-through route (authenticated, to a closed loopback port) takes precedence over the
  built-in one, so the routes that relay to the proxy's own model deployments (`/azure`, `/vllm`,
  `/bedrock`...) with the deployment's key, and `/langfuse` with the tracing keys, refuse every key;
- the public Ingress sends every pass-through prefix to the blocked Service (`components.litellm.network`).

An opened provider gets `<PROVIDER>_API_KEY` (and its upstream) in the proxy, no claim, and its
prefixes on the Ingress. Pure: data from the captured route lists and typed config.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from components.litellm.ingress_paths import Route, routes

if TYPE_CHECKING:  # the capture script (tests/harness/litellm/routes.py) runs without the program's packages
    from config import LiteLLMConfig

PASSTHROUGH_FILE: Final = Path(__file__).with_name("passthrough.json")
TRACING_PREFIX: Final = "/langfuse"
"""LiteLLM's Langfuse pass-through: it sends LANGFUSE_PUBLIC_KEY/LANGFUSE_SECRET_KEY, which the proxy holds
only with tracing (langfuse.enabled); without them there is no key of the stack's to claim it for."""
CLAIM_TARGET: Final = "http://127.0.0.1:9/"
"""Where a claimed prefix forwards a request a key was explicitly allowed to make (LiteLLM's
`allowed_passthrough_routes`): the discard port on the pod's loopback, where nothing listens."""


@dataclass(frozen=True)
class PassthroughRoute:
    path: str
    methods: tuple[str, ...]
    handler: str

    @property
    def prefix(self) -> str:
        """Its first path segment (`/openai/{endpoint:path}` -> `/openai`)."""
        return "/" + self.path.strip("/").split("/", 1)[0]


@cache
def _capture() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PASSTHROUGH_FILE.read_text(encoding="utf-8"))
    return data


def passthrough_routes() -> tuple[PassthroughRoute, ...]:
    """Every HTTP route the pinned LiteLLM tags `pass-through` (lazy features included)."""
    return tuple(PassthroughRoute(r["path"], tuple(r["methods"]), r["handler"]) for r in _capture()["routes"])


def key_env_rule() -> str:
    """How LiteLLM's pass-through router names a provider's key variable (`{PROVIDER}_API_KEY`)."""
    rule: str = _capture()["key_env"]
    return rule


def prefixes() -> tuple[str, ...]:
    """The pass-through prefixes, sorted."""
    return tuple(sorted({r.prefix for r in passthrough_routes()}))


def opened_prefixes(lit: LiteLLMConfig) -> frozenset[str]:
    """The prefixes `litellm.passthrough` opens."""
    return frozenset(prefix for p in lit.open_passthrough() for prefix in p.spec.prefixes)


def _segments(path: str) -> tuple[str, ...]:
    return tuple(s for s in path.split("/") if s)


def client_routes_below(prefix: str) -> tuple[Route, ...]:
    """LiteLLM's own API client routes below a pass-through prefix (routes.json): `/openai/deployments/...`
    (Azure-style chat completions), `/openai/v1/responses`, `/cursor/chat/completions`, `/vertex_ai/live`...
    Not the pass-through routes themselves (`/openai_passthrough/{endpoint:path}` is registered eagerly)."""
    head = _segments(prefix)
    own = {r.path for r in passthrough_routes()}
    return tuple(
        r
        for r in routes()
        if r.client and r.path not in own and r.segments[: len(head)] == head and len(r.segments) > len(head)
    )


def claims(lit: LiteLLMConfig, tracing: bool) -> list[dict[str, Any]]:
    """`general_settings.pass_through_endpoints` that claim every closed prefix with no client route below
    it (a claim covers its whole subtree, so it would also take `/openai/deployments/...`; those prefixes
    rely on the missing key), `/langfuse` only when the proxy holds tracing keys."""
    opened = opened_prefixes(lit)
    return [
        {"path": prefix, "target": CLAIM_TARGET, "include_subpath": True, "auth": True}
        for prefix in prefixes()
        if prefix not in opened and not client_routes_below(prefix) and (tracing or prefix != TRACING_PREFIX)
    ]


def _literal(route: Route) -> tuple[str, ...]:
    out: list[str] = []
    for segment in route.segments:
        if "{" in segment:
            break
        out.append(segment)
    return tuple(out)


@dataclass(frozen=True)
class PassthroughPaths:
    """The Ingress paths of the pass-through prefixes."""

    blocked: tuple[str, ...]
    """`Prefix` paths to the blocked Service: every closed pass-through prefix."""
    clients: tuple[tuple[str, str], ...]
    """(pathType, path) to LiteLLM: its client routes below a blocked prefix."""
    opened: tuple[str, ...]
    """`Prefix` paths to LiteLLM: the opened providers' prefixes."""


def ingress_paths(lit: LiteLLMConfig) -> PassthroughPaths:
    """The Ingress paths of the pass-through prefixes for this release (`paths_with`)."""
    return paths_with(opened_prefixes(lit))


@cache
def paths_with(opened: frozenset[str]) -> PassthroughPaths:
    """Closed prefixes blocked, LiteLLM's client routes below them carved back out (an `Exact` path for a
    route without parameters, else a `Prefix` on its literal part), `opened` prefixes to LiteLLM."""
    closed = [p for p in prefixes() if p not in opened]
    carved: set[tuple[str, str]] = set()
    for prefix in closed:
        for route in client_routes_below(prefix):
            literal = _literal(route)
            path = "/" + "/".join(literal)
            carved.add(("Exact", path) if literal == route.segments else ("Prefix", path))
    covering = {p for t, p in carved if t == "Prefix"}

    def covered(path_type: str, path: str) -> bool:
        """Redundant beside a shorter carved `Prefix` (or the `Prefix` of the same path)."""
        segs = _segments(path)
        shorter = any(c != path and segs[: len(_segments(c))] == _segments(c) for c in covering)
        return shorter or (path_type == "Exact" and path in covering)

    return PassthroughPaths(
        blocked=tuple(closed),
        clients=tuple(sorted(item for item in carved if not covered(*item))),
        opened=tuple(sorted(opened)),
    )
