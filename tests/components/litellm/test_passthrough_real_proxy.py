"""LiteLLM's provider pass-through routes on a real 1.108.7 proxy, started as the rendered enterprise
Deployment starts it (tests/harness/litellm/deployed.py): its proxy config, its container environment
with a stand-in value per provider key, every upstream on a recording server on loopback.

- As rendered (no `litellm.passthrough`): a virtual key (limited to gpt-4o-mini) and the master key call
  every pass-through route LiteLLM serves (components/litellm/passthrough.json) and the issue's examples
  (`/openai/v1/chat/completions` with gpt-4o, `GET /openai/v1/assistants`, `DELETE
  /openai_passthrough/v1/fine_tuning/jobs/...`, the Azure and vLLM relays to the proxy's own deployments,
  `/langfuse`): each gets an error, and no request carrying a provider key (or the tracing keys) reaches
  the upstream.
- With `litellm.passthrough` naming openai, anthropic and azure: the same key reaches each provider's
  route, and the upstream gets that provider's key.

Both proxies start together, when the module's first test needs them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.litellm import passthrough, values
from tests.harness.litellm import deployed
from tests.harness.litellm.deployed import DeployedProxy, RecordingUpstream
from tests.support.config import scenario_config
from tests.support.direct import one, render
from tests.support.program import HELM_RELEASE, run_cached

pytestmark = pytest.mark.real_proxy

STARTUP_TIMEOUT_S = 300.0
OPEN = "llm-gateway:litellm.passthrough=[{provider: openai}, {provider: anthropic}, {provider: azure}]"
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "spend the company's key"}]}
"""gpt-4o: a model group of the enterprise stack, which the virtual key may not use."""
ANY_MODEL = {**CHAT, "model": "a-provider-model-no-group-serves"}
Call = tuple[str, str, dict[str, Any] | None]
EXAMPLES: tuple[Call, ...] = (
    ("POST", "/openai/v1/chat/completions", CHAT),
    ("GET", "/openai/v1/assistants", None),
    ("DELETE", "/openai_passthrough/v1/fine_tuning/jobs/ftjob-1", None),
    ("POST", "/anthropic/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": CHAT["messages"]}),
    ("GET", "/langfuse/api/public/traces", None),
)
RELAYS: tuple[Call, ...] = (
    # Relays to the proxy's own model deployments, with the deployment's key whatever the environment holds.
    ("POST", "/azure/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", CHAT),
    ("POST", "/azure_ai/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", CHAT),
    ("POST", "/azure/v1/chat/completions", CHAT),
    ("POST", "/vllm/v1/chat/completions", {**CHAT, "model": "gpt-4o-openai"}),
    ("POST", "/gigachat/v1/chat/completions", CHAT),
)
# One route of each opened provider, and the header its key travels in.
OPENED: dict[str, tuple[str, str, dict[str, Any] | None, str]] = {
    "openai": ("POST", "/openai/v1/chat/completions", CHAT, "authorization"),
    "anthropic": (
        "POST",
        "/anthropic/v1/messages",
        {"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": CHAT["messages"]},
        "x-api-key",
    ),
    "azure": (
        "POST",
        "/azure/openai/deployments/company-deployment/chat/completions?api-version=2024-10-21",
        CHAT,
        "api-key",
    ),
}


@dataclass(frozen=True)
class Rendered:
    config: dict[str, Any]
    env: dict[str, str]
    keys: frozenset[str]
    """Stand-in value of every secret the ExternalSecrets sync (provider keys, tracing keys, master key...)."""


def _rendered(*overrides: str) -> Rendered:
    run = run_cached("enterprise", *overrides)
    lit = scenario_config("enterprise", *overrides).litellm
    (release,) = [r for r in run.of_type(HELM_RELEASE) if str(r.inputs.get("chart", "")).endswith("/litellm-helm")]
    helm_values = release.plain_inputs["values"]
    objects = render(lit.release_name, release.plain_inputs["namespace"], values.helm_chart(lit), helm_values)
    (container,) = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    secrets = deployed.secret_values(run.custom_resources("ExternalSecret"))
    keys = frozenset(v for data in secrets.values() for v in data.values())
    return Rendered(helm_values["proxy_config"], deployed.container_env(container, secrets), keys)


def _calls() -> list[Call]:
    """Every pass-through route LiteLLM serves (parameters filled, POST where allowed, a model no group
    serves), then the issue's examples."""
    calls: list[Call] = []
    for route in passthrough.passthrough_routes():
        method = "POST" if "POST" in route.methods else route.methods[0]
        path = deployed.fill(route.path, "v1/chat/completions")
        calls.append((method, path, ANY_MODEL if method == "POST" else None))
    return calls + list(EXAMPLES)


@dataclass(frozen=True)
class Running:
    proxy: DeployedProxy
    upstream: RecordingUpstream
    rendered: Rendered


