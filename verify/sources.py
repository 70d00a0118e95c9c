"""The contract of a check and the interfaces of what it reads.

A check is a function of the run (`verify.checks.Verify`) that returns what it proved, or raises
`CheckError` (what is wrong, the next step) or `NotApplicableError` (why it does not apply). Each
live source sits behind a small Protocol, so the tests can stand a loopback component in for it:

- `Cluster`: Kubernetes objects, HTTP to a pod or Service through the API server's proxy, and a TCP
  port-forward (for what is not HTTP: PostgreSQL, and the completion, whose key the API server would
  strip: it consumes the `Authorization` header);
- `Google`: a GSM secret's latest value, IAM policies;
- `Network`: DNS, and one HTTPS request to a resolved address with the host's SNI;
- `Database`: one PostgreSQL session.

Every call is bounded by what is left of the run's `--timeout` (`Deadline`). A source that cannot
answer raises `CheckError`; no secret value is ever part of one.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class CheckError(Exception):
    """A failed check, or a source that could not answer: what went wrong, and what to do next."""

    def __init__(self, detail: str, next_step: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.next_step = next_step


def fail_on_any(problems: Sequence[str], next_step: str) -> None:
    """The check fails with every problem found, if any (one CheckError, the problems joined by "; ")."""
    if problems:
        raise CheckError("; ".join(problems), next_step)


class NotApplicableError(Exception):
    """The check does not apply to this stack or run; str() says why."""


class Deadline:
    """The end of the whole run (`--timeout`)."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def left(self, cap: float = 30.0) -> float:
        """Seconds left, at most `cap`; CheckError once the time is up."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise CheckError("the run's --timeout ran out", "raise --timeout, or verify fewer checks with --only")
        return min(left, cap)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    """Lower-case names."""
    body: bytes
    seconds: float

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def text(self, limit: int = 200) -> str:
        return self.body[:limit].decode(errors="replace").strip()


@dataclass(frozen=True)
class TlsAnswer(Answer):
    not_after: datetime = datetime(1970, 1, 1, tzinfo=UTC)
    """The server certificate's end of validity."""


class Cluster(Protocol):
    def objects(self, api_version: str, kind: str, namespace: str | None) -> list[dict[str, Any]]:
        """The objects of `kind` in `namespace` (None: every namespace, or a cluster-scoped kind)."""
        ...

    def http(
        self,
        namespace: str,
        target: str,
        port: int,
        path: str,
        timeout: float,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """GET `path` of `target` (`pod/NAME`, `svc/NAME`) on `port`, through the API server's proxy."""
        ...

    def forward(self, namespace: str, target: str, port: int) -> contextlib.AbstractContextManager[str]:
        """A loopback `host:port` reaching `target` on `port` while open (TCP)."""
        ...


class Google(Protocol):
    def secret(self, secret_id: str) -> str:
        """The latest version of a GSM secret of the stack's project."""
        ...

    def iam_policy(self, resource: str) -> dict[str, Any]:
        """`secrets/ID`, `project` or `serviceAccounts/EMAIL`: its IAM policy (`{"bindings": [...]}`)."""
        ...


class Network(Protocol):
    def resolve(self, host: str) -> list[str]: ...

    def https(self, host: str, address: str, path: str, timeout: float) -> TlsAnswer:
        """GET `path` from `address` as `https://host` (SNI, Host header, certificate verified)."""
        ...


class Session(Protocol):
    def rows(self, query: str) -> list[tuple[Any, ...]]:
        """The rows of one statement; CheckError with the SQLSTATE when refused."""
        ...


class Database(Protocol):
    def session(
        self, conninfo: str, user: str, password: str, ca_pem: str | None, timeout: float
    ) -> contextlib.AbstractContextManager[Session]: ...


# --- HTTP -------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def http(
    url: str,
    timeout: float,
    *,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    method: str | None = None,
    tls: ssl.SSLContext | None = None,
) -> Answer:
    """One request (redirects are answers, not followed); any HTTP status is an Answer, a connection
    that fails is a CheckError naming the URL without its query."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(context=tls))
    started = time.perf_counter()
    try:
        with opener.open(request, timeout=timeout) as response:
            status, raw, got = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, got = error.code, error.read(), error.headers
    except TimeoutError:
        raise CheckError(f"{url.split('?')[0]}: no answer within {timeout:.0f} s", "raise --timeout") from None
    except (urllib.error.URLError, OSError) as error:
        if isinstance(getattr(error, "reason", None), TimeoutError):
            raise CheckError(f"{url.split('?')[0]}: no answer within {timeout:.0f} s", "raise --timeout") from None
        reason = getattr(error, "reason", error)
        raise CheckError(f"{url.split('?')[0]}: {reason}") from None
    return Answer(status, {k.lower(): v for k, v in got.items()}, raw, time.perf_counter() - started)


def each(function: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """`function` of every item at the same time (each waits on the network); the results in order.
    The first exception is raised once all are done."""
    results: list[Any] = [None] * len(items)
    errors: list[BaseException] = []

    def one(index: int) -> None:
        try:
            results[index] = function(items[index])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(items))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
