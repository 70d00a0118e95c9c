"""GrafanaDatasource: Grafana's PostgreSQL datasource on LiteLLM's spend tables.

Encapsulates one `ExternalSecret` in Grafana's namespace that renders, with an
ESO (engine v2) template, a Secret labelled `grafana_datasource: "1"` (the
kube-prometheus-stack datasource sidecar label) holding a Grafana provisioning
file: one PostgreSQL datasource with a fixed uid, user `grafana_ro`, the
database and postgresVersion from config, and from the `DatabaseEndpoint` the
host (`read_host`: `-rw` with one instance, `-ro` with replicas, the external host
in external mode) and how Grafana verifies the server: `sslmode` (verify-full
whenever the server's CA is known; `grafana.sslmode` overrides it) and the CA
certificate itself (`secureJsonData.tlsCACert`, `tlsConfigurationMethod:
file-content`), read by ESO from the CA certificate's GSM secret
(`DatabaseEndpoint.ca_gsm_secret`: the certificate alone, never the CA's key).

The password is read by ESO from the very GSM secret the role's password lives
in (`DatabaseEndpoint.grafana_ro_gsm_secret`); it never reaches a resource input.
In the file it is written by `{{ .password | replace "$" "$$" | toJson }}`:
`toJson` (sprig, part of ESO's v2 function map) makes a double-quoted JSON
string, which is a valid YAML scalar for any password; `$` is doubled first
because Grafana expands `$VAR`/`${VAR}` in provisioning files and reads `$$`
as a literal `$`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import yaml

from components.database import cnpg_roles
from components.database.endpoint import DatabaseEndpoint
from components.kit import custom_resource
from components.secrets.eso import RemoteEntry, StoreRef, TargetSecret, external_secret
from components.secrets.store import StoreAccess
from config import GrafanaConfig, StackConfig
from dashboards.postgres_query import DATASOURCE_TYPE

SIDECAR_LABEL = {"grafana_datasource": "1"}
SECRET_NAME = "llm-gateway-grafana-datasource"
FILE_KEY = "llm-gateway-spend-datasource.yaml"
PASSWORD_KEY = "password"
PASSWORD_TEMPLATE = '{{ .password | replace "$" "$$" | toJson }}'
_PASSWORD_SENTINEL = "@@GRAFANA_RO_PASSWORD@@"
CA_KEY = "ca"
CA_TEMPLATE = "{{ .ca | toJson }}"
"""The PEM as one JSON string (a valid YAML scalar); PEM has no `$`."""
_CA_SENTINEL = "@@POSTGRES_CA_CERT@@"


@dataclass(frozen=True)
class DatasourceSettings:
    """Everything the provisioning file says, computed once from config and the endpoint."""

    uid: str
    name: str
    host: str
    port: int
    database: str
    user: str
    sslmode: str
    postgres_version: int
    max_open_conns: int
    ca_gsm_secret: str | None = None
    """The server's CA certificate in GSM (None: no CA of ours; sslmode alone)."""

    @property
    def url(self) -> str:
        return f"{self.host}:{self.port}"


def datasource_settings(
    grafana: GrafanaConfig, endpoint: DatabaseEndpoint, connection_limit: int
) -> DatasourceSettings:
    return DatasourceSettings(
        uid=grafana.datasource_uid,
        name=grafana.datasource_name,
        host=endpoint.read_host,
        port=endpoint.port,
        database=endpoint.database,
        user=cnpg_roles.GRAFANA_RO_ROLE,
        sslmode=grafana.sslmode or endpoint.sslmode,
        postgres_version=grafana.postgres_version,
        # Grafana's pool never opens more connections than the role may hold.
        max_open_conns=connection_limit,
        ca_gsm_secret=endpoint.ca_gsm_secret,
    )


def _grafana_escape(value: str) -> str:
    """Grafana expands `$VAR` in provisioning values; `$$` is a literal `$`."""
    return value.replace("$", "$$")


