"""No chart renders a credential of its own: every password and key comes from GSM through ESO. A chart that
generates one (randAlphaNum in the template, a new value on every render, never in GSM) fails here."""

from __future__ import annotations

import copy
from functools import cache

import pytest

from components.langfuse import chart as lf_chart
from tests.support import rendered as checks
from tests.support.config import redis_wiring, scenario_config
from tests.support.direct import render
from tests.support.program import SCENARIOS, run_scenario

SCENARIO_IDS = ["lab", "enterprise", "lab-langfuse", "lab-langfuse-v3"]


@cache
def _deployed(scenario: str) -> checks.Deployed:
    return checks.deployed(run_scenario(scenario))


def _held(body: dict[str, object]) -> list[str]:
    """The keys a Secret carries a value for."""
    out: list[str] = []
    for field in ("data", "stringData"):
        values = body.get(field) or {}
        assert isinstance(values, dict)
        out += [f"{field}.{key}" for key, value in values.items() if value]
    return out


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_no_rendered_chart_secret_holds_a_value(scenario: str) -> None:
    d = _deployed(scenario)
    secrets = [o for o in d.of_kind("Secret") if o.origin != "program"]
    if scenario == "enterprise":  # the 2.x chart always renders `<release>-app` (no `if` in its template)
        assert "langfuse-app" in {o.name for o in secrets}
    assert [f"{o.ref}: {key}" for o in secrets for key in _held(o.body)] == []


def test_a_credential_left_to_the_chart_is_caught() -> None:
    """Control: the langfuse 2.x chart generates the salt into `<release>-app` when the values name none."""
    stack, overrides = SCENARIOS["enterprise"]
    cfg = scenario_config(stack, *overrides)
    values = copy.deepcopy(lf_chart.helm_values(cfg, redis_wiring(cfg)))
    del values["langfuse"]["salt"]
    objects = render(cfg.langfuse.release_name, cfg.namespaces.gateway, lf_chart.helm_chart(cfg.langfuse), values)
    app = [o.body for o in objects if o.body["kind"] == "Secret" and o.body["metadata"]["name"] == "langfuse-app"]
    assert [key for body in app for key in _held(body)] == ["data.salt"]
