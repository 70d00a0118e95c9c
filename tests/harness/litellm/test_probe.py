"""Unit tests of tests/harness/litellm/probe.py's pure parts: no proxy is started."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness.litellm import probe
from tests.support import ROOT

MASTER_KEY = "sk-probe-0123456789abcdef"


def proxy_config() -> dict[str, Any]:
    """A config shaped like the one the Pulumi program renders for the chart."""
    return {
        "model_list": [
            {
                "model_name": "gpt-4o",
                "litellm_params": {
                    "model": "azure/gpt-4o-prod",
                    "api_base": "https://example.openai.azure.com",
                    "api_key": "os.environ/AZURE_API_KEY",
                    "api_version": "2024-10-21",
                    "rpm": 100,
                },
                "model_info": {"id": "gpt-4o-eu"},
            },
            {
                "model_name": "claude",
                "litellm_params": {"model": "anthropic/claude-sonnet-4", "api_key": "os.environ/ANTHROPIC_API_KEY"},
            },
        ],
        "litellm_settings": {
            "callbacks": ["langfuse_otel"],
            "success_callback": ["langfuse"],
            "cache": True,
            "cache_params": {"type": "redis", "host": "os.environ/REDIS_HOST"},
            "fallbacks": [{"gpt-4o": ["claude"]}],
            "prometheus_metrics_config": [{"group": "core", "metrics": ["litellm_spend_metric"]}],
        },
        "general_settings": {
            "master_key": "os.environ/LITELLM_MASTER_KEY",
            "database_url": "os.environ/DATABASE_URL",
            "database_connection_pool_limit": 10,
            "store_model_in_db": True,
            "alerting": ["slack"],
            "proxy_batch_write_at": 60,
        },
        "router_settings": {
            "routing_strategy": "simple-shuffle",
            "redis_host": "os.environ/REDIS_HOST",
            "redis_password": "os.environ/REDIS_PASSWORD",
            "num_retries": 2,
        },
        "environment_variables": {"DATABASE_URL": "postgres://u:p@db/litellm"},
    }


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def rewritten() -> dict[str, Any]:
    return probe.rewrite_config(proxy_config(), MASTER_KEY).config


def test_model_names_and_order_are_preserved() -> None:
    assert [m["model_name"] for m in rewritten()["model_list"]] == ["gpt-4o", "claude"]


def test_every_model_answers_with_a_mock_and_no_endpoint() -> None:
    for entry in rewritten()["model_list"]:
        params = entry["litellm_params"]
        assert params["model"].startswith("openai/")
        assert params["mock_response"] == probe.MOCK_RESPONSE
        assert params["api_key"] == probe.DUMMY_PROVIDER_KEY
        assert "api_base" not in params
        assert "api_version" not in params


def test_routing_limits_and_model_info_are_kept() -> None:
    first = rewritten()["model_list"][0]
    assert first["litellm_params"]["rpm"] == 100
    assert first["model_info"] == {"id": "gpt-4o-eu"}


def test_no_environment_reference_is_left() -> None:
    config = rewritten()
    assert not [s for s in strings(config) if s.startswith("os.environ/")]


def test_master_key_is_the_generated_one() -> None:
    assert rewritten()["general_settings"]["master_key"] == MASTER_KEY


def test_master_key_must_look_like_a_litellm_key() -> None:
    with pytest.raises(probe.ConfigError, match="master_key"):
        probe.rewrite_config(proxy_config(), "not-a-key")


def test_database_settings_are_removed() -> None:
    general = rewritten()["general_settings"]
    assert not [k for k in general if k.startswith("database")]
    assert "store_model_in_db" not in general
    assert "DATABASE_URL" not in strings(rewritten())
    assert not [s for s in strings(rewritten()) if s.startswith("postgres")]


def test_unrelated_general_settings_are_kept() -> None:
    assert rewritten()["general_settings"]["proxy_batch_write_at"] == 60


def test_prometheus_is_the_only_callback() -> None:
    settings = rewritten()["litellm_settings"]
    assert settings["callbacks"] == ["prometheus"]
    assert "success_callback" not in settings


@pytest.mark.parametrize("callbacks", [None, "prometheus", ["prometheus"], ["langfuse_otel", "prometheus"]])
def test_prometheus_callback_is_added_whatever_was_there(callbacks: Any) -> None:
    config = proxy_config()
    if callbacks is None:
        del config["litellm_settings"]["callbacks"]
    else:
        config["litellm_settings"]["callbacks"] = callbacks
    assert probe.rewrite_config(config, MASTER_KEY).config["litellm_settings"]["callbacks"] == ["prometheus"]


def test_missing_settings_sections_are_created() -> None:
    config = {"model_list": [{"model_name": "m", "litellm_params": {"model": "openai/x"}}]}
    result = probe.rewrite_config(config, MASTER_KEY).config
    assert result["litellm_settings"]["callbacks"] == ["prometheus"]
    assert result["general_settings"]["master_key"] == MASTER_KEY


def test_cache_alerting_redis_and_extra_sections_are_dropped() -> None:
    config = rewritten()
    assert "cache" not in config["litellm_settings"]
    assert "cache_params" not in config["litellm_settings"]
    assert "alerting" not in config["general_settings"]
    assert not [k for k in config["router_settings"] if k.startswith("redis")]
    assert "environment_variables" not in config


def test_fallbacks_router_and_prometheus_settings_are_kept() -> None:
    config = rewritten()
    assert config["litellm_settings"]["fallbacks"] == [{"gpt-4o": ["claude"]}]
    assert config["litellm_settings"]["prometheus_metrics_config"][0]["group"] == "core"
    assert config["router_settings"] == {"routing_strategy": "simple-shuffle", "num_retries": 2}
    assert probe.fallback_sources(config) == ["gpt-4o"]


def test_every_change_is_noted() -> None:
    notes = "\n".join(probe.rewrite_config(proxy_config(), MASTER_KEY).notes)
    for fragment in ("database_url", "master_key", "langfuse_otel", "success_callback", "environment_variables"):
        assert fragment in notes


def test_input_is_not_modified() -> None:
    config = proxy_config()
    before = copy.deepcopy(config)
    probe.rewrite_config(config, MASTER_KEY)
    assert config == before


def test_result_is_yaml_serialisable() -> None:
    assert yaml.safe_load(yaml.safe_dump(rewritten())) == rewritten()


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ([], "config"),
        ({}, "model_list"),
        ({"model_list": []}, "model_list"),
        ({"model_list": ["gpt"]}, "model_list[0]"),
        ({"model_list": [{"litellm_params": {}}]}, "model_list[0].model_name"),
        ({"model_list": [{"model_name": "m", "litellm_params": "x"}]}, "model_list[0].litellm_params"),
        ({"model_list": [{"model_name": "m"}], "litellm_settings": {"callbacks": 3}}, "litellm_settings.callbacks"),
    ],
)
def test_bad_shapes_name_the_key_path(config: Any, path: str) -> None:
    with pytest.raises(probe.ConfigError) as error:
        probe.rewrite_config(config, MASTER_KEY)
    assert str(error.value).startswith(f"{path}:")


def test_probe_models_are_added_without_touching_the_users() -> None:
    base = rewritten()
    extended = probe.add_probe_models(base, "http://127.0.0.1:9/v1")
    names = [m["model_name"] for m in extended["model_list"]]
    assert names[:2] == ["gpt-4o", "claude"]
    assert {probe.FAILING_MODEL, probe.FAILING_FALLBACK_MODEL, probe.UPSTREAM_MODEL} <= set(names)
    assert {probe.FAILING_MODEL: [probe.FAILING_FALLBACK_MODEL]} in extended["litellm_settings"]["fallbacks"]
    assert base == rewritten()


def test_probe_model_names_are_reserved() -> None:
    config = {"model_list": [{"model_name": probe.UPSTREAM_MODEL, "litellm_params": {}}]}
    with pytest.raises(probe.ConfigError, match="reserved"):
        probe.add_probe_models(config, "http://127.0.0.1:9/v1")


EXPOSITION = """\
# HELP litellm_proxy_total_requests_metric_total Total requests
# TYPE litellm_proxy_total_requests_metric_total counter
litellm_proxy_total_requests_metric_total{requested_model="a",team="t"} 3.0
# TYPE litellm_proxy_total_requests_metric_created gauge
litellm_proxy_total_requests_metric_created{requested_model="a",team="t"} 1.7e9
# TYPE litellm_request_total_latency_metric histogram
litellm_request_total_latency_metric_bucket{le="0.005",model="a=\\"b\\""} 1.0
litellm_request_total_latency_metric_sum{model="a"} 0.1
litellm_request_total_latency_metric_count{model="a"} 1.0
# TYPE litellm_request_total_latency_metric_created gauge
litellm_request_total_latency_metric_created{model="a"} 1.7e9
# TYPE litellm_in_flight_requests gauge
litellm_in_flight_requests 0.0
# TYPE litellm_remaining_team_budget_metric gauge
"""


def test_exposition_lists_samples_without_created() -> None:
    exposition = probe.parse_exposition(EXPOSITION)
    assert probe.listed_metric_names(exposition) == [
        "litellm_in_flight_requests",
        "litellm_proxy_total_requests_metric_total",
        "litellm_request_total_latency_metric_bucket",
        "litellm_request_total_latency_metric_count",
        "litellm_request_total_latency_metric_sum",
    ]
    assert probe.declared_only_families(exposition) == [("litellm_remaining_team_budget_metric", "gauge")]
    labels = probe.metric_labels(exposition)
    assert labels["litellm_proxy_total_requests_metric_total"] == ["requested_model", "team"]
    assert labels["litellm_request_total_latency_metric_bucket"] == ["model"]
    assert labels["litellm_in_flight_requests"] == []


def test_metrics_file_has_the_version_and_command_header() -> None:
    report = probe.Report(version="1.2.3", scrape=probe.parse_exposition(EXPOSITION))
    text = probe.metrics_file_text(
        report, "python -m tests.harness.litellm.probe --x", datetime(2026, 1, 2, tzinfo=UTC)
    )
    lines = text.splitlines()
    assert lines[0] == "# litellm==1.2.3"
    assert lines[1] == "# captured 2026-01-02 by: python -m tests.harness.litellm.probe --x"
    assert "litellm_proxy_total_requests_metric_total" in lines
    assert "# declared-only gauge litellm_remaining_team_budget_metric" in lines


def test_shipped_probe_config_rewrites() -> None:
    config = yaml.safe_load((ROOT / "tests" / "harness" / "litellm" / "probe_config.yaml").read_text())
    result = probe.rewrite_config(config, MASTER_KEY)
    assert probe.fallback_sources(result.config) == ["probe-primary"]
    assert [m["model_name"] for m in result.config["model_list"]] == ["probe-primary", "probe-fallback"]


def test_committed_metric_list_has_the_required_metric() -> None:
    lines = (ROOT / "tests" / "data" / "litellm_metrics.txt").read_text().splitlines()
    assert lines[0].startswith("# litellm==")
    assert lines[1].startswith("# captured ")
    names = [line for line in lines if line and not line.startswith("#")]
    assert names == sorted(names)
    assert probe.REQUIRED_METRIC in names


def test_requests_off_loopback_are_refused() -> None:
    with pytest.raises(probe.ProbeError, match="loopback"):
        probe.http_call("GET", "http://example.com/metrics/")


def helm_values() -> dict[str, Any]:
    """Chart values shaped like the ones components/litellm/values.py renders."""
    return {
        "numWorkers": 1,
        "envVars": {"PROMETHEUS_METRICS_PORT": "4001", "LITELLM_LOG": "INFO", "JSON_LOGS": True},
        "extraEnvVars": [{"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "uri"}}}],
        "proxy_config": proxy_config(),
    }


def test_helm_values_give_config_env_workers_and_metrics_port() -> None:
    parsed = probe.helm_probe_input(helm_values())
    assert parsed.config == proxy_config()
    assert parsed.env_vars == {"PROMETHEUS_METRICS_PORT": "4001", "LITELLM_LOG": "INFO", "JSON_LOGS": "true"}
    assert parsed.num_workers == 1
    assert parsed.deployed_metrics_port == 4001


def test_helm_values_without_metrics_port_or_workers() -> None:
    values = helm_values()
    del values["envVars"], values["numWorkers"]
    parsed = probe.helm_probe_input(values)
    assert parsed.env_vars == {}
    assert parsed.num_workers is None
    assert parsed.deployed_metrics_port is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"proxy_config": None}, "proxy_config"),
        ({"envVars": ["A=b"]}, "envVars"),
        ({"envVars": {"A": {"b": 1}}}, "envVars.A"),
        ({"envVars": {"PROMETHEUS_METRICS_PORT": "metrics"}}, "PROMETHEUS_METRICS_PORT"),
        ({"envVars": {"PROMETHEUS_METRICS_PORT": "70000"}}, "out of range"),
        ({"numWorkers": "2"}, "numWorkers"),
    ],
)
def test_unusable_helm_values_are_config_errors(change: dict[str, Any], message: str) -> None:
    with pytest.raises(probe.ConfigError, match=message):
        probe.helm_probe_input({**helm_values(), **change})


def test_chart_env_vars_keep_settings_and_drop_secrets(tmp_path: Path) -> None:
    env, notes = probe.probe_env_vars(
        {
            "PROMETHEUS_METRICS_PORT": "4001",
            "PROMETHEUS_MULTIPROC_DIR": "/var/run/prom",
            "DATABASE_URL": "postgresql://u:p@db/litellm",
            "PROXY_MASTER_KEY": "sk-real",
            "LITELLM_LOG": "INFO",
        },
        tmp_path / "multiproc",
    )
    assert env == {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "multiproc"), "LITELLM_LOG": "INFO"}
    assert len(notes) == 4


def test_proxy_env_drops_inherited_metrics_settings() -> None:
    env = probe.proxy_env({"PROMETHEUS_METRICS_PORT": "1", "PROMETHEUS_MULTIPROC_DIR": "/x", "PATH": "/bin"})
    assert "PROMETHEUS_METRICS_PORT" not in env
    assert "PROMETHEUS_MULTIPROC_DIR" not in env
    assert env["PATH"] == "/bin"


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_version_comes_from_the_metadata_of_the_scripts_interpreter(tmp_path: Path) -> None:
    # A console script: its interpreter answers from the package metadata (no LiteLLM import).
    python = _executable(tmp_path / "python3", '#!/bin/sh\ncase "$2" in *"version(\'litellm\')"*) echo 1.2.3;; esac\n')
    litellm = _executable(tmp_path / "litellm", f"#!{python}\nraise SystemExit('not run')\n")
    assert probe.litellm_version(litellm, {}) == "1.2.3"


def test_version_of_another_executable_comes_from_its_version_flag(tmp_path: Path) -> None:
    litellm = _executable(
        tmp_path / "litellm", '#!/bin/sh\n[ "$1" = --version ] && echo "LiteLLM: Current Version = 4.5.6"\n'
    )
    assert probe.litellm_version(litellm, {}) == "4.5.6"
    broken = _executable(tmp_path / "broken", "#!/bin/sh\necho nothing\n")
    with pytest.raises(probe.ProbeError, match="cannot read the LiteLLM version"):
        probe.litellm_version(broken, {})
