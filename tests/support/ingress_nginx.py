"""Which backend ingress-nginx picks for a request: the tests' own referee for Ingress routing.

Written from the documentation and the controller's translation of Ingress paths into NGINX
`location` blocks, never from the program's path builder (components/litellm/ingress_paths.py):
a test that asks the code under test how its own Ingress routes proves nothing. The rules, with
their sources (docs/security.md cites the same in its notes; tests/support/test_ingress_nginx.py
has a case for each):

- Kubernetes (https://kubernetes.io/docs/concepts/services-networking/ingress/#path-types):
  `Exact` matches the whole path, case-sensitively; `Prefix` matches element by element on `/`
  (`/foo/bar` matches `/foo/bar/baz`, not `/foo/barbaz`); the longest match wins, `Exact` before
  `Prefix` on a tie; `ImplementationSpecific` is up to the controller.
- ingress-nginx realises that with NGINX locations (internal/ingress/controller/location.go,
  `updateServerLocations`; template.go, `buildLocation`): `Exact /p` is `location = /p`;
  `Prefix /p` is `location /p/` plus an added `location = /p` unless an `Exact /p` exists;
  `Prefix /` stays `/`; `ImplementationSpecific /p` is the plain string prefix `location /p`
  (so it matches `/pp`).
- NGINX (https://nginx.org/en/docs/http/ngx_http_core_module.html#location): the URI is first
  normalised (`%XX` decoded, `.` and `..` resolved, adjacent slashes merged); an `=` location that
  equals it wins outright, else the longest matching prefix location, unless a regex location
  matches: those are tried in file order and the first match wins.
- Regex mode (https://kubernetes.github.io/ingress-nginx/user-guide/ingress-path-matching/ and the
  annotations page, "Use Regex"): `nginx.ingress.kubernetes.io/use-regex: "true"`, or a
  `rewrite-target` that differs from the path, on ANY Ingress of a host turns EVERY path of that
  host, from every Ingress, into the case-insensitive regex location `~* "^<path>"`; an `Exact`
  path then loses its `=` (`buildLocation` checks the regex mode first). The controller writes a
  server's locations longest path first (ties: reverse lexical order; controller.go), so the
  longest pattern, not the longest match, is tried first ("Warning" on the path-matching page).

What the sources disagree on, the referee refuses to decide: a `Prefix` path with a trailing
slash (`/foo/`: Kubernetes says it matches `/foo`, ingress-nginx's `location /foo/` plus
`= /foo/` does not), and two Ingresses claiming one path for different Services (ingress-nginx
keeps the oldest, which a rendering does not say). Host wildcards are not modelled either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

USE_REGEX = "nginx.ingress.kubernetes.io/use-regex"
REWRITE_TARGET = "nginx.ingress.kubernetes.io/rewrite-target"
PATH_TYPES = ("Exact", "Prefix", "ImplementationSpecific")


class UnmodelledError(ValueError):
    """An Ingress the referee cannot judge (the sources disagree, or the controller's choice
    depends on something a rendered object does not hold)."""


@dataclass(frozen=True)
class Backend:
    """The Service a request reaches, and which Ingress path sent it there."""

    service: str
    port: int | str
    ingress: str
    """`<namespace>/<name>` of the Ingress."""
    path_type: str
    path: str

    @property
    def target(self) -> tuple[str, int | str]:
        return self.service, self.port


@dataclass(frozen=True)
class Location:
    """One NGINX location block of a server, as ingress-nginx writes it."""

    modifier: Literal["=", "", "~*"]
    """`=` exact, `` plain (string) prefix, `~*` case-insensitive regex."""
    path: str
    """The path as written after the modifier (a regex location is `^<path>`)."""
    backend: Backend

    def matches(self, uri: str) -> bool:
        if self.modifier == "=":
            return uri == self.path
        if self.modifier == "":
            return uri.startswith(self.path)
        return re.match(self.path, uri, re.IGNORECASE) is not None


@dataclass(frozen=True)
class _Path:
    path_type: str
    path: str
    backend: Backend
    regex: bool
    """Its Ingress has use-regex, or a rewrite-target other than this path."""


def normalize(request_path: str) -> str:
    """The URI NGINX matches locations against: the query dropped, `%XX` decoded, adjacent
    slashes merged (`merge_slashes on`, the default), `.` and `..` resolved."""
    path = re.sub("/{2,}", "/", unquote(request_path.split("?", 1)[0]))
    segments = path.split("/")[1:]
    out: list[str] = []
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment in (".", ".."):
            if segment == ".." and out:
                out.pop()
            if last:
                out.append("")  # `/a/.` is `/a/`, `/a/b/..` is `/a/`
        else:
            out.append(segment)
    return "/" + "/".join(out)


def _annotations(ingress: Mapping[str, Any]) -> Mapping[str, str]:
    return ingress.get("metadata", {}).get("annotations") or {}


def _regex(ingress: Mapping[str, Any], path: str) -> bool:
    """ingress-nginx's `location.Rewrite.UseRegex || needsRewrite(location)`."""
    annotations = _annotations(ingress)
    target = annotations.get(REWRITE_TARGET, "")
    return str(annotations.get(USE_REGEX, "")).lower() == "true" or (target != "" and target != path)


