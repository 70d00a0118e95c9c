"""A deployed stack stood in for on loopback, for `verify`'s tests and bench/verify.py.

- `ApiServer`: a Kubernetes API server over HTTPS (a test CA, a bearer token) answering LISTs from
  recorded objects, each validated against the Kubernetes OpenAPI schemas (kubernetes-validate) or the
  pinned CRDs (`tests.support.schemas.validation_errors`) before it is served, and the proxy
  subresource (`.../pods/NAME:PORT/proxy/...`) to loopback backends, dropping `Authorization` as the
  real one does; `kubeconfig()` writes the file `verify.kube.KubeApi.from_kubeconfig` reads.
- `live(rendered, status)`: an object as the cluster returns it once its controller wrote `status`.
- `StandCluster`: `KubeApi` whose TCP port-forward is the backend's loopback address (no kubectl).
- `StandGoogle`: GSM secrets and IAM policies from dicts.
- `TlsSite`: an HTTPS server (openssl-made test CA, a server certificate valid `days`) answering
  the Ingress paths as oauth2-proxy and LiteLLM behind ingress-nginx do; `StandNetwork` resolves
  the stack's hosts to it.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import http.server
import io
import json
import re
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.harness.pglab.tls import issue_server_cert, make_ca
from tests.harness.processes import LoopbackServer
from tests.support import send_json
from tests.support.schemas import crd_schemas, validation_errors
from verify.cli import Loaded, command
from verify.kube import KubeApi
from verify.network import Internet
from verify.sources import CheckError, Deadline

TOKEN = "verify-stand-token"
_PROXY = re.compile(r"^/api/v1/namespaces/([^/]+)/(pods|services)/([^/:]+):(\d+)/proxy(/.*)?$")
_LIST = re.compile(r"^/(?:api/(v1)|apis/([^/]+/[^/]+))(?:/namespaces/([^/]+))?/([a-z]+)$")


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def live(rendered: Mapping[str, Any], status: Mapping[str, Any] | None = None, **metadata: Any) -> dict[str, Any]:
    """`rendered` as the API server returns it: server-set metadata, and the controller's `status`."""
    obj = copy.deepcopy(dict(rendered))
    obj["metadata"] = {
        **obj["metadata"],
        "uid": "0b7c8a9e-1f2d-4c3b-9a8e-7d6c5b4a3f21",
        "resourceVersion": "4711",
        "creationTimestamp": stamp(datetime.now(UTC) - timedelta(days=1)),
        **metadata,
    }
    if status is not None:
        obj["status"] = dict(status)
    return obj


def ready(reason: str, when: datetime, ok: bool = True, message: str = "") -> dict[str, Any]:
    return {"type": "Ready", "status": "True" if ok else "False", "reason": reason, "message": message,
            "lastTransitionTime": stamp(when)}  # fmt: skip


