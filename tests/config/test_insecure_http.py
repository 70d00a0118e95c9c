"""A provider `api_base` over plain http sends the provider key in clear text with every request, and a
chart fetched over plain http can be substituted on the way: both are refused unless the host is
loopback or a cluster-local Service name, or the entry says `allow_insecure_http: true`."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config import parse_config
from config.assets import LOCK_FILE, AssetError, load_lock
from tests.support.config import errors_for, namespace, with_value

_LABEL = st.from_regex(r"[a-z]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
LOCAL_HOSTS = st.one_of(
    st.just("localhost"),
    st.ip_addresses(network="127.0.0.0/8").map(str),
    st.just("[::1]"),
    st.tuples(_LABEL, _LABEL).map(lambda t: f"{t[0]}.{t[1]}.svc"),
    st.tuples(_LABEL, _LABEL).map(lambda t: f"{t[0]}.{t[1]}.svc.cluster.local"),
)
REMOTE_HOSTS = st.one_of(
    st.tuples(_LABEL, st.sampled_from(["com", "example", "internal", "home.arpa", "svc.example"])).map(".".join),
    st.ip_addresses(v=4).filter(lambda a: not a.is_loopback).map(str),
    st.sampled_from(["[2001:db8::1]", "10.0.0.5", "localhost.example.com", "svc"]),
)


def _model_base(url: str, allow: bool = False) -> dict[str, Any]:
    """Pulumi.enterprise.yaml with its first model's api_base set to `url`."""
    raw = copy.deepcopy(namespace("enterprise"))
    raw["litellm"]["models"][0]["api_base"] = url
    if allow:
        raw["litellm"]["models"][0]["allow_insecure_http"] = True
    return raw


@settings(max_examples=60, deadline=None)
@given(host=LOCAL_HOSTS, port=st.sampled_from(["", ":8080"]))
def test_plain_http_to_loopback_or_a_cluster_local_service_is_accepted(host: str, port: str) -> None:
    parse_config(_model_base(f"http://{host}{port}/v1"))


@settings(max_examples=60, deadline=None)
@given(host=REMOTE_HOSTS, scheme=st.just("http"))
def test_plain_http_to_any_other_host_is_refused_unless_allowed(host: str, scheme: str) -> None:
    url = f"{scheme}://{host}/v1"
    line = next(
        (ln for ln in errors_for(_model_base(url)).splitlines() if "llm-gateway:litellm.models[0].api_base:" in ln),
        "",
    )
    assert "the provider key would cross the network in clear text" in line
    assert "allow_insecure_http: true" in line and "<service>.<namespace>.svc" in line
    parse_config(_model_base(url, allow=True))
    parse_config(_model_base(f"https://{host}/v1"))


def test_a_passthrough_api_base_over_plain_http_is_refused() -> None:
    raw = with_value("enterprise", "litellm.passthrough", [{"provider": "openai", "api_base": "http://api.openai.com"}])
    line = next((ln for ln in errors_for(raw).splitlines() if "litellm.passthrough[0].api_base:" in ln), "")
    assert "is plain http to api.openai.com" in line


def _lock_with(tmp_path: Path, url: str, allow: bool = False) -> Path:
    data = json.loads(LOCK_FILE.read_text(encoding="utf-8"))
    entry = next(e for e in data["assets"] if e["name"] == "chart/valkey")
    entry["url"] = url
    if allow:
        entry["allow_insecure_http"] = True
    path = tmp_path / "assets.lock.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("url", ["http://charts.example.com/valkey-1.0.0.tgz", "http://10.1.2.3:8080/valkey.tgz"])
def test_a_chart_over_plain_http_is_refused_unless_allowed(tmp_path: Path, url: str) -> None:
    with pytest.raises(AssetError, match=r"chart/valkey\.url: is plain http .* the chart would cross the network"):
        load_lock(_lock_with(tmp_path, url))
    assert load_lock(_lock_with(tmp_path, url, allow=True))["chart/valkey"].url == url
    assert load_lock(_lock_with(tmp_path, "http://charts.mirror.svc.cluster.local/valkey.tgz"))
