"""Ingress hosts must be DNS-1123 subdomains and not IP addresses: the API server refuses an IP as an
Ingress rule's host ("must be a DNS name, not an IP address"), which before surfaced only at apply
time (an IPv4 address is a valid-looking run of DNS labels, so the RFC 1123 check passed it)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config import parse_config
from tests.support.config import errors_for, with_value

INGRESS_HOSTS = [("enterprise", "litellm.ingress.host"), ("enterprise", "langfuse.ingress_host")]


def _line(message: str, path: str) -> str:
    return next((ln for ln in message.splitlines() if f"llm-gateway:{path}:" in ln), "")


@pytest.mark.parametrize(("stack", "path"), INGRESS_HOSTS, ids=[h[1] for h in INGRESS_HOSTS])
@settings(max_examples=40, deadline=None)
@given(address=st.ip_addresses(v=4) | st.ip_addresses(v=6))
def test_an_ip_address_is_refused_as_an_ingress_host(
    stack: str, path: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address
) -> None:
    line = _line(errors_for(with_value(stack, path, str(address))), path)
    assert "must be a DNS name, not an IP address" in line


@pytest.mark.parametrize("host", ["10.1", "010.0.0.1", "192.168.1"])
def test_what_a_resolver_reads_as_an_ipv4_address_is_refused_too(host: str) -> None:
    line = _line(errors_for(with_value("enterprise", "litellm.ingress.host", host)), "litellm.ingress.host")
    assert "not an IP address" in line


_LABEL = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(labels=st.lists(_LABEL, min_size=1, max_size=4), tld=st.from_regex(r"[a-z]{2,6}", fullmatch=True))
def test_a_dns_1123_subdomain_is_accepted(labels: list[str], tld: str) -> None:
    parse_config(with_value("enterprise", "litellm.ingress.host", ".".join([*labels, tld])))


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("LLM.acme.example", "lower-case DNS name"),
        ("llm_gw.acme.example", "lower-case DNS name"),
        ("llm.acme.example.", "lower-case DNS name"),
        ("*.acme.example", "lower-case DNS name"),
        ("a" * 64 + ".acme.example", "lower-case DNS name"),
    ],
)
def test_a_host_that_is_not_a_dns_1123_subdomain_is_refused(host: str, why: str) -> None:
    line = _line(errors_for(with_value("enterprise", "litellm.ingress.host", host)), "litellm.ingress.host")
    assert why in line


@pytest.mark.parametrize("host", ["010.0.0.5", "10.5"])
def test_a_database_host_written_as_an_ambiguous_ipv4_is_refused(host: str) -> None:
    raw = with_value("lab", "postgres.engine", "external")
    raw["postgres"].pop("cnpg", None)
    raw["postgres"]["external"] = {"host": host, "admin_user": "pgadmin", "server_cidrs": ["192.168.10.5/32"]}
    line = _line(errors_for(raw), "postgres.external.host")
    assert "looks like an IPv4 address but is not one as written" in line
