"""A real Prometheus (Debian's `prometheus` package) on loopback, for tests.

`RealPrometheus` writes a config with one static scrape job per target, the
target labelled as the ServiceMonitor's discovery labels it in a cluster
(job/namespace/service/pod/container/endpoint), loads the given rule files,
scrapes and evaluates every second, and talks to the HTTP API. Every wait is
bounded and the process is always stopped (context manager).

`value_expressions` cuts a rule's expression into what it compares: the expressions
whose data the rule filters, so a test can tell a rule that is quiet (its values are
below the threshold) from one that selects nothing (a renamed metric or label).
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import promql_parser
import yaml

from tests.harness.litellm.probe import free_loopback_port
from tests.harness.processes import start_logged, stop_group
from tests.support.components import require

INTERVAL = "1s"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0

Outcome = Literal["error", "empty", "data"]
SET_OPERATORS = frozenset({"and", "or", "unless"})
COMPARISONS = frozenset({"==", "!=", ">", ">=", "<", "<="})


@dataclass(frozen=True)
class ScrapeTarget:
    """One loopback target and the labels the ServiceMonitor's discovery would give it."""

    address: str
    labels: Mapping[str, str]
    metrics_path: str = "/metrics/"
    job: str = ""
    """The scrape job's name (the target's scrape pool), `target-N` when empty; the operator names
    a monitor's `serviceMonitor/NAMESPACE/NAME/ENDPOINT`."""


@dataclass(frozen=True)
class QueryResult:
    outcome: Outcome
    series: int
    error: str = ""
    result: tuple[dict[str, Any], ...] = ()


class RealPrometheus:
    def __init__(self, workdir: Path, targets: Sequence[ScrapeTarget], rule_files: Sequence[Path]) -> None:
        self._binary = require("prometheus")
        self._workdir = workdir
        self._port = free_loopback_port()
        self.url = f"http://127.0.0.1:{self._port}"
        jobs = []
        for index, target in enumerate(targets):
            jobs.append(
                {
                    "job_name": target.job or f"target-{index}",
                    "metrics_path": target.metrics_path,
                    "scrape_interval": INTERVAL,
                    "scrape_timeout": INTERVAL,
                    "static_configs": [{"targets": [target.address], "labels": dict(target.labels)}],
                }
            )
        config = {
            "global": {"scrape_interval": INTERVAL, "evaluation_interval": INTERVAL},
            "rule_files": [str(p) for p in rule_files],
            "scrape_configs": jobs,
        }
        self._config = workdir / "prometheus.yml"
        self._config.write_text(yaml.safe_dump(config, sort_keys=False))
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RealPrometheus:
        self._process = start_logged(
            [
                str(self._binary),
                f"--config.file={self._config}",
                f"--storage.tsdb.path={self._workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self._port}",
                "--storage.tsdb.retention.time=1h",
                "--web.enable-lifecycle",
            ],
            cwd=self._workdir,
            log=self._workdir / "prometheus.log",
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.log_tail()}")
            if self._get("/-/ready", raw=True) == "ready":
                return self
            time.sleep(0.3)
        self.__exit__()
        raise RuntimeError(f"prometheus not ready after {READY_TIMEOUT_S:.0f} s: {self.log_tail()}")

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            stop_group(self._process, STOP_TIMEOUT_S)

    def log_tail(self, lines: int = 30) -> str:
        path = self._workdir / "prometheus.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _get(self, path: str, params: Mapping[str, str] | None = None, *, raw: bool = False) -> Any:
        url = f"{self.url}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        request = urllib.request.Request(url)  # noqa: S310 - loopback only
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
                body = response.read().decode()
        except urllib.error.HTTPError as error:
            body = error.read().decode()
        except (urllib.error.URLError, OSError):
            return None
        if raw:
            return body.strip().lower().removeprefix("prometheus server is ").rstrip(".")
        return json.loads(body)

    def query(self, expr: str) -> QueryResult:
        """An instant query now: error (with Prometheus' message), empty or data."""
        answer = self._get("/api/v1/query", {"query": expr})
        if not isinstance(answer, dict) or answer.get("status") != "success":
            error = answer.get("error", "no answer") if isinstance(answer, dict) else "no answer"
            return QueryResult("error", 0, str(error))
        data = answer["data"]
        result = data["result"]
        if data["resultType"] == "scalar":
            return QueryResult("data", 1, result=({"value": result},))
        if not result:
            return QueryResult("empty", 0)
        return QueryResult("data", len(result), result=tuple(result))

    def alerts(self) -> list[dict[str, Any]]:
        """Active alerts (pending or firing) with their labels."""
        answer = self._get("/api/v1/alerts")
        return list(answer["data"]["alerts"]) if isinstance(answer, dict) else []

    def rules(self) -> list[dict[str, Any]]:
        answer = self._get("/api/v1/rules")
        if not isinstance(answer, dict):
            return []
        return [r for g in answer["data"]["groups"] for r in g["rules"]]

    def target_health(self) -> list[str]:
        answer = self._get("/api/v1/targets")
        if not isinstance(answer, dict):
            return []
        return [str(t["health"]) for t in answer["data"]["activeTargets"]]


def value_expressions(expr: str) -> list[str]:
    """The expressions a rule compares, each of which returns data when the rule's inputs exist.

    The operands of `and`/`or`/`unless` are taken apart; a filtering comparison (`x > 0.05`,
    `x >= 80 < 95`, `up == 0`, `x > y`; not `> bool`) drops what is below its threshold, so
    its sides that select series are kept instead (a number or `time()` side is not a value);
    `absent(x)` becomes `x` (empty exactly while `x` has data). Every other node is a value
    as written: a comparison nested in an aggregation (`max(x > 0)`) stays, being part of
    the value. Printed with the parser's `prettify`, which Prometheus reads back. Pure.
    """
    return list(dict.fromkeys(node.prettify() for node in _values(promql_parser.parse(expr))))


def _selects(node: Any) -> bool:
    """Whether a node reads series (a vector or range selector anywhere in it)."""
    found: list[Any] = []

    def visit(child: Any) -> bool:
        if isinstance(child, promql_parser.VectorSelector | promql_parser.MatrixSelector):
            found.append(child)
        return True

    promql_parser.walk(node, visit)
    return bool(found)


def _values(node: Any) -> list[Any]:
    if isinstance(node, promql_parser.ParenExpr):
        return _values(node.expr)
    if isinstance(node, promql_parser.BinaryExpr):
        op = str(node.op)
        if op in SET_OPERATORS:
            return _values(node.lhs) + _values(node.rhs)
        if op in COMPARISONS and not (node.modifier is not None and node.modifier.return_bool):
            return [value for side in (node.lhs, node.rhs) if _selects(side) for value in _values(side)]
    if isinstance(node, promql_parser.Call) and node.func.name in {"absent", "absent_over_time"}:
        return _values(node.args[0])
    return [node]
