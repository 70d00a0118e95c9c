"""Two real LiteLLM proxies sharing one real Redis, on loopback.

The proxy config is the one the program renders (the litellm-helm release's
`proxy_config`, `envVars`, `numWorkers`) for a stack with `redis.mode:
in_cluster`; only what cannot exist here is changed: the models answer from a
mock (`mock_response`) or a fake OpenAI server on loopback, there is no
database (`database_url` dropped: prisma cannot fetch its engines here), and
`REDIS_HOST`/`REDIS_PORT` point at Debian's `redis-server` on a free loopback
port with a password (`REDIS_PASSWORD`, the variable ESO provides in the cluster).

Proved: a model with `rpm: N` gets N+k requests alternating between proxy A
and proxy B (2 replicas x 1 worker) and exactly N succeed, while the same
traffic on two proxies without Redis (C and D, the control) gets more than N
through; a response cached through A is a cache hit through B (the provider
is called once); and the metrics port of a proxy with two workers (E) counts
exactly the requests it was sent.

Not exact in LiteLLM 1.108.7: with 2 proxies x 2 workers (4 processes) the
same traffic let 6 of rpm 5 through (8 without Redis). Its usage-based-routing-v2
refreshes a process's in-memory counter from Redis only when that process
pushes an increment of its own (router_strategy/base_routing_strategy.py,
`_sync_in_memory_spend_with_redis` returns when its queue is empty), so idle
processes decide on stale counts. Reported in docs/scaling.md.

Proxies start once per module, all five at the same time. Needs `redis-server`
(CI installs it) and the LiteLLM of `tests/harness/litellm/install.sh`.
"""

from __future__ import annotations

import contextlib
import copy
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from offline.run import run_stack
from tests.harness import timings
from tests.harness.litellm import probe
from tests.support.components import require
from tests.support.program import HELM_RELEASE, REDIS_IN_CLUSTER

pytestmark = pytest.mark.real_proxy

RPM = 5
EXTRA = 5
LIMITED = "limited"
CACHED = "cached"
STARTUP_TIMEOUT_S = 300.0
SPACING_S = 0.5
"""Between two requests: each LiteLLM process pushes its counters to Redis every 0.1 s
(lowest_tpm_rpm_v2: batched writes, default_sync_interval 0.1); margin for a loaded machine."""
MODELS = (
    f"[{{name: {LIMITED}, model: openai/gpt-4o-mini, api_key: LLMGW_OPENAI_KEY, rpm: {RPM}}}, "
    f"{{name: {CACHED}, model: openai/gpt-4o-mini, api_key: LLMGW_OPENAI_KEY}}]"
)


def _litellm_bin() -> Path:
    return require("litellm")


def _redis_bin() -> Path:
    return require("redis-server")


def rendered_values(*overrides: str) -> dict[str, Any]:
    """The litellm-helm values the program renders for the lab stack with `overrides`."""
    # the lab's tenants name its real models, which the mock models replace: no tenants here
    run = run_stack("lab", (f"llm-gateway:litellm.models={MODELS}", "llm-gateway:tenants={enabled: false}", *overrides))
    (release,) = [r for r in run.of_type(HELM_RELEASE) if r.plain_inputs["name"] == "litellm"]
    values = release.plain_inputs["values"]
    assert isinstance(values, dict)
    return values


def loopback_config(proxy_config: dict[str, Any], upstream: str) -> dict[str, Any]:
    """The rendered config with mock models and without the database; everything else as rendered."""
    config = copy.deepcopy(proxy_config)
    for model in config["model_list"]:
        params = model["litellm_params"]
        if model["model_name"] == CACHED:
            params["api_base"] = upstream  # a real HTTP answer, so the cache has something to keep
        else:
            params["mock_response"] = probe.MOCK_RESPONSE
    config["general_settings"].pop("database_url")
    return config


class CountingUpstream(probe._UpstreamHandler):
    """The probe's fake OpenAI server, counting the completions it answers."""

    calls: ClassVar[int] = 0
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - the http.server handler name
        with CountingUpstream.lock:
            CountingUpstream.calls += 1
        super().do_POST()


