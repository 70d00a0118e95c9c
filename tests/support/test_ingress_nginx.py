"""The Ingress referee (tests/support/ingress_nginx.py) against the documentation it follows.

Every case comes from a published source, named above it: the Kubernetes Ingress page's
examples table, the ingress-nginx path-matching and annotations pages, ingress-nginx's own
end-to-end tests of path types, and NGINX's `location` directive. None comes from
components/litellm/ingress_paths.py, whose Ingress these rules referee.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from tests.support.ingress_nginx import REWRITE_TARGET, USE_REGEX, IngressNginx, Location, UnmodelledError, normalize

HOST = "test.com"

K8S = "https://kubernetes.io/docs/concepts/services-networking/ingress/#examples"
NGINX_PATHS = "https://kubernetes.github.io/ingress-nginx/user-guide/ingress-path-matching/"
NGINX_USE_REGEX = "https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/annotations/#use-regex"
NGINX_E2E = "https://github.com/kubernetes/ingress-nginx/tree/main/test/e2e/ingress (pathtype_*.go)"
NGINX_LOCATION = "https://nginx.org/en/docs/http/ngx_http_core_module.html#location"
NGINX_SOURCE = (
    "https://github.com/kubernetes/ingress-nginx internal/ingress/controller/location.go "
    "(updateServerLocations) and template/template.go (buildLocation, needsRewrite)"
)


def service(path_type: str, path: str) -> str:
    """A Service name per path, so a result says which path served the request."""
    return f"{path_type.lower()}{path.replace('/', '-') or '-'}"


def ingress(
    name: str,
    paths: list[tuple[str, str]],
    host: str | None = HOST,
    annotations: dict[str, str] | None = None,
    ingress_class: str = "nginx",
) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "http": {
            "paths": [
                {
                    "path": path,
                    "pathType": path_type,
                    "backend": {"service": {"name": service(path_type, path), "port": {"number": 80}}},
                }
                for path_type, path in paths
            ]
        }
    }
    if host is not None:
        rule["host"] = host
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": "default", "annotations": annotations or {}},
        "spec": {"ingressClassName": ingress_class, "rules": [rule]},
    }


def served_by(objects: Sequence[Mapping[str, Any]], request: str, host: str = HOST) -> tuple[str, str] | None:
    """(pathType, path) of the Ingress path that serves `request`, None: the default backend."""
    chosen = IngressNginx(objects).route(host, request)
    return None if chosen is None else (chosen.path_type, chosen.path)


# --- Kubernetes: the examples table of the Ingress page (K8S), row by row ----------------------------

K8S_EXAMPLES = [
    # (paths, request, the path that serves it or None: "uses default backend")
    ([("Prefix", "/")], "/any/path/at/all", ("Prefix", "/")),
    ([("Exact", "/foo")], "/foo", ("Exact", "/foo")),
    ([("Exact", "/foo")], "/bar", None),
    ([("Exact", "/foo")], "/foo/", None),
    ([("Exact", "/foo/")], "/foo", None),
    ([("Prefix", "/foo")], "/foo", ("Prefix", "/foo")),
    ([("Prefix", "/foo")], "/foo/", ("Prefix", "/foo")),
    ([("Prefix", "/aaa/bb")], "/aaa/bbb", None),
    ([("Prefix", "/aaa/bbb")], "/aaa/bbb", ("Prefix", "/aaa/bbb")),
    ([("Prefix", "/aaa/bbb")], "/aaa/bbb/", ("Prefix", "/aaa/bbb")),  # matches trailing slash
    ([("Prefix", "/aaa/bbb")], "/aaa/bbb/ccc", ("Prefix", "/aaa/bbb")),  # matches subpath
    ([("Prefix", "/aaa/bbb")], "/aaa/bbbxyz", None),  # does not match string prefix
    ([("Prefix", "/"), ("Prefix", "/aaa")], "/aaa/ccc", ("Prefix", "/aaa")),
    ([("Prefix", "/"), ("Prefix", "/aaa"), ("Prefix", "/aaa/bbb")], "/aaa/bbb", ("Prefix", "/aaa/bbb")),
    ([("Prefix", "/"), ("Prefix", "/aaa"), ("Prefix", "/aaa/bbb")], "/ccc", ("Prefix", "/")),
    ([("Prefix", "/aaa")], "/ccc", None),
    ([("Prefix", "/foo"), ("Exact", "/foo")], "/foo", ("Exact", "/foo")),  # Mixed: prefers Exact
]


@pytest.mark.parametrize(("paths", "request_path", "expected"), K8S_EXAMPLES)
def test_the_kubernetes_examples_table(
    paths: list[tuple[str, str]], request_path: str, expected: tuple[str, str] | None
) -> None:
    assert served_by([ingress("example", paths)], request_path) == expected, K8S


@pytest.mark.parametrize("request_path", ["/foo", "/foo/"])
def test_a_prefix_with_a_trailing_slash_is_refused_where_the_sources_disagree(request_path: str) -> None:
    """K8S: `Prefix /foo/` matches `/foo` ("ignores trailing slash"); ingress-nginx writes
    `location /foo/` and `location = /foo/` (NGINX_SOURCE, normalizePrefixPath), which do not.
    The referee does not pick a side."""
    with pytest.raises(UnmodelledError, match="trailing slash"):
        served_by([ingress("example", [("Prefix", "/foo/")])], request_path)


def test_multiple_matches_the_longest_path_wins_then_exact() -> None:
    """K8S, "Multiple matches": the longest matching path first; equal length, Exact over Prefix."""
    objects = [ingress("a", [("Prefix", "/"), ("Prefix", "/a"), ("Prefix", "/a/b"), ("Exact", "/a/b/c")])]
    assert served_by(objects, "/a/b/c") == ("Exact", "/a/b/c")
    assert served_by(objects, "/a/b/c/d") == ("Prefix", "/a/b")
    assert served_by(objects, "/a/x") == ("Prefix", "/a")
    assert served_by(objects, "/ab") == ("Prefix", "/")


def test_matching_is_case_sensitive_without_regex() -> None:
    """K8S, "Path types": Exact and Prefix match case-sensitively."""
    objects = [ingress("a", [("Prefix", "/"), ("Exact", "/metrics"), ("Prefix", "/api")])]
    assert served_by(objects, "/METRICS") == ("Prefix", "/")
    assert served_by(objects, "/Api/x") == ("Prefix", "/")


# --- ingress-nginx: how paths become NGINX locations (NGINX_SOURCE, NGINX_E2E) ----------------------


def test_a_prefix_becomes_a_slash_location_plus_an_exact_one() -> None:
    """NGINX_SOURCE: `Prefix /p` is `location /p/` and an added `location = /p`; an existing
    `Exact /p` keeps its own `=` and only `/p/` is added; `/` stays `/`."""
    router = IngressNginx([ingress("a", [("Prefix", "/"), ("Prefix", "/p"), ("Exact", "/q"), ("Prefix", "/q")])])
    found = {(loc.modifier, loc.path, loc.backend.path_type) for loc in router.locations(HOST)}
    assert found == {
        ("", "/", "Prefix"),
        ("", "/p/", "Prefix"),
        ("=", "/p", "Prefix"),
        ("=", "/q", "Exact"),
        ("", "/q/", "Prefix"),
    }


def test_e2e_prefix_aaa() -> None:
    """NGINX_E2E pathtype_prefix.go: Prefix /aaa answers /aaa, /aaa/cccc and /aaa/, and 404s /aaacccc."""
    objects = [ingress("exact", [("Prefix", "/aaa")])]
    assert [served_by(objects, r) for r in ("/aaa", "/aaa/cccc", "/aaa/")] == [("Prefix", "/aaa")] * 3
    assert served_by(objects, "/aaacccc") is None


def test_e2e_mixed_exact_and_prefix() -> None:
    """NGINX_E2E pathtype_mixed.go: Exact and Prefix `/` and `/foo` on four Ingresses of one host."""
    objects = [
        ingress("exact-root", [("Exact", "/")]),
        ingress("prefix-root", [("Prefix", "/")]),
        ingress("exact-foo", [("Exact", "/foo")]),
        ingress("prefix-foo", [("Prefix", "/foo")]),
    ]
    assert served_by(objects, "/") == ("Exact", "/")
    assert served_by(objects, "/bar") == ("Prefix", "/")
    assert served_by(objects, "/foo") == ("Exact", "/foo")
    assert served_by(objects, "/foo/bar") == ("Prefix", "/foo")
    assert served_by(objects, "/foobar") == ("Prefix", "/")


def test_e2e_exact_with_a_duplicated_prefix() -> None:
    """NGINX_E2E pathtype_exact.go: Exact /exact and Prefix /exact split /exact and /exact/suffix;
    a second Ingress claiming Prefix /exact loses to the oldest, which a rendering cannot order:
    the referee refuses a duplicate that names another Service, and accepts one that does not."""
    objects = [ingress("exact", [("Exact", "/exact")]), ingress("exact-suffix", [("Prefix", "/exact")])]
    assert served_by(objects, "/exact") == ("Exact", "/exact")
    assert served_by(objects, "/exact/suffix") == ("Prefix", "/exact")
    assert served_by([*objects, ingress("same-service", [("Prefix", "/exact")])], "/exact/x") == ("Prefix", "/exact")
    duplicated = ingress("duplicated-prefix", [("Prefix", "/exact")])
    duplicated["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] = "other"
    with pytest.raises(UnmodelledError, match="oldest"):
        served_by([*objects, duplicated], "/exact/suffix")


def test_implementation_specific_is_a_plain_string_prefix() -> None:
    """NGINX_SOURCE: without regex, ImplementationSpecific `/p` is `location /p`, an NGINX string
    prefix (NGINX_LOCATION), so it also takes `/pp`, unlike a Prefix."""
    objects = [ingress("a", [("Prefix", "/"), ("ImplementationSpecific", "/eu.api")])]
    for request in ("/eu.api", "/eu.api/v1", "/eu.apix"):
        assert served_by(objects, request) == ("ImplementationSpecific", "/eu.api"), request
    assert served_by(objects, "/euxapi") == ("Prefix", "/")  # a dot is a dot, not a regex


# --- NGINX: the URI a location sees (NGINX_LOCATION) -------------------------------------------------


@pytest.mark.parametrize(
    ("request_path", "uri"),
    [
        ("//metrics", "/metrics"),
        ("/%6Detrics", "/metrics"),
        ("/ui/../metrics/", "/metrics/"),
        ("/./metrics?x=1", "/metrics"),
        ("/a/b/..", "/a/"),
    ],
)
def test_the_uri_is_normalised_before_matching(request_path: str, uri: str) -> None:
    """NGINX_LOCATION: "matching is performed against a normalized URI, after decoding the text
    encoded in the %XX form, resolving references to relative path components . and .., and
    possible compression of two or more adjacent slashes into a single slash"."""
    assert normalize(request_path) == uri
    objects = [ingress("a", [("Prefix", "/"), ("Prefix", "/metrics"), ("Prefix", "/a")])]
    assert served_by(objects, request_path) == served_by(objects, uri)