@pytest.fixture(scope="module")
def litellm_bin() -> Path:
    found = deployed.litellm_executable()
    if isinstance(found, Path):
        return found
    if os.environ.get("CI"):
        pytest.fail(found)  # CI installs it: a skip there would hide a missing install step
    pytest.skip(found)


@pytest.fixture(scope="module")
def proxies(litellm_bin: Path) -> Iterator[dict[str, Running]]:
    """The rendered enterprise release (`closed`) and the same with openai, anthropic, azure opened (`open`)."""
    with contextlib.ExitStack() as stack:
        running: dict[str, Running] = {}
        for name, overrides in (("closed", ()), ("open", (OPEN,))):
            rendered = _rendered(*overrides)
            upstream = stack.enter_context(RecordingUpstream())
            proxy = stack.enter_context(deployed.deployed_proxy(litellm_bin, rendered.config, rendered.env, upstream))
            running[name] = Running(proxy, upstream, rendered)
        for run in running.values():
            run.proxy.wait_live(STARTUP_TIMEOUT_S)
        yield running


def test_the_rendered_release_holds_no_key_under_a_name_the_router_reads() -> None:
    rendered = _rendered()
    provider_keys = {v for k, v in rendered.env.items() if k.startswith("LLMGW_") and k.endswith("_KEY")}
    assert len(provider_keys) == 3, rendered.env.keys()
    read = {passthrough.key_env_rule().replace("{PROVIDER}", p.strip("/").upper()) for p in passthrough.prefixes()}
    assert sorted(read & set(rendered.env)) == []


def _attributed(run: Running, method: str, path: str, key: str, payload: dict[str, Any] | None, marker: str) -> Any:
    """One call, and the upstream requests that arrived while it ran (calls are sequential; a relay
    may drop the marker query, so requests are attributed by arrival)."""
    before = len(run.upstream.received)
    result = run.proxy.call(method, deployed.marked(path, marker), key=key, payload=payload)
    return result, run.upstream.received[before:]


def _spent(run: Running, calls: list[Call], key: str, tag: str) -> tuple[list[str], list[str]]:
    """The calls answered without an error, and those that sent a key of the stack upstream."""
    answered: list[str] = []
    leaked: list[str] = []
    for i, (method, path, payload) in enumerate(calls):
        result, seen = _attributed(run, method, path, key, payload, f"{tag}-{i}")
        if not 400 <= result.status < 600:
            answered.append(f"{method} {path}: HTTP {result.status} {result.body[:160]}")
        leaked += [f"{method} {path} -> {r.method} {r.path}" for r in seen if any(map(r.carries, run.rendered.keys))]
    return answered, leaked


def test_no_pass_through_route_spends_a_key_of_the_stack(proxies: dict[str, Running]) -> None:
    run = proxies["closed"]
    answered, leaked = _spent(run, [*_calls(), *RELAYS], run.proxy.virtual_key, "virtual")
    assert (answered, leaked) == ([], []), run.proxy.log_tail()


def test_the_master_key_reaches_only_the_proxys_own_deployments(proxies: dict[str, Running]) -> None:
    """The proxy admin passes the claims' check, so the relays to its own model deployments (with their
    key) still answer it, as docs/litellm.md says; every other pass-through finds no key."""
    run = proxies["closed"]
    _, leaked = _spent(run, _calls(), run.proxy.master_key, "master")
    assert leaked == [], run.proxy.log_tail()
    answered, _ = _spent(run, list(RELAYS), run.proxy.master_key, "master-relay")
    assert answered, "no relay answers the master key any more: update docs/litellm.md"


def test_an_opened_provider_reaches_its_upstream_with_its_key(proxies: dict[str, Running]) -> None:
    run = proxies["open"]
    cfg = scenario_config("enterprise", OPEN).litellm
    failures: list[str] = []
    for p in cfg.open_passthrough():
        method, path, payload, header = OPENED[p.provider]
        marker = f"open-{p.provider}"
        result = run.proxy.call(method, deployed.marked(path, marker), key=run.proxy.virtual_key, payload=payload)
        seen = [r for r in run.upstream.received if f"llmgw_probe={marker}" in r.path]
        key = deployed.sentinel(p.gsm_secret)
        if result.status != 200 or not any(key in r.headers.get(header, "") for r in seen):
            failures.append(f"{p.provider}: HTTP {result.status} {result.body[:200]}; upstream saw {seen}")
    assert failures == [], run.proxy.log_tail()


def test_the_closed_and_the_open_release_differ_only_where_the_setting_says(proxies: dict[str, Running]) -> None:
    closed, opened = (proxies[name].rendered for name in ("closed", "open"))
    added = {k: v for k, v in opened.env.items() if closed.env.get(k) != v}
    assert set(added) == {"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AZURE_API_KEY", "AZURE_API_BASE"}
    claimed = {c["path"] for c in closed.config["general_settings"]["pass_through_endpoints"]}
    still = {c["path"] for c in opened.config["general_settings"]["pass_through_endpoints"]}
    assert claimed - still == {"/anthropic", "/azure", "/azure_ai", "/openai_passthrough"}
