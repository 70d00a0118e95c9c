"""The LiteLLM release the program renders, run by a real LiteLLM proxy on loopback.

`tests/harness/litellm/probe.py --helm-values` takes the rendered chart values of the lab
stack (their `proxy_config`, `envVars`, `numWorkers`), swaps the model endpoints
for mock responses, starts `litellm` with them and checks what the deployment
relies on: a completion with the master key, `/metrics/` on the main port with
the key, and `/metrics/` on the separate PROMETHEUS_METRICS_PORT without any key,
with `litellm_proxy_total_requests_metric_total` in it. A config LiteLLM refuses
at start-up must make the probe fail.

The proxy comes from $LITELLM_BIN, else `.venv-litellm/bin/litellm`
(`tests/harness/litellm/install.sh`); without either the tests are skipped.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness.litellm import probe as litellm_probe
from tests.support import ROOT
from tests.support.program import HELM_RELEASE
from tools.offline import run_stack

pytestmark = pytest.mark.real_proxy

DEFAULT_LITELLM = ROOT / ".venv-litellm" / "bin" / "litellm"
PROBE_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def litellm_bin() -> Path:
    configured = os.environ.get("LITELLM_BIN")
    candidates = [Path(configured)] if configured else []
    candidates.append(DEFAULT_LITELLM)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    reason = (
        f"no litellm executable: LITELLM_BIN={configured or '(unset)'}, {DEFAULT_LITELLM} missing; "
        "run tests/harness/litellm/install.sh (CI does) or set LITELLM_BIN"
    )
    if os.environ.get("CI"):
        pytest.fail(reason)  # CI installs it: a skip there would hide a missing install step
    pytest.skip(reason)


@pytest.fixture(scope="module")
def lab_values() -> dict[str, Any]:
    """The litellm-helm values of the lab stack, as the program renders them."""
    releases = run_stack("lab").of_type(HELM_RELEASE)
    assert len(releases) == 1, [r.name for r in releases]
    values = releases[0].plain_inputs["values"]
    assert isinstance(values, dict)
    return values


def run_probe(litellm: Path, values: dict[str, Any], tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    values_file = tmp_path / "values.yaml"
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
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False)


def test_rendered_lab_release_serves_traffic_and_metrics(
    litellm_bin: Path, lab_values: dict[str, Any], tmp_path: Path
) -> None:
    # Without a metrics port in the values the probe would not check the keyless scrape.
    assert litellm_probe.METRICS_PORT_ENV in lab_values["envVars"]
    labels_file = tmp_path / "labels.txt"
    result = run_probe(litellm_bin, lab_values, tmp_path, "--labels-out", str(labels_file))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # The unbounded labels the config excludes are gone from every metric the proxy serves.
    excluded = set(lab_values["proxy_config"]["litellm_settings"]["prometheus_exclude_labels"])
    assert excluded == {"end_user", "client_ip", "user_agent", "user_email"}
    seen = {
        label
        for line in labels_file.read_text().splitlines()
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


def test_a_config_litellm_refuses_fails_the_probe(
    litellm_bin: Path, lab_values: dict[str, Any], tmp_path: Path
) -> None:
    broken = copy.deepcopy(lab_values)
    # LiteLLM validates this setting before it serves and exits on a bad value.
    broken["proxy_config"]["litellm_settings"]["prometheus_deployment_and_latency_caller_identity"] = "not-a-mode"
    result = run_probe(litellm_bin, broken, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "before it was live" in result.stderr, output
    assert "prometheus_deployment_and_latency_caller_identity" in result.stderr, output
