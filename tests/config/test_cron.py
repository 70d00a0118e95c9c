"""Cron schedules are parsed as the Go programs that run them parse them (robfig/cron: Kubernetes'
CronJob controller for `reporting.schedule`, CNPG for `postgres.backup.schedule`), so a schedule the
API server or the webhook would refuse at apply time is refused at preview time, with the key path.

The Python parser the config used before (croniter) accepted several of these: weekday 7, reversed
ranges (`5-2`), and it knew nothing of Kubernetes' refusal of `TZ=`; it refused robfig's `?`."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config import parse_config
from config.cron import DAYS, HOURS, MINUTES, MONTHS, WEEKDAYS, CronError, cronjob_schedule, seconds_first_schedule
from tests.support.config import errors_for, with_value

ACCEPTED = [
    "*/10 * * * *",
    "0 3 * * *",
    "@hourly",
    "@daily",
    "@midnight",
    "@yearly",
    "@every 1h30m",
    "0 3 * * mon-fri",
    "0 3 * JAN,jul *",
    "? * * * *",  # robfig reads ? as *
    "0 0 29 2 *",  # leap years only, but it runs
    "0 0 30 2 1",  # neither day field is *: day 30 OR Monday, so every Monday of February
    "0,30 8-18/2 1,15 * *",
    "5/15 * * * *",  # N/step means N-59/step
    "0 +3 * * *",  # Go's strconv.Atoi takes a sign
]

REFUSED = [
    ("", "empty spec string"),
    ("5-2 * * * *", "beginning of range (5) beyond end of range (2)"),
    ("0 0 * * fri-mon", "beginning of range (5) beyond end of range (1)"),
    ("0 0 * * 7", "end of range (7) above maximum (6)"),
    ("60 * * * *", "end of range (60) above maximum (59)"),
    ("0 24 * * *", "end of range (24) above maximum (23)"),
    ("0 0 0 * *", "beginning of range (0) below minimum (1)"),
    ("0 0 * 13 *", "end of range (13) above maximum (12)"),
    ("*/0 * * * *", "step of range should be a positive number"),
    ("1-2-3 * * * *", "too many hyphens"),
    ("*/2/3 * * * *", "too many slashes"),
    ("-1 * * * *", "is not a number"),
    ("x * * * *", "is not a number"),
    ("0 0 * * monday", "is not a number or a name"),
    ("* * * *", "expected exactly 5 fields, found 4"),
    ("0 * * * * *", "expected exactly 5 fields, found 6"),
    ("TZ=UTC 0 3 * * *", "cannot use TZ or CRON_TZ"),
    ("CRON_TZ=Europe/Paris 0 3 * * *", "cannot use TZ or CRON_TZ"),
    ("@fortnightly", "unrecognized descriptor"),
    ("@HOURLY", "unrecognized descriptor"),
    ("@every 1d", "failed to parse duration"),
    ("0 0 30 2 *", "never runs"),  # February 30th
    ("0 0 31 4,6,9,11 *", "never runs"),
    ("*/61 * * * *", "matches 0 only"),
]


@pytest.mark.parametrize("schedule", ACCEPTED)
def test_robfig_accepts(schedule: str) -> None:
    assert cronjob_schedule(schedule) == schedule
    parse_config(with_value("lab", "reporting.schedule", schedule))


@pytest.mark.parametrize(("schedule", "why"), REFUSED, ids=[r[0] or "empty" for r in REFUSED])
def test_what_the_cronjob_parser_refuses_is_refused_with_the_key_path(schedule: str, why: str) -> None:
    message = errors_for(with_value("lab", "reporting.schedule", schedule))
    line = next((ln for ln in message.splitlines() if "llm-gateway:reporting.schedule:" in ln), "")
    assert why in line, message
    assert "five-field cron expression" in line


FIELDS = [(0, MINUTES), (1, HOURS), (2, DAYS), (3, MONTHS), (4, WEEKDAYS)]


@pytest.mark.parametrize(("position", "bounds"), FIELDS, ids=[f[1].name for f in FIELDS])
@settings(max_examples=60, deadline=None)
@given(low=st.integers(min_value=-2, max_value=40), high=st.integers(min_value=-2, max_value=40))
def test_a_range_is_accepted_exactly_when_it_runs_forwards_within_its_field(
    position: int, bounds: object, low: int, high: int
) -> None:
    fields = ["*"] * 5
    fields[position] = f"{low}-{high}"
    schedule = " ".join(fields)
    b = FIELDS[position][1]
    if b.low <= low <= high <= b.high:
        assert cronjob_schedule(schedule) == schedule
    else:
        with pytest.raises(CronError):
            cronjob_schedule(schedule)


@settings(max_examples=60, deadline=None)
@given(start=st.integers(min_value=0, max_value=59), step=st.integers(min_value=0, max_value=70))
def test_a_step_is_refused_when_zero_or_when_it_leaves_one_minute(start: int, step: int) -> None:
    schedule = f"{start}-59/{step} * * * *"
    if step == 0 or (start < 59 and start + step > 59):
        with pytest.raises(CronError):
            cronjob_schedule(schedule)
    else:
        assert cronjob_schedule(schedule) == schedule


def test_the_backup_schedule_takes_six_fields_seconds_first() -> None:
    assert seconds_first_schedule("0 0 3 * * *") == "0 0 3 * * *"
    for schedule, why in (
        ("0 3 * * *", "expected exactly 6 fields"),
        ("60 0 3 * * *", "above maximum (59)"),
        ("0 0 3 * * 7", "above maximum (6)"),
        ("0 0 3 5-1 * *", "beyond end of range"),
        ("@daily", "expected exactly 6 fields"),
    ):
        message = errors_for(with_value("enterprise", "postgres.backup.schedule", schedule))
        line = next((ln for ln in message.splitlines() if "llm-gateway:postgres.backup.schedule:" in ln), "")
        assert why in line and "six-field cron expression" in line, message