def test_an_exact_location_wins_over_a_prefix_location_of_the_same_path() -> None:
    """NGINX_LOCATION: "If an exact match is found, the search terminates"."""
    objects = [ingress("a", [("ImplementationSpecific", "/x"), ("Exact", "/x")])]
    assert served_by(objects, "/x") == ("Exact", "/x")
    assert served_by(objects, "/xy") == ("ImplementationSpecific", "/x")


# --- ingress-nginx regex mode (NGINX_PATHS, NGINX_USE_REGEX) -----------------------------------------


def test_use_regex_writes_a_case_insensitive_regex_location() -> None:
    """NGINX_PATHS, "Regular Expression Support": `/foo/.*` with use-regex is `location ~* "^/foo/.*"`."""
    router = IngressNginx(
        [ingress("test-ingress", [("ImplementationSpecific", "/foo/.*")], annotations={USE_REGEX: "true"})]
    )
    (loc,) = router.locations(HOST)
    assert (loc.modifier, loc.path) == ("~*", "^/foo/.*")
    assert served_by(router.ingresses, "/FOO/bar") == ("ImplementationSpecific", "/foo/.*")
    assert served_by(router.ingresses, "/foo") is None


def test_the_path_priority_example() -> None:
    """NGINX_PATHS, "Path Priority": test-ingress-2's rewrite-target turns test-ingress-1's paths
    into regexes too; the locations are written longest first and the first match wins."""
    objects = [
        ingress("test-ingress-1", [("ImplementationSpecific", "/foo/bar"), ("ImplementationSpecific", "/foo/bar/")]),
        ingress("test-ingress-2", [("ImplementationSpecific", "/foo/bar/(.+)")], annotations={REWRITE_TARGET: "/$1"}),
    ]
    router = IngressNginx(objects)
    assert [(loc.modifier, loc.path) for loc in router.locations(HOST)] == [
        ("~*", "^/foo/bar/(.+)"),
        ("~*", "^/foo/bar/"),
        ("~*", "^/foo/bar"),
    ]
    assert served_by(objects, "/foo/bar/1") == ("ImplementationSpecific", "/foo/bar/(.+)")
    assert served_by(objects, "/foo/bar/") == ("ImplementationSpecific", "/foo/bar/")
    assert served_by(objects, "/foo/bar") == ("ImplementationSpecific", "/foo/bar")


