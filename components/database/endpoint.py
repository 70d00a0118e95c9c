"""What the database's consumers read, identical for both engines: `DatabaseEndpoint` (hosts, port,
database, the owner's and the reporting login's Secrets, grafana_ro's GSM secret, the pods).

Pure; LiteLLM, the reporting job and Grafana's datasource import it without the component.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.database import cnpg
from config import StackConfig

EXTERNAL_APP_SECRET = "litellm-db-app"
"""The owner's basic-auth Secret on an external server (CNPG names its own `<cluster>-app`)."""
EXTERNAL_REPORTING_SECRET = "litellm-db-reporting"


@dataclass(frozen=True)
class DatabaseEndpoint:
    """What consumers of the database need, identical for both engines."""

    host: str
    """Read-write host (LiteLLM)."""
    read_host: str
    """Host for read-only clients (Grafana): replicas when there are any."""
    port: int
    database: str
    app_secret: str
    """Kubernetes Secret (gateway namespace) with `username`/`password` of the owner role."""
    grafana_ro_gsm_secret: str
    """GSM secret id holding grafana_ro's password (one password, one source)."""
    reporting_secret: str = ""
    """Kubernetes Secret (gateway namespace) with `username`/`password` of the reporting role."""
    pod_labels: tuple[tuple[str, str], ...] | None = None
    """Labels of in-cluster database pods (for network policies); None for an external server."""

    def outputs(self) -> dict[str, object]:
        """The stack outputs of the endpoint (`database`): where it is and whose secrets hold the logins."""
        return {
            "host": self.host,
            "read_host": self.read_host,
            "port": self.port,
            "database": self.database,
            "app_secret": self.app_secret,
            "grafana_ro_gsm_secret": self.grafana_ro_gsm_secret,
        }


def read_host(cfg: StackConfig) -> str:
    """Grafana reads from replicas when there are any (`-ro` has no endpoints with one instance)."""
    pg = cfg.postgres
    if pg.engine == "external":
        return pg.external.host
    names = cnpg.CnpgNames(pg.cnpg.name, cfg.namespaces.gateway)
    return names.ro_host if pg.cnpg.instances > 1 else names.rw_host


def endpoint(cfg: StackConfig, grafana_ro_gsm_secret: str) -> DatabaseEndpoint:
    pg = cfg.postgres
    if pg.engine == "external":
        return DatabaseEndpoint(
            host=pg.external.host,
            read_host=read_host(cfg),
            port=pg.external.port,
            database=pg.database,
            app_secret=EXTERNAL_APP_SECRET,
            grafana_ro_gsm_secret=grafana_ro_gsm_secret,
            reporting_secret=EXTERNAL_REPORTING_SECRET,
        )
    names = cnpg.CnpgNames(pg.cnpg.name, cfg.namespaces.gateway)
    return DatabaseEndpoint(
        host=names.rw_host,
        read_host=read_host(cfg),
        port=cnpg.PORT,
        database=pg.database,
        app_secret=names.app_secret,
        grafana_ro_gsm_secret=grafana_ro_gsm_secret,
        reporting_secret=names.reporting_secret,
        pod_labels=(("cnpg.io/cluster", names.cluster),),
    )


def external_uri_template(cfg: StackConfig) -> str:
    """ESO template of the owner's connection URI, password URL-encoded (`urlquery`).

    CNPG's `<cluster>-app` Secret carries the same key (`uri`), so consumers read
    one key whatever the engine.
    """
    pg = cfg.postgres
    if pg.engine != "external":
        raise ValueError("the owner's connection URI template is for postgres.engine external")
    ext = pg.external
    return (
        f"postgresql://{pg.owner}:{{{{ .password | urlquery }}}}@{ext.host}:{ext.port}/{pg.database}"
        f"?sslmode={ext.sslmode}"
    )
