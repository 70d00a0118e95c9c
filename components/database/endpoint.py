"""What the database's consumers read, identical for both engines: `DatabaseEndpoint` (hosts, port,
database, the owner's and the reporting login's Secrets, grafana_ro's GSM secret, the pods, and how
a client verifies the server: sslmode, the CA certificate's Secret and where it is mounted).

Pure; LiteLLM, the reporting job and Grafana's datasource import it without the component.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from components.database import cnpg
from config import StackConfig
from config.inventory import PG_SERVER_CA_CERT, gsm_secret_id

EXTERNAL_APP_SECRET = "litellm-db-app"
"""The owner's basic-auth Secret on an external server (CNPG names its own `<cluster>-app`)."""
EXTERNAL_REPORTING_SECRET = "litellm-db-reporting"
EXTERNAL_CA_SECRET = "litellm-db-ca-cert"
"""An external server's CA certificate (from `postgres.external.ca_cert`), for the clients."""
CA_KEY = "ca.crt"
"""The key of the CA certificate in its Secret (CNPG's own name for it)."""
CA_VOLUME = "postgres-ca"
CA_MOUNT_PATH = "/etc/llm-gateway/postgres-ca"
CA_FILE = f"{CA_MOUNT_PATH}/{CA_KEY}"
"""Where every client pod finds the server's CA certificate (libpq's sslrootcert)."""


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
    sslmode: str = "require"
    """libpq sslmode of every client: verify-full whenever the server's CA is known."""
    ca_secret: str | None = None
    """Kubernetes Secret (gateway namespace) holding the server's CA certificate only, under `ca.crt`."""
    ca_gsm_secret: str | None = None
    """GSM secret id of that certificate: Grafana's datasource reads it through ESO."""

    def libpq_params(self) -> dict[str, str]:
        """sslmode, and sslrootcert at the mounted CA when there is one (libpq's names)."""
        params = {"sslmode": self.sslmode}
        if self.ca_secret is not None:
            params["sslrootcert"] = CA_FILE
        return params

    def prisma_params(self) -> dict[str, str]:
        """The same in Prisma's dialect, for a client that hands its URL to Prisma untranslated
        (Langfuse's `postgresql.args`): Prisma has no verify-full; `sslcert` is the CA it verifies
        against, `sslaccept=strict` checks chain and host name (LiteLLM translates libpq's itself)."""
        if self.ca_secret is None:
            return {"sslmode": "disable" if self.sslmode == "disable" else "require"}
        return {"sslmode": "require", "sslcert": CA_FILE, "sslaccept": "strict"}

    @property
    def uri_query(self) -> str:
        """What a client appends to the owner's `uri` (e.g. `DATABASE_URL=$(URI)<uri_query>`): CNPG's
        `<cluster>-app` uri has no parameters; the external engine's already carries them (empty)."""
        if self.pod_labels is None:
            return ""
        return "?" + urlencode(self.libpq_params(), quote_via=quote, safe="/")

    def ca_volume(self) -> dict[str, Any] | None:
        """The pod volume of the CA certificate (None: no CA to mount)."""
        if self.ca_secret is None:
            return None
        return {"name": CA_VOLUME, "secret": {"secretName": self.ca_secret, "items": [{"key": CA_KEY, "path": CA_KEY}]}}

    @staticmethod
    def ca_volume_mount() -> dict[str, Any]:
        """The container's mount of `ca_volume` at CA_MOUNT_PATH."""
        return {"name": CA_VOLUME, "mountPath": CA_MOUNT_PATH, "readOnly": True}

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
    ca_gsm = gsm_secret_id(cfg, PG_SERVER_CA_CERT)
    if pg.engine == "external":
        ext = pg.external
        return DatabaseEndpoint(
            host=ext.host,
            read_host=read_host(cfg),
            port=ext.port,
            database=pg.database,
            app_secret=EXTERNAL_APP_SECRET,
            grafana_ro_gsm_secret=grafana_ro_gsm_secret,
            reporting_secret=EXTERNAL_REPORTING_SECRET,
            sslmode=ext.sslmode,
            ca_secret=EXTERNAL_CA_SECRET if ext.ca_cert else None,
            ca_gsm_secret=ca_gsm if ext.ca_cert else None,
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
        # The program's CA signs the server certificate CNPG issues for -rw/-ro/-r (their SANs).
        sslmode="verify-full",
        ca_secret=names.ca_cert_secret,
        ca_gsm_secret=ca_gsm,
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
    query = f"sslmode={ext.sslmode}" + (f"&sslrootcert={CA_FILE}" if ext.ca_cert else "")
    return f"postgresql://{pg.owner}:{{{{ .password | urlquery }}}}@{ext.host}:{ext.port}/{pg.database}?{query}"
