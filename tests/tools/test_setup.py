"""`bash tools/setup.sh check` without network: it stops at the asset fetch with the remedy, and leaves
nothing running behind it.

The script runs in a copy of tools/ with stand-ins for what it must not touch here: Debian's package
database (every package reported installed, so no apt-get), a venv/ whose stamp says the pins are
installed (it runs this venv's Python, so no pip), a LiteLLM install that only starts a long child
process, and an asset lock whose sources are unreachable (connection refused on loopback).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from config import assets as config_assets
from tests.support import ROOT
from tools import assets

FAKE_INSTALL = """\
sleep 120 &
echo $! > "$SETUP_TEST_CHILD"
wait
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")  # a zombie is dead, only not yet reaped by its new parent


def _sandbox(tmp: Path) -> Path:
    repo = tmp / "repo"
    for package in ("tools", "config"):  # tools/assets.py reads the lock through config/assets.py
        shutil.copytree(ROOT / package, repo / package, ignore=shutil.ignore_patterns("__pycache__"))
    lock = json.loads((ROOT / "assets.lock.json").read_text())
    for entry in lock["assets"]:
        entry["url"] = f"https://127.0.0.1:9/{entry['mirror']}"
    (repo / "assets.lock.json").write_text(json.dumps(lock))
    stamps = []
    for name in ("requirements.txt", "requirements-dev.txt"):
        shutil.copyfile(ROOT / name, repo / name)
        stamps.append(f"{hashlib.sha256((ROOT / name).read_bytes()).hexdigest()}  {name}\n")
    (repo / "venv" / "bin").mkdir(parents=True)
    (repo / "venv" / "bin" / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (repo / "venv" / "bin" / "python").chmod(0o755)
    (repo / "venv" / ".requirements-stamp").write_text("".join(stamps))
    (repo / "tests" / "harness" / "litellm").mkdir(parents=True)
    (repo / "tests" / "harness" / "litellm" / "install.sh").write_text(FAKE_INSTALL)
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    (bin_dir / "dpkg-query").write_text("#!/bin/sh\nprintf 'install ok installed'\n")
    for name in ("sudo", "apt-get"):
        (bin_dir / name).write_text(f"#!/bin/sh\necho '{name} must not run in this test' >&2\nexit 99\n")
    for path in bin_dir.iterdir():
        path.chmod(0o755)
    return repo


def test_check_without_network_names_the_mirror_and_stops_the_background_install(tmp_path: Path) -> None:
    repo = _sandbox(tmp_path)
    child_file = tmp_path / "child.pid"
    env = {
        k: v for k, v in os.environ.items() if k.lower() not in ("https_proxy", "all_proxy") and k != assets.MIRROR_ENV
    }
    env.update(
        PATH=f"{tmp_path / 'bin'}:{env['PATH']}",
        PYTHON=sys.executable,
        SETUP_TEST_CHILD=str(child_file),
        **{config_assets.CACHE_ENV: str(tmp_path / "empty-cache")},
    )
    result = subprocess.run(
        ["bash", "tools/setup.sh", "check"], cwd=repo, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    child = None
    try:
        assert result.returncode != 0
        assert "must not run" not in result.stderr
        assert "Traceback" not in result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "cannot download https://127.0.0.1:9/" in errors[0]
        assert f"point {assets.MIRROR_ENV} (or --mirror) at a local mirror folder" in errors[0]
        for _ in range(50):  # the stand-in install writes its child's pid as it starts
            if child_file.exists() and child_file.read_text().strip():
                child = int(child_file.read_text())
                break
            time.sleep(0.1)
        if child is not None:
            deadline = time.monotonic() + 5
            while _alive(child) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not _alive(child), "the background LiteLLM install outlived setup.sh"
    finally:
        if child is not None and _alive(child):
            os.kill(child, signal.SIGKILL)
