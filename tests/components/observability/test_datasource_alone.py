"""GrafanaDatasource built alone under Pulumi's mock engine: its Args are all it needs.

A tiny program constructs only this component (no root, no providers, no database
component, no stack config) and the recording engine shows exactly what it registers.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from offline.run import run_config
from tests.support.schemas import validation_errors

PROGRAM = """
from components.database.endpoint import DatabaseEndpoint
from components.observability.datasource import GrafanaDatasource, GrafanaDatasourceArgs
from components.secrets.eso import StoreRef
from components.secrets.store import StoreAccess
from config import GrafanaConfig

endpoint = DatabaseEndpoint(
    host="pg-rw.gw.svc",
    read_host="pg-ro.gw.svc",
    port=5432,
    database="litellm",
    app_secret="pg-app",
    grafana_ro_gsm_secret="team-grafana-ro-password",
)
GrafanaDatasource(
    "spend",
    GrafanaDatasourceArgs(
        grafana=GrafanaConfig(),
        namespace="grafana",
        connection_limit=3,
        refresh_interval="15m",
        endpoint=endpoint,
        store=StoreAccess(StoreRef(name="gsm"), "eso@project.iam.gserviceaccount.com"),
    ),
)
"""


def test_registers_one_external_secret_under_itself_from_its_args_only(tmp_path: Path) -> None:
    program = tmp_path / "program.py"
    program.write_text(PROGRAM)
    run = run_config("alone", {}, program=program)

    assert [(r.type, r.name, r.parent) for r in run.resources] == [
        ("llm-gateway:grafana_datasource:GrafanaDatasource", "spend", None),
        ("kubernetes:external-secrets.io/v1:ExternalSecret", "spend-external-secret", "spend"),
    ]
    (es,) = run.custom_resources("ExternalSecret")
    assert validation_errors(es) == []
    assert es["metadata"]["namespace"] == "grafana"
    assert es["spec"]["refreshInterval"] == "15m"
    assert es["spec"]["secretStoreRef"]["name"] == "gsm"
    assert [d["remoteRef"]["key"] for d in es["spec"]["data"]] == ["team-grafana-ro-password"]
    (file,) = es["spec"]["target"]["template"]["data"].values()
    # The password's template action quoted, so the file reads as YAML here.
    (source,) = yaml.safe_load(file.replace("{{", "'{{").replace("}}", "}}'"))["datasources"]
    # Grafana reads from the read host; its pool stays within the role's connection limit.
    assert source["url"] == "pg-ro.gw.svc:5432"
    assert source["jsonData"]["maxOpenConns"] == 3
