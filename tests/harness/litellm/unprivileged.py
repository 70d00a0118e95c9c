"""Run the installed LiteLLM as an unprivileged user with its installation read-only to it.

The pods run as uid 65534 with a read-only root filesystem and writable emptyDirs only. To find
what the program writes, the test runs it the same way on this machine (as root, which CI is):

- the interpreter is a copy of the LiteLLM venv's base Python (its stdlib, shared library, binary),
  owned by root, readable and not writable by the user; the copy only exists because the original
  may sit under a directory the user cannot enter (pyenv under /root). A `.pth` file in its
  `site-packages` adds the LiteLLM venv's `site-packages` (owned by root, read-only to the user), so
  every process LiteLLM spawns (the Prometheus metrics server) gets the same installation;
- the process runs with that uid/gid and no supplementary groups, its working directory and HOME
  root-owned, its environment explicit;
- `written_outside` lists what the user created in the places it could write besides the declared
  directories: the world-writable ones (`WORLD_WRITABLE`).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

# Scanned, not used: where any user may create files on Debian.
WORLD_WRITABLE: Final = tuple(map(Path, ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")))  # noqa: S108
STDLIB_SKIPPED: Final = frozenset(
    {"test", "site-packages", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "pkgconfig"}
)


def venv_site_packages(litellm: Path) -> Path:
    """The site-packages of the venv whose `bin/litellm` this is."""
    venv = litellm.absolute().parent.parent
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if not found:
        raise FileNotFoundError(f"no lib/python3*/site-packages in {venv}")
    return found[0]


def base_interpreter(litellm: Path) -> Path:
    """The real Python binary behind the venv of `litellm` (symlinks resolved)."""
    return (litellm.absolute().parent / "python3").resolve()


def copy_interpreter(python: Path, site_packages: Path, dest: Path) -> Path:
    """A root-owned copy of `python`'s installation under `dest` (world-readable, writable by root only)
    whose site adds `site_packages`; returns the copied binary."""
    prefix = python.parent.parent
    (stdlib,) = [d for d in (prefix / "lib").glob("python3*") if (d / "os.py").is_file()]
    shutil.copytree(
        prefix / "lib",
        dest / "lib",
        symlinks=True,
        ignore=lambda _dir, names: [n for n in names if n in STDLIB_SKIPPED or n.startswith("config-")],
    )
    (dest / "bin").mkdir()
    binary = dest / "bin" / python.name
    shutil.copy2(python, binary)
    site = dest / "lib" / stdlib.name / "site-packages"
    site.mkdir(parents=True)
    (site / "llmgw-installation.pth").write_text(f"import site; site.addsitedir({str(site_packages)!r})\n")
    for root, dirs, files in os.walk(dest):
        for name in [*dirs, *files]:
            path = Path(root, name)
            if not path.is_symlink():
                mode = path.stat().st_mode
                path.chmod((mode | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH) & ~(stat.S_IWGRP | stat.S_IWOTH))
    return binary


def library_path(binary: Path) -> str:
    """LD_LIBRARY_PATH for the copy (its RUNPATH names the original's lib/)."""
    return str(binary.parent.parent / "lib")


def run_as(
    uid: int, command: list[str], env: Mapping[str, str], cwd: Path, **kwargs: object
) -> subprocess.Popen[bytes]:
    """`command` with that uid and gid, no supplementary groups, in its own session."""
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        command, env=dict(env), cwd=cwd, user=uid, group=uid, extra_groups=[], start_new_session=True, **kwargs
    )


def can_write(uid: int, paths: Iterable[Path], env: Mapping[str, str], python: Path) -> list[str]:
    """The `paths` the user may write (os.access, as that user)."""
    script = "import os, sys; print('\\n'.join(p for p in sys.argv[1:] if os.access(p, os.W_OK)))"
    process = run_as(uid, [str(python), "-S", "-c", script, *map(str, paths)], env, Path("/"), stdout=subprocess.PIPE)
    out, _ = process.communicate(timeout=60)
    return [line for line in out.decode().splitlines() if line]


def owned_by(uid: int, roots: Iterable[Path], declared: Iterable[Path]) -> list[str]:
    """Everything below `roots` owned by `uid`, outside the `declared` directories."""
    keep = tuple(str(d.resolve()) for d in declared)

    def inside(path: str) -> bool:
        return any(path == d or path.startswith(d + os.sep) for d in keep)

    found: list[str] = []
    for root in roots:
        for current, dirs, files in os.walk(root.resolve()):
            dirs[:] = [d for d in dirs if not inside(os.path.join(current, d))]
            found += [os.path.join(current, n) for n in [*dirs, *files] if _owned(current, n, uid)]
    return sorted(found)


def _owned(folder: str, name: str, uid: int) -> bool:
    try:
        return os.lstat(os.path.join(folder, name)).st_uid == uid
    except OSError:
        return False
