"""The reconciler's HTTP plumbing (HttpApi, GsmApi, http) over real sockets: a loopback server answers as
LiteLLM (the fake of tests/support/litellm_fake.py behind it), as Secret Manager's REST API (base64
payloads, `:access`, `:addVersion`) and as the GKE metadata server (a token only with
`Metadata-Flavor: Google`). Checks the headers each side needs, the error mapping (status, body
scrubbed), and that a full run over HTTP reaches the same state as the in-process one."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from components.tenants import reconciler
from tests.support import send_json
from tests.support.litellm_fake import FakeGsm, FakeLiteLLM, document, key_doc, team_doc

MASTER = "sk-master-" + "m" * 30
TOKEN = "ya29.test-token"
DOC = document([team_doc("search")], [key_doc("search-prod", "search"), key_doc("search-dev", "search")])


class Backends:
    def __init__(self) -> None:
        self.api = FakeLiteLLM()
        self.gsm = FakeGsm.holding(k["gsm_secret"] for k in DOC["keys"])
        self.tokens_issued = 0
        self.headers: list[dict[str, str]] = []


def _handler(backends: Backends) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, body: Any) -> None:
            send_json(self, status, body)

        def _route(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            backends.headers.append({k.lower(): v for k, v in self.headers.items()})
            if url.path.startswith("/computeMetadata/"):
                if self.headers.get("Metadata-Flavor") != "Google":
                    return self._answer(403, {"error": "Missing Metadata-Flavor"})
                backends.tokens_issued += 1
                return self._answer(200, {"access_token": TOKEN, "expires_in": 3599, "token_type": "Bearer"})
            if url.path.startswith("/v1/projects/"):
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._answer(401, {"error": {"code": 401}})
                name = url.path.removeprefix("/v1/")
                if method == "GET" and name.endswith("/versions/latest:access"):
                    latest = backends.gsm.latest(name.removesuffix("/versions/latest:access"))
                    if latest is None:
                        return self._answer(404, {"error": {"code": 404, "status": "NOT_FOUND"}})
                    data = base64.b64encode(json.dumps(latest).encode()).decode()
                    return self._answer(200, {"name": name, "payload": {"data": data}})
                if method == "POST" and name.endswith(":addVersion") and body is not None:
                    payload = json.loads(base64.b64decode(body["payload"]["data"]))
                    try:
                        backends.gsm.add(name.removesuffix(":addVersion"), payload)
                    except reconciler.CallError as error:
                        return self._answer(error.status, {"error": str(error)})
                    return self._answer(200, {"name": name + "/versions/1"})
                return self._answer(400, {"error": "unknown GSM call"})
            if self.headers.get("Authorization") != f"Bearer {MASTER}":
                return self._answer(401, {"error": {"message": "Authentication Error"}})
            try:
                return self._answer(200, backends.api.call(method, url.path, body, url.query))
            except reconciler.CallError as error:
                return self._answer(error.status or 500, {"error": {"message": str(error)}})

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

    return Handler


@pytest.fixture
def served() -> Iterator[tuple[Backends, str]]:
    backends = Backends()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(backends))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield backends, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _reconciler(url: str, out: list[str], err: list[str]) -> reconciler.Reconciler:
    api = reconciler.HttpApi(url, MASTER)
    gsm = reconciler.GsmApi(base_url=f"{url}/v1", token_url=f"{url}/computeMetadata/v1/token")
    return reconciler.Reconciler(api, gsm, datetime(2026, 12, 1, tzinfo=UTC), out=out.append, err=err.append)


def test_a_run_over_http_registers_the_keys_and_a_second_makes_no_write(served: tuple[Backends, str]) -> None:
    backends, url = served
    out: list[str] = []
    err: list[str] = []
    assert _reconciler(url, out, err).run(DOC) == 0, err
    assert len(backends.api.keys) == 2 and backends.gsm.adds == 2
    for key in DOC["keys"]:
        value = backends.gsm.latest(key["gsm_secret"])["key"]
        assert reconciler.key_hash(value) in backends.api.keys
    assert backends.tokens_issued == 1  # one metadata-server token for the whole run
    litellm = [h for h in backends.headers if h.get("authorization") == f"Bearer {MASTER}"]
    assert litellm and all(h.get("litellm-changed-by") == reconciler.CHANGED_BY for h in litellm)
    again = _reconciler(url, out, err)
    assert again.run(DOC) == 0 and again.writes == 0
    printed = "\n".join(out + err)
    assert MASTER not in printed and "sk-" not in printed


def test_an_error_answer_keeps_its_status_and_loses_any_key_value(served: tuple[Backends, str]) -> None:
    _, url = served
    api = reconciler.HttpApi(url, MASTER)
    with pytest.raises(reconciler.CallError) as error:
        api.call("POST", "/key/block", {"key": "0" * 64})
    assert error.value.status == 404 and "Key not found" in str(error.value)
    value = "sk-" + "k" * 40
    api.call("POST", "/key/generate", {"key": value, "key_alias": "a"})
    with pytest.raises(reconciler.CallError) as error:
        api.call("POST", "/key/generate", {"key": "sk-" + "j" * 40, "key_alias": "a"})
    assert error.value.status == 400 and value not in str(error.value)
    with pytest.raises(reconciler.CallError) as error:
        reconciler.HttpApi(url, "sk-wrong-master-key-value").call("GET", "/team/list")
    assert error.value.status == 401 and "sk-wrong" not in str(error.value)


def test_no_answer_is_status_0_and_gsm_without_a_version_is_none(served: tuple[Backends, str]) -> None:
    _, url = served
    with pytest.raises(reconciler.CallError) as error:
        reconciler.HttpApi("http://127.0.0.1:9", MASTER).call("GET", "/team/list")
    assert error.value.status == 0
    gsm = reconciler.GsmApi(base_url=f"{url}/v1", token_url=f"{url}/computeMetadata/v1/token")
    assert gsm.latest(DOC["keys"][0]["gsm_secret"]) is None
    gsm.add(DOC["keys"][0]["gsm_secret"], {"key": "sk-" + "g" * 40, "rotation": 3})
    assert gsm.latest(DOC["keys"][0]["gsm_secret"]) == {"key": "sk-" + "g" * 40, "rotation": 3}
    with pytest.raises(reconciler.CallError) as error:
        gsm.add("projects/acme/secrets/not-created-by-pulumi", {"key": "sk-" + "g" * 40, "rotation": 0})
    assert error.value.status == 404
