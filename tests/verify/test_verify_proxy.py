"""`verify`'s LiteLLM, completion and Prometheus checks against a real LiteLLM proxy on loopback
(the lab's rendered values, models answering mock responses: tests/harness/litellm/probe.py) and a
real Prometheus scraping it with the stack's generated rules loaded. The pods and Services are
recorded objects; the API server's proxy and the port-forward reach the real proxy. One proxy
start for the whole module."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.litellm.names import service_name
from config import API_PORT
from config.inventory import MASTER_KEY, gsm_secret_id
from tests.harness.litellm import probe
from tests.harness.litellm.probe import free_loopback_port
from tests.support.components import require
from tests.support.config import stack_config
from tests.support.program import HELM_RELEASE, run_cached
from tests.support.real_prometheus import RealPrometheus
from tests.support.verify_records import prometheus, serve_pods, settled
from tests.support.verify_stand import ApiServer, StandGoogle, loaded, run_verify
from verify.cli import Loaded

pytestmark = pytest.mark.real_proxy

STARTUP_TIMEOUT_S = 180.0
PODS = ("litellm-7d9c5b8f6-2xkqp", "litellm-7d9c5b8f6-9mhzt")


@pytest.fixture(scope="module")
def lab() -> Loaded:
    return loaded(run_cached("lab"), stack_config("lab"))


@pytest.fixture(scope="module")
def proxy() -> Iterator[probe.RunningProxy]:
    (release,) = [r for r in run_cached("lab").of_type(HELM_RELEASE) if "proxy_config" in r.plain_inputs["values"]]
    given = probe.helm_probe_input(release.plain_inputs["values"])
    session = probe.proxy_session(
        require("litellm"), given.config, STARTUP_TIMEOUT_S, env_vars=given.env_vars, num_workers=1, metrics_port=0
    )
    with session as running:
        yield running


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiServer]:
    with ApiServer(tmp_path) as server:
        yield server


def address(url: str) -> str:
    return url.removeprefix("http://")


def test_litellm_passes_when_every_pod_is_live_and_ready_in_time(
    api: ApiServer, lab: Loaded, proxy: probe.RunningProxy
) -> None:
    serve_pods(api, lab, dict.fromkeys(PODS, address(proxy.base_url)))
    code, out = run_verify(api, lab, ["lab", "--only", "litellm"])
    assert code == 0, out
    line = out.splitlines()[0]
    assert line.startswith("✓ litellm  2 pods: /health/readiness in ") and line.endswith("; /health/liveliness 200")


def test_litellm_fails_when_a_pod_does_not_answer(api: ApiServer, lab: Loaded, proxy: probe.RunningProxy) -> None:
    """A pod listed Running whose server is gone (the container restarting): the API server's proxy answers 503."""
    serve_pods(api, lab, {PODS[0]: address(proxy.base_url), PODS[1]: f"127.0.0.1:{free_loopback_port()}"})
    code, out = run_verify(api, lab, ["lab", "--only", "litellm"])
    assert code == 1
    assert out.splitlines()[:2] == [
        f"✗ litellm  pod {PODS[1]}: /health/liveliness answered 503",
        "           next: kubectl -n llm-gateway logs <pod>: the database or Redis it waits for?",
    ]


def completion(api: ApiServer, lab: Loaded, proxy: probe.RunningProxy, model: str) -> tuple[int, str]:
    cfg = lab[0]
    api.backends[(cfg.namespaces.gateway, "services", service_name(cfg.litellm), API_PORT)] = address(proxy.base_url)
    google = StandGoogle(secrets={gsm_secret_id(cfg, MASTER_KEY): proxy.master_key})
    code, out = run_verify(api, lab, ["lab", "--only", "completion", "--completion", model], google)
    assert proxy.master_key not in out
    return code, out


def test_completion_reports_the_models_latency(api: ApiServer, lab: Loaded, proxy: probe.RunningProxy) -> None:
    model = proxy.models[0]
    code, out = completion(api, lab, proxy, model)
    assert code == 0, out
    assert out.splitlines()[0].startswith(f"✓ completion  {model} answered in ")


def test_completion_fails_for_a_model_the_proxy_does_not_serve(
    api: ApiServer, lab: Loaded, proxy: probe.RunningProxy
) -> None:
    code, out = completion(api, lab, proxy, "gpt-9-imaginary")
    assert code == 1
    first, second = out.splitlines()[:2]
    assert first.startswith("✗ completion  gpt-9-imaginary: 400 ")
    assert second.endswith(
        "next: litellm.models names the model? the provider key's GSM secret synced (verify --only secrets)?"
    )


