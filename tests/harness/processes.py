"""Processes the harnesses start in a session of their own (their group id is their pid), stopped
with everything they started."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


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
