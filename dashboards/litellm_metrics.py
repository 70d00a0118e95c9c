"""What the Prometheus dashboards share about LiteLLM's metrics.

The `$model` variable (the requested models) with the matcher every query filters
by and the per-model rate, and each deployment's state with the table that shows it in words and colour.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import table

from dashboards.prometheus_panels import label_variable, state_mappings, table_panel

MODEL = 'requested_model=~"$model"'
"""The matcher of the `$model` variable, on LiteLLM's `requested_model` label."""


def per_model_rate(metric: str) -> str:
    """A counter's per-second rate per requested model, under `$model`."""
    return f"sum by (requested_model) (rate({metric}{{{MODEL}}}[$__rate_interval]))"


def model_variable() -> db.QueryVariable:
    """`$model`: the requested models LiteLLM has counted (multi-select, All)."""
    return label_variable("model", "Model", "litellm_proxy_total_requests_metric_total", "requested_model")


# One row per deployment (model_id), its worst state over the workers: LiteLLM reports a
# cooled-down deployment under the model group's name as well as the provider model's, and
# every worker (pid) has its own gauge.
DEPLOYMENT_STATE = (
    "topk by (model_id) (1, max by (model_id, litellm_model_name, api_provider) (litellm_deployment_state))"
)
DEPLOYMENT_STATES = {0: ("healthy", "green"), 1: ("partial outage", "orange"), 2: ("outage", "red")}


def deployment_state_table(title: str, expr: str) -> table.Panel:
    """One row per deployment with its state (`DEPLOYMENT_STATE`) in words and colour."""
    return table_panel(
        title,
        [(expr, "")],
        rename={"Value": "state", "litellm_model_name": "deployment"},
        mappings=state_mappings(DEPLOYMENT_STATES),
    )
