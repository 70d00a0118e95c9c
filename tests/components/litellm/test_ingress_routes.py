"""With SSO, LiteLLM's browser-facing admin surface is reachable only through
oauth2-proxy, API client routes go straight to LiteLLM, /metrics nowhere. Checked against every
route of LiteLLM's route list (components/litellm/routes.json, from tests/harness/litellm/routes.py),
each request routed through the program's rendered Ingress objects by the tests' own ingress-nginx
referee (tests/support/ingress_nginx.py), not by the module that built the paths.
With or without SSO, no provider pass-through route (components/litellm/passthrough.json) is on the
Ingress unless `litellm.passthrough` opens its provider."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from components.litellm import passthrough
from components.litellm.ingress_paths import ROUTES_FILE, path_table, routes
from tests.harness.litellm.routes import DOC, doc_text
from tests.support import ROOT
from tests.support.ingress_nginx import IngressNginx
from tests.support.program import run_cached

SSO = ("oauth2-proxy", 80)
API = ("litellm", 4000)
BLOCKED = ("litellm-blocked", 80)
# Client routes no Ingress path can tell apart from an admin route (a parameter at the same
# place): `/models/{model_id}` (admin) vs `/models/{name}:generateContent` (client, also served at
# /v1beta/models/...), `/fine_tuning/jobs/{id}` (admin) vs `/fine_tuning/jobs/{id}/cancel`. They
# stay behind oauth2-proxy: the safe side.
INEXPRESSIBLE = {
    "/models/{model_name:path}:countTokens",
    "/models/{model_name:path}:generateContent",
    "/models/{model_name:path}:streamGenerateContent",
    "/fine_tuning/jobs/{fine_tuning_job_id:path}/cancel",
    "/v1/fine_tuning/jobs/{fine_tuning_job_id:path}/cancel",
}


NO_SSO = "llm-gateway:sso.enabled=false"
OPEN_OPENAI = "llm-gateway:litellm.passthrough=[{provider: openai}]"
PASSTHROUGH = {r.path for r in passthrough.passthrough_routes()}


Router = Callable[[str], tuple[str, int | str]]


def _gateway(stack: str, *overrides: str) -> tuple[IngressNginx, str]:
    """ingress-nginx over every rendered object of the run, and the gateway Ingress's host."""
    nginx = IngressNginx(run_cached(stack, *overrides).kubernetes_objects())
    (ing,) = [o for o in nginx.ingresses if o["metadata"]["name"] == "litellm"]
    (rule,) = ing["spec"]["rules"]
    return nginx, rule["host"]


def _table(stack: str, *overrides: str) -> Router:
    """The (Service, port) ingress-nginx sends a request path to on the gateway's host."""
    nginx, host = _gateway(stack, *overrides)
    assert not nginx.regex_mode(host), "regex mode would turn every path into a case-insensitive prefix"
    return lambda request: _chosen(nginx, host, request)


def _chosen(nginx: IngressNginx, host: str, request: str) -> tuple[str, int | str]:
    chosen = nginx.target(host, request)
    assert chosen is not None, request
    return chosen


def _backend(table: Router, request: str) -> tuple[str, int | str]:
    return table(request)


def _requests(path: str) -> list[str]:
    """Concrete request paths for a route: parameters filled in, mounts with a file below."""
    concrete = re.sub(r"\{[^}]*\}", "x1", path)
    return [concrete, concrete.rstrip("/") + "/index.html"] if path in MOUNTS else [concrete]


MOUNTS = {r.path for r in routes() if r.kind == "mount"}


def test_the_route_list_covers_what_the_issue_names() -> None:
    data = json.loads(ROUTES_FILE.read_text())
    by_path = {r["path"]: r["client"] for r in data["routes"]}
    for admin in (
        "/ui",
        "/login",
        "/v2/login",
        "/sso/key/generate",
        "/sso/callback",
        "/fallback/login",
        "/key/generate",
    ):
        assert by_path[admin] is False, admin
    for client in ("/v1/chat/completions", "/chat/completions", "/v1/models", "/embeddings", "/v1/embeddings"):
        assert by_path[client] is True, client
    assert len(data["routes"]) > 500


