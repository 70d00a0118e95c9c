"""Processes the harnesses start in a session of their own (their group id is their pid), stopped
with everything they started; and loopback HTTP servers in a thread."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self


def start_logged(
    command: Sequence[str], *, cwd: str | Path, log: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start `command` in its own session (in `env`, default this process's), no stdin, stdout and
    stderr into the file `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=None if env is None else dict(env),
            cwd=cwd,
            start_new_session=True,
        )


def stop_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Stop a process started in its own session and its children (SIGTERM, then SIGKILL), each
    signal waited for at most `timeout` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            continue


class LoopbackServer:
    """An HTTP server on a free loopback port, serving in a daemon thread while the `with` block runs."""

    def __init__(self, server: http.server.ThreadingHTTPServer, stop_timeout: float = 10.0) -> None:
        self._server = server
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._stop_timeout = stop_timeout

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=self._stop_timeout)
