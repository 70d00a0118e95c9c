"""Run a real LiteLLM proxy on loopback and record the Prometheus metrics it exposes.

Usage::

    python -m tests.harness.litellm.probe --litellm /path/to/venv/bin/litellm \\
        --config tests/harness/litellm/probe_config.yaml \\
        [--metrics-out tests/data/litellm_metrics.txt] [--requests N] [--metrics-port PORT]

    python -m tests.harness.litellm.probe --litellm /path/to/venv/bin/litellm \\
        --helm-values preview-out/helm/litellm/values.yaml

What it does, in order:

1. Reads a LiteLLM proxy config (the YAML dict the Pulumi program renders into
   the Helm values' ``proxy_config``; with ``--helm-values``, the chart values
   themselves: their ``proxy_config``, ``envVars`` and ``numWorkers``) and
   rewrites it with :func:`rewrite_config`
   into one that starts here, offline, without secrets or a database: every
   model answers with a ``mock_response``, ``os.environ/...`` references are
   replaced by dummies, database/Redis/alerting settings are dropped, and the
   only callback is ``prometheus`` (so nothing leaves the machine).
2. Starts ``litellm --config <tmp> --host 127.0.0.1 --port <free port>`` as a
   subprocess (loopback only) and waits for ``/health/liveliness``; a proxy
   that refuses the config (exits at start-up) fails the probe. The chart's
   ``envVars`` are passed to it (minus database/master-key variables), and
   ``--num_workers`` from ``numWorkers`` as the chart does. With a separate
   metrics port (``--metrics-port``, or ``envVars.PROMETHEUS_METRICS_PORT`` in
   the Helm values) ``PROMETHEUS_METRICS_PORT`` is set to a free loopback port.
3. Sends N non-streaming and 2 streaming chat completions with the generated
   master key, a request that exercises a configured fallback
   (``mock_testing_fallbacks``), and one request to a model that does not exist.
4. Scrapes ``/metrics/`` with and without the Bearer key and, with a separate
   metrics port, ``/metrics/`` and ``/metrics`` on that port without any
   ``Authorization`` header (how the deployed Prometheus scrapes), prints a
   report and, with ``--metrics-out``, writes the sorted metric sample names.

The metrics file lists sample names as they appear in the exposition, one per
line: counters with their ``_total`` suffix, histograms as ``<name>_bucket``,
``<name>_sum`` and ``<name>_count``, gauges as is. The ``_created`` samples that
prometheus_client adds to counters and histograms are left out.

Exit status: 0 when every check passed, 1 when a check failed (proxy did not
start or refused the config, a completion failed, ``/metrics/`` was not 200,
the unauthenticated scrape of the main port was not refused, the separate
metrics port did not answer 200 without a key, or
``litellm_proxy_total_requests_metric_total`` is missing), 2 for bad arguments
or an unusable config. The subprocess is always
killed, and every wait is bounded.

Only the standard library and PyYAML are used, so any Python 3.11 can run it;
LiteLLM itself runs from the executable given with ``--litellm``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import http.server
import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import yaml

from offline.inputs import InputError, read_yaml_mapping
from tests.harness.processes import LoopbackServer, start_logged, stop_group

MOCK_RESPONSE: Final = "Hello from the litellm probe."
DUMMY_PROVIDER_KEY: Final = "sk-probe-dummy-provider-key"
ENV_REFERENCE_PREFIX: Final = "os.environ/"
REQUIRED_METRIC: Final = "litellm_proxy_total_requests_metric_total"
MISSING_MODEL: Final = "probe-model-that-does-not-exist"
# Model groups the probe adds: both always answer 429, the first falls back to
# the second, so failures, failed fallbacks and cooldowns show in the metrics.
FAILING_MODEL: Final = "litellm-probe-failing"
FAILING_FALLBACK_MODEL: Final = "litellm-probe-failing-fallback"
FAILING_MOCK_RESPONSE: Final = "litellm.RateLimitError"
UPSTREAM_MODEL: Final = "litellm-probe-upstream"
# Single-deployment model groups on the fake upstream whose provider is down
# (HTTP 503) or rate limits every request (HTTP 429): provider failures as a
# real provider produces them. Only requested on purpose (tests/components/observability/test_prometheus_real.py).
DOWN_MODEL: Final = "litellm-probe-down"
LIMITED_MODEL: Final = "litellm-probe-limited"
UPSTREAM_DOWN_PATH: Final = "/down"
UPSTREAM_LIMITED_PATH: Final = "/limited"
# A custom auth module (written next to the temporary config) that gives the key
# in $LITELLM_PROBE_TEAM_KEY a team and budgets; every other key falls through
# to LiteLLM's own auth (custom_auth_settings.mode: auto).
TEAM_AUTH_MODULE: Final = "litellm_probe_team_auth"
TEAM_KEY_ENV: Final = "LITELLM_PROBE_TEAM_KEY"


def key_auth_source(key_env: str, refusal: str, **key: object) -> str:
    """A LiteLLM custom auth module accepting one key, the one in $`key_env`, as a key with these
    `UserAPIKeyAuth` fields (`key`); any other key raises `refusal`."""
    fields = "".join(f"        {name}={value!r},\n" for name, value in key.items())
    return (
        "import os\n\nfrom litellm.proxy._types import UserAPIKeyAuth\n\n\n"
        "async def user_api_key_auth(request, api_key):\n"
        f"    if not api_key or api_key != os.environ.get({key_env!r}):\n"
        f"        raise ValueError({refusal!r})\n"
        f"    return UserAPIKeyAuth(\n        api_key=api_key,\n{fields}    )\n"
    )


TEAM_AUTH_SOURCE: Final = key_auth_source(
    TEAM_KEY_ENV,
    "not the probe team key",
    key_alias="litellm-probe-team-key",
    spend=1.0,
    max_budget=10.0,
    team_id="litellm-probe-team",
    team_alias="litellm-probe-team",
    team_spend=5.0,
    team_max_budget=100.0,
    user_id="litellm-probe-user",
)

# Settings that keep their value because they shape routing/metrics but carry
# no endpoint or credential.
KEPT_LITELLM_PARAMS: Final = frozenset({"rpm", "tpm", "order", "weight", "max_parallel_requests"})
# Top-level sections a proxy config may have that the probe keeps.
KEPT_SECTIONS: Final = frozenset({"model_list", "litellm_settings", "general_settings", "router_settings"})
# Callbacks that send data off the machine are dropped; this one stays.
PROMETHEUS_CALLBACK: Final = "prometheus"
DROPPED_CALLBACK_KEYS: Final = ("success_callback", "failure_callback", "service_callback")
# litellm_settings entries that need a server the probe does not have.
DROPPED_LITELLM_SETTINGS: Final = ("cache", "cache_params")
# general_settings entries that need a database, Redis, or send alerts.
DROPPED_GENERAL_SETTINGS: Final = (
    "store_model_in_db",
    "use_redis_transaction_buffer",
    "alerting",
    "alerting_threshold",
    "alert_types",
    "alerting_args",
)
# Variables removed from the proxy's environment: no database, no real key, and
# no metrics port / multiprocess directory inherited from the caller.
METRICS_PORT_ENV: Final = "PROMETHEUS_METRICS_PORT"
MULTIPROC_DIR_ENVS: Final = ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir")
SCRUBBED_ENV: Final = (
    "DATABASE_URL",
    "DIRECT_URL",
    "LITELLM_MASTER_KEY",
    "LITELLM_SALT_KEY",
    "PROXY_MASTER_KEY",
    METRICS_PORT_ENV,
    *MULTIPROC_DIR_ENVS,
)

# LiteLLM builds Redis clients from any REDIS_* variable (litellm._redis): the probe has no Redis.
REDIS_ENV_PREFIX: Final = "REDIS_"

HTTP_TIMEOUT_S: Final = 30.0
METRICS_WAIT_S: Final = 90.0
"""Until LiteLLM's metrics show what was sent (a deadline, not a delay: a loaded CI machine starts its
metrics server late)."""
STOP_TIMEOUT_S: Final = 10.0
LOG_TAIL_LINES: Final = 40


class ProbeError(Exception):
    """A check failed or the probe could not run; the message says which."""


class ConfigError(ProbeError):
    """The given proxy config cannot be rewritten (wrong shape)."""


@dataclass(frozen=True)
class RewriteResult:
    """The rewritten config and a human-readable note for every change."""

    config: dict[str, Any]
    notes: tuple[str, ...]


# --------------------------------------------------------------------------
# Pure config rewriting
# --------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]+", "-", text).strip("-") or "model"


def _dummy_for_env(name: str) -> str:
    return f"probe-dummy-{_slug(name).lower()}"


def _replace_env_references(value: Any, path: str, notes: list[str]) -> Any:
    """Return ``value`` with every ``os.environ/NAME`` string replaced by a dummy."""
    if isinstance(value, str):
        if value.startswith(ENV_REFERENCE_PREFIX):
            name = value.removeprefix(ENV_REFERENCE_PREFIX)
            notes.append(f"{path}: replaced {value} with a dummy value")
            return _dummy_for_env(name)
        return value
    if isinstance(value, Mapping):
        return {k: _replace_env_references(v, f"{path}.{k}", notes) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_env_references(v, f"{path}[{i}]", notes) for i, v in enumerate(value)]
    return value


def _as_mapping(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path}: expected a mapping, found {type(value).__name__}")
    return dict(value)


def _rewrite_model(index: int, entry: Any, notes: list[str]) -> dict[str, Any]:
    path = f"model_list[{index}]"
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{path}: expected a mapping, found {type(entry).__name__}")
    model_name = entry.get("model_name")
    if not isinstance(model_name, str) or not model_name:
        raise ConfigError(f"{path}.model_name: expected a non-empty string, found {model_name!r}")
    old_params = _as_mapping(entry.get("litellm_params"), f"{path}.litellm_params")
    new_params: dict[str, Any] = {k: v for k, v in old_params.items() if k in KEPT_LITELLM_PARAMS}
    new_params.update(
        {
            "model": f"openai/probe-mock-{index}-{_slug(model_name)}",
            "mock_response": MOCK_RESPONSE,
            "api_key": DUMMY_PROVIDER_KEY,
        }
    )
    dropped = sorted(set(old_params) - set(new_params) - {"model"})
    if dropped:
        notes.append(f"{path}.litellm_params: dropped {', '.join(dropped)}")
    notes.append(f"{path} ({model_name}): now answers with a mock_response")
    new_entry: dict[str, Any] = {"model_name": model_name, "litellm_params": new_params}
    if "model_info" in entry:
        new_entry["model_info"] = _as_mapping(entry["model_info"], f"{path}.model_info")
    return new_entry


def _rewrite_callbacks(settings: dict[str, Any], notes: list[str]) -> None:
    raw = settings.get("callbacks")
    if raw is None:
        callbacks: list[Any] = []
    elif isinstance(raw, str):
        callbacks = [raw]
    elif isinstance(raw, list):
        callbacks = list(raw)
    else:
        raise ConfigError(f"litellm_settings.callbacks: expected a list, found {type(raw).__name__}")
    dropped = [c for c in callbacks if c != PROMETHEUS_CALLBACK]
    if dropped:
        notes.append(f"litellm_settings.callbacks: dropped {dropped} (they send data off the machine)")
    if PROMETHEUS_CALLBACK not in callbacks:
        notes.append("litellm_settings.callbacks: added prometheus")
    settings["callbacks"] = [PROMETHEUS_CALLBACK]
    for key in DROPPED_CALLBACK_KEYS:
        if key in settings:
            notes.append(f"litellm_settings.{key}: dropped {settings.pop(key)!r}")
    for key in DROPPED_LITELLM_SETTINGS:
        if key in settings:
            settings.pop(key)
            notes.append(f"litellm_settings.{key}: dropped (no cache server here)")


def rewrite_config(config: Mapping[str, Any], master_key: str) -> RewriteResult:
    """Turn a proxy config into one that starts offline with mock models.

    Pure: ``config`` is not modified. Model names, fallbacks, router settings
    and Prometheus settings are kept; endpoints, credentials, the database,
    Redis, alerting and every callback but ``prometheus`` are removed;
    ``os.environ/...`` references are replaced by dummy values, and
    ``general_settings.master_key`` becomes ``master_key``.
    """
    if not isinstance(config, Mapping):
        raise ConfigError(f"config: expected a mapping, found {type(config).__name__}")
    if not master_key.startswith("sk-"):
        raise ConfigError("master_key: LiteLLM requires a master key starting with 'sk-'")
    notes: list[str] = []
    source = copy.deepcopy(dict(config))

    for section in sorted(set(source) - KEPT_SECTIONS):
        source.pop(section)
        notes.append(f"{section}: dropped (the probe needs none of it)")

    models = source.get("model_list")
    if not isinstance(models, list) or not models:
        raise ConfigError(f"model_list: expected a non-empty list, found {models!r}")
    model_list = [_rewrite_model(i, entry, notes) for i, entry in enumerate(models)]

    litellm_settings = _as_mapping(source.get("litellm_settings"), "litellm_settings")
    _rewrite_callbacks(litellm_settings, notes)

    general_settings = _as_mapping(source.get("general_settings"), "general_settings")
    for key in sorted(general_settings):
        if key.startswith("database") or key in DROPPED_GENERAL_SETTINGS:
            general_settings.pop(key)
            notes.append(f"general_settings.{key}: dropped (no database, Redis or alerting here)")
    if "master_key" in general_settings:
        notes.append("general_settings.master_key: replaced by a generated key")
    general_settings.pop("master_key", None)

    router_settings = _as_mapping(source.get("router_settings"), "router_settings")
    for key in sorted(router_settings):
        if key.startswith("redis") or key in ("cache_responses", "cache_kwargs"):
            router_settings.pop(key)
            notes.append(f"router_settings.{key}: dropped (no Redis here)")

    rewritten: dict[str, Any] = {
        "model_list": model_list,
        "litellm_settings": _replace_env_references(litellm_settings, "litellm_settings", notes),
        "general_settings": _replace_env_references(general_settings, "general_settings", notes),
    }
    if router_settings:
        rewritten["router_settings"] = _replace_env_references(router_settings, "router_settings", notes)
    rewritten["general_settings"]["master_key"] = master_key
    # Lets the probe fail deployments on purpose (mock_testing_fallbacks) to
    # produce the fallback metrics; only ever set on this throwaway proxy.
    rewritten["general_settings"]["dangerously_allow_mock_testing_request_params"] = True
    return RewriteResult(config=rewritten, notes=tuple(notes))


def add_probe_models(config: Mapping[str, Any], upstream_api_base: str) -> dict[str, Any]:
    """Return ``config`` plus what the probe needs to make more metrics appear.

    - ``litellm-probe-failing`` (two deployments) and ``litellm-probe-failing-fallback``
      always answer 429, the first falls back to the second: deployment failures,
      failed fallbacks and cooldowns;
    - ``litellm-probe-upstream`` calls a fake OpenAI server on loopback
      (``upstream_api_base``): overhead latency and provider rate-limit headers,
      which a ``mock_response`` never produces;
    - ``litellm-probe-down`` and ``litellm-probe-limited``: single deployments on
      the same server whose provider answers 503 and 429 to every request;
    - an opt-in in-memory cache (``mode: default_off``): cache hits;
    - a custom auth module (``mode: auto``) that gives one extra key a team and
      budgets: the budget gauges, without a database.
    """
    result = copy.deepcopy(dict(config))
    model_list = result.setdefault("model_list", [])
    names = {str(m.get("model_name")) for m in model_list if isinstance(m, Mapping)}
    clash = names & {FAILING_MODEL, FAILING_FALLBACK_MODEL, UPSTREAM_MODEL, DOWN_MODEL, LIMITED_MODEL}
    if clash:
        raise ConfigError(f"model_list: model names reserved by the probe: {sorted(clash)}")
    for index, name in enumerate((FAILING_MODEL, FAILING_MODEL, FAILING_FALLBACK_MODEL)):
        model_list.append(
            {
                "model_name": name,
                "litellm_params": {
                    "model": f"openai/probe-failing-{index}",
                    "mock_response": FAILING_MOCK_RESPONSE,
                    "api_key": DUMMY_PROVIDER_KEY,
                },
            }
        )
    model_list.append(
        {
            "model_name": UPSTREAM_MODEL,
            "litellm_params": {
                "model": "openai/probe-upstream",
                "api_base": upstream_api_base,
                "api_key": DUMMY_PROVIDER_KEY,
            },
        }
    )
    origin, _, api_path = upstream_api_base.rpartition("/")
    for name, path in ((DOWN_MODEL, UPSTREAM_DOWN_PATH), (LIMITED_MODEL, UPSTREAM_LIMITED_PATH)):
        model_list.append(
            {
                "model_name": name,
                "litellm_params": {
                    "model": f"openai/{name}",
                    "api_base": f"{origin}{path}/{api_path}",
                    "api_key": DUMMY_PROVIDER_KEY,
                },
            }
        )
    settings = result.setdefault("litellm_settings", {})
    # The router takes router_settings.fallbacks over litellm_settings.fallbacks: join
    # the config's own list, wherever it is.
    router = result.get("router_settings")
    holder = router if isinstance(router, dict) and "fallbacks" in router else settings
    holder["fallbacks"] = [*(holder.get("fallbacks") or []), {FAILING_MODEL: [FAILING_FALLBACK_MODEL]}]
    settings["cache"] = True
    settings["cache_params"] = {"type": "local", "mode": "default_off"}
    general = result.setdefault("general_settings", {})
    general["custom_auth"] = f"{TEAM_AUTH_MODULE}.user_api_key_auth"
    general["custom_auth_settings"] = {"mode": "auto"}
    return result


def fallback_sources(config: Mapping[str, Any]) -> list[str]:
    """Model names that have a fallback configured (litellm or router settings)."""
    names: list[str] = []
    for section in ("litellm_settings", "router_settings"):
        settings = config.get(section)
        if not isinstance(settings, Mapping):
            continue
        fallbacks = settings.get("fallbacks")
        if not isinstance(fallbacks, list):
            continue
        for item in fallbacks:
            if isinstance(item, Mapping):
                names.extend(str(k) for k in item if str(k) not in names)
    return names


# --------------------------------------------------------------------------
# Helm values (the chart release the Pulumi program renders)
# --------------------------------------------------------------------------

_ENV_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ProbeInput:
    """What the probe runs: a proxy config and how the chart starts the proxy."""

    config: Mapping[str, Any]
    env_vars: Mapping[str, str] = field(default_factory=dict)
    """The chart's plain ``envVars`` (values as the chart renders them: strings)."""
    num_workers: int | None = None
    """``numWorkers``: the chart passes ``--num_workers`` when it is set (and not 0)."""
    deployed_metrics_port: int | None = None
    """``envVars.PROMETHEUS_METRICS_PORT``: the deployment serves metrics on a separate port."""


