"""A real LiteLLM proxy started as the rendered Deployment starts its container, every upstream on loopback.

The probe (probe.py) swaps the models for mock responses and every `os.environ/` reference for a
dummy: right for metrics, wrong for a question about credentials. Here the proxy keeps the rendered
model list and its references, and gets the container's environment as Kubernetes would build it
(`envFrom` Secrets, then `env`, `secretKeyRef`s resolved), with a stand-in value for every Secret key:
`sentinel(<GSM secret>)` for what an ExternalSecret syncs. What changes, and why:

- every upstream is a `RecordingUpstream` on loopback: the models' `api_base`, any https URL in the
  environment, and the variables LiteLLM's pass-through routes read their upstream from
  (`UPSTREAM_ENVS`, ambient: the container's own values win, then are redirected too);
- no database, Redis, tracing exporter or metrics port (as the probe: `probe.proxy_env`);
- the master key is generated, and a custom auth module (LiteLLM's `custom_auth`, mode `auto`) turns
  one more bearer token into a virtual key that may use one model (`VIRTUAL_KEY_MODELS`), with
  LiteLLM's common checks: a virtual key without a database.

Only the standard library and PyYAML, like the probe.
"""

from __future__ import annotations

import contextlib
import copy
import http.server
import os
import secrets
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from tests.harness.litellm import probe
from tests.harness.processes import LoopbackServer
from tests.support import send_json

SENTINEL_PREFIX: Final = "sk-company-"
VIRTUAL_KEY_MODELS: Final = ("gpt-4o-mini",)
AUTH_MODULE: Final = "llmgw_virtual_key_auth"
VIRTUAL_KEY_ENV: Final = "LLMGW_TEST_VIRTUAL_KEY"
AUTH_SOURCE: Final = probe.key_auth_source(
    VIRTUAL_KEY_ENV,
    "not the test's virtual key",
    token="hashed-test-virtual-key",
    key_alias="test-virtual-key",
    models=list(VIRTUAL_KEY_MODELS),
    max_budget=1.0,
    spend=0.0,
    user_id="test-user",
)
UPSTREAM_ENVS: Final = (
    "ANTHROPIC_API_BASE",
    "ANTHROPIC_BASE_URL",
    "AZURE_API_BASE",
    "AZURE_SPEECH_API_BASE",
    "COHERE_API_BASE",
    "CURSOR_API_BASE",
    "DEEPGRAM_API_BASE",
    "GEMINI_API_BASE",
    "GIGACHAT_API_BASE",
    "LANGFUSE_HOST",
    "MISTRAL_API_BASE",
    "OPENAI_API_BASE",
    "OPENROUTER_API_BASE",
    "TYPESAFE_API_BASE",
)
"""Where LiteLLM 1.108.7's pass-through routes read their upstream (os.getenv/get_secret_str in
litellm/proxy/pass_through_endpoints/llm_passthrough_endpoints.py and langfuse_endpoints.py)."""
CREDENTIAL_HEADERS: Final = ("authorization", "api-key", "x-api-key", "x-goog-api-key")
DROPPED_GENERAL: Final = ("database_url", "use_redis_transaction_buffer", "alerting")


def sentinel(gsm_secret: str) -> str:
    """The stand-in value of a GSM secret (a provider key, in the questions asked here)."""
    return f"{SENTINEL_PREFIX}{gsm_secret}"


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: Mapping[str, str]
    """Lower-case names."""

    def carries(self, value: str) -> bool:
        """Whether `value` is in a header or the URL (a key may travel as `?key=` too)."""
        return value in self.path or any(value in v for v in self.headers.values())


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _RecordingServer

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.received.append(Received(self.command, self.path, headers))
        if any(h in headers for h in CREDENTIAL_HEADERS):
            usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
            message = {"role": "assistant", "content": "from the recording upstream"}
            body = {"id": "rec-1", "object": "chat.completion", "created": int(time.time()), "model": "upstream"}
            body |= {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}], "usage": usage}
            self._answer(200, body)
        else:
            self._answer(401, {"error": {"message": "no credential", "type": "auth"}})

    def do_GET(self) -> None:
        self._any()

    def do_POST(self) -> None:
        self._any()

    def do_PUT(self) -> None:
        self._any()

    def do_PATCH(self) -> None:
        self._any()

    def do_DELETE(self) -> None:
        self._any()

    def _answer(self, status: int, body: Mapping[str, Any]) -> None:
        send_json(self, status, body)

    def log_message(self, format: str, *args: Any) -> None:
        return


