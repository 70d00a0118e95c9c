"""LiteLLM's Prisma verifies the database server: what the pinned LiteLLM makes of the URL.

Prisma has no verify-full and ignores libpq's sslrootcert; LiteLLM 1.108.7 rewrites a libpq-style
DATABASE_URL itself at start-up (proxy and migration job alike: `proxy_cli.run_server` calls
`litellm.proxy.db.db_url_settings.translate_libpq_ssl_params`). The URL a LiteLLM pod gets is the
owner's `uri` plus `DatabaseEndpoint.uri_query`; run through the installed LiteLLM's own function,
it must come out as Prisma's `sslmode=require&sslcert=<the mounted CA>&sslaccept=strict` (chain
and hostname checked).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from components.database.endpoint import CA_FILE, endpoint, external_uri_template
from tests.support.config import scenario_config
from tests.support.litellm_python import litellm_python_report
from tests.support.program import EXTERNAL_ENGINE

CA_PEM = "-----BEGIN CERTIFICATE-----\\nTUlJQg==\\n-----END CERTIFICATE-----"
CNPG_URI = "postgresql://litellm:p%40ss%3Aw@litellm-pg-rw.llm-gateway:5432/litellm"
"""CNPG's <cluster>-app `uri`: postgresql://user:password@<cluster>-rw.<ns>:5432/<db>, no query."""
UNVERIFIED = "postgresql://u:p@h:5432/d?sslmode=require"


def _urls() -> dict[str, str]:
    cnpg = endpoint(scenario_config("lab"), "unused")
    external = scenario_config(
        "lab",
        *EXTERNAL_ENGINE[:2],
        "llm-gateway:postgres.external={host: pg.home.arpa, admin_user: pgadmin, server_cidrs: [10.0.0.1/32],"
        f' ca_cert: "{CA_PEM}"}}',
    )
    return {
        "cnpg": CNPG_URI + cnpg.uri_query,
        "external": external_uri_template(external).replace("{{ .password | urlquery }}", "pw"),
        "unverified": UNVERIFIED,
    }


@pytest.fixture(scope="module")
def translated() -> dict[str, dict[str, str]]:
    """Each URL's query after the pinned LiteLLM's translation, in one interpreter (the CA file need not exist)."""
    code = (
        "import json, sys\n"
        "from litellm.proxy.db.db_url_settings import translate_libpq_ssl_params\n"
        "print(json.dumps({k: translate_libpq_ssl_params(v) for k, v in json.loads(sys.argv[1]).items()}))\n"
    )
    urls: dict[str, str] = litellm_python_report(["-c", code, json.dumps(_urls())], timeout=120)
    return {name: dict(parse_qsl(urlsplit(url).query)) for name, url in urls.items()}


STRICT = {"sslmode": "require", "sslcert": CA_FILE, "sslaccept": "strict"}


def test_cnpg_uri_with_the_endpoint_query_becomes_a_strict_prisma_url(translated: dict[str, dict[str, str]]) -> None:
    ep = endpoint(scenario_config("lab"), "unused")
    assert ep.uri_query == f"?sslmode=verify-full&sslrootcert={CA_FILE}"
    assert translated["cnpg"] == STRICT
    # What a client that passes its URL to Prisma untranslated (Langfuse) appends: the same.
    assert ep.prisma_params() == STRICT


def test_external_uri_with_a_ca_becomes_a_strict_prisma_url(translated: dict[str, dict[str, str]]) -> None:
    assert translated["external"] == STRICT


def test_without_verification_prisma_would_accept_any_certificate(translated: dict[str, dict[str, str]]) -> None:
    """The counterfactual: main's URLs (CNPG's uri alone, sslmode=require) leave Prisma's default
    `accept_invalid_certs`: no sslaccept=strict, no CA."""
    assert translated["unverified"] == {"sslmode": "require"}