def test_the_warning_example_the_longest_pattern_not_the_longest_match() -> None:
    """NGINX_PATHS, "Warning": `/foo/bar/bar` goes to `^/foo/bar/[A-Z0-9]{3}`, not to the path
    that spells it out."""
    objects = [
        ingress(
            "test-ingress-3",
            [("ImplementationSpecific", "/foo/bar/bar"), ("ImplementationSpecific", "/foo/bar/[A-Z0-9]{3}")],
            annotations={USE_REGEX: "true"},
        )
    ]
    assert served_by(objects, "/foo/bar/bar") == ("ImplementationSpecific", "/foo/bar/[A-Z0-9]{3}")


def _guarded(annotations: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """A host whose Ingress blocks Exact /metrics, serves /api by Prefix and the rest from `/`,
    and a second Ingress of the same host with `annotations` on a path of its own."""
    return [
        ingress("app", [("Prefix", "/"), ("Exact", "/metrics"), ("Prefix", "/api")]),
        ingress("other", [("Prefix", "/other")], annotations=annotations),
    ]


@pytest.mark.parametrize("annotations", [{USE_REGEX: "true"}, {REWRITE_TARGET: "/"}], ids=["use-regex", "rewrite"])
def test_regex_on_any_ingress_of_a_host_changes_every_path_of_that_host(annotations: dict[str, str]) -> None:
    """NGINX_PATHS "IMPORTANT NOTES" and NGINX_USE_REGEX: use-regex or rewrite-target on any Ingress
    of a host enforces the case-insensitive regex modifier on ALL its paths, whatever Ingress
    defines them. NGINX_SOURCE: buildLocation checks the regex mode before Exact, so Exact
    /metrics becomes the prefix regex `^/metrics`; a Prefix /api becomes `^/api/` and `^/api`."""
    plain, regex = _guarded(), _guarded(annotations)
    assert not IngressNginx(plain).regex_mode(HOST) and IngressNginx(regex).regex_mode(HOST)
    # updateServerLocations leaves the regex Ingress's own Prefix as it is ("locations with rewrite
    # or using regular expressions are not modified") and splits the other Ingress's Prefix /api.
    assert [loc.path for loc in IngressNginx(regex).locations(HOST)] == [
        "^/metrics",
        "^/other",
        "^/api/",
        "^/api",
        "^/",
    ]
    for request, before, after in [
        ("/metrics", ("Exact", "/metrics"), ("Exact", "/metrics")),
        ("/metrics/x", ("Prefix", "/"), ("Exact", "/metrics")),  # Exact loses its exactness
        ("/METRICS", ("Prefix", "/"), ("Exact", "/metrics")),  # and its case
        ("/apix", ("Prefix", "/"), ("Prefix", "/api")),  # Prefix becomes a string prefix
        ("/Api/v1", ("Prefix", "/"), ("Prefix", "/api")),
        ("/other/x", ("Prefix", "/other"), ("Prefix", "/other")),
    ]:
        assert (served_by(plain, request), served_by(regex, request)) == (before, after), request


def test_regex_mode_stays_on_its_host() -> None:
    """NGINX_USE_REGEX: "ALL paths for a given host": another host keeps exact matching."""
    objects = [
        ingress("app", [("Prefix", "/"), ("Exact", "/metrics")], host="a.example"),
        ingress("other", [("Prefix", "/x")], host="b.example", annotations={USE_REGEX: "true"}),
    ]
    assert served_by(objects, "/metrics/x", host="a.example") == ("Prefix", "/")
    assert served_by(objects, "/X/y", host="b.example") == ("Prefix", "/x")


@pytest.mark.parametrize("annotations", [{USE_REGEX: "false"}, {REWRITE_TARGET: "/other"}], ids=["false", "same"])
def test_no_regex_mode_without_regex_or_a_real_rewrite(annotations: dict[str, str]) -> None:
    """NGINX_SOURCE needsRewrite: a rewrite-target equal to the path rewrites nothing; use-regex
    "false" is the default (NGINX_USE_REGEX)."""
    objects = _guarded(annotations)
    assert not IngressNginx(objects).regex_mode(HOST)
    assert served_by(objects, "/metrics/x") == ("Prefix", "/")


# --- which Ingresses and rules a controller serves ---------------------------------------------------


def test_only_its_own_ingress_class_and_the_requested_host_count() -> None:
    """K8S "Name based virtual hosting": rules route by the Host header; a rule without a host takes
    traffic no named host claims. An Ingress of another class is another controller's."""
    objects = [
        ingress("mine", [("Prefix", "/a")]),
        ingress("theirs", [("Prefix", "/")], ingress_class="gce"),
        ingress("elsewhere", [("Prefix", "/")], host="other.example"),
        ingress("catch-all", [("Prefix", "/b")], host=None),
    ]
    assert served_by(objects, "/a/x") == ("Prefix", "/a")
    assert served_by(objects, "/x") is None
    assert served_by(objects, "/b", host="unknown.example") == ("Prefix", "/b")
    assert served_by(objects, "/b", host="other.example") == ("Prefix", "/")


def test_locations_are_written_longest_first_ties_in_reverse_order() -> None:
    """NGINX_PATHS, "Path Priority": "ingress-nginx first orders the paths by descending length"
    (ties: reverse lexical, the controller's sort)."""
    router = IngressNginx([ingress("a", [("ImplementationSpecific", p) for p in ("/ab", "/b", "/a", "/abc")])])
    assert [loc.path for loc in router.locations(HOST)] == ["/abc", "/ab", "/b", "/a"]
    assert isinstance(router.locations(HOST)[0], Location)
