"""The Kubernetes API over HTTPS with the kubeconfig, as `kubectl` reads it (docs/decisions.md).

`KubeApi.from_kubeconfig(context)` reads `$KUBECONFIG` (its files merged, the first entry of a name
wins) or `~/.kube/config`, and takes the context's server, CA (`certificate-authority[-data]`) and
user: a `token`/`tokenFile`, a client certificate (`client-certificate[-data]`, `client-key[-data]`)
or an `exec` credential plugin (GKE's `gke-gcloud-auth-plugin`), run once per run.

- `objects`: one LIST per (kind, namespace), shared by the checks that need it;
- `http`: GET through the API server's proxy subresource (`.../pods/NAME:PORT/proxy/PATH`);
- `forward`: a TCP port-forward, which needs SPDY or WebSocket streams: that is `kubectl port-forward`
  (PostgreSQL, and the completion: the API server strips the `Authorization` header it consumes).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from verify.sources import Answer, CheckError, Deadline, http

_FORWARDING = re.compile(rb"Forwarding from 127\.0\.0\.1:(\d+)")
_TARGETS = {"pod": "pods", "svc": "services"}


def kubeconfig_paths(environ: Mapping[str, str] | None = None) -> list[Path]:
    environ = os.environ if environ is None else environ
    listed = environ.get("KUBECONFIG", "")
    paths = [Path(p) for p in listed.split(os.pathsep) if p] or [Path.home() / ".kube" / "config"]
    return [p for p in paths if p.is_file()]


def load_kubeconfig(paths: list[Path]) -> dict[str, dict[str, dict[str, Any]]]:
    """`clusters`, `users`, `contexts`: name -> entry (the first file naming it wins), plus `current`."""
    merged: dict[str, dict[str, dict[str, Any]]] = {"clusters": {}, "users": {}, "contexts": {}, "current": {}}
    for path in paths:
        data = yaml.safe_load(path.read_text()) or {}
        for section, key in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
            for entry in data.get(section) or []:
                merged[section].setdefault(str(entry.get("name")), {**(entry.get(key) or {}), "_dir": str(path.parent)})
        if data.get("current-context") and "name" not in merged["current"]:
            merged["current"]["name"] = data["current-context"]
    return merged


def _file(entry: Mapping[str, Any], key: str, folder: str) -> str | None:
    """`key-data` (base64) written to a file in `folder` (private, removed once read), or `key` (a path,
    relative to the kubeconfig)."""
    if entry.get(f"{key}-data"):
        path = Path(folder) / key
        path.write_bytes(base64.b64decode(entry[f"{key}-data"]))
        return str(path)
    if entry.get(key):
        return str(Path(entry["_dir"]) / entry[key])
    return None


def _exec_credential(spec: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    argv = [str(spec["command"]), *(str(a) for a in spec.get("args") or [])]
    env = {**os.environ, **{str(e["name"]): str(e["value"]) for e in spec.get("env") or []}}
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout, check=False, env=env)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CheckError(f"kubeconfig exec plugin {argv[0]}: {error}", str(spec.get("installHint", ""))) from None
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        raise CheckError(f"kubeconfig exec plugin {argv[0]}: {said[-1] if said else done.returncode}")
    status: dict[str, Any] = json.loads(done.stdout).get("status") or {}
    return status


class KubeApi:
    """One API server, as one kubeconfig context reaches it."""

    def __init__(
        self, server: str, deadline: Deadline, *, tls: ssl.SSLContext, token: str | None, context: str
    ) -> None:
        self.server, self.context, self._deadline, self._tls = server.rstrip("/"), context, deadline, tls
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._lock = threading.Lock()
        self._listed: dict[tuple[str, str, str | None], Future[list[dict[str, Any]]]] = {}

    @classmethod
    def from_kubeconfig(cls, context: str | None, deadline: Deadline, paths: list[Path] | None = None) -> KubeApi:
        config = load_kubeconfig(kubeconfig_paths() if paths is None else paths)
        name = context or config["current"].get("name")
        if not name or name not in config["contexts"]:
            known = ", ".join(sorted(config["contexts"])) or "none"
            raise CheckError(f"kube context {name!r} is not in the kubeconfig (contexts: {known})", "--context CTX")
        ctx = config["contexts"][name]
        cluster, user = config["clusters"].get(ctx.get("cluster", ""), {}), config["users"].get(ctx.get("user", ""), {})
        token = user.get("token")
        if user.get("tokenFile"):
            token = (Path(user["_dir"]) / user["tokenFile"]).read_text().strip()
        if user.get("exec"):
            status = _exec_credential(user["exec"], deadline.left())
            token = status.get("token")
            if status.get("clientCertificateData"):
                user = {**user, "client-certificate-data": base64.b64encode(status["clientCertificateData"].encode()),
                        "client-key-data": base64.b64encode(status["clientKeyData"].encode())}  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="verify-kubeconfig-") as folder:
            tls = ssl.create_default_context(cafile=_file(cluster, "certificate-authority", folder))
            if cluster.get("insecure-skip-tls-verify"):
                tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
            cert = _file(user, "client-certificate", folder)
            if cert:
                tls.load_cert_chain(cert, _file(user, "client-key", folder))
        return cls(str(cluster.get("server", "")), deadline, tls=tls, token=token, context=name)

    def _get(self, path: str, timeout: float, headers: Mapping[str, str] | None = None) -> Answer:
        return http(f"{self.server}{path}", timeout, headers={**self._headers, **(headers or {})}, tls=self._tls)

    def objects(self, api_version: str, kind: str, namespace: str | None) -> list[dict[str, Any]]:
        key = (api_version, kind, namespace)
        with self._lock:
            future = self._listed.get(key)
            mine = future is None
            if future is None:
                future = self._listed[key] = Future()
        if mine:
            try:
                future.set_result(self._list(api_version, kind, namespace))
            except CheckError as problem:
                future.set_exception(problem)
        return future.result()

    def _list(self, api_version: str, kind: str, namespace: str | None) -> list[dict[str, Any]]:
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        where = f"/namespaces/{quote(namespace)}" if namespace else ""
        plural = f"{kind.lower()}s"
        answer = self._get(f"{base}{where}/{plural}", self._deadline.left())
        if answer.status != 200:
            message = (answer.json() or {}).get("message") or answer.text()
            raise CheckError(
                f"listing {plural} ({api_version}){f' in {namespace}' if namespace else ''}: {answer.status} {message}",
                f"kubectl --context {self.context} get {plural}: credentials, RBAC, the operator's CRDs?",
            )
        items: list[dict[str, Any]] = (answer.json() or {}).get("items") or []
        return items

    def http(
        self,
        namespace: str,
        target: str,
        port: int,
        path: str,
        timeout: float,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        kind, _, name = target.partition("/")
        proxied = f"/api/v1/namespaces/{quote(namespace)}/{_TARGETS[kind]}/{quote(name)}:{port}/proxy{path}"
        return self._get(proxied, timeout, headers)

    @contextlib.contextmanager
    def forward(self, namespace: str, target: str, port: int) -> Iterator[str]:
        argv = ["kubectl", "--context", self.context, "-n", namespace, "port-forward", target, f":{port}"]
        process = subprocess.Popen(
            [*argv, "--address", "127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
        )
        try:
            line = _first_line(process, self._deadline.left(15))
            found = _FORWARDING.search(line)
            if found is None:
                said = process.stderr.read(4096) if process.poll() is not None and process.stderr else line
                raise CheckError(
                    f"kubectl port-forward {target} -n {namespace}: {said.decode().strip() or 'no answer'}",
                    f"kubectl --context {self.context} -n {namespace} get {target}",
                )
            yield f"127.0.0.1:{found[1].decode()}"
        finally:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _first_line(process: subprocess.Popen[bytes], timeout: float) -> bytes:
    """The first line a process prints, or b'' when it exits or says nothing in time."""
    lines: list[bytes] = []
    stdout = process.stdout
    reader = threading.Thread(target=lambda: lines.append(stdout.readline() if stdout else b""), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else b""
