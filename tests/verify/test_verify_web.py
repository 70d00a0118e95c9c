"""`verify`'s ingress, grafana and langfuse checks (the enterprise stack: SSO, Langfuse, two Ingress hosts).

- ingress: a real TLS server on loopback with a test CA's certificate for both hosts (valid 30 days,
  or 2: short-lived), answering the Ingress paths as oauth2-proxy and LiteLLM behind ingress-nginx do
  (or without SSO in front of the browser paths);
- grafana, langfuse: loopback servers answering with recorded answers of Grafana's HTTP API, Langfuse's
  health route and ClickHouse's HTTP interface, each refusing a request without its token or password.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.langfuse.clickhouse import clickhouse_names
from components.langfuse.names import WEB_PORT, names
from config.inventory import LANGFUSE_CLICKHOUSE_PASSWORD, gsm_secret_id
from tests.support.config import stack_config
from tests.support.program import run_cached
from tests.support.verify_records import dashboards
from tests.support.verify_stand import ApiServer, StandGoogle, loaded, recorded_http, run_verify, sso_answers, tls_site
from verify.cli import Loaded

HOSTS = ("langfuse.acme.example", "llm.acme.example")
GRAFANA_TOKEN = "glsa_verify_stand_token"
CLICKHOUSE_PASSWORD = "click'house pw"


@pytest.fixture(scope="module")
def enterprise() -> Loaded:
    return loaded(run_cached("enterprise"), stack_config("enterprise"))


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiServer]:
    with ApiServer(tmp_path) as server:
        yield server


def ingress(api: ApiServer, stack: Loaded, tmp: Path, days: int, signs_in: bool = True) -> tuple[int, str]:
    with tls_site(tmp / "site", HOSTS, days, sso_answers(signs_in)) as network:
        return run_verify(api, stack, ["enterprise", "--only", "ingress"], network=network)


def test_ingress_passes_with_valid_certificates_and_sso_in_front_of_the_browser_paths(
    api: ApiServer, enterprise: Loaded, tmp_path: Path
) -> None:
    code, out = ingress(api, enterprise, tmp_path, days=30)
    assert code == 0, out
    assert out.splitlines()[0] == (
        "✓ ingress  langfuse.acme.example (127.0.0.1): certificate valid 29 days; llm.acme.example (127.0.0.1):"
        " certificate valid 29 days; /ui, /key/generate sign in first, /v1/models reaches LiteLLM, /metrics blocked"
    )


def test_ingress_fails_on_a_certificate_about_to_expire(api: ApiServer, enterprise: Loaded, tmp_path: Path) -> None:
    code, out = ingress(api, enterprise, tmp_path, days=2)
    assert code == 1
    assert out.splitlines()[:2] == [
        "✗ ingress  langfuse.acme.example: the certificate expires in 1 days (at least 14 wanted);"
        " llm.acme.example: the certificate expires in 1 days (at least 14 wanted)",
        "           next: kubectl get certificate -A: why has cert-manager not renewed it?",
    ]


def test_ingress_fails_when_browser_paths_skip_the_sign_in(api: ApiServer, enterprise: Loaded, tmp_path: Path) -> None:
    code, out = ingress(api, enterprise, tmp_path, days=30, signs_in=False)
    assert code == 1
    assert out.splitlines()[:2] == [
        "✗ ingress  llm.acme.example: /key/generate answered 200, not a sign-in; /ui answered 200, not a sign-in",
        "           next: compare the Ingress with docs/ingress-paths.md (kubectl get ingress -o yaml)",
    ]


def grafana(api: ApiServer, stack: Loaded, boards: list[dict[str, Any]], health: tuple[int, Any]) -> tuple[int, str]:
    uid = stack[0].grafana.datasource_uid
    routes = {
        "/api/search": (200, boards),
        f"/api/datasources/uid/{uid}": (200, {"uid": uid, "type": "grafana-postgresql-datasource"}),
        f"/api/datasources/uid/{uid}/health": health,
    }
    with recorded_http(routes, {"Authorization": f"Bearer {GRAFANA_TOKEN}"}) as server:
        argv = ["enterprise", "--only", "grafana", "--grafana", f"http://127.0.0.1:{server.port}"]
        with pytest.MonkeyPatch.context() as env:
            env.setenv("GRAFANA_TOKEN", GRAFANA_TOKEN)
            return run_verify(api, stack, argv)


def test_grafana_passes_with_every_dashboard_in_its_folder_and_the_datasource_connecting(
    api: ApiServer, enterprise: Loaded
) -> None:
    code, out = grafana(
        api, enterprise, dashboards(enterprise), (200, {"status": "OK", "message": "Database Connection OK"})
    )
    assert code == 0, out
    assert out.splitlines()[0] == "✓ grafana  6 dashboards; datasource llm-gateway-spend-pg connects"


def test_grafana_fails_on_a_missing_dashboard_and_a_datasource_that_does_not_connect(
    api: ApiServer, enterprise: Loaded
) -> None:
    boards = dashboards(enterprise)
    missing = boards.pop(0)
    refused = (400, {"status": "ERROR", "message": 'pq: password authentication failed for user "grafana_ro"'})
    code, out = grafana(api, enterprise, boards, refused)
    assert code == 1
    assert out.splitlines()[0] == (
        f"✗ grafana  dashboard {missing['title']!r} is missing; datasource llm-gateway-spend-pg does not connect:"
        ' pq: password authentication failed for user "grafana_ro"'
    )


def langfuse(api: ApiServer, stack: Loaded, dirty: int) -> tuple[int, str]:
    cfg = stack[0]
    ns, web = cfg.namespaces.gateway, names(cfg).web_service
    health = recorded_http({"/api/public/health": (200, {"status": "OK", "version": "3.112.0"})})
    migrations = {
        "meta": [{"name": "version", "type": "UInt64"}, {"name": "dirty", "type": "UInt8"}],
        "data": [[29, dirty]],
    }
    clickhouse = recorded_http(
        {"/": (200, migrations)}, {"X-ClickHouse-User": "default", "X-ClickHouse-Key": CLICKHOUSE_PASSWORD}
    )
    with health as web_server, clickhouse as ch_server:
        api.backends[(ns, "services", web, WEB_PORT)] = f"127.0.0.1:{web_server.port}"
        host = clickhouse_names(cfg).host.split(".")[0]  # v4 (both stacks): the operator's ClickHouse Service
        api.backends[(ns, "services", host, 8123)] = f"127.0.0.1:{ch_server.port}"
        google = StandGoogle(secrets={gsm_secret_id(cfg, LANGFUSE_CLICKHOUSE_PASSWORD): CLICKHOUSE_PASSWORD})
        code, out = run_verify(api, stack, ["enterprise", "--only", "langfuse"], google)
    assert CLICKHOUSE_PASSWORD not in out
    return code, out


def test_langfuse_passes_when_healthy_and_migrated(api: ApiServer, enterprise: Loaded) -> None:
    code, out = langfuse(api, enterprise, dirty=0)
    assert code == 0, out
    assert out.splitlines()[0] == "✓ langfuse  langfuse-web healthy (3.112.0); ClickHouse migrations at 29"


def test_langfuse_fails_on_a_dirty_migration(api: ApiServer, enterprise: Loaded) -> None:
    code, out = langfuse(api, enterprise, dirty=1)
    assert code == 1
    assert out.splitlines()[:2] == [
        "✗ langfuse  ClickHouse migration 29 is dirty (failed half-way)",
        "            next: Langfuse's self-hosting docs: fix a dirty migration",
    ]