def _helm_env_value(name: str, value: Any) -> str:
    """An ``envVars`` value as the chart renders it (``{{ $val | quote }}``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ConfigError(f"envVars.{name}: expected a string or number, found {type(value).__name__}")


def _port(text: str, path: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise ConfigError(f"{path}: expected a port number, found {text!r}") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"{path}: port {port} is out of range")
    return port


def helm_probe_input(values: Any) -> ProbeInput:
    """Read the chart values the program renders: ``proxy_config``, ``envVars``, ``numWorkers``."""
    if not isinstance(values, Mapping):
        raise ConfigError(f"helm values: expected a mapping, found {type(values).__name__}")
    config = values.get("proxy_config")
    if not isinstance(config, Mapping):
        raise ConfigError(f"proxy_config: expected a mapping, found {type(config).__name__}")
    env_vars: dict[str, str] = {}
    for name, value in _as_mapping(values.get("envVars"), "envVars").items():
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            raise ConfigError(f"envVars: {name!r} is not an environment variable name")
        env_vars[name] = _helm_env_value(name, value)
    workers = values.get("numWorkers")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
        raise ConfigError(f"numWorkers: expected a non-negative integer, found {workers!r}")
    metrics_port = env_vars.get(METRICS_PORT_ENV)
    return ProbeInput(
        config=config,
        env_vars=env_vars,
        num_workers=workers or None,
        deployed_metrics_port=_port(metrics_port, f"envVars.{METRICS_PORT_ENV}") if metrics_port else None,
    )


def probe_env_vars(env_vars: Mapping[str, str], multiproc_dir: Path) -> tuple[dict[str, str], list[str]]:
    """The chart's ``envVars`` as the probe passes them to the proxy, and a note for each change.

    Database and master-key variables are dropped (the probe has neither), the metrics
    port is left to the probe (a free loopback port), and a multiprocess directory is
    moved under ``multiproc_dir`` so concurrent probes never share one.
    """
    kept: dict[str, str] = {}
    notes: list[str] = []
    for name, value in env_vars.items():
        if name == METRICS_PORT_ENV:
            notes.append(f"envVars.{name}: {value} replaced by a free loopback port")
        elif name in MULTIPROC_DIR_ENVS:
            kept[name] = str(multiproc_dir)
            notes.append(f"envVars.{name}: {value} moved to the probe's temporary directory")
        elif name in SCRUBBED_ENV:
            notes.append(f"envVars.{name}: dropped (no database or real key here)")
        elif name.startswith(REDIS_ENV_PREFIX):
            notes.append(f"envVars.{name}: dropped (no Redis here; it names the cluster's server)")
        else:
            kept[name] = value
    return kept, notes


# --------------------------------------------------------------------------
# Exposition parsing
# --------------------------------------------------------------------------

_SAMPLE_NAME: Final = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)")
_LABEL: Final = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"')
_SAMPLE_SUFFIXES: Final = ("_bucket", "_count", "_sum")


@dataclass(frozen=True)
class Exposition:
    """Metric families (``# TYPE`` lines) and the label names of each sample name."""

    families: dict[str, str]
    samples: dict[str, frozenset[str]]

    @property
    def sample_names(self) -> frozenset[str]:
        return frozenset(self.samples)


def parse_exposition(text: str) -> Exposition:
    """Parse Prometheus text format just enough to list families, samples and labels."""
    families: dict[str, str] = {}
    samples: dict[str, set[str]] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) >= 4:
                families[parts[2]] = parts[3]
            continue
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE_NAME.match(line)
        if match:
            rest = line[match.end() :]
            labels = _LABEL.findall(rest[: rest.rfind("}") + 1]) if rest.startswith("{") else []
            samples.setdefault(match.group(1), set()).update(labels)
    return Exposition(families=families, samples={k: frozenset(v) for k, v in samples.items()})


