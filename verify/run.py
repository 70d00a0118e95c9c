"""The checks by name, running them at once within `--timeout`, and their output (lines or JSON)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from config import StackConfig
from verify.checks import (
    Options,
    Verify,
    check_database,
    check_grafana_ro,
    check_reach,
    check_reporting,
    check_secrets,
)
from verify.network import Internet, Postgres
from verify.sources import CheckError, Cluster, Database, Deadline, Google, Network, NotApplicableError
from verify.web import (
    check_completion,
    check_grafana,
    check_ingress,
    check_langfuse,
    check_litellm,
    check_prometheus,
)

CHECKS: dict[str, Callable[[Verify], str]] = {
    "secrets": check_secrets,
    "reach": check_reach,
    "database": check_database,
    "grafana-ro": check_grafana_ro,
    "litellm": check_litellm,
    "completion": check_completion,
    "prometheus": check_prometheus,
    "reporting": check_reporting,
    "grafana": check_grafana,
    "langfuse": check_langfuse,
    "ingress": check_ingress,
}
MARKS = {"ok": "✓", "failed": "✗", "skipped": "-"}


@dataclass(frozen=True)
class Result:
    check: str
    status: str
    """ok, failed or skipped."""
    detail: str
    next_step: str = ""
    seconds: float = 0.0


def run_check(name: str, v: Verify) -> Result:
    started = time.perf_counter()
    try:
        detail = CHECKS[name](v)
        status, next_step = "ok", ""
    except NotApplicableError as skip:
        status, detail, next_step = "skipped", str(skip), ""
    except CheckError as problem:
        status, detail, next_step = "failed", problem.detail, problem.next_step
    except Exception as error:  # an unexpected answer is a failed check, not a traceback
        status, detail, next_step = "failed", f"{type(error).__name__}: {error}", "report this with the output"
    return Result(name, status, detail, next_step, round(time.perf_counter() - started, 2))


def run_checks(v: Verify, names: Sequence[str]) -> list[Result]:
    """Every check at the same time; one not done when the run's time is up fails."""
    results: dict[str, Result] = {}

    def one(name: str) -> None:
        results[name] = run_check(name, v)

    threads = [threading.Thread(target=one, args=(n,), daemon=True, name=f"verify-{n}") for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(v.deadline.at - time.monotonic(), 0) + 0.5)
    late = "did not finish within --timeout"
    return [results.get(n) or Result(n, "failed", late, "raise --timeout, or run it alone: --only " + n) for n in names]


def render(results: Sequence[Result], stack: str, seconds: float) -> str:
    """One line per check (and its next step under a failure), then the counts."""
    width = max(len(r.check) for r in results)
    lines = []
    for r in results:
        lines.append(f"{MARKS[r.status]} {r.check:<{width}}  {'skipped: ' if r.status == 'skipped' else ''}{r.detail}")
        if r.next_step:
            lines.append(f"  {'':<{width}}  next: {r.next_step}")
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "failed", "skipped")}
    passed, failed, skipped = counts["ok"], counts["failed"], counts["skipped"]
    lines.append(f"verify {stack}: {passed} passed, {failed} failed, {skipped} skipped in {seconds:.1f} s")
    return "\n".join(lines)


def as_json(results: Sequence[Result], stack: str, seconds: float) -> dict[str, Any]:
    return {"stack": stack, "seconds": round(seconds, 2), "checks": [asdict(r) for r in results]}


class Resource(Protocol):
    """A resource of the program's offline run (offline/run.py's `Recorded`)."""

    @property
    def type(self) -> str: ...

    @property
    def plain_inputs(self) -> Mapping[str, Any]: ...


def verify_run(
    cfg: StackConfig,
    rendered: list[dict[str, Any]],
    resources: Iterable[Resource],
    *,
    cluster: Cluster,
    google: Google,
    deadline: Deadline,
    options: Options,
    network: Network | None = None,
    database: Database | None = None,
) -> Verify:
    """The run's state: what the program renders (its Kubernetes objects, its Helm releases' values),
    and the live sources (`network`, `database`: the machine's own unless given)."""
    releases = {
        str(r.plain_inputs.get("name")): dict(r.plain_inputs.get("values") or {})
        for r in resources
        if r.type.startswith("kubernetes:helm.sh/") and r.type.endswith(":Release")
    }
    return Verify(
        cfg=cfg,
        rendered=rendered,
        releases=releases,
        cluster=cluster,
        google=google,
        network=network or Internet(),
        database=database or Postgres(),
        deadline=deadline,
        options=options,
    )
