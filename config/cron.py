"""Cron schedules as the Go programs that run them parse them: robfig/cron.

- A Kubernetes CronJob's `schedule` is parsed by robfig/cron v3's `ParseStandard` (five fields
  or an `@descriptor`), and on create the API server refuses any schedule containing `TZ`
  (`TZ=` / `CRON_TZ=` prefixes: the `timeZone` field replaces them). Source:
  kubernetes/kubernetes pkg/apis/batch/validation/validation.go, validateScheduleFormat.
- CloudNativePG's ScheduledBackup is parsed by robfig/cron v1's `Parse` (seconds first); its
  webhook refuses what that parser refuses and warns about anything but six fields
  (cloudnative-pg internal/webhook/v1/scheduledbackup_webhook.go). This program requires six.

The field grammar below follows robfig/cron v3 parser.go (`getField`, `getRange`,
`parseIntOrName`, `mustParseInt`, `parseDescriptor`; v1's is the same): a field is a
comma-separated list of ranges `*`, `?`, `N`, `N-M`, each with an optional `/step`; `N/step`
means `N-max/step`; months and weekdays may be names (jan-dec, sun-sat, any case); weekdays are
0-6 (7 is refused, unlike Vixie cron); a range must not run backwards (`5-2`); a step must be
positive. Python's croniter and cronsim accept several of these (`7`, `5-2`, `L`, `5#3`, `1W`),
and refuse some robfig accepts (`?`, `@every 1h`): tests/config/test_cron.py lists each difference.

Beyond the parser, two schedules that parse are refused here because they never do what they
say: one that never runs (`0 0 30 2 *`: February has no 30th, and robfig ANDs the day fields
when either is `*`), and a stepped range that matches one value (`*/61`: minute 0 only, hourly).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from typing import Final

from config.durations import GO_DURATION_MAX_SECONDS, duration_seconds


@dataclass(frozen=True)
class _Bounds:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    """Names for low, low+1, ... (months from 1, weekdays from 0)."""


SECONDS = _Bounds("second", 0, 59)
MINUTES = _Bounds("minute", 0, 59)
HOURS = _Bounds("hour", 0, 23)
DAYS = _Bounds("day of month", 1, 31)
MONTHS = _Bounds("month", 1, 12, tuple(name.lower() for name in calendar.month_abbr[1:]))
WEEKDAYS = _Bounds("day of week", 0, 6, ("sun", "mon", "tue", "wed", "thu", "fri", "sat"))

DESCRIPTORS: Final = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_INT64_MAX: Final = 2**63 - 1


class CronError(ValueError):
    """A schedule robfig/cron refuses (its reason), or one that never runs as written."""


@dataclass(frozen=True)
class _Field:
    values: frozenset[int]
    star: bool
    """Written as `*` or `?` without a step above 1: robfig's star bit (it changes day matching)."""


def _number(text: str, bounds: _Bounds) -> int:
    """parseIntOrName + mustParseInt: a name of the field, or what Go's strconv.Atoi reads (a sign is allowed)."""
    if text.lower() in bounds.names:
        return bounds.low + bounds.names.index(text.lower())
    if not re.fullmatch(r"[+-]?[0-9]+", text) or abs(int(text)) > _INT64_MAX:
        raise CronError(f"{text!r} is not a number{' or a name' if bounds.names else ''} ({bounds.name})")
    if int(text) < 0:
        raise CronError(f"negative number ({int(text)}) not allowed: {text}")
    return int(text)


