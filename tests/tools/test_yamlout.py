"""The preview's YAML is PyYAML's own emitter's, byte for byte, whichever emitter wrote it
(offline/yamlout.py sends what libyaml writes alike to libyaml): PyYAML's pure emitter is the referee."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.tenants_preview import tenants_section
from offline.run import is_kubernetes_object, manifest
from offline.yamlout import dump_yaml, emitted_alike, sorted_keys
from tests.support.program import run_cached


def pure(data: Any) -> str:
    """The referee: PyYAML's pure-Python emitter, as the preview wrote every file before."""
    body = {k: sorted_keys(v) for k, v in data.items()} if isinstance(data, dict) else data
    return yaml.dump(body, Dumper=yaml.SafeDumper, sort_keys=False, default_flow_style=False, width=120)


def test_libyaml_is_there() -> None:
    """Without it every object takes the slow emitter: correct, and the tenants' preview 0.5 s slower."""
    assert hasattr(yaml, "CSafeDumper")


TENANTS = "llm-gateway:tenants=" + json.dumps(tenants_section(30, 3))


@pytest.mark.parametrize(("stack", "overrides"), [("lab", ()), ("enterprise", ()), ("lab", (TENANTS,))])
def test_every_manifest_of_the_stacks_is_written_as_before(stack: str, overrides: tuple[str, ...]) -> None:
    objects = [manifest(r) for r in run_cached(stack, *overrides).resources if is_kubernetes_object(r)]
    fast = [o for o in objects if emitted_alike({k: sorted_keys(v) for k, v in o.items()})]
    assert len(fast) > len(objects) / 2, "most objects should take libyaml"
    assert [dump_yaml(o) for o in objects] == [pure(o) for o in objects]


# Strings near the edges: YAML-significant (quoted), non-ASCII, tabs and line breaks (double-quoted),
# long ones of words, with or without one such character (folded), long keys (PyYAML writes a key of
# 123 characters or more as `? key`, libyaml only past 128), deep in mappings, lists and tuples.
_text = st.text(alphabet=st.sampled_from([*"ab:#-'\"\\\n\t{}[],&*!|>%@`é0.", " "]), max_size=40)
_words = st.lists(st.sampled_from(["a", "bb", "ccc", "dddd"]), min_size=20, max_size=60).map(" ".join)
_long = st.builds(
    lambda words, odd, at: " ".join([*words[:at], odd, *words[at:]]),
    st.lists(st.sampled_from(["a", "bb", "ccc", "dddd"]), min_size=20, max_size=60),
    st.sampled_from(["é", "\n", "\t", "x\ny", "ü"]),
    st.integers(0, 60),
)
_scalars = st.one_of(_text, _words, _long, st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False))
_keys = st.one_of(
    st.text(alphabet=st.sampled_from(list("abkz-_./ ")), min_size=1, max_size=60),
    st.integers(100, 140).map(lambda n: "k" * n),
    _long,
)
_trees = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.lists(inner, max_size=3).map(tuple), st.dictionaries(_keys, inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_keys, _trees, min_size=1, max_size=4))
def test_whatever_libyaml_is_given_it_writes_as_pyyaml_does(data: dict[str, Any]) -> None:
    assert dump_yaml(data) == pure(data)