@dataclass
class Proxy:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    metrics_port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Fleet:
    key: str
    shared: tuple[Proxy, Proxy]
    """A and B: the config rendered for redis in_cluster and 2 replicas x 1 worker, one Redis."""
    control: tuple[Proxy, Proxy]
    """C and D: the config rendered without Redis (1 replica x 1 worker), twice."""
    workers_proxy: Proxy
    """E: the config rendered for redis in_cluster and 1 replica x 2 workers, same Redis."""
    shared_config: dict[str, Any]
    workers: int


def _start(litellm: Path, name: str, config: dict[str, Any], env: dict[str, str], workers: int, tmp: Path) -> Proxy:
    home = tmp / name
    home.mkdir()
    config_path = home / "config.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    port = probe.free_loopback_port()
    metrics_port = probe.free_loopback_port(other_than=port)
    proc_env = {**env, probe.METRICS_PORT_ENV: str(metrics_port), "TMPDIR": str(home)}
    log = home / "litellm.log"
    args = ["--num_workers", str(workers)]
    process = probe.start_proxy(litellm, config_path, port, env=proc_env, cwd=home, log=log, args=args)
    return Proxy(name, process, port, metrics_port, log)


def _redis_ping(port: int, password: str) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(f"AUTH {password}\r\nPING\r\n".encode())
            seen = b""
            while b"+PONG" not in seen and b"-" not in seen:
                chunk = sock.recv(64)
                if not chunk:
                    break
                seen += chunk
            return b"+PONG" in seen
    except OSError:
        return False


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    litellm = _litellm_bin()
    redis_server = _redis_bin()
    pair_values = rendered_values(*REDIS_IN_CLUSTER, "llm-gateway:litellm.replicas=2")
    workers_values = rendered_values(*REDIS_IN_CLUSTER, "llm-gateway:litellm.num_workers=2")
    solo_values = rendered_values()  # redis none: valid for 1 pod x 1 worker only
    assert "redis_host" in pair_values["proxy_config"]["router_settings"]
    assert "redis_host" not in solo_values["proxy_config"]["router_settings"]
    password = f"pw-{os.urandom(12).hex()}"
    key = f"sk-test-{os.urandom(12).hex()}"
    redis_port = probe.free_loopback_port()
    with tempfile.TemporaryDirectory(prefix="litellm-redis-") as tmp_name, probe.FakeUpstream() as upstream:
        upstream._server.RequestHandlerClass = CountingUpstream
        tmp = Path(tmp_name)
        redis_proc = subprocess.Popen(
            [str(redis_server), "--bind", "127.0.0.1", "--port", str(redis_port), "--requirepass", password,
             "--save", "", "--appendonly", "no", "--dir", str(tmp)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        proxies: list[Proxy] = []
        try:
            deadline = time.monotonic() + 15
            while not _redis_ping(redis_port, password):
                assert redis_proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)
            base = {**probe.proxy_env(os.environ), "PROXY_MASTER_KEY": key, "LLMGW_OPENAI_KEY": "sk-dummy"}
            # The cluster's REDIS_HOST (the Valkey Service) becomes the loopback server here.
            redis_env = {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(redis_port), "REDIS_PASSWORD": password}
            assert pair_values["envVars"]["REDIS_HOST"].endswith(".svc")
            for name, values, extra in (
                ("a", pair_values, redis_env),
                ("b", pair_values, redis_env),
                ("c", solo_values, {}),
                ("d", solo_values, {}),
                ("e", workers_values, redis_env),
            ):
                chart_env = {k: str(v) for k, v in values["envVars"].items()}
                config = loopback_config(values["proxy_config"], upstream.api_base)
                env = {**base, **chart_env, **extra}
                proxies.append(_start(litellm, name, config, env, int(values["numWorkers"]), tmp))
            started = time.monotonic()
            for proxy in proxies:
                probe.wait_until_live(proxy.url, proxy.process, STARTUP_TIMEOUT_S, proxy.log)
            live = f"five proxies (6 workers) live after {time.monotonic() - started:.1f} s"
            print(live)
            timings.record("redis-real", live)
            a, b, c, d, e = proxies
            yield Fleet(key, (a, b), (c, d), e, loopback_config(pair_values["proxy_config"], upstream.api_base),
                        int(workers_values["numWorkers"]))  # fmt: skip
        finally:
            _stop_all([p.process for p in proxies] + [redis_proc])


def _stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every process group at once (each started its own session), SIGKILL what is left after 5 s."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 10.0)):
        for process in processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, sig)
        deadline = time.monotonic() + grace
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))


