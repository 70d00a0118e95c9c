"""One alert as authored here (`Alert`) and the PromQL pieces every family of alerts writes with:
label selectors, thresholds as people read them, LiteLLM periods in hours.

Pure; `components.observability.rules` renders the alerts into the PrometheusRule.
"""

from __future__ import annotations

from dataclasses import dataclass

from config import period_seconds


@dataclass(frozen=True)
class Alert:
    """One alerting rule as authored here (rendered by `components.observability.rules.rule`)."""

    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str


def selector(**matchers: str) -> str:
    """A label selector body; keys ending in `_re` are regex matchers (`=~`), `_nre` (`!~`), `_ne` (`!=`)."""
    parts = []
    for key, value in matchers.items():
        if key.endswith("_nre"):
            parts.append(f'{key[:-4]}!~"{value}"')
        elif key.endswith("_ne"):
            parts.append(f'{key[:-3]}!="{value}"')
        elif key.endswith("_re"):
            parts.append(f'{key[:-3]}=~"{value}"')
        else:
            parts.append(f'{key}="{value}"')
    return ", ".join(parts)


def threshold(value: float) -> str:
    """A threshold as PromQL and humans read it (no trailing .0)."""
    return f"{value:g}"


def hours(period: str) -> int:
    """A LiteLLM period ("1d", "12h", "2w", "30m") in whole hours, at least one."""
    return max(1, period_seconds(period) // 3600)
