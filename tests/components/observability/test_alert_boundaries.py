"""The alert expressions at their edges, evaluated by promtool: a threshold's own value, a target
that is gone, a deployment just above or below the outage's request floor, a budget tier's bounds.

Written for the survivors of `python -m bench.mutations --family alerts` (docs/numbers.md,
"Mutation check"): the per-alert promtool cases (test_alerting.py) fire each alert well past
its threshold, so `>` written as `>=`, `absent()` dropped, the request floor counted per
minute and overlapping budget tiers all passed them. Each case here evaluates the rendered
expression (`promql_expr_test`, no `for:`) on series whose result is exact in binary
floating point (thresholds 0.25 and 0.5, budgets of 8), so an edge is an edge.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.litellm.names import scrape_job
from components.observability.rules import rule_groups
from config import StackConfig, parse_config
from tests.support.components import require
from tests.support.config import with_value

EVAL = "10m"


def config() -> StackConfig:
    """The lab with error-rate thresholds a ratio of two rates can equal exactly."""
    return parse_config(
        with_value("lab", "alerts.performance", {"error_rate_warning": 0.25, "error_rate_critical": 0.5})
    )


def expression(cfg: StackConfig, alert: str, severity: str) -> str:
    (expr,) = [
        rule["expr"]
        for group in rule_groups(cfg)
        for rule in group["rules"]
        if (rule["alert"], rule["labels"]["severity"]) == (alert, severity)
    ]
    return str(expr)


def labels(**values: str) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(values.items())) + "}"


def series(metric: str, values: str, **label_values: str) -> dict[str, str]:
    return {"series": f"{metric}{labels(**label_values)}", "values": values}


def cases(cfg: StackConfig) -> dict[str, tuple[list[dict[str, str]], list[tuple[str, str, list[dict[str, Any]]]]]]:
    """case -> (input series at 1m steps, [(alert, severity, expected samples at EVAL)])."""
    ns = cfg.namespaces.gateway
    job = scrape_job(cfg.litellm)
    failed, total = "litellm_proxy_failed_requests_metric_total", "litellm_proxy_total_requests_metric_total"
    deployment = {"namespace": ns, "api_provider": "openai", "litellm_model_name": "gpt-4o", "model_id": "m1"}
    key = {"namespace": ns, "hashed_api_key": "h1", "api_key_alias": "batch"}

    def budget(remaining: str, maximum: str) -> list[dict[str, str]]:
        return [
            series("litellm_remaining_api_key_budget_metric", f"{remaining}x15", **key),
            series("litellm_api_key_max_budget_metric", f"{maximum}x15", **key),
        ]

    def outage(per_minute: str) -> list[dict[str, str]]:
        return [
            series("litellm_deployment_total_requests_total", f"0+{per_minute}x15", **deployment),
            series("litellm_deployment_failure_responses_total", f"0+{per_minute}x15", **deployment),
        ]

    at = {"namespace": ns}
    return {
        # 1 failed of 4: exactly the warning threshold (0.25), which is not above it.
        "error rate at the warning threshold": (
            [series(failed, "0+1x15", exception_status="503", **at), series(total, "0+4x15", **at)],
            [("LiteLLMHighErrorRate", "warning", []), ("LiteLLMHighErrorRate", "critical", [])],
        ),
        # 2 of 4: above the warning threshold, exactly the critical one.
        "error rate at the critical threshold": (
            [series(failed, "0+2x15", exception_status="503", **at), series(total, "0+4x15", **at)],
            [
                ("LiteLLMHighErrorRate", "warning", [{"labels": labels(**at), "value": 0.5}]),
                ("LiteLLMHighErrorRate", "critical", []),
            ],
        ),
        # The scrape target vanished (another job's target is still there): absent() pages.
        "gateway target gone": (
            [series("up", "1x15", namespace=ns, job="something-else")],
            [("LiteLLMGatewayDown", "critical", [{"labels": labels(namespace=ns, job=job), "value": 1}])],
        ),
        # Every request fails: 10 requests in 5 minutes is past the floor (5), 2.5 is not.
        "outage above the request floor": (
            outage("2"),
            [("LiteLLMDeploymentOutage", "warning", [{"labels": labels(**deployment), "value": 1}])],
        ),
        "outage below the request floor": (outage("0.5"), [("LiteLLMDeploymentOutage", "warning", [])]),
        # Tiers are exclusive: 100 % used is Exhausted only; 87.5 % (1 of 8 left) is Notice only.
        "budget used up": (
            budget("0", "8"),
            [
                ("LiteLLMKeyBudgetNotice", "info", []),
                ("LiteLLMKeyBudgetLow", "warning", []),
                ("LiteLLMKeyBudgetExhausted", "critical", [{"labels": labels(**key), "value": 100}]),
            ],
        ),
        "budget in the first tier": (
            budget("1", "8"),
            [
                ("LiteLLMKeyBudgetNotice", "info", [{"labels": labels(**key), "value": 87.5}]),
                ("LiteLLMKeyBudgetLow", "warning", []),
                ("LiteLLMKeyBudgetExhausted", "critical", []),
            ],
        ),
    }


CASES = sorted(cases(config()))


@pytest.mark.parametrize("case", CASES)
def test_the_expression_at_its_edge(case: str, tmp_path: Path) -> None:
    cfg = config()
    input_series, expected = cases(cfg)[case]
    spec = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": input_series,
                "promql_expr_test": [
                    {"expr": expression(cfg, alert, severity), "eval_time": EVAL, "exp_samples": samples}
                    for alert, severity, samples in expected
                ],
            }
        ],
    }
    test_file = tmp_path / "boundaries.yaml"
    test_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    promtool = require("promtool")
    result = subprocess.run(
        [str(promtool), "test", "rules", str(test_file)], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_case_names_a_rendered_alert() -> None:
    cfg = config()
    for _series, expected in cases(cfg).values():
        for alert, severity, _samples in expected:
            assert expression(cfg, alert, severity)
