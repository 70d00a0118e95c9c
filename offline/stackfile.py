"""The stack files and the command line's config inputs, as the Pulumi CLI would hand them over.

`read_stack_config` reads the `config:` mapping of Pulumi.<stack>.yaml strictly, `stack_settings`
what the program reads beside it (the `secretsprovider`, as `__main__.py` does);
`apply_override` applies one `--set NS:KEY.PATH=VALUE` as `pulumi config set --path`
would, `parse_secret` one `--secret NS:KEY=VALUE`; `as_pulumi_config` flattens the
result to the strings a program receives. `config_error_message` names the input
(the file or a `--set`) behind each problem of a ConfigError.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from config import NAMESPACE, SECRET_KEYS, ConfigError, parse_config, read_namespace
from config.checks import StackSettings
from config.key_path import KeyPathError, parse_key_path, set_path
from config.load import read_stack_settings
from offline.inputs import InputError, load_yaml, read_yaml_mapping

ROOT = Path(__file__).resolve().parent.parent

# The stacks this repository ships (snapshots, benchmarks and tests cover these);
# a personal Pulumi.<name>.yaml beside them is previewable but never globbed into them.
STACKS = ("lab", "enterprise")


def stack_file(stack: str) -> Path:
    return ROOT / f"Pulumi.{stack}.yaml"


def read_stack_config(stack: str) -> dict[str, Any]:
    """The `config:` mapping of Pulumi.<stack>.yaml; InputError for anything malformed."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", stack):
        raise InputError(f"stack name {stack!r}: letters, digits, '.', '_' and '-' only")
    path = stack_file(stack)
    if not path.is_file():
        raise InputError(f"no stack file {path.name} (stacks: {', '.join(available_stacks())})")
    doc = read_yaml_mapping(path, path.name)
    config = doc.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise InputError(f"{path.name}: 'config' must be a mapping of NAMESPACE:KEY to values")
    return dict(config)


def stack_settings(stack: str) -> StackSettings:
    """The stack file's `secretsprovider`, read as the running program reads it."""
    return read_stack_settings(stack_file(stack))


def available_stacks() -> list[str]:
    """Every Pulumi.<name>.yaml in the repository root (personal stacks included)."""
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in ROOT.glob("Pulumi.*.yaml"))


def apply_override(config: dict[str, Any], assignment: str) -> None:
    """Apply `ns:key.path=value` (value parsed as YAML) like `pulumi config set --path`: `.key`, `[index]` and
    `["key"]` segments (config/key_path.py)."""
    key, sep, raw = assignment.partition("=")
    namespace, colon, dotted = key.partition(":")
    if not sep or not colon or not namespace or not dotted:
        raise InputError(f"--set expects NAMESPACE:KEY[.PATH]=VALUE, got {assignment!r}")
    try:
        segments = parse_key_path(f"{namespace}:{dotted}")
    except KeyPathError as exc:
        raise InputError(f"--set {key}: {exc}") from None
    value = load_yaml(raw, f"--set {key} value") if raw != "" else ""
    try:
        set_path(config, segments, value)
    except KeyPathError as exc:
        raise InputError(f"--set {key}: {exc}") from None


def parse_secret(item: str) -> tuple[str, dict[str, str]]:
    """`NS:KEY=VALUE` of `--secret` as the stack file stores a secret; only known stack secrets."""
    key, sep, value = item.partition("=")
    known = sorted(f"{NAMESPACE}:{k}" for k in SECRET_KEYS)
    if not sep:
        raise InputError(f"--secret expects NAMESPACE:KEY=VALUE, got {key!r} without '='")
    if key not in known:
        raise InputError(f"--secret {key}: not a stack secret of this program (known: {', '.join(known)})")
    if value == "":
        raise InputError(f"--secret {key}: the value is empty")
    return key, {"secure": value}


def as_pulumi_config(config: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Stack-file values as the Pulumi CLI hands them to a program: strings, objects as JSON."""
    flat: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            secret_keys.append(key)
            value = value["secure"]
        if isinstance(value, dict | list):
            flat[key] = json.dumps(value, default=str)
        elif isinstance(value, bool):
            flat[key] = "true" if value else "false"
        else:
            flat[key] = str(value)
    return flat, secret_keys


def overridden_config(stack: str, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The `config:` mapping of Pulumi.<stack>.yaml with `--set`-style overrides applied in order."""
    config = read_stack_config(stack)
    for assignment in overrides:
        apply_override(config, assignment)
    return config


def _secrets_present(config: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(k for k in SECRET_KEYS if config.get(f"{NAMESPACE}:{k}"))


def _problems(message: str) -> list[list[str]]:
    """A ConfigError message's problems: each `  - KEY: ...` line with its continuation lines."""
    problems: list[list[str]] = []
    for line in message.splitlines()[1:]:
        if line.startswith("  - ") or not problems:
            problems.append([line])
        else:
            problems[-1].append(line)
    return problems


def _touches(key: str, assignment: str) -> bool:
    """Whether `--set assignment` set `key` (NS:dotted.path), a key below it, or a key above it."""
    target = assignment.partition("=")[0]
    return any(a == b or a.startswith((b + ".", b + "[")) for a, b in ((key, target), (target, key)))


def config_error_message(
    stack: str, overrides: Sequence[str], error: ConfigError, extra_config: Mapping[str, Any] | None = None
) -> str:
    """The ConfigError of `stack` with `--set` overrides, each problem named by the input that caused it.

    A problem the stack file has on its own (checked without the overrides) is the file's; any other
    one comes from the `--set` that touched its key, or from the overrides together (a cross-section
    rule, a required secret).
    """
    message = str(error)
    file_name = stack_file(stack).name
    if not overrides:
        return f"{file_name}: {message}"
    config = {**read_stack_config(stack), **(extra_config or {})}
    try:
        flat, _ = as_pulumi_config(config)
        parse_config(read_namespace(flat), _secrets_present(config), stack_settings(stack))
        file_problems: set[str] = set()
    except ConfigError as exc:
        file_problems = {"\n".join(p) for p in _problems(str(exc))}
    named: list[tuple[list[str], list[str]]] = []
    for problem in _problems(message):
        key = problem[0].removeprefix("  - ").split(": ", 1)[0]
        if "\n".join(problem) in file_problems:
            sources = [file_name]
        else:
            keys = [a.partition("=")[0] for a in overrides if _touches(key, a)]
            sources = [f"--set {k}" for k in keys or [a.partition("=")[0] for a in overrides]]
        named.append((problem, sources))
    inputs = list(dict.fromkeys(s for _, sources in named for s in sources))
    lines = [f"{' and '.join(inputs)}: {message.splitlines()[0]}"]
    for problem, sources in named:
        tag = f" ({', '.join(sources)})" if len({tuple(s) for _, s in named}) > 1 else ""
        lines += [problem[0] + tag, *problem[1:]]
    return "\n".join(lines)
