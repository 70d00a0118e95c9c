"""Key paths as `pulumi config set --path` reads them (`litellm.models[0].rpm`, `a["b.c"]`): parsed into
keys and list indexes, and set into the config the way Pulumi does (an index addresses an item or
appends at the end; anything further is an error naming the list and its length)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.key_path import KeyPathError, format_key_path, parse_key_path, set_path

KEYS = st.text(alphabet=st.characters(codec="ascii", exclude_characters='.[]"', exclude_categories=["Cc"]), min_size=1)
ANY_KEYS = st.text(alphabet=st.characters(codec="ascii", exclude_categories=["Cc"]), min_size=1, max_size=8)
SEGMENTS = st.tuples(KEYS, st.lists(st.one_of(ANY_KEYS, st.integers(min_value=0, max_value=99)), max_size=5)).map(
    lambda t: [t[0], *t[1]]
)


@settings(max_examples=200, deadline=None)
@given(segments=SEGMENTS)
def test_a_path_reads_back_as_written(segments: list[str | int]) -> None:
    assert parse_key_path(format_key_path(segments)) == segments


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("llm-gateway:litellm.models[0].rpm", ["llm-gateway:litellm", "models", 0, "rpm"]),
        ('postgres.cnpg.parameters["work.mem"]', ["postgres", "cnpg", "parameters", "work.mem"]),
        ("a[1][2]", ["a", 1, 2]),
    ],
)
def test_pulumi_path_syntax(path: str, segments: list[str | int]) -> None:
    assert parse_key_path(path) == segments


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("a..b", "empty key"),
        ("a.", "empty key"),
        (".a", "cannot read the key path at position 0"),
        ("a[x]", "cannot read the key path at position 1"),
        ("a[0]b", "cannot read the key path at position 4"),
        ("a[-1]", "negative"),
        ("", "empty"),
    ],
)
def test_a_malformed_path_is_refused(path: str, why: str) -> None:
    with pytest.raises(KeyPathError, match=why):
        parse_key_path(path)


@settings(max_examples=100, deadline=None)
@given(length=st.integers(min_value=0, max_value=5), index=st.integers(min_value=0, max_value=8))
def test_an_index_sets_an_item_appends_at_the_end_and_refuses_beyond(length: int, index: int) -> None:
    items: list[Any] = [{"rpm": i} for i in range(length)]
    config: dict[str, Any] = {"litellm": {"models": items}}
    before = copy.deepcopy(config)
    path: list[str | int] = ["litellm", "models", index, "rpm"]
    if index <= length:
        set_path(config, path, 5)
        models = config["litellm"]["models"]
        assert models[index] == ({**before["litellm"]["models"][index], "rpm": 5} if index < length else {"rpm": 5})
        assert len(models) == max(length, index + 1)
    else:
        with pytest.raises(KeyPathError, match=rf"index \[{index}\] is out of range: litellm.models has {length} item"):
            set_path(config, path, 5)


def test_a_path_creates_what_it_names_and_refuses_what_does_not_fit() -> None:
    config: dict[str, Any] = {"gcp": {"project": "p"}}
    set_path(config, ["litellm", "models", 0, "name"], "x")
    assert config["litellm"] == {"models": [{"name": "x"}]}
    with pytest.raises(KeyPathError, match="gcp is not a list"):
        set_path(config, ["gcp", 0], "x")
    with pytest.raises(KeyPathError, match=r"gcp\.project is not a mapping"):
        set_path(config, ["gcp", "project", "id"], "x")
