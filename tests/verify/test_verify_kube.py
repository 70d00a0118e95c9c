"""How `verify` reaches the API server from a kubeconfig (verify/kube.py), against the stand's HTTPS
API server: the CA and a static token (the other tests), an `exec` credential plugin as GKE's
`gke-gcloud-auth-plugin` is configured, and the refusals that name what to fix."""

from __future__ import annotations

import base64
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.verify_stand import TOKEN, ApiServer, live
from verify.kube import KubeApi
from verify.sources import CheckError, Deadline

NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "llm-gateway"}}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiServer]:
    with ApiServer(tmp_path) as server:
        server.put(live(NAMESPACE))
        yield server


def kubeconfig(api: ApiServer, user: dict[str, Any]) -> Path:
    path = api.workdir / "exec-kubeconfig"
    ca = base64.b64encode(api.ca.read_bytes()).decode()
    path.write_text(yaml.safe_dump({
        "clusters": [{"name": "gke", "cluster": {"server": api.url, "certificate-authority-data": ca}}],
        "users": [{"name": "gke", "user": user}],
        "contexts": [{"name": "gke_p_z_c", "context": {"cluster": "gke", "user": "gke"}}],
    }))  # fmt: skip
    return path


def plugin(status: dict[str, Any], code: int = 0) -> dict[str, Any]:
    """An exec plugin printing an ExecCredential (client.authentication.k8s.io/v1beta1) with `status`."""
    credential = {"kind": "ExecCredential", "apiVersion": "client.authentication.k8s.io/v1beta1", "status": status}
    script = (
        f"import sys; print({json.dumps(json.dumps(credential))}); sys.stderr.write('no credentials'); sys.exit({code})"
    )
    return {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable,
                     "args": ["-c", script], "installHint": "gcloud components install gke-gcloud-auth-plugin"}}  # fmt: skip


def test_an_exec_plugins_token_reaches_the_api_server(api: ApiServer) -> None:
    path = kubeconfig(api, plugin({"token": TOKEN, "expirationTimestamp": "2099-01-01T00:00:00Z"}))
    cluster = KubeApi.from_kubeconfig("gke_p_z_c", Deadline(10), [path])
    assert [n["metadata"]["name"] for n in cluster.objects("v1", "Namespace", None)] == ["llm-gateway"]


def test_a_failing_exec_plugin_is_the_reason(api: ApiServer) -> None:
    path = kubeconfig(api, plugin({}, code=1))
    with pytest.raises(CheckError) as error:
        KubeApi.from_kubeconfig("gke_p_z_c", Deadline(10), [path])
    assert error.value.detail == f"kubeconfig exec plugin {sys.executable}: no credentials"


def test_a_context_the_kubeconfig_lacks_is_named_with_those_it_has(api: ApiServer) -> None:
    path = kubeconfig(api, {"token": TOKEN})
    with pytest.raises(CheckError) as error:
        KubeApi.from_kubeconfig("gke_other", Deadline(10), [path])
    assert error.value.detail == "kube context 'gke_other' is not in the kubeconfig (contexts: gke_p_z_c)"


def test_an_api_server_with_an_unknown_ca_is_refused(api: ApiServer, tmp_path: Path) -> None:
    """Without the kubeconfig's CA the API server's certificate is not trusted: no token is sent to it."""
    path = kubeconfig(api, {"token": TOKEN})
    text = yaml.safe_load(path.read_text())
    del text["clusters"][0]["cluster"]["certificate-authority-data"]
    path.write_text(yaml.safe_dump(text))
    cluster = KubeApi.from_kubeconfig("gke_p_z_c", Deadline(10), [path])
    with pytest.raises(CheckError) as error:
        cluster.objects("v1", "Namespace", None)
    assert "CERTIFICATE_VERIFY_FAILED" in error.value.detail


def test_a_client_certificate_reaches_the_api_server_and_no_key_stays_on_disk(
    api: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`client-key-data` must be a file for ssl to load it: a private folder, removed once loaded."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    tls = api.workdir / "api-tls"
    user = {
        "token": TOKEN,
        "client-certificate-data": base64.b64encode((tls / "server.crt").read_bytes()).decode(),
        "client-key-data": base64.b64encode((tls / "server.key").read_bytes()).decode(),
    }
    cluster = KubeApi.from_kubeconfig("gke_p_z_c", Deadline(10), [kubeconfig(api, user)])
    assert [n["metadata"]["name"] for n in cluster.objects("v1", "Namespace", None)] == ["llm-gateway"]
    assert list(scratch.iterdir()) == []