def _minute_ahead(seconds: float) -> None:
    """Wait for a fresh minute when `seconds` would cross into the next one (LiteLLM counts rpm per minute)."""
    left = 60 - time.time() % 60
    if left < seconds:
        time.sleep(left + 0.5)


def _alternate(pair: tuple[Proxy, Proxy], key: str, n: int) -> list[int]:
    statuses = []
    for i in range(n):
        result = probe.chat(pair[i % 2].url, key, LIMITED, num_retries=0)
        statuses.append(result.status)
        time.sleep(SPACING_S)
    return statuses


SENT_TO_E = 8


def test_rpm_limit_holds_across_two_proxies_sharing_redis(fleet: Fleet) -> None:
    assert fleet.shared_config["router_settings"]["routing_strategy"] == "usage-based-routing-v2"
    # The two pairs share nothing (the control has no Redis): their traffic goes at the same time.
    _minute_ahead((RPM + EXTRA) * (SPACING_S + 0.2) + 5)
    with ThreadPoolExecutor(max_workers=2) as pool:
        shared_run = pool.submit(_alternate, fleet.shared, fleet.key, RPM + EXTRA)
        control_run = pool.submit(_alternate, fleet.control, fleet.key, RPM + EXTRA)
    shared, control = shared_run.result(), control_run.result()
    ok_shared, ok_control = shared.count(200), control.count(200)
    print(f"rpm {RPM}, {RPM + EXTRA} requests A/B alternating: shared Redis {ok_shared} ok {shared}; "
          f"no Redis {ok_control} ok {control}")  # fmt: skip
    # Exactly the limit, across both proxies.
    assert ok_shared == RPM, shared
    assert set(shared) == {200, 429}, shared
    # Without Redis each proxy counts alone: about twice the limit gets through.
    assert ok_control > RPM, control


def test_response_cached_through_one_proxy_is_a_hit_through_the_other(fleet: Fleet) -> None:
    a, b = fleet.shared
    opt_in: dict[str, Any] = {"cache": {"use-cache": True}}  # settings.cache false: mode default_off
    assert fleet.shared_config["litellm_settings"]["cache_params"]["mode"] == "default_off"
    before = CountingUpstream.calls
    first = probe.chat(a.url, fleet.key, CACHED, **opt_in)
    assert first.status == 200, first.body
    assert CountingUpstream.calls == before + 1
    time.sleep(1.0)  # the cache write is asynchronous
    second = probe.chat(b.url, fleet.key, CACHED, **opt_in)
    assert second.status == 200, second.body
    # B answered without calling the provider: from the response A stored in Redis.
    assert CountingUpstream.calls == before + 1
    hits = _metric_sum(b, "litellm_cache_hits_metric_total")
    print(f"cache: upstream calls {CountingUpstream.calls - before} for 2 requests (A then B); B cache hits {hits}")
    assert hits >= 1


def _metric_sum(proxy: Proxy, name: str, expected: float | None = None) -> float:
    """Sum of a metric on the proxy's metrics port (no key), waiting up to 20 s for `expected`."""
    deadline = time.monotonic() + 20
    while True:
        scrape = probe.http_call("GET", f"http://127.0.0.1:{proxy.metrics_port}/metrics/")
        total = 0.0
        for line in scrape.body.splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                total += float(line.rsplit(" ", 1)[1])
        if (expected is None and total > 0) or total == expected or time.monotonic() > deadline:
            return total
        time.sleep(1)


def test_metrics_port_counts_every_request_of_every_worker(fleet: Fleet) -> None:
    e = fleet.workers_proxy
    assert fleet.workers == 2
    statuses = [probe.chat(e.url, fleet.key, CACHED, messages=[{"role": "user", "content": f"n{i}"}]).status
                for i in range(SENT_TO_E)]  # fmt: skip
    assert statuses == [200] * SENT_TO_E
    counted = _metric_sum(e, probe.REQUIRED_METRIC, SENT_TO_E)
    print(f"proxy E ({fleet.workers} workers): sent {SENT_TO_E}, litellm_proxy_total_requests_metric_total {counted}")
    assert counted == SENT_TO_E
