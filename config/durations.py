"""Durations and periods with their accepted range, each checked by one callable metadata object.

Two grammars, both as their readers parse them:

- `Duration`-typed settings (refresh intervals, alert `for`, Alertmanager's intervals, session
  lifetimes) are read by Go programs (Prometheus, Alertmanager, External Secrets, oauth2-proxy):
  whole h/m/s units, largest first, each once, which both Go's `time.ParseDuration` and
  Prometheus' `model.ParseDuration` accept. Go keeps a duration in an int64 of nanoseconds, so
  nothing above 2^63-1 ns (2562047h47m16.854775807s, about 292 years) parses
  (go/src/time/format.go, ParseDuration: "invalid duration").
- LiteLLM's periods (spend-log retention, cleanup interval, budget periods) are one number and
  one unit (`30d`, `12h`, `4w`), read by litellm_core_utils/duration_parser into a
  Python timedelta that is added to "now": far beyond a few years it overflows datetime.

Each setting states its own range (`DurationRange("1s", "24h")`): the range is the check, the
error message and the config reference's wording (tools/config_reference.py reads `reference`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

GO_DURATION_MAX_NS: Final = 2**63 - 1
"""The longest Go `time.Duration`: an int64 count of nanoseconds."""
GO_DURATION_MAX_SECONDS: Final = GO_DURATION_MAX_NS // 10**9
"""9223372036: the most whole seconds a Go duration holds (2562047h47m16s)."""

_GO_GRAMMAR = re.compile(r"(?=[0-9])(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?")
_PERIOD_GRAMMAR = re.compile(r"([1-9][0-9]*)([smhdw])")
_UNIT_SECONDS: Final = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def duration_seconds(value: str) -> int:
    """A Go duration of this grammar (`1h30m`, `90s`) in seconds; ValueError if it is not one."""
    match = _GO_GRAMMAR.fullmatch(value)
    if match is None:
        raise ValueError("must be a duration such as 30s, 5m or 1h30m (units h, m, s, largest first, each once)")
    hours, minutes, seconds = (int(group or 0) for group in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def period_seconds(value: str) -> int:
    """A LiteLLM period (`30d`, `12h`, `2w`: one number, one unit) in seconds."""
    match = _PERIOD_GRAMMAR.fullmatch(value)
    if match is None:
        raise ValueError("must be a period with one unit (s, m, h, d, w), such as 30d or 12h")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_duration(seconds: int) -> str:
    """Seconds as the shortest Go duration of this grammar: 5400 -> `1h30m`, 0 -> `0s`."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"


GO_DURATION_MAX: Final = format_duration(GO_DURATION_MAX_SECONDS)
"""`2562047h47m16s`: the longest duration of this grammar a Go program can hold."""


@dataclass(frozen=True)
class _Range:
    """A range of a duration-like string between `low` and `high` (inclusive): bounds in seconds, written
    as the setting writes them; `why` explains the maximum in a refusal."""

    low: str
    high: str
    why: str = ""
    kind: str = "duration"
    shortest: ClassVar[int] = 0
    """The least `low` may be, in seconds."""

    def __post_init__(self) -> None:
        if not self.shortest <= self.seconds(self.low) <= self.seconds(self.high) <= GO_DURATION_MAX_SECONDS:
            raise ValueError(f"bad {self.kind} range {self.low}–{self.high}")

    def seconds(self, value: str) -> int:
        raise NotImplementedError

    @property
    def reference(self) -> str:
        """The config reference's wording, e.g. `duration 1s` and `24h` joined by an en dash."""
        return f"{self.kind} {self.low}–{self.high}"

    def __call__(self, value: str) -> str:
        try:
            seconds = self.seconds(value)
        except ValueError as exc:
            raise ValueError(f"{exc}; accepted: {self.reference}") from None
        if seconds > GO_DURATION_MAX_SECONDS:
            raise ValueError(
                f"{value} is longer than Go's time.Duration can hold ({GO_DURATION_MAX}, about 292 years); "
                f"accepted: {self.reference}"
            )
        if seconds < self.seconds(self.low):
            raise ValueError(f"must be at least {self.low} (accepted: {self.reference}{self._because})")
        if seconds > self.seconds(self.high):
            raise ValueError(f"must be at most {self.high} (accepted: {self.reference}{self._because})")
        return value

    @property
    def _because(self) -> str:
        return f"; {self.why}" if self.why else ""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self, handler(source))


@dataclass(frozen=True)
class DurationRange(_Range):
    """A Go duration between `low` and `high` (inclusive)."""

    def seconds(self, value: str) -> int:
        return duration_seconds(value)


@dataclass(frozen=True)
class PeriodRange(_Range):
    """A LiteLLM period between `low` and `high` (inclusive); never 0."""

    kind: str = "period"
    shortest: ClassVar[int] = 1

    def seconds(self, value: str) -> int:
        return period_seconds(value)
