"""The spend alerts: LLM cost (the daily budget, an hourly spike), the keys' and teams' budgets
(tiers of their max budget, from LiteLLM's budget gauges) and the spend-log retention cleanup.
"""

from __future__ import annotations

from components.observability.alerts.alert import Alert, hours, selector, threshold
from config import StackConfig


def cost_alerts(cfg: StackConfig) -> list[Alert]:
    c = cfg.alerts.cost
    ns = selector(namespace=cfg.namespaces.gateway)
    last_hour = f"sum by (namespace) (increase(litellm_spend_metric_total{{{ns}}}[1h]))"
    hour_before = f"sum by (namespace) (increase(litellm_spend_metric_total{{{ns}}}[1h] offset 1h))"
    return [
        Alert(
            name="LiteLLMDailySpendOverBudget",
            expr=(
                f"sum by (namespace) (increase(litellm_spend_metric_total{{{ns}}}[24h])) "
                f"> {threshold(c.daily_spend_usd)}"
            ),
            for_=c.daily_spend_for,
            severity="warning",
            summary="LLM spend over the last 24 hours exceeds the daily budget",
            description=(
                'The gateway in {{ $labels.namespace }} spent ${{ $value | printf "%.2f" }} in the last '
                f"24 hours (daily budget ${threshold(c.daily_spend_usd)})."
            ),
        ),
        Alert(
            name="LiteLLMSpendSpike",
            # An hour with no spend before it compares against zero.
            expr=(
                f"{last_hour} > {threshold(c.spike_factor)} * ({hour_before} or {last_hour} * 0) "
                f"and {last_hour} > {threshold(c.spike_min_usd_per_hour)}"
            ),
            for_=c.spike_for,
            severity="warning",
            summary="LLM spend jumped compared with the previous hour",
            description=(
                'The gateway in {{ $labels.namespace }} spent ${{ $value | printf "%.2f" }} in the last hour, '
                f"more than {threshold(c.spike_factor)}x the hour before "
                f"(and above ${threshold(c.spike_min_usd_per_hour)}/h)."
            ),
        ),
    ]


BUDGET_TIERS = (("Notice", "info"), ("Low", "warning"), ("Exhausted", "critical"))


def budget_alerts(cfg: StackConfig) -> list[Alert]:
    """Spend crossing each tier of a key's or team's max budget (LiteLLM's budget gauges).

    Tiers are exclusive (>= this tier, < the next), so one key or team fires one alert.
    The gauges exist from the proxy's start for every key and team with a budget
    (`prometheus_initialize_budget_metrics`), not only after their first request.
    """
    b = cfg.alerts.budgets
    ns = selector(namespace=cfg.namespaces.gateway)
    entities = (
        (
            "Key",
            "litellm_remaining_api_key_budget_metric",
            "litellm_api_key_max_budget_metric",
            "namespace, hashed_api_key, api_key_alias",
            "API key {{ $labels.api_key_alias }} (hash {{ $labels.hashed_api_key }})",
            "An API key",
            "/key/update",
        ),
        (
            "Team",
            "litellm_remaining_team_budget_metric",
            "litellm_team_max_budget_metric",
            "namespace, team, team_alias",
            "Team {{ $labels.team_alias }} ({{ $labels.team }})",
            "A team",
            "/team/update",
        ),
    )
    alerts = []
    for entity, remaining, maximum, by, who, subject, _update in entities:
        used = f"100 * (1 - min by ({by}) ({remaining}{{{ns}}}) / max by ({by}) ({maximum}{{{ns}}} > 0))"
        for tier, ((suffix, severity), low) in enumerate(zip(BUDGET_TIERS, b.used_percent, strict=True)):
            upper = b.used_percent[tier + 1] if tier + 1 < len(b.used_percent) else None
            expr = f"{used} >= {threshold(low)}" + (f" < {threshold(upper)}" if upper is not None else "")
            crossed = f"{threshold(low)}%" if upper is None else f"{threshold(low)}% (below {threshold(upper)}%)"
            alerts.append(
                Alert(
                    name=f"LiteLLM{entity}Budget{suffix}",
                    expr=expr,
                    for_=b.used_for,
                    severity=severity,
                    summary=f"{subject} has used {threshold(low)}% of its budget"
                    if upper is not None
                    else f"{subject} has used up its budget",
                    description=(
                        f'{who} has used {{{{ $value | printf "%.1f" }}}}% of its max budget (threshold {crossed}).'
                    ),
                )
            )
    return alerts


def retention_alerts(cfg: StackConfig) -> list[Alert]:
    """The spend-log cleanup (LiteLLM 1.108's SpendLogCleanupMetrics, registered at its first run)."""
    db = cfg.litellm.database
    ns = cfg.namespaces.gateway
    window = f"{hours(db.cleanup_interval) + 1}h"
    aborted = f"litellm_spend_log_cleanup_runs_total{{{selector(namespace=ns, outcome='aborted')}}}"
    remaining = f"litellm_spend_log_cleanup_rows_remaining{{{selector(namespace=ns, table='LiteLLM_SpendLogs')}}}"
    return [
        Alert(
            name="LiteLLMSpendLogCleanupFailing",
            # The counter appears with its first abort: a series absent one window ago counts from 0.
            expr=f"sum by (namespace) ({aborted} - ({aborted} offset {window} or {aborted} * 0)) > 0",
            for_="0m",
            severity="warning",
            summary="The spend-log retention cleanup aborted",
            description=(
                "{{ $value }} spend-log cleanup run(s) aborted in {{ $labels.namespace }} in the last "
                f"{window} (an error, or repeated failed delete batches); expired LiteLLM_SpendLogs rows "
                'stay and the volume keeps growing. See the proxy logs for "spend log cleanup".'
            ),
        ),
        Alert(
            name="LiteLLMSpendLogCleanupBehind",
            expr=f"max by (namespace) ({remaining}) > {db.cleanup_batch_size}",
            for_=window,
            severity="warning",
            summary="The spend-log retention cleanup is falling behind",
            description=(
                "{{ $value }} expired LiteLLM_SpendLogs rows in {{ $labels.namespace }} were still there after "
                f"the cleanup runs of the last {window} (the count stops at LiteLLM's cap of 100000); raise "
                "litellm.database.cleanup_max_batches or shorten cleanup_interval."
            ),
        ),
    ]