def _created_names(exposition: Exposition) -> set[str]:
    """The ``_created`` companions prometheus_client adds to counters and histograms."""
    return {
        f"{name.removesuffix('_total')}_created"
        for name, kind in exposition.families.items()
        if kind in ("counter", "histogram", "summary")
    }


def listed_metric_names(exposition: Exposition) -> list[str]:
    """Sorted sample names without the ``_created`` samples of counters/histograms."""
    created = _created_names(exposition)
    return sorted(n for n in exposition.samples if n not in created)


def real_families(exposition: Exposition) -> dict[str, str]:
    """Families without the ``_created`` companion families."""
    created = _created_names(exposition)
    return {n: t for n, t in exposition.families.items() if n not in created}


def declared_only_families(exposition: Exposition) -> list[tuple[str, str]]:
    """Families (name, type) that are declared but have no sample yet."""
    sampled = exposition.sample_names
    return sorted(
        (name, kind)
        for name, kind in real_families(exposition).items()
        if name not in sampled and not any(f"{name}{suffix}" in sampled for suffix in _SAMPLE_SUFFIXES)
    )


def metric_labels(exposition: Exposition) -> dict[str, list[str]]:
    """Label names by listed sample name (histogram ``le`` left out)."""
    names = listed_metric_names(exposition)
    return {n: sorted(exposition.samples[n] - {"le"}) for n in names}


