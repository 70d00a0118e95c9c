"""Container image references as the OCI distribution reference grammar writes them.

The grammar is distribution/reference's (github.com/distribution/reference, regexp.go and
reference.go; vendored by Kubernetes, whose kubelet and container runtimes parse every
`image:` with it):

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [ domain "/" ] path-component [ "/" path-component ]*
    domain           := host [ ":" port-number ]
    host             := domain-name | "[" IPv6address "]"
    domain-name      := domain-component [ "." domain-component ]*
    domain-component := /[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]/
    port-number      := /[0-9]+/
    path-component   := alpha-numeric [ separator alpha-numeric ]*
    alpha-numeric    := /[a-z0-9]+/
    separator        := /[_.]|__|[-]+/
    tag              := /[\\w][\\w.-]{0,127}/
    digest           := algorithm ":" encoded

and a name of at most 255 characters (NameTotalLengthMax). The path is lower case: an upper-case
repository is refused ("repository name must be lowercase"), as are whitespace and an empty name.
This program pins by sha256 only, so the one digest accepted is `sha256:` and 64 lower-case hex
characters (what go-digest validates for sha256).

`image_reference` is a validator of its own, placed before each image type's other rules
(pinned tags, PostgreSQL's major version, a registry's policy), so each rule stays separate.
"""

from __future__ import annotations

import re
from typing import Final

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
REFERENCE: Final = re.compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?", re.ASCII)
"""The anchored reference grammar (use fullmatch); groups: name, tag, digest."""
NAME_MAX_LENGTH: Final = 255
SHA256_DIGEST: Final = re.compile(r"sha256:[0-9a-f]{64}")


def image_reference(value: str) -> str:
    """`value` if it is a reference the grammar accepts, with a sha256 digest if any; ValueError otherwise."""
    problem = reference_problem(value)
    if problem is not None:
        raise ValueError(f"is not an image reference: {problem}")
    return value


def reference_problem(value: str) -> str | None:
    """Why the grammar refuses `value` (the most specific reason first), or None."""
    if not value:
        return "it is empty"
    if re.search(r"\s", value):
        return "it contains whitespace"
    name = value.partition("@")[0]
    repository = name.rpartition(":")[0] if ":" in name.rpartition("/")[2] else name
    if not repository or repository.startswith("/") or repository.endswith("/") or "//" in repository:
        return "the repository name is empty"
    first, slash, path = repository.partition("/")
    if not (slash and (any(c in first for c in ".:") or first == "localhost")):
        path = repository  # no registry: the first component is part of the path (splitDomain)
    if path != path.lower():
        return "the repository name must be lower case (OCI distribution reference grammar)"
    _, at, digest = value.partition("@")
    if at and not SHA256_DIGEST.fullmatch(digest):
        return f"the digest after '@' must be sha256: and 64 lower-case hex characters, got {digest!r}"
    match = REFERENCE.fullmatch(value)
    if match is None:
        return (
            "it does not match the OCI distribution reference grammar ([registry[:port]/]path[:tag][@sha256:<64 hex>]; "
            "path components of a-z, 0-9 and single separators . _ __ -)"
        )
    if len(match.group(1)) > NAME_MAX_LENGTH:
        return f"the repository name is longer than {NAME_MAX_LENGTH} characters"
    return None
