"""What the dashboards query, named once: the spend datasource and LiteLLM's Prometheus job."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DashboardSources:
    spend_datasource_uid: str
    """uid of Grafana's PostgreSQL datasource on the spend tables (`grafana.datasource_uid`)."""
    litellm_job: str
    """Prometheus `job` label of the proxy's metrics."""