def _tls_files(directory: Path, hosts: tuple[str, ...], days: int) -> tuple[Path, Path, Path]:
    """The test CA's certificate, and a server certificate and key for `hosts` and 127.0.0.1."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = make_ca(directory, "stand-ca")
    server = issue_server_cert(ca, directory, hosts, ("127.0.0.1",), days=days)
    return ca.cert, server.cert, server.key


def _https(handler: type[http.server.BaseHTTPRequestHandler], cert: Path, key: Path) -> LoopbackServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.handle_error = lambda *_: None  # type: ignore[method-assign]  # a client gone mid-answer (timeouts)
    return LoopbackServer(server)


class _Handler(http.server.BaseHTTPRequestHandler):
    stand: ApiServer

    def log_message(self, *args: Any) -> None:
        return

    def _send(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {"Content-Type": "application/json"}).items():
            if name.lower() not in {"transfer-encoding", "connection", "content-length", "date", "server"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _status(self, code: int, message: str) -> None:
        body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "code": code}
        self._send(code, json.dumps(body).encode())

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != f"Bearer {self.stand.token}":
            return self._status(401, "Unauthorized")
        path, _, query = self.path.partition("?")
        if found := _PROXY.match(path):
            ns, kind, name, port, rest = found.groups()
            return self._proxy(self.stand.backends.get((ns, kind, name, int(port))), rest or "/", query)
        if found := _LIST.match(path):
            core, group, ns, plural = found.groups()
            items = self.stand.listed(core or group, plural, ns)
            if items is None:
                return self._status(404, "the server could not find the requested resource")
            return self._send(200, json.dumps({"kind": "List", "apiVersion": "v1", "items": items}).encode())
        return self._status(404, "the server could not find the requested resource")

    def _proxy(self, backend: str | None, path: str, query: str) -> None:
        if backend is None:
            return self._status(503, "no endpoints available for service")
        time.sleep(self.stand.slow.get(backend, 0.0))
        keep = {k: v for k, v in self.headers.items() if k.lower() not in {"authorization", "host"}}
        request = urllib.request.Request(f"http://{backend}{path}{'?' + query if query else ''}", headers=keep)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback only
                status, body, headers = answer.status, answer.read(), dict(answer.headers)
        except urllib.error.HTTPError as error:
            status, body, headers = error.code, error.read(), dict(error.headers)
        except (urllib.error.URLError, OSError) as error:
            return self._status(503, f"error trying to reach service: {error}")
        self._send(status, body, headers)


@dataclass
class ApiServer:
    """The API server of a stand-in cluster; `put` records objects, `backends` what the proxy reaches."""

    workdir: Path
    objects: list[dict[str, Any]] = field(default_factory=list)
    backends: dict[tuple[str, str, str, int], str] = field(default_factory=dict)
    """(namespace, `pods`/`services`, name, port) -> `127.0.0.1:PORT`."""
    slow: dict[str, float] = field(default_factory=dict)
    """Backend -> seconds the proxy waits before each request to it (a pod slow to answer)."""
    token: str = TOKEN
    """The bearer token the server accepts (the kubeconfig holds TOKEN)."""
    _exit: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def __enter__(self) -> ApiServer:
        self.ca, cert, key = _tls_files(self.workdir / "api-tls", ("kubernetes.default",), 30)
        handler = type("Handler", (_Handler,), {"stand": self})
        self.url = f"https://127.0.0.1:{self._exit.enter_context(_https(handler, cert, key)).port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self._exit.close()

    def put(self, *objects: dict[str, Any]) -> None:
        """Record objects (replacing one of the same kind, namespace and name), each schema-valid."""
        for obj in objects:
            problems = validation_errors(obj)
            assert problems == [], f"{obj['kind']} {obj['metadata']['name']}: {problems}"
            self.objects = [o for o in self.objects if _key(o) != _key(obj)] + [obj]

    def listed(self, api_version: str, plural: str, namespace: str | None) -> list[dict[str, Any]] | None:
        if (api_version, plural) not in _served():
            return None
        return [
            o
            for o in self.objects
            if o["apiVersion"] == api_version
            and f"{o['kind'].lower()}s" == plural
            and namespace in (None, o["metadata"].get("namespace"))
        ]

    def kubeconfig(self, context: str) -> Path:
        path = self.workdir / "kubeconfig"
        ca = base64.b64encode(self.ca.read_bytes()).decode()
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "stand", "cluster": {"server": self.url, "certificate-authority-data": ca}}],
                    "users": [{"name": "stand", "user": {"token": TOKEN}}],
                    "contexts": [{"name": context, "context": {"cluster": "stand", "user": "stand"}}],
                    "current-context": context,
                }
            )
        )
        return path


@cache
def _served() -> set[tuple[str, str]]:
    """What the API server serves: the core kinds the checks list, and every pinned CRD (installed)."""
    core = {("v1", "pods"), ("v1", "namespaces"), ("v1", "serviceaccounts"), ("batch/v1", "cronjobs")}
    return core | {(api_version, f"{kind.lower()}s") for api_version, kind in crd_schemas()}


def _key(obj: Mapping[str, Any]) -> tuple[str, str, str, str]:
    meta = obj["metadata"]
    return obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"]


class StandCluster(KubeApi):
    """The stand's API server as the kubeconfig reaches it; a port-forward is the backend's address."""

    api: ApiServer

    @classmethod
    def of(cls, api: ApiServer, context: str, deadline: Deadline) -> StandCluster:
        found = KubeApi.from_kubeconfig(context, deadline, [api.kubeconfig(context)])
        made = cls(found.server, deadline, tls=found._tls, token=TOKEN, context=context)
        made.api = api
        return made

    @contextlib.contextmanager
    def forward(self, namespace: str, target: str, port: int) -> Iterator[str]:
        kind, _, name = target.partition("/")
        backend = self.api.backends.get((namespace, {"pod": "pods", "svc": "services"}[kind], name, port))
        if backend is None:
            raise CheckError(f"port-forward {target} -n {namespace}: no such {kind}")
        yield backend


@dataclass
class StandGoogle:
    secrets: dict[str, str] = field(default_factory=dict)
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)

    def secret(self, secret_id: str) -> str:
        if secret_id not in self.secrets:
            raise CheckError(f"secrets/{secret_id}: 404 NOT_FOUND Secret [{secret_id}] not found or has no versions")
        return self.secrets[secret_id]

    def iam_policy(self, resource: str) -> dict[str, Any]:
        return self.policies.get(resource, {})


class _Site(http.server.BaseHTTPRequestHandler):
    answers: Mapping[str, tuple[int, Mapping[str, str]]]

    def log_message(self, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").split(":")[0]
        status, headers = self.answers.get(self.path, (404, {}))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value.replace("{host}", host))
        self.send_header("Content-Length", "0")
        self.end_headers()


def sso_answers(signs_in: bool = True) -> dict[str, tuple[int, Mapping[str, str]]]:
    """ingress-nginx with oauth2-proxy (`--skip-provider-button`) in front of the browser paths of
    docs/ingress-paths.md, LiteLLM behind the API paths, /metrics refused; or, `signs_in` False, an
    Ingress that sends the browser paths straight to LiteLLM."""
    to_idp = {
        "Location": "https://accounts.google.com/o/oauth2/auth?redirect_uri=https%3A%2F%2F{host}%2Foauth2%2Fcallback"
    }
    browser = (302, to_idp) if signs_in else (200, {})
    return {"/ui": browser, "/key/generate": browser, "/v1/models": (401, {}), "/metrics": (403, {})}


@contextlib.contextmanager
def tls_site(workdir: Path, hosts: tuple[str, ...], days: int, answers: Mapping[str, Any]) -> Iterator[StandNetwork]:
    """An HTTPS server for `hosts` with a certificate valid `days`, and the network that reaches it."""
    ca, cert, key = _tls_files(workdir, hosts, days)
    handler = type("Site", (_Site,), {"answers": dict(answers)})
    with _https(handler, cert, key) as server:
        yield StandNetwork(set(hosts), server.port, ssl.create_default_context(cafile=str(ca)))


class StandNetwork(Internet):
    """`hosts` resolve to loopback (any other name as the machine resolves it)."""

    def __init__(self, hosts: set[str], port: int, context: ssl.SSLContext) -> None:
        super().__init__(port, context)
        self.hosts = hosts

    def resolve(self, host: str) -> list[str]:
        return ["127.0.0.1"] if host in self.hosts else super().resolve(host)


def loaded(run: Any, cfg: Any) -> Loaded:
    """What `tools.verify.load` returns, from a program run the tests already have."""
    return cfg, run.kubernetes_objects(), run.resources


def run_verify(
    api: ApiServer, stack: Loaded, argv: list[str], google: StandGoogle | None = None, **sources: Any
) -> tuple[int, str]:
    """`python -m tools.verify` in this process against the stand: its exit status and output."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = command(
            argv,
            lambda _: stack,
            cluster=lambda context, deadline: StandCluster.of(api, context, deadline),
            google=lambda _project, _deadline: google or StandGoogle(),
            **sources,
        )
    return code, out.getvalue()


