"""The rendered lab release on a real LiteLLM 1.108.7 proxy run as the pods run it: uid/gid 65534 (the
`nobody` of ghcr.io/berriai/litellm-non_root), its installation read-only to it, only the directories
the pod declares as emptyDirs writable, the environment pointing there (tests/harness/litellm/unprivileged.py).

It serves a completion, the UI and `/metrics/` on the separate metrics port; it writes below the
release's TMPDIR only (the Prometheus multiprocess files), nothing into the installation and nothing
anywhere else it could. One proxy start. Needs root to switch users (the component `root` of tests/support/components.py):
CI runs as root.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.litellm import values
from config.litellm import NON_ROOT_UID
from tests.harness.litellm import deployed, probe, unprivileged
from tests.support.components import require
from tests.support.config import stack_config
from tests.support.direct import one, render
from tests.support.program import HELM_RELEASE, run_cached

pytestmark = pytest.mark.real_proxy

STARTUP_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Pod:
    """The proxy container as rendered: its plain environment and its emptyDir mounts."""

    env: dict[str, str]
    empty_dirs: tuple[str, ...]
    proxy_config: dict[str, Any]
    num_workers: int


def _pod() -> Pod:
    run = run_cached("lab")
    lit = stack_config("lab").litellm
    (release,) = [r for r in run.of_type(HELM_RELEASE) if str(r.inputs.get("chart", "")).endswith("/litellm-helm")]
    helm_values = release.plain_inputs["values"]
    objects = render(lit.release_name, release.plain_inputs["namespace"], values.helm_chart(lit), helm_values)
    spec = one(objects, "Deployment")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    empty = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
    mounts = tuple(m["mountPath"] for m in container["volumeMounts"] if m["name"] in empty)
    # No database here: LiteLLM builds a URL from DATABASE_HOST/NAME/... as well as DATABASE_URL.
    env = {
        e["name"]: str(e["value"]) for e in container["env"] if "value" in e and not e["name"].startswith("DATABASE_")
    }
    return Pod(env, mounts, helm_values["proxy_config"], int(helm_values["numWorkers"]))


@dataclass(frozen=True)
class Run:
    pod: Pod
    proxy_url: str
    metrics_url: str
    master_key: str
    mapped: dict[str, Path]
    """Each emptyDir mount path of the pod -> its directory here (owned by the user)."""
    installation: Path
    interpreter: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def unprivileged_proxy() -> Iterator[Run]:
    found = require("litellm")
    require("root")
    pod = _pod()
    base = Path(tempfile.mkdtemp(prefix="litellm-readonly-"))
    try:
        base.chmod(0o755)
        installation = unprivileged.venv_site_packages(found)
        python = unprivileged.copy_interpreter(unprivileged.base_interpreter(found), installation, base / "python")
        mapped: dict[str, Path] = {}
        for mount in pod.empty_dirs:
            folder = base / "empty" / mount.strip("/").replace("/", "_")
            folder.mkdir(parents=True)
            os.chown(folder, NON_ROOT_UID, NON_ROOT_UID)
            folder.chmod(0o700)
            mapped[mount] = folder
        master_key = f"sk-readonly-{secrets.token_hex(16)}"
        config = probe.rewrite_config(pod.proxy_config, master_key).config
        (base / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        (base / "config.yaml").chmod(0o644)
        port = probe.free_loopback_port()
        metrics_port = probe.free_loopback_port(other_than=port)
        env = {k: _mapped(v, mapped) for k, v in pod.env.items()}
        env |= {
            "PATH": "/usr/bin:/bin",
            "HOME": str(base),  # the image's HOME (/app) is read-only here
            "LD_LIBRARY_PATH": unprivileged.library_path(python),
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "PROMETHEUS_METRICS_PORT": str(metrics_port),
            "PYTHONUNBUFFERED": "1",
            **deployed.NO_EGRESS,
        }
        command = [str(python), "-c", "import sys; from litellm import run_server; sys.exit(run_server())"]
        command += ["--config", str(base / "config.yaml"), "--host", "127.0.0.1", "--port", str(port)]
        command += ["--num_workers", str(pod.num_workers)]
        log_path = base / "litellm.log"
        with log_path.open("wb") as log:
            process = unprivileged.run_as(
                NON_ROOT_UID, command, env, base, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            probe.wait_until_live(f"http://127.0.0.1:{port}", process, STARTUP_TIMEOUT_S, log_path)
            yield Run(
                pod,
                f"http://127.0.0.1:{port}",
                f"http://127.0.0.1:{metrics_port}",
                master_key,
                mapped,
                installation,
                python,
                env,
            )
        finally:
            probe.stop_process(process)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _mapped(value: str, mapped: dict[str, Path]) -> str:
    """An environment value pointing into an emptyDir, pointing into its directory here."""
    for mount, folder in sorted(mapped.items(), key=lambda item: -len(item[0])):
        if value == mount or value.startswith(mount.rstrip("/") + "/"):
            return str(folder) + value[len(mount.rstrip("/")) :]
    return value


def test_the_pod_declares_a_temporary_directory_the_environment_points_to() -> None:
    pod = _pod()
    assert pod.env["TMPDIR"] in pod.empty_dirs
    assert pod.env["LITELLM_MIGRATION_DIR"].startswith(pod.env["TMPDIR"] + "/")


def test_it_serves_requests_the_ui_and_metrics_as_uid_65534(unprivileged_proxy: Run) -> None:
    run = unprivileged_proxy
    installed = [run.installation, run.installation / "litellm", run.interpreter.parent.parent]
    assert unprivileged.can_write(NON_ROOT_UID, installed, run.env, run.interpreter) == []
    (model, *_) = [m["model_name"] for m in run.pod.proxy_config["model_list"]]
    chat = probe.chat(run.proxy_url, run.master_key, model)
    assert probe.completion_ok(chat, stream=False), chat
    assert probe.http_call("GET", f"{run.proxy_url}/ui/").status == 200
    names: frozenset[str] = frozenset()
    deadline = time.monotonic() + probe.METRICS_WAIT_S
    while time.monotonic() < deadline:
        scrape = probe.http_call("GET", f"{run.metrics_url}/metrics/")  # status 0 until it listens
        names = probe.parse_exposition(scrape.body).sample_names if scrape.status == 200 else frozenset()
        if probe.REQUIRED_METRIC in names:
            break
        time.sleep(1)
    assert probe.REQUIRED_METRIC in names


def test_it_writes_only_below_its_temporary_directory(unprivileged_proxy: Run) -> None:
    run = unprivileged_proxy
    # After the previous test's traffic (pytest runs a module's tests in order).
    tmp = run.mapped[run.pod.env["TMPDIR"]]
    written = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*"))
    assert "litellm_prometheus_multiproc" in written, written
    others = [folder for mount, folder in run.mapped.items() if mount != run.pod.env["TMPDIR"]]
    assert [str(p) for folder in others for p in folder.rglob("*")] == []
    outside = unprivileged.owned_by(NON_ROOT_UID, unprivileged.WORLD_WRITABLE, run.mapped.values())
    assert outside == []