def _backend(ingress: Mapping[str, Any], path: Mapping[str, Any]) -> Backend:
    meta = ingress.get("metadata", {})
    service = path["backend"]["service"]
    port = service["port"].get("number", service["port"].get("name"))
    return Backend(
        service=service["name"],
        port=port,
        ingress=f"{meta.get('namespace', 'default')}/{meta['name']}",
        path_type=path["pathType"],
        path=path["path"],
    )


class IngressNginx:
    """The ingress-nginx controller of one IngressClass, over a set of rendered objects."""

    def __init__(self, objects: Iterable[Mapping[str, Any]], ingress_class: str = "nginx") -> None:
        self.ingresses = [
            o
            for o in objects
            if o.get("kind") == "Ingress" and o.get("spec", {}).get("ingressClassName") == ingress_class
        ]
        self._servers: dict[str | None, list[Location]] = {}

    def hosts(self) -> list[str]:
        return sorted({r["host"] for i in self.ingresses for r in i["spec"].get("rules", []) if r.get("host")})

    def _paths(self, host: str | None) -> list[_Path]:
        seen: dict[tuple[str, str], _Path] = {}
        for ingress in self.ingresses:
            for rule in ingress["spec"].get("rules", []):
                if rule.get("host") != host:
                    continue
                for p in (rule.get("http") or {}).get("paths", []):
                    path_type, path = p.get("pathType"), p.get("path") or "/"
                    if path_type not in PATH_TYPES or not path.startswith("/"):
                        raise UnmodelledError(f"path {path!r} of type {path_type!r}: not a valid Ingress path")
                    if "*" in (host or ""):
                        raise UnmodelledError(f"host {host!r}: wildcard hosts are not modelled")
                    if path_type == "Prefix" and path != "/" and path.endswith("/"):
                        raise UnmodelledError(
                            f"Prefix {path!r}: Kubernetes ignores the trailing slash, ingress-nginx does not"
                        )
                    item = _Path(path_type, path, _backend(ingress, p), _regex(ingress, path))
                    earlier = seen.setdefault((path_type, path), item)
                    if earlier.backend.target != item.backend.target:
                        raise UnmodelledError(
                            f"{path_type} {path!r} is claimed by {earlier.backend.ingress} and "
                            f"{item.backend.ingress} for different Services: ingress-nginx keeps the oldest"
                        )
        return list(seen.values())

    def regex_mode(self, host: str | None) -> bool:
        """Whether every path of `host` is a case-insensitive regex (use-regex or rewrite-target
        on any of its Ingresses)."""
        return any(p.regex for p in self._paths(host))

    def locations(self, host: str | None) -> list[Location]:
        """The server's locations in the order ingress-nginx writes them."""
        if host not in self._servers:
            self._servers[host] = self._write(host)
        return list(self._servers[host])

    def _write(self, host: str | None) -> list[Location]:
        paths = self._paths(host)
        enforce = any(p.regex for p in paths)
        exact = {p.path for p in paths if p.path_type == "Exact"}
        # (path, is_exact, backend) after updateServerLocations.
        translated: list[tuple[str, bool, Backend]] = []
        for p in paths:
            if p.path == "/" or p.path_type != "Prefix" or p.regex:
                translated.append((p.path, p.path_type == "Exact", p.backend))
                continue
            translated.append((p.path + "/", False, p.backend))
            if p.path not in exact:
                translated.append((p.path, True, p.backend))
        translated.sort(key=lambda t: t[0], reverse=True)
        translated.sort(key=lambda t: len(t[0]), reverse=True)
        out = []
        for path, is_exact, backend in translated:
            if enforce:
                out.append(Location("~*", "^" + path, backend))
            else:
                out.append(Location("=" if is_exact else "", path, backend))
        return out

    def route(self, host: str | None, request_path: str) -> Backend | None:
        """The backend of `request_path` on `host`; None: no location matches (the controller's
        default backend answers 404). A host no rule names falls back to the rules without one."""
        if host is not None and host not in self.hosts():
            host = None
        uri = normalize(request_path)
        locations = self.locations(host)
        for loc in locations:
            if loc.modifier == "=" and loc.matches(uri):
                return loc.backend
        for loc in locations:
            if loc.modifier == "~*" and loc.matches(uri):
                return loc.backend
        prefixes = [loc for loc in locations if loc.modifier == "" and loc.matches(uri)]
        return max(prefixes, key=lambda loc: len(loc.path)).backend if prefixes else None

    def target(self, host: str | None, request_path: str) -> tuple[str, int | str] | None:
        """(Service name, port) of `route`, or None."""
        chosen = self.route(host, request_path)
        return None if chosen is None else chosen.target
