"""The two sides of `python -m tools.diff`: preview folders, or git refs previewed in a temporary worktree.

A side is a folder `python -m tools.preview STACK --out DIR/STACK` wrote (one sub-folder per
stack, or a single stack's folder), or a git ref: then every stack of that ref is previewed
in a temporary worktree (`git worktree add --detach`), which is removed afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Preview:
    root: Path
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, root: Path) -> Preview:
        preview = cls(root)
        resources_file = root / "resources.json"
        if resources_file.exists():
            for r in json.loads(resources_file.read_text()):
                preview.resources[(r["type"], r["name"])] = r
        outputs_file = root / "outputs.json"
        if outputs_file.exists():
            preview.outputs = json.loads(outputs_file.read_text())
        return preview

    def files(self, sub: str, pattern: str = "*") -> dict[str, str]:
        folder = self.root / sub
        if not folder.is_dir():
            return {}
        return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob(pattern)) if p.is_file()}


def stack_folders(root: Path) -> dict[str, Path]:
    """Stack name -> preview folder: `root` itself (a single stack) or its sub-folders."""
    if (root / "resources.json").exists():
        return {root.name: root}
    return {p.name: p for p in sorted(root.iterdir()) if (p / "resources.json").exists()} if root.is_dir() else {}


def preview_ref(ref: str, into: Path, stacks: Sequence[str] | None, render: bool = True) -> Path:
    """Run the preview of every stack of `ref` in a temporary worktree; outputs under `into`.

    `render=False` previews with --no-render: no chart is rendered, so no asset is needed."""
    into.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="llm-gateway-diff-") as tmp:
        worktree = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(worktree), ref],
            check=True,
            capture_output=True,
            text=True,
        )
        try:
            names = stacks or sorted(p.name.split(".")[1] for p in worktree.glob("Pulumi.*.yaml"))
            from config.assets import LOCK_FILE, cache_dir

            cache = cache_dir()
            ref_lock = worktree / LOCK_FILE.name
            env = dict(os.environ, PYTHONPATH=str(worktree))
            if render and ref_lock.exists() and ref_lock.read_bytes() != LOCK_FILE.read_bytes():
                # The ref pins other assets: give it its own cache (network or the mirror in the environment).
                cache = Path(tmp) / "assets"
                env["LLM_GATEWAY_ASSET_CACHE"] = str(cache)
                subprocess.run(
                    [sys.executable, "-m", "tools.assets", "fetch"],
                    cwd=worktree,
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
            env["LLM_GATEWAY_ASSET_CACHE"] = str(cache)
            for stack in names:
                subprocess.run(
                    [sys.executable, "-m", "tools.preview", stack, "--out", str(into / stack)]
                    + ([] if render else ["--no-render"]),
                    cwd=worktree,
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)],
                check=False,
                capture_output=True,
            )
    return into


def resolve(arg: str, scratch: Path, label: str, stacks: Sequence[str] | None, render: bool = True) -> Path:
    path = Path(arg)
    if path.is_dir():
        return path
    return preview_ref(arg, scratch / label, stacks, render)
