"""The release's chart and values for `langfuse.version`: the langfuse 2.x chart for v4
(components/langfuse/values_v4.py), the 1.5.x chart for v3 (components/langfuse/values.py)."""

from __future__ import annotations

from typing import Any

from components.kit import HelmChart
from components.langfuse import values, values_v4
from components.redis.values import RedisWiring
from config import LangfuseConfig, StackConfig


def helm_chart(lf: LangfuseConfig) -> HelmChart:
    """The locked chart of `langfuse.version`; ClickHouse's schema migration needs up to 20 minutes."""
    return HelmChart(asset=lf.chart_asset, timeout=1200)


def helm_values(cfg: StackConfig, redis: RedisWiring) -> dict[str, Any]:
    """The values of that chart (keys checked against it: tests/support/chart_keys.py), on the stack's shared
    Redis (`redis`: what `SharedState` wires)."""
    build = values_v4.helm_values if cfg.langfuse.version == "4" else values.helm_values
    return build(cfg, redis)
