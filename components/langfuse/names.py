"""The names the `langfuse` chart derives from the release: its fullname, the web Service and URL,
the labels of its pods (all of them, the web pods, Langfuse's own web and worker pods).

One source for the chart values, the credentials, the database's clients and the NetworkPolicies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.kit import helm_fullname, service_host
from config import StackConfig

CHART = "langfuse"
WEB_PORT = 3000


@dataclass(frozen=True)
class LangfuseNames:
    """Names the chart derives from the release name, computed once."""

    release: str
    namespace: str

    @property
    def fullname(self) -> str:
        """The chart's `langfuse.fullname`."""
        return helm_fullname(self.release, CHART)

    @property
    def web_service(self) -> str:
        return f"{self.fullname}-web"

    @property
    def web_url(self) -> str:
        return f"http://{service_host(self.web_service, self.namespace)}:{WEB_PORT}"

    @property
    def instance_labels(self) -> dict[str, str]:
        """Every pod of the release, subcharts included, carries the instance label."""
        return {"app.kubernetes.io/instance": self.release}

    @property
    def web_labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": CHART, "app.kubernetes.io/instance": self.release, "app": "web"}


def names(cfg: StackConfig) -> LangfuseNames:
    return LangfuseNames(cfg.langfuse.release_name, cfg.namespaces.gateway)


def ui_url(cfg: StackConfig) -> str:
    """NEXTAUTH_URL: the UI's public URL with an ingress, else the in-cluster one."""
    lf = cfg.langfuse
    return f"https://{lf.ingress_host}" if lf.ingress_host else names(cfg).web_url


def app_labels(n: LangfuseNames) -> dict[str, str]:
    """Labels Langfuse's web and worker pods share and no other pod carries (a subchart's or the operator's pods
    have their own `app.kubernetes.io/name`): how the shared Redis admits them."""
    return {"app.kubernetes.io/name": CHART, **n.instance_labels}


def app_pods(n: LangfuseNames) -> dict[str, Any]:
    """Langfuse's own pods (web and worker), not the subcharts': the database's and blob storage's clients."""
    return {
        "matchLabels": app_labels(n),
        "matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "worker"]}],
    }
