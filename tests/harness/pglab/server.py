"""A throwaway PostgreSQL server holding LiteLLM's real schema (no pytest here).

- ``start_postgres_server()``: a private cluster made with ``initdb`` in a temporary
  directory, listening on a free loopback port only (no Unix socket in a shared place),
  password authentication (``scram-sha-256``) for every connection, torn down with
  ``pg_ctl stop -m immediate`` and the directory removed, also at interpreter exit.
  ``start_postgres_server(keep_in=DIR)`` instead keeps the cluster in ``DIR`` (stopped
  cleanly, not removed) and starts the one already there on the next call, so a
  benchmark can reuse a database it took minutes to seed. ``start_postgres_server(tls=...)``
  serves TLS (``ssl = on``) with the given certificate and key (tests/harness/pglab/tls.py
  makes test ones); clients that do not ask for it still connect in clear.
- ``apply_litellm_schema(server)``: the database ``litellm`` owned by the login role
  ``litellm`` (what CNPG's ``bootstrap.initdb: {database: litellm, owner: litellm}``
  creates), with every ``migrations/*/migration.sql`` of the installed
  ``litellm-proxy-extras`` applied in name order *as that owner*, the way Prisma's
  ``migrate deploy`` sends them (one simple-protocol query per file, so a file that is a
  single ``CREATE INDEX CONCURRENTLY`` runs outside a transaction block), followed by the
  request-log indexes LiteLLM builds itself after migrating, named and defined by the
  package's own ``litellm_proxy_extras.request_log_indexes.REQUEST_LOG_INDEXES``.

The pytest fixtures over these live in ``tests/support/postgres.py``.

Binaries: ``$PG_BINDIR`` if set, else ``pg_config --bindir`` when it holds ``initdb``,
else the newest ``/usr/lib/postgresql/*/bin`` (what Debian's ``postgresql`` package
installs). As root, ``initdb`` and the server refuse to run, so both are run as the
``postgres`` system user that package creates, through ``runuser``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

__all__ = [
    "TIMINGS",
    "LiteLLMDatabase",
    "PostgresServer",
    "ServerTls",
    "apply_litellm_schema",
    "apply_migrations",
    "find_postgres_bindir",
    "litellm_migration_files",
    "start_postgres_server",
]

SUPERUSER = "postgres"
LITELLM_DATABASE = "litellm"
LITELLM_OWNER = "litellm"
_UNPRIVILEGED_USER = "postgres"
_START_ATTEMPTS = 3

#: What this plugin measured, shown once in the terminal summary.
TIMINGS: dict[str, float] = {}


def _version_key(path: Path) -> tuple[int, ...]:
    """Numeric version of ``/usr/lib/postgresql/<version>/bin`` for newest-first sorting."""
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (0,)


def find_postgres_bindir() -> Path:
    """The directory holding ``initdb``/``pg_ctl``/``postgres``.

    Order: ``$PG_BINDIR``, ``pg_config --bindir`` (only if it really holds ``initdb``:
    on Debian ``/usr/bin/pg_config`` may come from ``libpq-dev`` alone), then the newest
    ``/usr/lib/postgresql/*/bin``.
    """
    candidates: list[Path] = []
    if env := os.environ.get("PG_BINDIR"):
        candidates.append(Path(env))
    if pg_config := shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            out = subprocess.run([pg_config, "--bindir"], check=True, capture_output=True, text=True).stdout.strip()
            candidates.append(Path(out))
    candidates.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True))
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise RuntimeError(
        "No PostgreSQL server binaries found (looked at $PG_BINDIR, pg_config --bindir, "
        "/usr/lib/postgresql/*/bin); install them with `apt-get install postgresql`."
    )


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """A running throwaway cluster. Stop it with :meth:`stop` (idempotent)."""

    bindir: Path
    basedir: Path
    host: str
    port: int
    superuser: str
    superuser_password: str
    run_as: str | None
    start_seconds: float
    keep: bool = False
    """A kept cluster (``keep_in``) is stopped cleanly and its directory left in place."""
    reused: bool = False
    """True when the cluster was already there (a kept one started again)."""
    tls: bool = False
    """The server serves TLS (``ssl = on``)."""
    _stopped: bool = field(default=False, repr=False)

    @property
    def datadir(self) -> Path:
        return self.basedir / "data"

    @property
    def logfile(self) -> Path:
        return self.basedir / "server.log"

    def dsn(self, user: str | None = None, password: str | None = None, dbname: str = "postgres") -> str:
        """A libpq keyword/value DSN (values escaped by psycopg, so any password works)."""
        return make_conninfo(
            host=self.host,
            port=self.port,
            user=user or self.superuser,
            password=self.superuser_password if password is None else password,
            dbname=dbname,
            connect_timeout=10,
        )

    @contextlib.contextmanager
    def connect_as(
        self, role: str, password: str, dbname: str = LITELLM_DATABASE
    ) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        """An autocommit connection as ``role``; closed on exit."""
        with psycopg.connect(
            host=self.host,
            port=self.port,
            user=role,
            password=password,
            dbname=dbname,
            connect_timeout=10,
            autocommit=True,
        ) as conn:
            yield conn

    @contextlib.contextmanager
    def superuser_connection(self, dbname: str = "postgres") -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        with self.connect_as(self.superuser, self.superuser_password, dbname) as conn:
            yield conn

    def log_offset(self) -> int:
        """Current size of the server log; pass it to :meth:`refused_sqlstate`."""
        return self.logfile.stat().st_size if self.logfile.exists() else 0

    def refused_sqlstate(self, role: str, since: int, timeout: float = 5.0) -> str | None:
        """SQLSTATE of the first connection refusal (FATAL) for ``role`` logged after ``since``.

        libpq reports no SQLSTATE for a refused connection (psycopg's ``sqlstate`` is
        None there), so it is read from the server log, whose ``log_line_prefix``
        carries ``%e``.
        """
        pattern = re.compile(r"\] (?P<state>[0-9A-Z]{5}) " + re.escape(role) + r"@\S* FATAL: ")
        deadline = time.monotonic() + timeout
        while True:
            with self.logfile.open("rb") as log:
                log.seek(since)
                text = log.read().decode(errors="replace")
            if match := pattern.search(text):
                return match["state"]
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            mode = "fast" if self.keep else "immediate"
            _run(
                [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "-t", "120", "stop"],
                run_as=self.run_as,
                cwd=self.basedir,
                check=False,
            )
        if not self.keep:
            shutil.rmtree(self.basedir, ignore_errors=True)