Route = tuple[int, Any]
"""An HTTP status and a JSON body."""


class _Recorded(http.server.BaseHTTPRequestHandler):
    routes: Mapping[str, Route]
    headers_wanted: Mapping[str, str]
    requests: list[tuple[str, str]]
    """Each request's method and path, in order."""

    def log_message(self, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        refused = any(self.headers.get(k) != v for k, v in self.headers_wanted.items())
        status, body = (
            (401, {"message": "Unauthorized"})
            if refused
            else self.routes.get(self.path.partition("?")[0], (404, {"message": "Not found"}))
        )
        self.requests.append((self.command, self.path))
        send_json(self, status, body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()


def recorded_http(
    routes: Mapping[str, Route], headers: Mapping[str, str] | None = None, requests: list[tuple[str, str]] | None = None
) -> LoopbackServer:
    """A loopback HTTP server answering GET or POST `path` (query ignored) with a recorded answer of the
    real server's API, and 401 to a request without the `headers` it wants (a token, a password); each
    request's method and path appended to `requests`."""
    attributes = {
        "routes": dict(routes),
        "headers_wanted": dict(headers or {}),
        "requests": [] if requests is None else requests,
    }
    handler = type("Recorded", (_Recorded,), attributes)
    return LoopbackServer(http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler))
