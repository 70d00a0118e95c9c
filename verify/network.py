"""DNS, TLS and PostgreSQL as the machine running `verify` reaches them.

- `Internet`: the host names as the machine resolves them; one HTTPS request to a resolved address with
  the host's SNI and Host header, the certificate verified with the system's trust store (or `context`);
- `Postgres`: one psycopg session, read-only, autocommit, statements bounded by the run's time.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from verify.sources import CheckError, Session, TlsAnswer

# --- DNS and TLS ---------------------------------------------------------------------------------


class Internet:
    """The host names as the machine resolves them; HTTPS on `port` with the system's trust store."""

    def __init__(self, port: int = 443, context: ssl.SSLContext | None = None) -> None:
        self.port = port
        self.context = context or ssl.create_default_context()

    def resolve(self, host: str) -> list[str]:
        try:
            return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, self.port, type=socket.SOCK_STREAM)})
        except OSError as error:
            raise CheckError(f"{host} does not resolve ({error})", f"create the DNS record for {host}") from None

    def https(self, host: str, address: str, path: str, timeout: float) -> TlsAnswer:
        started = time.perf_counter()
        try:
            with (
                socket.create_connection((address, self.port), timeout=timeout) as raw,
                self.context.wrap_socket(raw, server_hostname=host) as tls,
            ):
                cert = tls.getpeercert() or {}
                request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
                tls.sendall(request.encode())
                status, headers = _read_head(tls)
        except ssl.SSLCertVerificationError as error:
            raise CheckError(f"{host} ({address}): certificate not valid: {error.verify_message}") from None
        except OSError as error:
            raise CheckError(f"{host} ({address}:{self.port}): {error}") from None
        not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(str(cert["notAfter"])), UTC)
        return TlsAnswer(status, headers, b"", time.perf_counter() - started, not_after)


def _read_head(tls: ssl.SSLSocket) -> tuple[int, dict[str, str]]:
    """The status and headers of an HTTP/1.1 response."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = tls.recv(4096)
        if not chunk:
            break
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    parts = head[0].split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise OSError(f"not an HTTP answer: {head[0][:60]!r}")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
    return int(parts[1]), headers


# --- PostgreSQL -----------------------------------------------------------------------------------


def _psycopg() -> Any:
    """psycopg, a test dependency of the program (requirements-dev.txt): imported when a check needs it."""
    try:
        import psycopg
    except ImportError:
        raise CheckError("psycopg is not installed", "pip install -r requirements-dev.txt (psycopg)") from None
    return psycopg


class _PsycopgSession:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        psycopg = _psycopg()

        try:
            return list(self._conn.execute(query.encode()).fetchall())
        except psycopg.Error as error:
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise CheckError(f"SQLSTATE {error.sqlstate}: {first}") from None


class Postgres:
    """psycopg: read-only, autocommit, statements bounded by the run's time."""

    @contextlib.contextmanager
    def session(self, conninfo: str, user: str, password: str, ca_pem: str | None, timeout: float) -> Iterator[Session]:
        psycopg = _psycopg()

        with tempfile.NamedTemporaryFile("w", suffix=".pem") as ca:
            extra: dict[str, Any] = {}
            if ca_pem is not None:
                ca.write(ca_pem)
                ca.flush()
                extra["sslrootcert"] = ca.name
            options = f"-c statement_timeout={int(timeout * 1000)} -c default_transaction_read_only=on"
            try:
                conn = psycopg.connect(
                    conninfo,
                    user=user,
                    password=password,
                    connect_timeout=max(int(timeout), 2),
                    autocommit=True,
                    options=options,
                    application_name="llm-gateway-verify",
                    **extra,
                )
            except psycopg.Error as error:
                said = str(error).strip().splitlines()
                raise CheckError(f"connecting as {user}: {said[-1] if said else error}") from None
            with conn:
                yield _PsycopgSession(conn)
