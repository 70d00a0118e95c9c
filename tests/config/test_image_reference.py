"""Image settings must be references the OCI distribution reference grammar accepts: the kubelet
parses every `image:` with it, so a refused one surfaces as InvalidImageName only after `pulumi up`.
Before, an exact tag was all the config checked: an upper-case repository, an empty path component
or whitespace inside the name passed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config import parse_config
from config.image_reference import REFERENCE, image_reference, reference_problem
from tests.support.config import errors_for, with_value

DIGEST = "sha256:" + "0123456789abcdef" * 4

REFUSED = [
    ("lab", "litellm.image", "ghcr.io/BerriAI/litellm-non_root:v1.108.7", "must be lower case"),
    ("lab", "litellm.image", "ghcr.io/berriai/litellm-non_root :v1.108.7", "contains whitespace"),
    ("lab", "litellm.image", "ghcr.io//litellm-non_root:v1.108.7", "repository name is empty"),
    ("lab", "litellm.image", "ghcr.io/berriai/litellm..non_root:v1.108.7", "does not match the OCI"),
    ("lab", "litellm.image", f"ghcr.io/berriai/litellm-non_root:v1.108.7@sha512:{'ab' * 64}", "sha256:"),
    ("lab", "postgres.cnpg.image", "ghcr.io/CloudNative-PG/postgresql:17.6", "must be lower case"),
    ("lab", "postgres.cnpg.image", "ghcr.io/cloudnative-pg/postgresql:17.6\t", "contains whitespace"),
    ("lab", "postgres.cnpg.image", "/postgresql:17.6", "repository name is empty"),
    ("enterprise", "sso.image", "quay.io/oauth2-proxy/oauth2-proxy/:v7.15.3", "repository name is empty"),
    ("enterprise", "sso.image", "quay.io/oauth2-proxy/oauth2-proxy:v7.15.3-" + "x" * 130, "does not match the OCI"),
]


@pytest.mark.parametrize(("stack", "path", "image", "why"), REFUSED, ids=[f"{r[1]}={r[2]!r}"[:60] for r in REFUSED])
def test_a_reference_the_grammar_refuses_is_refused_with_the_key_path(
    stack: str, path: str, image: str, why: str
) -> None:
    message = errors_for(with_value(stack, path, image))
    line = next((ln for ln in message.splitlines() if f"llm-gateway:{path}:" in ln), "")
    assert "is not an image reference" in line and why in line, message


@pytest.mark.parametrize(
    "image",
    [
        "postgres:17.6",
        "library/postgres:17.6",
        "localhost:5000/postgres:17.6",
        "[::1]:5000/pg/postgres:17.6",
        "Registry.Example.COM/team/pg__x/postgres-x:17.6",  # only the repository path must be lower case
        f"ghcr.io/cloudnative-pg/postgresql:17.6@{DIGEST}",
    ],
)
def test_what_the_grammar_accepts_passes(image: str) -> None:
    assert image_reference(image) == image


_COMPONENT = st.from_regex(r"[a-z0-9]{1,5}((\.|_|__|-{1,2})[a-z0-9]{1,5}){0,2}", fullmatch=True)
_TAG = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_REGISTRY = st.sampled_from(["", "ghcr.io/", "registry.example.com:5000/", "localhost/"])


@st.composite
def references(draw: st.DrawFn) -> str:
    path = "/".join(draw(st.lists(_COMPONENT, min_size=1, max_size=3)))
    tag = draw(st.one_of(st.just(""), _TAG.map(lambda t: f":{t}")))
    digest = draw(st.sampled_from(["", f"@{DIGEST}"]))
    return f"{draw(_REGISTRY)}{path}{tag}{digest}"


@settings(max_examples=150, deadline=None)
@given(reference=references())
def test_every_reference_of_the_grammar_is_accepted(reference: str) -> None:
    assert reference_problem(reference) is None, reference
    assert REFERENCE.fullmatch(reference)


@settings(max_examples=150, deadline=None)
@given(reference=references(), data=st.data())
def test_an_upper_case_letter_in_the_path_or_whitespace_anywhere_is_refused(
    reference: str, data: st.DataObject
) -> None:
    registry = next(
        (r for r in ("ghcr.io/", "registry.example.com:5000/", "localhost/") if reference.startswith(r)), ""
    )
    path_end = len(registry) + len(reference[len(registry) :].partition(":")[0].partition("@")[0])
    last_component = reference.rfind("/", len(registry), path_end) + 1 or len(registry)  # always a path
    letters = [i for i in range(last_component, path_end) if reference[i].isalpha()]
    if letters:
        i = data.draw(st.sampled_from(letters))
        upper = reference[:i] + reference[i].upper() + reference[i + 1 :]
        assert reference_problem(upper) == "the repository name must be lower case (OCI distribution reference grammar)"
    j = data.draw(st.integers(min_value=0, max_value=len(reference)))
    spaced = reference[:j] + data.draw(st.sampled_from([" ", "\t", "\n"])) + reference[j:]
    assert reference_problem(spaced) == "it contains whitespace"


@settings(max_examples=100, deadline=None)
@given(encoded=st.text(alphabet="0123456789abcdefABCDEFg", min_size=0, max_size=70))
def test_a_digest_is_sha256_and_64_lower_case_hex(encoded: str) -> None:
    image = f"ghcr.io/cloudnative-pg/postgresql:17.6@sha256:{encoded}"
    raw = with_value("lab", "postgres.cnpg.image", image)
    if len(encoded) == 64 and all(c in "0123456789abcdef" for c in encoded):
        parse_config(raw)
    else:
        assert "llm-gateway:postgres.cnpg.image:" in errors_for(raw)