def test_every_admin_route_is_behind_oauth2_proxy() -> None:
    table = _table("enterprise")
    leaks = [
        (r.path, request)
        for r in routes()
        if not r.client
        for request in _requests(r.path)
        if _backend(table, request) != SSO
    ]
    assert leaks == []


def test_every_client_route_is_direct() -> None:
    table = _table("enterprise")
    gated = {
        r.path
        for r in routes()
        if r.client and not r.path.startswith("/{") and r.path not in PASSTHROUGH
        for request in _requests(r.path)
        if _backend(table, request) != API
    }
    assert gated == INEXPRESSIBLE


def _passthrough_requests() -> list[str]:
    return [request for path in sorted(PASSTHROUGH) for request in _requests(path.replace(":path}", "}"))] + [
        "/openai/v1/chat/completions",
        "/openai/v1/assistants",
        "/openai_passthrough/v1/fine_tuning/jobs/ftjob-1",
        "/vertex_ai/v1/projects/p/locations/l/publishers/google/models/m:generateContent",
        "/cursor/v0/agents",
        "/anthropic/v1/messages",
    ]


@pytest.mark.parametrize("overrides", [(), (NO_SSO,)], ids=["sso", "no-sso"])
def test_no_pass_through_route_is_on_the_ingress(overrides: tuple[str, ...]) -> None:
    table = _table("enterprise", *overrides)
    assert [r for r in _passthrough_requests() if _backend(table, r) != BLOCKED] == []
    # LiteLLM's own client routes below a pass-through prefix still reach it.
    below = [r.path for p in passthrough.prefixes() for r in passthrough.client_routes_below(p)]
    assert "/openai/deployments/{model:path}/chat/completions" in below
    assert [p for p in below for request in _requests(p) if _backend(table, request) != API] == []


@pytest.mark.parametrize("overrides", [(OPEN_OPENAI,), (OPEN_OPENAI, NO_SSO)], ids=["sso", "no-sso"])
def test_an_opened_provider_is_routed_to_litellm_and_no_other(overrides: tuple[str, ...]) -> None:
    table = _table("enterprise", *overrides)
    opened = [r for r in _passthrough_requests() if r.startswith(("/openai/", "/openai_passthrough/"))]
    assert opened and [r for r in opened if _backend(table, r) != API] == []
    others = [r for r in _passthrough_requests() if r not in opened]
    assert [r for r in others if _backend(table, r) != BLOCKED] == []


# NGINX matches the normalised URI: decoded, slashes merged, dot segments resolved.
@pytest.mark.parametrize(
    "request_path", ["/metrics", "/metrics/", "/metrics/x", "//metrics", "/%6Detrics", "/ui/../metrics/", "/metrics?x"]
)
def test_metrics_blocked_with_and_without_sso(request_path: str) -> None:
    assert _backend(_table("enterprise"), request_path) == BLOCKED
    table = _table("enterprise", NO_SSO)
    assert _backend(table, request_path) == BLOCKED
    assert _backend(table, "/key/generate") == API  # without SSO LiteLLM's own auth guards the rest


def test_the_documented_path_table_is_the_one_rendered() -> None:
    assert DOC.read_text() == doc_text(), "run tests/harness/litellm/routes.py --write"
    nginx, host = _gateway("enterprise")
    for loc in nginx.locations(host):
        path_type, path = loc.backend.path_type, loc.backend.path
        assert f"| `{path}` | {path_type} |" in DOC.read_text(), path


def test_the_sso_runbook_counts_the_direct_paths() -> None:
    runbook = (ROOT / "docs" / "runbooks" / "single-sign-on.md").read_text()
    assert f"({len(path_table().direct)} `Prefix`/`Exact` paths" in runbook
