"""Write a capture, or compare it with the committed file and print the difference (standard library only:
the capture scripts that run under the LiteLLM venv import it too)."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path


def write_or_compare(path: Path, now: str, *, write: bool, root: Path) -> int:
    """0 when written or up to date; 1, with a unified diff on stdout, when the committed file differs."""
    name = path.relative_to(root)
    if write:
        path.write_text(now, encoding="utf-8")
        print(f"wrote {name}")
        return 0
    committed = path.read_text(encoding="utf-8") if path.exists() else ""
    if committed == now:
        print(f"{name} is up to date")
        return 0
    sys.stdout.writelines(difflib.unified_diff(committed.splitlines(True), now.splitlines(True), "committed", "now"))
    print(f"{name} differs from the installed LiteLLM: rerun with --write", file=sys.stderr)
    return 1