# --------------------------------------------------------------------------
# Talking to the proxy
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpResult:
    status: int
    body: str
    location: str = ""
    """The ``Location`` header of a redirect (redirects are not followed)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER: Final = urllib.request.build_opener(_NoRedirect)


def http_call(
    method: str,
    url: str,
    *,
    key: str | None = None,
    payload: Mapping[str, Any] | None = None,
    timeout: float = HTTP_TIMEOUT_S,
) -> HttpResult:
    """One bounded HTTP request; HTTP errors are returned, not raised."""
    data = json.dumps(payload).encode() if payload is not None else None
    if not url.startswith("http://127.0.0.1:"):
        raise ProbeError(f"refusing a request off loopback: {url}")
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback http only, checked above
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return HttpResult(response.status, response.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        location = error.headers.get("Location", "") if error.headers is not None else ""
        return HttpResult(error.code, error.read().decode("utf-8", "replace"), str(location))
    except (urllib.error.URLError, OSError) as error:
        return HttpResult(0, f"{type(error).__name__}: {error}")


class _UpstreamHandler(http.server.BaseHTTPRequestHandler):
    """A fake OpenAI chat completions endpoint (JSON or server-sent events)."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            request = {}
        for prefix, status in ((UPSTREAM_DOWN_PATH, 503), (UPSTREAM_LIMITED_PATH, 429)):
            if self.path.startswith(f"{prefix}/"):
                error = {"error": {"message": f"probe upstream answers {status}", "type": "probe", "code": status}}
                self._answer(json.dumps(error).encode(), "application/json", status=status)
                return
        usage = {"prompt_tokens": 7, "completion_tokens": 6, "total_tokens": 13}
        base = {"id": "chatcmpl-probe", "created": int(time.time()), "model": "probe-upstream"}
        if request.get("stream"):
            chunks = [
                {
                    **base,
                    "object": "chat.completion.chunk",
                    "choices": [
                        {"index": 0, "delta": {"role": "assistant", "content": MOCK_RESPONSE}, "finish_reason": None}
                    ],
                },
                {
                    **base,
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                    "usage": usage,
                },
            ]
            body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
            self._answer(body.encode(), "text/event-stream")
            return
        completion = {
            **base,
            "object": "chat.completion",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": MOCK_RESPONSE}, "finish_reason": "stop"}
            ],
            "usage": usage,
        }
        self._answer(json.dumps(completion).encode(), "application/json")

    def _answer(self, body: bytes, content_type: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-ratelimit-limit-requests", "1000")
        self.send_header("x-ratelimit-remaining-requests", "999")
        self.send_header("x-ratelimit-limit-tokens", "100000")
        self.send_header("x-ratelimit-remaining-tokens", "99000")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


class FakeUpstream(LoopbackServer):
    """The fake OpenAI server, on a free loopback port, in a daemon thread."""

    def __init__(self) -> None:
        super().__init__(http.server.ThreadingHTTPServer(("127.0.0.1", 0), _UpstreamHandler), STOP_TIMEOUT_S)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def free_loopback_port(other_than: int | None = None) -> int:
    """A port free on 127.0.0.1 now (and not ``other_than``)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port != other_than:
            return port


def litellm_version(litellm: Path, env: Mapping[str, str]) -> str:
    """The version of the ``litellm`` package the executable runs.

    Read from the package metadata by the interpreter of the executable's ``#!`` line
    (a console script's): a few milliseconds, where ``litellm --version`` imports all of
    LiteLLM (about 8 CPU-seconds). An executable without a Python ``#!`` line is asked
    with ``--version``.
    """
    try:
        first = litellm.read_bytes()[:512].split(b"\n", 1)[0].decode()
    except (OSError, UnicodeDecodeError):
        first = ""
    interpreter = first.removeprefix("#!").strip().split(" ", 1)[0] if first.startswith("#!") else ""
    if Path(interpreter).name.startswith("python"):
        command = [interpreter, "-c", "import importlib.metadata as m; print(m.version('litellm'))"]
        pattern = r"^\s*(\S+)\s*$"
    else:
        command, pattern = [str(litellm), "--version"], r"Current Version\s*=\s*(\S+)"
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, env=dict(env), check=False)
    match = re.search(pattern, completed.stdout + completed.stderr)
    if not match:
        output = (completed.stdout + completed.stderr)[-500:]
        raise ProbeError(f"cannot read the LiteLLM version of {litellm} ({shlex.join(command)}): {output}")
    return match.group(1)


def proxy_env(base: Mapping[str, str]) -> dict[str, str]:
    """The proxy's environment: no database, no real key, no Redis, no network fetches."""
    env = {k: v for k, v in base.items() if k not in SCRUBBED_ENV and not k.startswith(REDIS_ENV_PREFIX)}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    env["DISABLE_SCHEMA_UPDATE"] = "true"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop the proxy and its children (its own process group), bounded."""
    stop_group(process, STOP_TIMEOUT_S)


def start_proxy(
    litellm: Path,
    config: Path,
    port: int,
    *,
    env: Mapping[str, str],
    cwd: str | Path,
    log: Path,
    args: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """`litellm --config CONFIG` on 127.0.0.1:`port` (and `args`), in its own session, its output in `log`."""
    command = [str(litellm), "--config", str(config), "--host", "127.0.0.1", "--port", str(port), *args]
    return start_logged(command, env=env, cwd=cwd, log=log)


def _log_tail(log_path: Path) -> str:
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-LOG_TAIL_LINES:])


def wait_until_live(base_url: str, process: subprocess.Popen[bytes], timeout: float, log: Path) -> float:
    """Poll ``/health/liveliness`` until 200; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if process.poll() is not None:
            raise ProbeError(f"litellm exited with {process.returncode} before it was live:\n{_log_tail(log)}")
        if http_call("GET", f"{base_url}/health/liveliness", timeout=5).status == 200:
            return time.monotonic() - start
        time.sleep(0.5)
    raise ProbeError(f"litellm was not live after {timeout:.0f} s:\n{_log_tail(log)}")


def chat(base_url: str, key: str, model: str, *, stream: bool = False, **extra: Any) -> HttpResult:
    payload: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": "Say hello to the probe."}],
        "stream": stream,
        **extra,
    }
    return http_call("POST", f"{base_url}/v1/chat/completions", key=key, payload=payload)


def completion_ok(result: HttpResult, *, stream: bool) -> bool:
    """True when the request answered 200 with the mock text."""
    if result.status != 200:
        return False
    try:
        return completion_text(result, stream=stream) == MOCK_RESPONSE
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return False


def completion_text(result: HttpResult, *, stream: bool) -> str:
    """The assistant text of a (streamed) chat completion response body."""
    if not stream:
        body = json.loads(result.body)
        return str(body["choices"][0]["message"]["content"])
    pieces: list[str] = []
    for line in result.body.splitlines():
        if not line.startswith("data:"):
            continue
        data = line.removeprefix("data:").strip()
        if data == "[DONE]":
            break
        chunk = json.loads(data)
        for choice in chunk.get("choices", []):
            pieces.append(str((choice.get("delta") or {}).get("content") or ""))
    return "".join(pieces)


# --------------------------------------------------------------------------
# The probe
# --------------------------------------------------------------------------


@dataclass
class Report:
    version: str = "?"
    startup_s: float = 0.0
    elapsed_s: float = 0.0
    checks: list[tuple[str, str, bool]] = field(default_factory=list)
    scrape: Exposition = field(default_factory=lambda: Exposition({}, {}))
    exposition: str = ""
    metrics_port: int | None = None
    """The loopback port of LiteLLM's separate metrics server, when the probe started one."""
    deployed_metrics_port: int | None = None
    """``envVars.PROMETHEUS_METRICS_PORT`` of the Helm values, when probing them."""

    @property
    def metric_names(self) -> list[str]:
        return listed_metric_names(self.scrape)

    def check(self, name: str, detail: str, ok: bool) -> None:
        self.checks.append((name, detail, ok))

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(ok for _, _, ok in self.checks)

    def render(self) -> str:
        families = real_families(self.scrape)
        litellm_families = [n for n in families if n.startswith("litellm_")]
        lines = [f"litellm=={self.version}; proxy live after {self.startup_s:.1f} s"]
        if self.metrics_port is not None:
            deployed = f" (deployed: {self.deployed_metrics_port})" if self.deployed_metrics_port is not None else ""
            lines.append(f"separate metrics port: 127.0.0.1:{self.metrics_port}{deployed}, scraped without a key")
        else:
            lines.append("separate metrics port: none (PROMETHEUS_METRICS_PORT not set)")
        lines += [f"  [{'ok' if ok else 'FAIL'}] {name}: {detail}" for name, detail, ok in self.checks]
        lines.append(
            f"metric families: {len(families)} ({len(litellm_families)} litellm_*, "
            f"{len(declared_only_families(self.scrape))} declared without samples), "
            f"sample names listed: {len(self.metric_names)}"
        )
        lines.append(f"elapsed: {self.elapsed_s:.1f} s; result: {'OK' if self.ok else 'FAILED'}")
        return "\n".join(lines)


def _send_traffic(
    report: Report, base_url: str, keys: tuple[str, str], models: Sequence[str], fallbacks: Sequence[str], n: int
) -> None:
    key, team_key = keys
    for i in range(n):
        model = models[i % len(models)]
        result = chat(base_url, key, model)
        report.check(f"completion {i + 1} ({model})", f"HTTP {result.status}", completion_ok(result, stream=False))
    for i in range(2):
        model = models[i % len(models)]
        result = chat(base_url, key, model, stream=True)
        report.check(
            f"streaming completion {i + 1} ({model})", f"HTTP {result.status}", completion_ok(result, stream=True)
        )
    for model in fallbacks:
        # The router fails the first deployment on purpose and must answer from the fallback.
        result = chat(base_url, key, model, mock_testing_fallbacks=True)
        report.check(f"fallback from {model} succeeds", f"HTTP {result.status}", result.status == 200)
    for stream in (False, True):
        result = chat(base_url, key, UPSTREAM_MODEL, stream=stream)
        report.check(
            f"{UPSTREAM_MODEL} ({'streaming' if stream else 'non-streaming'})",
            f"HTTP {result.status}",
            completion_ok(result, stream=stream),
        )
    for attempt in range(2):
        # The same opt-in cached request twice: the second is a cache hit.
        result = chat(base_url, key, UPSTREAM_MODEL, cache={"use-cache": True})
        report.check(f"cached request {attempt + 1}", f"HTTP {result.status}", completion_ok(result, stream=False))
    for model in (models[0], UPSTREAM_MODEL):
        result = chat(base_url, team_key, model)
        report.check(
            f"completion with the team key ({model})", f"HTTP {result.status}", completion_ok(result, stream=False)
        )
    for attempt in range(2):
        # Both deployments answer 429: the fallback fails too, the deployments cool down.
        result = chat(base_url, key, FAILING_MODEL, num_retries=0)
        report.check(
            f"{FAILING_MODEL} and its fallback fail ({attempt + 1})", f"HTTP {result.status}", result.status >= 400
        )
    result = chat(base_url, key, MISSING_MODEL)
    report.check("request to a missing model is refused", f"HTTP {result.status}", 400 <= result.status < 500)


def _scrape(report: Report, base_url: str, key: str) -> None:
    deadline = time.monotonic() + METRICS_WAIT_S
    while True:
        # Prometheus metrics are written by LiteLLM's async logging worker: wait for them.
        scrape = http_call("GET", f"{base_url}/metrics/", key=key)
        exposition = parse_exposition(scrape.body) if scrape.status == 200 else Exposition({}, {})
        if REQUIRED_METRIC in exposition.sample_names or time.monotonic() > deadline:
            break
        time.sleep(1)
    report.check("GET /metrics/ with the master key", f"HTTP {scrape.status}", scrape.status == 200)
    report.scrape = exposition
    report.exposition = scrape.body if scrape.status == 200 else ""
    report.check(
        REQUIRED_METRIC,
        "present" if REQUIRED_METRIC in exposition.sample_names else "missing",
        REQUIRED_METRIC in exposition.sample_names,
    )
    anonymous = http_call("GET", f"{base_url}/metrics/")
    report.check("GET /metrics/ without a key is refused", f"HTTP {anonymous.status}", anonymous.status in (401, 403))
    redirect = http_call("GET", f"{base_url}/metrics", key=key)
    report.check("GET /metrics (no slash), for the record", f"HTTP {redirect.status}", True)


def _scrape_metrics_port(report: Report, base_url: str) -> None:
    """Scrape LiteLLM's separate metrics server as Prometheus does: no Authorization header."""
    deadline = time.monotonic() + METRICS_WAIT_S
    while True:
        scrape = http_call("GET", f"{base_url}/metrics/")
        names = parse_exposition(scrape.body).sample_names if scrape.status == 200 else frozenset()
        if REQUIRED_METRIC in names or time.monotonic() > deadline:
            break
        time.sleep(1)
    report.check("GET /metrics/ on the metrics port without a key", f"HTTP {scrape.status}", scrape.status == 200)
    report.check(
        f"{REQUIRED_METRIC} on the metrics port",
        "present" if REQUIRED_METRIC in names else "missing",
        REQUIRED_METRIC in names,
    )
    bare = http_call("GET", f"{base_url}/metrics")
    if bare.status in (301, 302, 307, 308):
        # Prometheus follows redirects; follow this one only where the probe may go.
        target = urllib.parse.urljoin(f"{base_url}/metrics", bare.location)
        followed = http_call("GET", target) if target.startswith(f"{base_url}/") else HttpResult(0, "")
        detail = f"HTTP {bare.status} to {bare.location or '?'}, then HTTP {followed.status}"
        ok = followed.status == 200
    else:
        detail, ok = f"HTTP {bare.status}", bare.status == 200
    report.check("GET /metrics on the metrics port without a key (redirect followed)", detail, ok)


@dataclass(frozen=True)
class RunningProxy:
    """A proxy started by :func:`proxy_session`, live on loopback."""

    base_url: str
    master_key: str
    team_key: str
    models: tuple[str, ...]
    """The model names of the given config (the probe's own models not included)."""
    fallbacks: tuple[str, ...]
    process: subprocess.Popen[bytes]
    log_path: Path
    startup_s: float
    metrics_port: int | None


@contextlib.contextmanager
def proxy_session(
    litellm: Path,
    config: Mapping[str, Any],
    startup_timeout: float,
    *,
    env_vars: Mapping[str, str] | None = None,
    num_workers: int | None = None,
    metrics_port: int | None = None,
    worker_healthcheck_timeout: int | None = None,
) -> Iterator[RunningProxy]:
    """Start the proxy on ``config`` (rewritten, plus the probe's models) and stop it on exit.

    ``env_vars`` (the chart's ``envVars``) go to the proxy's environment as
    :func:`probe_env_vars` says; ``num_workers`` becomes ``--num_workers``; with
    ``metrics_port`` (not None; 0 = a free port) the proxy also serves metrics
    on that separate port. ``worker_healthcheck_timeout`` becomes
    ``--timeout_worker_healthcheck``: uvicorn kills (and restarts, forever) a worker
    that does not answer its supervisor within 5 s by default, which a busy machine
    starting LiteLLM's workers can miss. The proxy (and its workers) is always killed.
    """
    master_key = f"sk-probe-{secrets.token_hex(16)}"
    rewritten = rewrite_config(config, master_key)
    for note in rewritten.notes:
        print(f"config: {note}", file=sys.stderr)
    models = [m["model_name"] for m in rewritten.config["model_list"]]
    fallbacks = [m for m in fallback_sources(rewritten.config) if m in models]
    team_key = f"sk-probe-team-{secrets.token_hex(16)}"
    port = free_loopback_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="litellm-probe-") as tmp, FakeUpstream() as upstream:
        chart_env, env_notes = probe_env_vars(env_vars or {}, Path(tmp, "prometheus-multiproc"))
        for note in env_notes:
            print(f"env: {note}", file=sys.stderr)
        env = proxy_env({**os.environ, **chart_env})
        env[TEAM_KEY_ENV] = team_key
        # LiteLLM auto-creates PROMETHEUS_MULTIPROC_DIR under the temporary directory when a
        # metrics port is set, and wipes it at start: give each probe its own.
        env["TMPDIR"] = tmp
        config_path = Path(tmp, "config.yaml")
        args: list[str] = []
        if num_workers is not None:
            args += ["--num_workers", str(num_workers)]
        if worker_healthcheck_timeout is not None:
            args += ["--timeout_worker_healthcheck", str(worker_healthcheck_timeout)]
        served_metrics_port: int | None = None
        if metrics_port is not None:
            served_metrics_port = metrics_port or free_loopback_port(other_than=port)
            env[METRICS_PORT_ENV] = str(served_metrics_port)
        proxy_config = add_probe_models(rewritten.config, upstream.api_base)
        config_path.write_text(yaml.safe_dump(proxy_config, sort_keys=False))
        Path(tmp, f"{TEAM_AUTH_MODULE}.py").write_text(TEAM_AUTH_SOURCE)
        log_path = Path(tmp, "litellm.log")
        process = start_proxy(litellm, config_path, port, env=env, cwd=tmp, log=log_path, args=args)
        try:
            startup_s = wait_until_live(base_url, process, startup_timeout, log_path)
            yield RunningProxy(
                base_url=base_url,
                master_key=master_key,
                team_key=team_key,
                models=tuple(models),
                fallbacks=tuple(fallbacks),
                process=process,
                log_path=log_path,
                startup_s=startup_s,
                metrics_port=served_metrics_port,
            )
        finally:
            stop_process(process)