class _RecordingServer(http.server.ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[Received] = []


class RecordingUpstream(LoopbackServer):
    """Every request it gets, recorded; 200 (a chat completion) with a credential header, else 401."""

    def __init__(self) -> None:
        self._recording = _RecordingServer()
        super().__init__(self._recording, probe.STOP_TIMEOUT_S)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        return list(self._recording.received)


def secret_values(external_secrets: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """Stand-in Secret data: each ExternalSecret's target keys, valued `sentinel(<its GSM secret>)`."""
    out: dict[str, dict[str, str]] = {}
    for es in external_secrets:
        spec = es["spec"]
        data = {d["secretKey"]: sentinel(d["remoteRef"]["key"]) for d in spec.get("data") or []}
        template = ((spec.get("target") or {}).get("template") or {}).get("data") or {}
        gsm = ",".join(sorted(d["remoteRef"]["key"] for d in spec.get("data") or []))
        data |= {key: sentinel(gsm) for key in template}
        out.setdefault(spec["target"]["name"], {}).update(data)
    return out


def container_env(container: Mapping[str, Any], secrets_data: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The container's environment as the kubelet builds it: `envFrom` Secrets first, then `env` in
    order (later names win). Keys of Secrets the stand-ins do not know (the database's) get a marker."""

    def lookup(name: str, key: str) -> str:
        return secrets_data.get(name, {}).get(key, f"unknown-secret-{name}-{key}")

    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        ref = source.get("secretRef")
        if ref is not None:
            env |= {k: v for k, v in secrets_data.get(ref["name"], {}).items() if k.isidentifier()}
    for item in container.get("env") or []:
        if "value" in item:
            env[item["name"]] = str(item["value"])
        elif "secretKeyRef" in (item.get("valueFrom") or {}):
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = lookup(ref["name"], ref["key"])
    return env


def _https(value: str) -> bool:
    return value.startswith(("https://", "http://")) and not value.startswith("http://127.0.0.1")


def redirected_env(env: Mapping[str, str], upstream: str) -> dict[str, str]:
    """`UPSTREAM_ENVS` on the upstream, then the container's own values, each URL redirected to it too.
    No database: LiteLLM builds a URL from DATABASE_HOST/USERNAME/... as well as DATABASE_URL."""
    out = dict.fromkeys(UPSTREAM_ENVS, upstream)
    out |= {k: (upstream if _https(v) else v) for k, v in env.items() if not k.startswith("DATABASE_")}
    return out


def adapted_config(config: Mapping[str, Any], upstream: str, master_key: str) -> dict[str, Any]:
    """The rendered proxy config, its models on the upstream, without database, Redis, cache or exporters,
    with the generated master key and the virtual-key auth module. Its claims (pass_through_endpoints) stay."""
    out = copy.deepcopy(dict(config))
    for model in out.get("model_list") or []:
        params = model["litellm_params"]
        params["api_base"] = upstream + ("/v1" if str(params.get("model", "")).startswith("openai/") else "")
    settings = out.setdefault("litellm_settings", {})
    settings["callbacks"] = ["prometheus"]
    for key in ("cache", "cache_params"):
        settings.pop(key, None)
    general = out.setdefault("general_settings", {})
    for key in [k for k in general if k.startswith("database") or k in DROPPED_GENERAL]:
        general.pop(key)
    general["master_key"] = master_key
    general["custom_auth"] = f"{AUTH_MODULE}.user_api_key_auth"
    general["custom_auth_settings"] = {"mode": "auto"}
    general["custom_auth_run_common_checks"] = True
    router = out.get("router_settings") or {}
    for key in [k for k in router if k.startswith("redis")]:
        router.pop(key)
    return out


@dataclass(frozen=True)
class DeployedProxy:
    base_url: str
    master_key: str
    virtual_key: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def wait_live(self, timeout: float) -> float:
        """Seconds until `/health/liveliness` answered (the proxy is started, not awaited, on entry)."""
        return probe.wait_until_live(self.base_url, self.process, timeout, self.log_path)

    def call(self, method: str, path: str, *, key: str, payload: Mapping[str, Any] | None = None) -> probe.HttpResult:
        return probe.http_call(method, f"{self.base_url}{path}", key=key, payload=payload)

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-probe.LOG_TAIL_LINES :])


NO_EGRESS: Final = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1"}
"""Requests to anything but loopback fail at once (a closed port as their proxy), as in a pod without egress."""


@contextlib.contextmanager
def deployed_proxy(
    litellm: Path, config: Mapping[str, Any], env: Mapping[str, str], upstream: RecordingUpstream
) -> Iterator[DeployedProxy]:
    """Start `litellm` on loopback with the rendered `config` and the container's `env` (as
    `adapted_config`/`redirected_env` adapt them), one worker; yields at once (`wait_live`); stopped on exit."""
    master_key = f"sk-master-{secrets.token_hex(16)}"
    virtual_key = f"sk-virtual-{secrets.token_hex(16)}"
    port = probe.free_loopback_port()
    with tempfile.TemporaryDirectory(prefix="litellm-deployed-") as tmp:
        folder = Path(tmp)
        (folder / f"{AUTH_MODULE}.py").write_text(AUTH_SOURCE)
        (folder / "config.yaml").write_text(yaml.safe_dump(adapted_config(config, upstream.url, master_key)))
        full = probe.proxy_env({**os.environ, **redirected_env(env, upstream.url)})
        full |= {VIRTUAL_KEY_ENV: virtual_key, "TMPDIR": tmp, "PYTHONPATH": tmp, **NO_EGRESS}
        log_path = folder / "litellm.log"
        process = probe.start_proxy(litellm, folder / "config.yaml", port, env=full, cwd=tmp, log=log_path)
        try:
            yield DeployedProxy(f"http://127.0.0.1:{port}", master_key, virtual_key, process, log_path)
        finally:
            probe.stop_process(process)


def fill(path: str, endpoint: str) -> str:
    """A concrete request path for a route: `{endpoint:path}` becomes `endpoint`, other parameters `x1`."""
    filled = path.replace("{endpoint:path}", endpoint.strip("/"))
    return "/".join("x1" if "{" in part else part for part in filled.split("/"))


def marked(path: str, marker: str) -> str:
    """`path` with a query parameter that identifies the request at the upstream."""
    return f"{path}{'&' if '?' in path else '?'}{urllib.parse.urlencode({'llmgw_probe': marker})}"