def _run(argv: Sequence[str], *, run_as: str | None, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = list(argv)
    if run_as is not None:
        command = ["runuser", "-u", run_as, "--", *command]
    result = subprocess.run(command, check=False, cwd=cwd, capture_output=True, text=True, timeout=330)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def _unprivileged_account() -> pwd.struct_passwd | None:
    """The account to run the server as, or None when we are not root already."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(_UNPRIVILEGED_USER)
    except KeyError as exc:
        raise RuntimeError(
            "Running as root, and PostgreSQL refuses to run as root; the `postgres` system "
            "user (created by Debian's `postgresql` package) is missing."
        ) from exc


_PASSWORD_FILE = "superuser-password"


@dataclass(frozen=True)
class ServerTls:
    """The server's certificate and key (PEM files); copied into the cluster's directory."""

    cert: Path
    key: Path


def start_postgres_server(keep_in: Path | None = None, tls: ServerTls | None = None) -> PostgresServer:
    """initdb a new cluster and start it on a free loopback port.

    Without ``keep_in``: in a new temporary directory, removed on stop. With it: in that
    directory, kept on stop; when it already holds a cluster made this way, that cluster
    is started again (its superuser password is in a 0600 file next to it).
    """
    started = time.perf_counter()
    bindir = find_postgres_bindir()
    account = _unprivileged_account()
    run_as = account.pw_name if account else None
    reused = keep_in is not None and (keep_in / "data" / "PG_VERSION").is_file()
    if keep_in is None:
        basedir = Path(tempfile.mkdtemp(prefix="llm-gateway-pg-"))
    else:
        basedir = keep_in.resolve()
        basedir.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        if reused:
            password = (basedir / _PASSWORD_FILE).read_text().strip()
        else:
            password = secrets.token_urlsafe(24)
            _initdb(bindir, basedir, password, account, run_as)
            if tls is not None:
                _install_tls(basedir, tls, account)
            if keep_in is not None:
                saved = basedir / _PASSWORD_FILE
                saved.touch(mode=0o600)
                saved.write_text(password + "\n")
        last_error: RuntimeError | None = None
        for _ in range(_START_ATTEMPTS):
            port = _free_loopback_port()
            _write_settings(basedir, port, tls=tls is not None)
            result = _run(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(basedir / "data"),
                    "-l",
                    str(basedir / "server.log"),
                    "-w",
                    "-t",
                    "300" if reused else "60",
                    "start",
                ],
                run_as=run_as,
                cwd=basedir,
                check=False,
            )
            if result.returncode == 0:
                server = PostgresServer(
                    bindir=bindir,
                    basedir=basedir,
                    host="127.0.0.1",
                    port=port,
                    superuser=SUPERUSER,
                    superuser_password=password,
                    run_as=run_as,
                    start_seconds=time.perf_counter() - started,
                    keep=keep_in is not None,
                    reused=reused,
                    tls=tls is not None,
                )
                atexit.register(server.stop)
                return server
            log = (basedir / "server.log").read_text(errors="replace") if (basedir / "server.log").exists() else ""
            last_error = RuntimeError(f"pg_ctl start failed:\n{result.stderr}\n{log}")
        assert last_error is not None
        raise last_error
    except BaseException:
        if keep_in is None:
            shutil.rmtree(basedir, ignore_errors=True)
        raise


def _initdb(bindir: Path, basedir: Path, password: str, account: pwd.struct_passwd | None, run_as: str | None) -> None:
    pwfile = basedir / "pwfile"
    pwfile.write_text(password + "\n")
    if account is not None:
        os.chown(basedir, account.pw_uid, account.pw_gid)
        os.chown(pwfile, account.pw_uid, account.pw_gid)
    pwfile.chmod(0o600)
    _run(
        [
            str(bindir / "initdb"),
            "-D",
            str(basedir / "data"),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        run_as=run_as,
        cwd=basedir,
    )
    pwfile.unlink()


def _install_tls(basedir: Path, tls: ServerTls, account: pwd.struct_passwd | None) -> None:
    """server.crt and server.key in the data directory, owned by the server's user, the key 0600
    (the server refuses a key others may read)."""
    for source, name, mode in ((tls.cert, "server.crt", 0o644), (tls.key, "server.key", 0o600)):
        target = basedir / "data" / name
        target.write_bytes(source.read_bytes())
        target.chmod(mode)
        if account is not None:
            os.chown(target, account.pw_uid, account.pw_gid)


def _write_settings(basedir: Path, port: int, *, tls: bool = False) -> None:
    """Loopback only, a private socket directory, and durability off (a throwaway); TLS on with
    the data directory's server.crt/server.key when `tls`."""
    settings = f"""
# llm-gateway test server
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{basedir}'
max_connections = 60
fsync = off
synchronous_commit = off
full_page_writes = off
log_line_prefix = '%m [%p] %e %u@%d '
"""
    if tls:
        settings += "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
    conf = basedir / "data" / "postgresql.conf"
    original = conf.with_suffix(".conf.orig")
    if not original.exists():
        shutil.copy2(conf, original)
    conf.write_text(original.read_text() + settings)


# --- LiteLLM schema -------------------------------------------------------------------


def litellm_migration_files() -> list[Path]:
    """Every ``migrations/*/migration.sql`` of litellm-proxy-extras, in name order."""
    import litellm_proxy_extras

    root = Path(litellm_proxy_extras.__file__).parent / "migrations"
    return sorted(root.glob("*/migration.sql"), key=lambda path: path.parent.name)


def apply_migrations(conn: psycopg.Connection[tuple[object, ...]], files: Sequence[Path]) -> None:
    """Each file as Prisma's ``migrate deploy`` sends it, on an autocommit connection as the owner."""
    for path in files:
        try:
            # One simple-protocol query per file: several statements run as one implicit
            # transaction, a lone CREATE INDEX CONCURRENTLY runs outside any transaction block.
            conn.execute(path.read_bytes())
        except psycopg.Error as exc:
            raise RuntimeError(f"migration {path.parent.name!r} failed: {exc}") from exc


@dataclass(frozen=True)
class LiteLLMDatabase:
    server: PostgresServer
    name: str
    owner: str
    owner_password: str
    migrations: tuple[str, ...]
    runtime_indexes: tuple[str, ...]
    load_seconds: float


def apply_litellm_schema(
    server: PostgresServer, *, database: str = LITELLM_DATABASE, owner: str = LITELLM_OWNER
) -> LiteLLMDatabase:
    """Create ``owner`` and ``database`` like CNPG's initdb, then migrate as the owner."""
    from litellm_proxy_extras.request_log_indexes import REQUEST_LOG_INDEXES

    started = time.perf_counter()
    owner_password = secrets.token_urlsafe(24)
    with server.superuser_connection() as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(owner), sql.Literal(owner_password))
        )
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(owner)))
    files = litellm_migration_files()
    with server.connect_as(owner, owner_password, database) as conn:
        apply_migrations(conn, files)
        for index in REQUEST_LOG_INDEXES:
            conn.execute(
                sql.SQL("CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON {} ").format(
                    sql.Identifier(index.name), sql.Identifier(index.table)
                )
                + sql.SQL(index.definition)
            )
    return LiteLLMDatabase(
        server=server,
        name=database,
        owner=owner,
        owner_password=owner_password,
        migrations=tuple(path.parent.name for path in files),
        runtime_indexes=tuple(index.name for index in REQUEST_LOG_INDEXES),
        load_seconds=time.perf_counter() - started,
    )