def run_probe(
    litellm: Path,
    config: Mapping[str, Any],
    requests: int,
    startup_timeout: float,
    *,
    env_vars: Mapping[str, str] | None = None,
    num_workers: int | None = None,
    metrics_port: int | None = None,
    deployed_metrics_port: int | None = None,
) -> Report:
    """Start the proxy on ``config``, send traffic, scrape; ``metrics_port`` 0 means a free port.

    ``env_vars``, ``num_workers`` and ``metrics_port`` as for :func:`proxy_session`;
    with a metrics port the separate port is also scraped without a key.
    """
    started = time.monotonic()
    report = Report(deployed_metrics_port=deployed_metrics_port)
    report.version = litellm_version(litellm, proxy_env(os.environ))
    session = proxy_session(
        litellm, config, startup_timeout, env_vars=env_vars, num_workers=num_workers, metrics_port=metrics_port
    )
    with session as proxy:
        report.startup_s = proxy.startup_s
        report.metrics_port = proxy.metrics_port
        try:
            keys = (proxy.master_key, proxy.team_key)
            _send_traffic(report, proxy.base_url, keys, proxy.models, proxy.fallbacks, requests)
            _scrape(report, proxy.base_url, proxy.master_key)
            if report.metrics_port is not None:
                _scrape_metrics_port(report, f"http://127.0.0.1:{report.metrics_port}")
        finally:
            if not report.ok:
                print(f"litellm log (tail):\n{_log_tail(proxy.log_path)}", file=sys.stderr)
    report.elapsed_s = time.monotonic() - started
    return report