def test_prometheus_passes_with_every_target_up_and_the_rules_loaded(
    api: ApiServer, lab: Loaded, proxy: probe.RunningProxy, tmp_path: Path
) -> None:
    """Through the API server's proxy to `prometheus-operated` (no --prometheus). The CNPG exporter is
    stood in for by the proxy's metrics port: what the check reads is the target's health."""
    metrics = f"127.0.0.1:{proxy.metrics_port}"
    with prometheus(tmp_path, lab, lambda _kind: metrics) as prom:
        settled(prom, ["up", "up"])
        ns = lab[0].litellm.network.prometheus_namespace
        api.backends[(ns, "services", "prometheus-operated", 9090)] = address(prom.url)
        code, out = run_verify(api, lab, ["lab", "--only", "prometheus"])
    assert code == 0, out
    groups = len(next(o for o in lab[1] if o["kind"] == "PrometheusRule")["spec"]["groups"])
    assert (
        out.splitlines()[0]
        == f"✓ prometheus  2 monitors with every target up; {groups} rule groups loaded, no rule in error"
    )


def test_prometheus_fails_when_a_monitors_target_is_down(
    api: ApiServer, lab: Loaded, proxy: probe.RunningProxy, tmp_path: Path
) -> None:
    metrics, closed = f"127.0.0.1:{proxy.metrics_port}", f"127.0.0.1:{free_loopback_port()}"
    with prometheus(tmp_path, lab, lambda kind: closed if kind == "PodMonitor" else metrics) as prom:
        settled(prom, ["down", "up"])
        code, out = run_verify(api, lab, ["lab", "--only", "prometheus", "--prometheus", prom.url])
    assert code == 1
    first, second = out.splitlines()[:2]
    assert first.startswith("✗ prometheus  podMonitor/llm-gateway/litellm-pg: 1 of 1 targets down (")
    assert "connection refused" in first
    assert second.endswith("next: the Prometheus UI's Targets and Rules pages say more")


def test_prometheus_fails_when_a_rule_group_is_not_loaded(
    api: ApiServer, lab: Loaded, proxy: probe.RunningProxy, tmp_path: Path
) -> None:
    """The PrometheusRule's groups but one loaded (as when the operator's rule selector skips a rule)."""
    (rule,) = [o for o in lab[1] if o["kind"] == "PrometheusRule"]
    missing = rule["spec"]["groups"][-1]["name"]
    metrics = f"127.0.0.1:{proxy.metrics_port}"
    with prometheus(tmp_path, lab, lambda _kind: metrics, skip_group=missing) as prom:
        settled(prom, ["up", "up"])
        code, out = run_verify(api, lab, ["lab", "--only", "prometheus", "--prometheus", prom.url])
    assert code == 1
    assert out.splitlines()[0] == (
        f"✗ prometheus  rule group {missing} is not loaded (is the PrometheusRule selected: its `release` label?)"
    )


def test_prometheus_fails_when_a_rule_of_the_stacks_groups_does_not_evaluate(
    api: ApiServer, lab: Loaded, proxy: probe.RunningProxy, tmp_path: Path
) -> None:
    """A rule Prometheus loads (it parses) but cannot evaluate: a recording rule whose series differ only
    in their metric name, which the recorded name replaces. Prometheus keeps evaluating the group and
    reports the rule `health: "err"` with its `lastError`; the check names the rule, its group, that
    error and where the rule comes from."""
    (rule,) = [o for o in lab[1] if o["kind"] == "PrometheusRule"]
    group = rule["spec"]["groups"][0]["name"]
    ns = lab[0].namespaces.gateway
    broken = {
        "record": "llm_gateway:scrape:signals",
        "expr": f'{{__name__=~"up|scrape_samples_scraped", namespace="{ns}"}}',
    }
    metrics = f"127.0.0.1:{proxy.metrics_port}"
    with prometheus(tmp_path, lab, lambda _kind: metrics, extra_rules={group: [broken]}) as prom:
        settled(prom, ["up", "up"])
        error = erring(prom, broken["record"])
        code, out = run_verify(api, lab, ["lab", "--only", "prometheus", "--prometheus", prom.url])
    assert "vector contains metrics with the same labelset after applying rule labels" in error
    assert code == 1, out
    source = f"{rule['metadata']['namespace']}/{rule['metadata']['name']}"
    assert out.splitlines()[:2] == [
        f"✗ prometheus  recording rule {broken['record']} of group {group} fails to evaluate: {error}",
        "              next: run the rule's expression in the Prometheus UI (Graph) to see the series behind the"
        f" error (one target scraped by two monitors?); the rule comes from PrometheusRule {source} (the `alerts`"
        " settings): an expression at fault is a bug, report it with this output",
    ]


def erring(prom: RealPrometheus, name: str) -> str:
    """The `lastError` of rule `name` once Prometheus reports it in `err` (its first evaluations may
    precede the first scrape and find nothing to fail on)."""
    deadline, found = time.monotonic() + 30, list[dict[str, Any]]()
    while time.monotonic() < deadline:
        found = [r for r in prom.rules() if r["name"] == name]
        if found and found[0].get("health") == "err":
            return str(found[0]["lastError"])
        time.sleep(0.3)
    raise AssertionError(f"rule {name} never reported health err: {found}\n{prom.log_tail()}")