def _range(expr: str, bounds: _Bounds) -> _Field:
    """getRange: `*`, `?`, `N`, `N-M`, each with an optional `/step`."""
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    star = low_and_high[0] in ("*", "?")
    if star:
        start, end = bounds.low, bounds.high
    else:
        if len(low_and_high) > 2:
            raise CronError(f"too many hyphens: {expr}")
        start = _number(low_and_high[0], bounds)
        end = _number(low_and_high[1], bounds) if len(low_and_high) == 2 else start
    if len(range_and_step) > 2:
        raise CronError(f"too many slashes: {expr}")
    step = 1
    if len(range_and_step) == 2:
        if not re.fullmatch(r"[+-]?[0-9]+", range_and_step[1]) or int(range_and_step[1]) < 0:
            raise CronError(f"the step of {expr} is not a positive number")
        step = int(range_and_step[1])
        if len(low_and_high) == 1:  # "N/step" means "N-max/step"
            end = bounds.high
        star = star and step <= 1
    if start < bounds.low:
        raise CronError(f"beginning of range ({start}) below minimum ({bounds.low}): {expr}")
    if end > bounds.high:
        raise CronError(f"end of range ({end}) above maximum ({bounds.high}): {expr}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr} ({bounds.name})")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")
    values = frozenset(range(start, end + 1, step))
    if step > 1 and end > start and len(values) == 1:
        raise CronError(
            f"{expr} matches {start} only (the step is longer than the range {start}-{end} of the {bounds.name} "
            f"field): write {start}, or a shorter step"
        )
    return _Field(values, star)


def _field(text: str, bounds: _Bounds) -> _Field:
    """getField: the union of comma-separated ranges (empty ones are skipped, as strings.FieldsFunc does)."""
    parts = [_range(expr, bounds) for expr in text.split(",") if expr]
    return _Field(frozenset().union(*(p.values for p in parts)), any(p.star for p in parts))


def _runs(days: _Field, months: _Field, weekdays: _Field) -> bool:
    """Whether some date matches. robfig's dayMatches: when either day field is a star, both must match
    (every month has every weekday, so the day of month decides); otherwise either may."""
    if not months.values:
        return False
    if days.star or weekdays.star:
        if not weekdays.values:
            return False
        return any(day <= calendar.monthrange(2024, month)[1] for month in months.values for day in days.values)
    return bool(weekdays.values) or any(
        day <= calendar.monthrange(2024, month)[1] for month in months.values for day in days.values
    )


def _fields(spec: str, layout: tuple[_Bounds, ...]) -> None:
    fields = spec.split()
    if len(fields) != len(layout):
        raise CronError(f"expected exactly {len(layout)} fields, found {len(fields)}: {fields}")
    parsed = {bounds.name: _field(text, bounds) for text, bounds in zip(fields, layout, strict=True)}
    times = [parsed[b.name] for b in layout if b.name in ("second", "minute", "hour")]
    days, months, weekdays = (parsed[b.name] for b in (DAYS, MONTHS, WEEKDAYS))
    if any(not f.values for f in times) or not _runs(days, months, weekdays):
        raise CronError("never runs: no time or date matches every field")


def _every(spec: str) -> None:
    """`@every <duration>`: robfig takes any Go duration (this program's grammar: h, m, s)."""
    try:
        seconds = duration_seconds(spec.removeprefix("@every "))
    except ValueError as exc:
        raise CronError(f"failed to parse duration {spec}: {exc}") from None
    if not 0 < seconds <= GO_DURATION_MAX_SECONDS:
        raise CronError(f"{spec}: the duration must be between 1s and Go's maximum")


def cronjob_schedule(spec: str) -> str:
    """A Kubernetes CronJob schedule: robfig/cron v3 ParseStandard, without `TZ` (refused on create)."""
    if not spec:
        raise CronError("empty spec string")
    if "TZ" in spec:
        raise CronError(
            "cannot use TZ or CRON_TZ in schedule: Kubernetes refuses it on create (the CronJob's timeZone, "
            "Etc/UTC, replaces it)"
        )
    if spec.startswith("@"):
        if spec.startswith("@every "):
            _every(spec)
        elif spec not in DESCRIPTORS:
            raise CronError(f"unrecognized descriptor: {spec} (known: {', '.join(sorted(DESCRIPTORS))}, @every <d>)")
        return spec
    _fields(spec, (MINUTES, HOURS, DAYS, MONTHS, WEEKDAYS))
    return spec


def seconds_first_schedule(spec: str) -> str:
    """CNPG's ScheduledBackup schedule: six fields, seconds first (robfig/cron v1 Parse)."""
    if not spec:
        raise CronError("empty spec string")
    _fields(spec, (SECONDS, MINUTES, HOURS, DAYS, MONTHS, WEEKDAYS))
    return spec
