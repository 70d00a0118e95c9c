"""No string of the config may carry a control character: every one ends up in YAML (a line break
starts a new key), a label or annotation, a URL, a Helm value or an SQL identifier, where it breaks
the output or hides text (a bidirectional override). Refused in every section's strings, list items,
mapping keys and values, each under its own key path; a PEM field may hold line feeds."""

from __future__ import annotations

import sys
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config import parse_config
from tests.support.config import errors_for, with_value

REFUSED = st.characters(categories=["Cc", "Cf", "Zl", "Zp"], max_codepoint=sys.maxunicode)

# (stack, key path, a valid value, where the problem is reported below the key path)
PLACES: list[tuple[str, str, Any, str]] = [
    ("lab", "gke.kube_context", "gke_acme_europe-west1_lab", ""),
    ("lab", "alerts.runbook_base_url", "https://wiki.acme.example/runbooks", ""),
    ("lab", "postgres.cnpg.parameters", {"shared_buffers": "128MB"}, ".shared_buffers"),
    ("lab", "postgres.database", "litellm", ""),
    ("enterprise", "litellm.ingress.host", "llm.acme.example", ""),
]


def _insert(value: Any, char: str, at: int) -> Any:
    if isinstance(value, dict):
        return {key: _insert(item, char, at) for key, item in value.items()}
    at = min(at, len(value))
    return value[:at] + char + value[at:]


@pytest.mark.parametrize(("stack", "path", "valid", "below"), PLACES, ids=[p[1] for p in PLACES])
@settings(max_examples=25, deadline=None)
@given(char=REFUSED, at=st.integers(min_value=0, max_value=40))
def test_a_control_character_anywhere_is_refused_with_the_key_path(
    stack: str, path: str, valid: Any, below: str, char: str, at: int
) -> None:
    parse_config(with_value(stack, path, valid))
    message = errors_for(with_value(stack, path, _insert(valid, char, at)))
    assert f"llm-gateway:{path}{below}:" in message, message


@settings(max_examples=40, deadline=None)
@given(char=REFUSED)
def test_a_free_text_value_names_the_character_and_its_position(char: str) -> None:
    message = errors_for(with_value("lab", "postgres.cnpg.parameters", {"work_mem": f"4MB{char}"}))
    line = next(ln for ln in message.splitlines() if "llm-gateway:postgres.cnpg.parameters.work_mem:" in ln)
    assert f"contains the control character U+{ord(char):04X}" in line and "at position 3" in line
    assert unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"}


def test_a_mapping_key_and_several_problems_are_each_reported() -> None:
    raw = with_value("lab", "postgres.cnpg.parameters", {"work\nmem": "4MB", "shared_buffers": "1\u202e28MB"})
    raw["gke"]["kube_context"] = "lab\x00"
    message = errors_for(raw)
    assert 'llm-gateway:postgres.cnpg.parameters."work\\nmem": the key contains the control character U+000A' in message
    assert "llm-gateway:postgres.cnpg.parameters.shared_buffers: contains the control character U+202E" in message
    assert "llm-gateway:gke.kube_context: contains the control character U+0000" in message


def test_a_pem_certificate_keeps_its_line_feeds() -> None:
    def external(ca_cert: str) -> dict[str, Any]:
        raw = with_value("lab", "postgres.engine", "external")
        raw["postgres"].pop("cnpg", None)
        raw["postgres"]["external"] = {
            "host": "pg.home.arpa",
            "admin_user": "pgadmin",
            "server_cidrs": ["192.168.10.5/32"],
            "ca_cert": ca_cert,
        }
        return raw

    pem = "-----BEGIN CERTIFICATE-----\nTUlJQmtUQ0IrZ0lKQUtISElH\n-----END CERTIFICATE-----\n"
    parse_config(external(pem), frozenset({"postgresAdminPassword"}))  # ca_cert: a MULTILINE_FIELDS entry
    message = errors_for(external(pem.replace("\n", "\u2028", 1)))
    assert "llm-gateway:postgres.external.ca_cert:" in message
