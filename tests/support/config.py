"""Config helpers: a stack file's raw namespace, edits of it, and the one error it gets.

`namespace(stack)` is what `__main__.py` hands `parse_config` for Pulumi.<stack>.yaml
(the `llm-gateway:` keys, nested); the edit helpers return deep copies, so a test never
changes another's input.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import pytest

from components.redis.values import RedisWiring, in_cluster_wiring, memorystore_wiring
from config import SECRET_KEYS, CnpgConfig, ConfigError, StackConfig, parse_config, read_namespace
from offline.stackfile import as_pulumi_config, overridden_config, read_stack_config, stack_settings
from tests.support.program import SECRET_CONFIG


def namespace(stack: str) -> dict[str, Any]:
    """The raw `llm-gateway` namespace of Pulumi.<stack>.yaml, as the program reads it."""
    flat, _ = as_pulumi_config(read_stack_config(stack))
    return read_namespace(flat)


def stack_config(stack: str) -> StackConfig:
    """The parsed config of Pulumi.<stack>.yaml: its values and the defaults it leaves out."""
    return parse_config(namespace(stack))


def alone_config(stack: str, overrides: Sequence[str] = ()) -> StackConfig:
    """A shipped stack's config with `--set` overrides and every stack secret present: what a
    component built alone (`run_components`) is given."""
    flat, _ = as_pulumi_config(overridden_config(stack, overrides))
    return parse_config(read_namespace(flat), SECRET_KEYS, stack_settings(stack))


def cnpg_section(cfg: StackConfig) -> CnpgConfig:
    """The `postgres.cnpg` section of a config on the CNPG engine (fails the test otherwise)."""
    found = getattr(cfg.postgres, "cnpg", None)
    assert isinstance(found, CnpgConfig), f"postgres.engine is {cfg.postgres.engine}, not cnpg"
    return found


def scenario_config(stack: str, *overrides: str) -> StackConfig:
    """The parsed config of a scenario (tests/support/program.py) without running the program:
    the stack file, `--set`-style overrides, and the stack secret."""
    flat, _ = as_pulumi_config({**overridden_config(stack, overrides), **SECRET_CONFIG})
    present = frozenset(key.partition(":")[2] for key in SECRET_CONFIG)
    return parse_config(read_namespace(flat), present)


def errors_for(raw: dict[str, Any]) -> str:
    """The ConfigError message `raw` gets (fails the test when the config is accepted)."""
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    return str(info.value)


def _parent(raw: dict[str, Any], path: str, *, create: bool = False) -> tuple[dict[str, Any], str]:
    *parents, last = path.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {}) if create else node[part]
    return node, last


def with_value(stack: str, path: str, value: Any) -> dict[str, Any]:
    """The stack's namespace with the dotted `path` set to `value` (sections the stack file
    leaves out are added)."""
    raw = copy.deepcopy(namespace(stack))
    node, last = _parent(raw, path, create=True)
    node[last] = value
    return raw


def without(stack: str, path: str) -> dict[str, Any]:
    """The stack's namespace with the dotted `path` removed."""
    raw = copy.deepcopy(namespace(stack))
    node, last = _parent(raw, path)
    del node[last]
    return raw


MEMORYSTORE_HOST = "10.200.0.3"
"""The Memorystore instance's address in tests that build Langfuse's values alone (the program gets it from the
instance's `host` output)."""


def redis_wiring(cfg: StackConfig) -> RedisWiring:
    """What `SharedState` wires for the stack's `redis.mode` (in-cluster Valkey or Memorystore)."""
    redis = cfg.redis
    if redis.mode == "memorystore":
        return memorystore_wiring(redis.memorystore, MEMORYSTORE_HOST)
    assert redis.mode == "in_cluster", "Langfuse needs the shared Redis"
    return in_cluster_wiring(redis.in_cluster, cfg.namespaces.gateway)
