"""Where the real-component tests spend their time, for the session's terminal summary.

A test records a line per step (`record("prometheus-real enterprise", "proxy live 21.1 s, ...")`);
`tests/conftest.py` prints every recorded line once, at the end of the session, so CI's log shows
what a start-up or a phase took even when every test passed (their own output is captured).
"""

from __future__ import annotations

import threading

_LINES: list[tuple[str, str]] = []
_LOCK = threading.Lock()


def record(what: str, line: str) -> None:
    """Keep `line` under the heading `what` (thread-safe: the real-component runs use threads)."""
    with _LOCK:
        _LINES.append((what, line))


def recorded() -> list[tuple[str, str]]:
    with _LOCK:
        return list(_LINES)
