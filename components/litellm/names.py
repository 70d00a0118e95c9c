"""The names `litellm-helm` derives from the release (`nameOverride: litellm`): the proxy's Service,
Deployment and ServiceAccount, its pods' selector labels, the Prometheus job of its metrics.

One source for every component that points at the proxy (SSO's upstream, the database's and
Langfuse's clients, the alert rules and dashboards). Pure; imports only the kit and the config.
"""

from __future__ import annotations

from components.kit import helm_fullname
from config import LiteLLMConfig

CHART_NAME = "litellm"
"""The chart's name as its templates use it (nameOverride `litellm`)."""
JOB_LABEL = "app.kubernetes.io/instance"
"""The metrics Service's label whose value Prometheus takes as `job` (the ServiceMonitor's jobLabel)."""


def service_name(lit: LiteLLMConfig) -> str:
    """The chart's `litellm.fullname` (nameOverride `litellm`): the proxy Service's name."""
    return helm_fullname(lit.release_name, CHART_NAME)


def deployment_name(lit: LiteLLMConfig) -> str:
    """The chart's Deployment (same name as its Service)."""
    return service_name(lit)


def service_account_name(lit: LiteLLMConfig) -> str:
    """The proxy's and migration Job's own ServiceAccount (same name as the Service)."""
    return service_name(lit)


def selector_labels(lit: LiteLLMConfig) -> dict[str, str]:
    """The chart's selector labels for the proxy pods (`litellm.selectorLabels`)."""
    return {"app.kubernetes.io/name": "litellm", "app.kubernetes.io/instance": lit.release_name}


def scrape_job(lit: LiteLLMConfig) -> str:
    """Prometheus `job` of the proxy's metrics (the ServiceMonitor's jobLabel value)."""
    return lit.release_name
