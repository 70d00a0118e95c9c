"""The LiteLLM release the program renders, run by a real LiteLLM proxy on loopback.

`tests/harness/litellm/probe.py --helm-values` takes the rendered chart values of the lab
stack (their `proxy_config`, `envVars`, `numWorkers`), swaps the model endpoints
for mock responses, starts `litellm` with them and checks what the deployment
relies on: a completion with the master key, `/metrics/` on the main port with
the key, and `/metrics/` on the separate PROMETHEUS_METRICS_PORT without any key,
with `litellm_proxy_total_requests_metric_total` in it. A config LiteLLM refuses
at start-up must make the probe fail. Both probe runs start together, when the
module's first test needs them.

The proxy comes from $LITELLM_BIN, else `.venv-litellm/bin/litellm`
(`tests/harness/litellm/install.sh`); without either the tests are skipped.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.run import run_stack
from tests.harness import timings
from tests.harness.litellm import probe as litellm_probe
from tests.support import ROOT
from tests.support.components import require
from tests.support.program import HELM_RELEASE

pytestmark = pytest.mark.real_proxy

PROBE_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def litellm_bin() -> Path:
    return require("litellm")


@pytest.fixture(scope="module")
def lab_values() -> dict[str, Any]:
    """The litellm-helm values of the lab stack, as the program renders them."""
    releases = run_stack("lab").of_type(HELM_RELEASE)
    assert len(releases) == 1, [r.name for r in releases]
    values = releases[0].plain_inputs["values"]
    assert isinstance(values, dict)
    return values


@dataclass
class ProbeRun:
    """One `python -m tests.harness.litellm.probe` run, started in the background."""

    process: subprocess.Popen[bytes]
    folder: Path
    started: float = field(default_factory=time.monotonic)
    recorded: bool = False

    def result(self) -> subprocess.CompletedProcess[str]:
        running = self.process.poll() is None
        try:
            self.process.wait(timeout=PROBE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if not self.recorded:
            self.recorded = True
            seconds = time.monotonic() - self.started
            when = f"after {seconds:.1f} s" if running else f"within {seconds:.1f} s (done before its test asked)"
            timings.record("litellm-real-proxy", f"probe {self.folder.name} exited {self.process.returncode} {when}")
        stdout = (self.folder / "stdout.txt").read_text(errors="replace")
        stderr = (self.folder / "stderr.txt").read_text(errors="replace")
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, stdout, stderr)


def start_probe(litellm: Path, values: dict[str, Any], folder: Path, *extra: str) -> ProbeRun:
    values_file = folder / "values.yaml"
    values_file.write_text(yaml.safe_dump(values, sort_keys=False))
    command = [
        sys.executable,
        "-m",
        "tests.harness.litellm.probe",
        "--litellm",
        str(litellm),
        "--helm-values",
        str(values_file),
        *extra,
    ]
    with (folder / "stdout.txt").open("wb") as out, (folder / "stderr.txt").open("wb") as err:
        process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    return ProbeRun(process, folder)


@pytest.fixture(scope="module")
def probes(
    litellm_bin: Path, lab_values: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, ProbeRun]]:
    """Both probe runs of this module, started at once: each spends most of its time starting
    LiteLLM (heavy imports, one core) or waiting for its metrics, so together they take
    little more than one."""
    broken = copy.deepcopy(lab_values)
    # LiteLLM validates this setting before it serves and exits on a bad value.
    broken["proxy_config"]["litellm_settings"]["prometheus_deployment_and_latency_caller_identity"] = "not-a-mode"
    lab = tmp_path_factory.mktemp("probe-lab")
    runs = {
        "lab": start_probe(litellm_bin, lab_values, lab, "--labels-out", str(lab / "labels.txt")),
        "refused": start_probe(litellm_bin, broken, tmp_path_factory.mktemp("probe-refused")),
    }
    try:
        yield runs
    finally:
        for run in runs.values():
            if run.process.poll() is None:
                run.process.kill()
                run.process.wait()


def test_rendered_lab_release_serves_traffic_and_metrics(
    lab_values: dict[str, Any], probes: dict[str, ProbeRun]
) -> None:
    # Without a metrics port in the values the probe would not check the keyless scrape.
    assert litellm_probe.METRICS_PORT_ENV in lab_values["envVars"]
    run = probes["lab"]
    result = run.result()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # The unbounded labels the config excludes are gone from every metric the proxy serves.
    excluded = set(lab_values["proxy_config"]["litellm_settings"]["prometheus_exclude_labels"])
    assert excluded == {"end_user", "client_ip", "user_agent", "user_email"}
    seen = {
        label
        for line in (run.folder / "labels.txt").read_text().splitlines()
        if not line.startswith("#") and " " in line
        for label in line.split(" ", 1)[1].split(",")
    }
    assert "requested_model" in seen
    assert not excluded & seen
    expected = [
        "[ok] completion 1 (",
        "[ok] GET /metrics/ with the master key: HTTP 200",
        f"[ok] {litellm_probe.REQUIRED_METRIC}: present",
        "[ok] GET /metrics/ on the metrics port without a key: HTTP 200",
        f"[ok] {litellm_probe.REQUIRED_METRIC} on the metrics port: present",
        "[ok] GET /metrics on the metrics port without a key (redirect followed):",
        f"(deployed: {lab_values['envVars'][litellm_probe.METRICS_PORT_ENV]})",
        "result: OK",
    ]
    missing = [line for line in expected if line not in result.stdout]
    assert not missing, output


def test_a_config_litellm_refuses_fails_the_probe(probes: dict[str, ProbeRun]) -> None:
    result = probes["refused"].result()
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "before it was live" in result.stderr, output
    assert "prometheus_deployment_and_latency_caller_identity" in result.stderr, output