def provisioning_template(settings: DatasourceSettings) -> str:
    """The provisioning file as an ESO v2 Go template (the password is the only action)."""
    doc: dict[str, Any] = {
        "apiVersion": 1,
        "datasources": [
            {
                "name": _grafana_escape(settings.name),
                "uid": settings.uid,
                "type": DATASOURCE_TYPE,
                "access": "proxy",
                "url": _grafana_escape(settings.url),
                "user": settings.user,
                "editable": False,
                "isDefault": False,
                "jsonData": {
                    "database": _grafana_escape(settings.database),
                    "sslmode": settings.sslmode,
                    "postgresVersion": settings.postgres_version,
                    "maxOpenConns": settings.max_open_conns,
                    "maxIdleConns": min(2, settings.max_open_conns),
                    "connMaxLifetime": 14400,
                },
                "secureJsonData": {PASSWORD_KEY: _PASSWORD_SENTINEL},
            }
        ],
    }
    source = doc["datasources"][0]
    if settings.ca_gsm_secret is not None:
        source["jsonData"]["tlsConfigurationMethod"] = "file-content"
        source["secureJsonData"]["tlsCACert"] = _CA_SENTINEL
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=1000)
    if "{{" in text or "}}" in text:
        raise ValueError("datasource settings must not contain Go template delimiters")
    for sentinel, template in ((_PASSWORD_SENTINEL, PASSWORD_TEMPLATE), (_CA_SENTINEL, CA_TEMPLATE)):
        quoted = f"'{sentinel}'"
        expected = 0 if sentinel == _CA_SENTINEL and settings.ca_gsm_secret is None else 1
        if text.count(quoted) != expected:
            raise AssertionError(f"{sentinel} not rendered exactly {expected} time(s)")
        text = text.replace(quoted, template)
    return text


def datasource_external_secret(
    settings: DatasourceSettings,
    *,
    namespace: str,
    store: StoreRef,
    gsm_secret_id: str,
    refresh_interval: str,
) -> dict[str, Any]:
    """The ExternalSecret rendering the provisioning Secret in Grafana's namespace."""
    return external_secret(
        name=SECRET_NAME,
        store=store,
        entries=[
            RemoteEntry(secret_key=PASSWORD_KEY, gsm_secret_id=gsm_secret_id),
            *([RemoteEntry(secret_key=CA_KEY, gsm_secret_id=settings.ca_gsm_secret)] if settings.ca_gsm_secret else []),
        ],
        target=TargetSecret(
            name=SECRET_NAME,
            namespace=namespace,
            labels=SIDECAR_LABEL,
            template_data={FILE_KEY: provisioning_template(settings)},
        ),
        refresh_interval=refresh_interval,
    )


@dataclass(frozen=True)
class GrafanaDatasourceArgs:
    grafana: GrafanaConfig
    namespace: str
    """Grafana's namespace (its datasource sidecar watches it)."""
    connection_limit: int
    """grafana_ro's connection limit: Grafana's pool never opens more."""
    refresh_interval: str
    """How often ESO re-reads the password."""
    endpoint: DatabaseEndpoint
    store: StoreAccess
    """The ExternalSecret reads through it (the password's GSM secret already grants its accessor)."""

    @classmethod
    def from_config(cls, cfg: StackConfig, endpoint: DatabaseEndpoint, store: StoreAccess) -> GrafanaDatasourceArgs:
        return cls(
            grafana=cfg.grafana,
            namespace=cfg.namespaces.grafana,
            connection_limit=cfg.postgres.grafana_ro.connection_limit,
            refresh_interval=cfg.secrets.refresh_interval,
            endpoint=endpoint,
            store=store,
        )


class GrafanaDatasource(pulumi.ComponentResource):
    """Registers the datasource ExternalSecret built by `datasource_external_secret`."""

    def __init__(self, name: str, args: GrafanaDatasourceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-gateway:grafana_datasource:GrafanaDatasource", name, None, opts)
        settings = datasource_settings(args.grafana, args.endpoint, args.connection_limit)
        manifest = datasource_external_secret(
            settings,
            namespace=args.namespace,
            store=args.store.ref,
            gsm_secret_id=args.endpoint.grafana_ro_gsm_secret,
            refresh_interval=args.refresh_interval,
        )
        custom_resource(f"{name}-external-secret", manifest, pulumi.ResourceOptions(parent=self))
        self.register_outputs({"uid": settings.uid, "url": settings.url, "secret": SECRET_NAME})
