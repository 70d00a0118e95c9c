"""Test support: the helpers every test package shares (test modules import from here only).

- program.py: whole-program runs (cached) and the named scenarios (stack + overrides);
- config.py: a stack file's raw namespace and parsed config, edits of it, its one error;
- schemas.py: Kubernetes and CRD schema validation; rendered.py: checks over everything deployed;
- netpol.py, promql.py: NetworkPolicy and PromQL semantics (ESO store conditions: components/secrets/reach.py);
- secret_reach.py: which GSM secrets each namespace could read (stores x IAM), and what it consumes;
- postgres.py (pytest plugin), reporting_db.py, role_sql.py: a real PostgreSQL (tests/harness/pglab);
- real_prometheus.py: a real Prometheus; chart_keys.py: Helm values against the keys the pinned chart accepts;
- ingress_nginx.py: which backend ingress-nginx picks for a request (the Ingress tests' referee);
- assets.py: the pinned CRDs and charts; snapshot.py: the resource snapshots (`python -m tests.support.snapshot`).

The referees have tests of their own beside them (test_ingress_nginx.py, test_chart_keys.py): a
helper that decides what passes is checked against its sources, not trusted.
"""

import json
import subprocess
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
"""The repository's root folder."""
FIRST_PARTY = ("config", "dashboards", "components", "offline", "verify", "tools")
"""The program's and its commands' packages, ground floor first (tests/test_imports.py's floors)."""


def captured(
    argv: Sequence[str], *, cwd: Path = ROOT, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `argv` to its end (no stdin) and return its exit status and what it printed, as text;
    a failing exit is the caller's to judge, not an exception."""
    return subprocess.run(
        list(argv),
        cwd=cwd,
        env=None if env is None else dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def send_json(handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
    """Answer a loopback stand-in server's request with `body` as JSON (the fakes of LiteLLM, GSM,
    the metadata server and the Kubernetes API all answer this way)."""
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