def _header(report: Report, command: str, when: datetime) -> list[str]:
    return [f"# litellm=={report.version}", f"# captured {when.strftime('%Y-%m-%d')} by: {command}"]


def metrics_file_text(report: Report, command: str, when: datetime) -> str:
    """Sample names, one a line; declared families without samples as comments at the end."""
    lines = [
        *_header(report, command, when),
        "# Sample names in the proxy's /metrics/ exposition after the probe's traffic (tests/harness/litellm/probe.py):",
        "# counters with _total, histograms as _bucket/_sum/_count, gauges as is; _created samples omitted.",
        *report.metric_names,
        "# Declared by LiteLLM (a # TYPE line) but without a sample after this traffic:",
        *(f"# declared-only {kind} {name}" for name, kind in declared_only_families(report.scrape)),
    ]
    return "\n".join(lines) + "\n"


def labels_file_text(report: Report, command: str, when: datetime) -> str:
    """``<sample name> <label>,<label>,...`` per line (``le`` left out)."""
    lines = [
        *_header(report, command, when),
        "# Label names seen on each sample name after the probe's traffic (histogram le omitted).",
        *(f"{name} {','.join(labels)}" for name, labels in metric_labels(report.scrape).items()),
    ]
    return "\n".join(lines) + "\n"


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.harness.litellm.probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("--litellm", type=Path, required=True, help="path of the litellm executable")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", type=Path, help="LiteLLM proxy config (YAML)")
    source.add_argument(
        "--helm-values",
        type=Path,
        help="values.yaml of the litellm-helm release as the program renders it: probe its proxy_config, "
        "started with its envVars and numWorkers",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="also serve metrics on this separate loopback port (PROMETHEUS_METRICS_PORT) and scrape it without "
        "a key; 0 picks a free port, the default with --helm-values whose envVars set PROMETHEUS_METRICS_PORT",
    )
    parser.add_argument("--metrics-out", type=Path, help="write the sorted metric sample names here")
    parser.add_argument("--labels-out", type=Path, help="write the label names of each sample name here")
    parser.add_argument("--exposition-out", type=Path, help="write the raw /metrics/ exposition here")
    parser.add_argument("--requests", type=int, default=5, help="non-streaming completions to send (default 5)")
    parser.add_argument("--startup-timeout", type=float, default=120.0, help="seconds to wait for liveliness")
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be at least 1")
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65535:
        parser.error("--metrics-port must be between 0 and 65535")
    if args.startup_timeout <= 0:
        parser.error("--startup-timeout must be positive")
    if not os.access(args.litellm, os.X_OK) or args.litellm.is_dir():
        parser.error(f"--litellm {args.litellm}: not an executable file")
    for flag, out in (
        ("--metrics-out", args.metrics_out),
        ("--labels-out", args.labels_out),
        ("--exposition-out", args.exposition_out),
    ):
        if out is not None and (out.is_dir() or not out.parent.is_dir()):
            parser.error(f"{flag} {out}: must name a file in an existing folder")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    command = shlex.join(["python", "-m", "tests.harness.litellm.probe", *(sys.argv[1:] if argv is None else argv)])
    source: Path = args.helm_values or args.config
    try:
        loaded = read_yaml_mapping(source)
        probe_input = helm_probe_input(loaded) if args.helm_values else ProbeInput(config=loaded)
        metrics_port: int | None = args.metrics_port
        if metrics_port is None and probe_input.deployed_metrics_port is not None:
            metrics_port = 0
        report = run_probe(
            args.litellm,
            probe_input.config,
            args.requests,
            args.startup_timeout,
            env_vars=probe_input.env_vars,
            num_workers=probe_input.num_workers,
            metrics_port=metrics_port,
            deployed_metrics_port=probe_input.deployed_metrics_port,
        )
    except ConfigError as error:
        print(f"error: {source}: {error}", file=sys.stderr)
        return 2
    except (OSError, InputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ProbeError, subprocess.SubprocessError) as error:
        print(f"probe failed: {error}", file=sys.stderr)
        return 1
    print(report.render())
    if args.metrics_out and report.ok:
        args.metrics_out.write_text(metrics_file_text(report, command, datetime.now(UTC)))
        print(f"wrote {len(report.metric_names)} metric names to {args.metrics_out}")
    if args.labels_out and report.ok:
        args.labels_out.write_text(labels_file_text(report, command, datetime.now(UTC)))
        print(f"wrote the label names to {args.labels_out}")
    if args.exposition_out and report.exposition:
        args.exposition_out.write_text(report.exposition)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
