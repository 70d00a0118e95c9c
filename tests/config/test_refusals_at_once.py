"""The apply-time refusals together through the preview CLI: one clear error, exit 2, no traceback, every
problem listed at once under its key path (each family's own module tests its rule)."""

from __future__ import annotations

import pytest

from tools.preview import main

SETS = {
    "alerts.cost.spike_for": "9999999999h",
    "reporting.schedule": "0 0 * * 7",
    "litellm.image": "ghcr.io/BerriAI/litellm-non_root:v1.108.7",
    "alertmanager.group_by": "[alertname, kube-namespace]",
    "gke.kube_context": '"lab\\u202e"',
    "litellm.models[0].api_base": "http://llm.example.com/v1",
}
LINES = {
    "alerts.cost.spike_for": "longer than Go's time.Duration can hold",
    "reporting.schedule": "end of range (7) above maximum (6)",
    "litellm.image": "must be lower case",
    "alertmanager.group_by[1]": "expected a label name",
    "gke.kube_context": "U+202E",
    "litellm.models[0].api_base": "is plain http to llm.example.com",
}


def test_every_refusal_at_once_exits_2_with_one_message(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["lab"]
    for key, value in SETS.items():
        args += ["--set", f"llm-gateway:{key}={value}"]
    assert main(args) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert "Traceback" not in err + captured.out
    assert err.startswith("error: ") and err.count("\nerror:") == 0, err
    assert f"invalid stack config ({len(LINES)} problems)" in err, err
    for key, text in LINES.items():
        line = next((ln for ln in err.splitlines() if ln.startswith(f"  - llm-gateway:{key}:")), "")
        assert text in line, err
