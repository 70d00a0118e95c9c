"""Durations are refused at preview time when Go could not hold them or when they exceed the
setting's stated maximum: each Go reader (Prometheus, Alertmanager, ESO, oauth2-proxy) would
otherwise fail at apply time or misbehave. Each refusal names the key path and the accepted range."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config import parse_config
from config.durations import (
    GO_DURATION_MAX,
    GO_DURATION_MAX_NS,
    GO_DURATION_MAX_SECONDS,
    DurationRange,
    PeriodRange,
    duration_seconds,
    format_duration,
    period_seconds,
)
from tests.support.config import errors_for, with_value
from tools.preview import main

# (stack, key path, lowest accepted, highest accepted) in seconds.
RANGES: list[tuple[str, str, int, int]] = [
    ("lab", "alerts.performance.latency_for", 0, 86400),
    ("lab", "alerts.database.instance_down_for", 0, 86400),
    ("lab", "alertmanager.group_wait", 0, 3600),
    ("lab", "secrets.refresh_interval", 1, 86400),
    ("enterprise", "sso.cookie_refresh", 1, 12 * 3600 - 1),  # below cookie_expire (12h)
]


def _line(message: str, path: str) -> str:
    return next((ln for ln in message.splitlines() if f"llm-gateway:{path}:" in ln), "")


@pytest.mark.parametrize(("stack", "path", "low", "high"), RANGES, ids=[r[1] for r in RANGES])
@settings(max_examples=40, deadline=None)
@given(seconds=st.integers(min_value=0, max_value=GO_DURATION_MAX_SECONDS + 10**6))
def test_a_duration_is_accepted_exactly_within_its_range(
    stack: str, path: str, low: int, high: int, seconds: int
) -> None:
    raw = with_value(stack, path, format_duration(seconds))
    if low <= seconds <= high:
        parse_config(raw)
        return
    line = _line(errors_for(raw), path)
    assert line, f"{path}={format_duration(seconds)} refused without naming the key"
    if seconds > GO_DURATION_MAX_SECONDS:
        assert "longer than Go's time.Duration can hold (2562047h47m16s" in line
    assert "accepted: duration " in line or "shorter than" in line or "must be shorter" in line, line


@settings(max_examples=200, deadline=None)
@given(seconds=st.integers(min_value=0, max_value=2 * GO_DURATION_MAX_SECONDS))
def test_the_go_bound_is_time_duration_s_int64_of_nanoseconds(seconds: int) -> None:
    """The widest range (`Duration`): accepted exactly when Go's int64 of nanoseconds holds it."""
    widest = DurationRange("0s", GO_DURATION_MAX)
    text = format_duration(seconds)
    assert duration_seconds(text) == seconds
    if seconds * 10**9 <= GO_DURATION_MAX_NS:
        assert widest(text) == text
    else:
        with pytest.raises(ValueError, match=r"longer than Go's time\.Duration"):
            widest(text)


def test_the_go_bound_itself() -> None:
    assert GO_DURATION_MAX == "2562047h47m16s"
    assert DurationRange("0s", GO_DURATION_MAX)("2562047h47m16s") == "2562047h47m16s"
    with pytest.raises(ValueError, match=r"time\.Duration"):
        DurationRange("0s", GO_DURATION_MAX)("2562047h47m17s")


@pytest.mark.parametrize(
    ("stack", "path", "value", "why"),
    [
        ("lab", "alerts.cost.spike_for", "25h", "must be at most 24h (accepted: duration 0s–24h"),
        ("lab", "alerts.cost.spike_for", "9999999999h", "longer than Go's time.Duration"),
        ("lab", "alertmanager.repeat_interval", "121h", "must be at most 120h (accepted: duration 1s–120h"),
        ("lab", "alertmanager.group_interval", "0s", "must be at least 1s"),
        ("lab", "alertmanager.repeat_interval", "1m", "shorter than group_interval (5m)"),
        ("lab", "secrets.refresh_interval", "0s", "must be at least 1s (accepted: duration 1s–24h"),
        ("lab", "secrets.refresh_interval", "1d", "accepted: duration 1s–24h"),
        ("enterprise", "sso.cookie_expire", "169h", "must be at most 168h"),
        ("lab", "litellm.database.spend_logs_retention", "3651d", "must be at most 3650d (accepted: period 1d–3650d"),
        ("lab", "litellm.database.spend_logs_retention", "12h", "must be at least 1d"),
        ("lab", "litellm.database.cleanup_interval", "5w", "must be at most 30d"),
        ("lab", "litellm.database.cleanup_interval", "30m", "must be at least 1h"),
        ("lab", "litellm.settings.default_key_budget_duration", "400d", "must be at most 365d"),
    ],
)
def test_an_out_of_range_duration_names_the_key_and_the_accepted_range(
    stack: str, path: str, value: Any, why: str
) -> None:
    line = _line(errors_for(with_value(stack, path, value)), path)
    assert why in line, line


def test_every_problem_is_listed_at_once_and_the_cli_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["lab"]
    for setting in ("alerts.cost.spike_for=25h", "secrets.refresh_interval=0s", "alertmanager.group_wait=2h"):
        args += ["--set", f"llm-gateway:{setting}"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for path in ("alerts.cost.spike_for", "secrets.refresh_interval", "alertmanager.group_wait"):
        assert _line(err, path), err


def test_periods_read_as_litellm_reads_them() -> None:
    assert [period_seconds(p) for p in ("30s", "5m", "12h", "30d", "4w")] == [30, 300, 43200, 2592000, 2419200]
    for bad in ("0d", "1d12h", "d", "1y"):
        with pytest.raises(ValueError, match="accepted: period 1h–30d"):
            PeriodRange("1h", "30d")(bad)


def test_a_range_the_code_states_is_itself_checked() -> None:
    with pytest.raises(ValueError, match="bad duration range"):
        DurationRange("1h", "1m")
    with pytest.raises(ValueError, match="bad duration range"):
        DurationRange("0s", "2562047h47m17s")
