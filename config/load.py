"""Loading: Pulumi's `llm-gateway:` config map to a `StackConfig`, or one `ConfigError`.

Pulumi hands structured config to the program as JSON strings, one per
top-level key (`llm-gateway:gcp`, `llm-gateway:postgres`, ...). `read_namespace`
collects them; `parse_config` validates them (the section models of
config/stack.py, then the whole-stack checks of config/checks.py); `load_stack_config`
does both for the running program. A bad stack file is answered by one
`ConfigError` that names every bad key path, what was expected and what was found.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Mapping
from difflib import get_close_matches
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, ValidationError

from config.checks import StackSettings, secrets_provider_problem, stack_problems
from config.stack import StackConfig
from config.types import PATTERN_EXAMPLES, ConfigProblemError

NAMESPACE = "llm-gateway"

# Config keys that hold secrets are read with `require_secret` where they are
# used; they are never part of the validated model (and never in a stack file).
SECRET_KEYS = frozenset({"postgresAdminPassword"})


class ConfigError(pulumi.RunError):
    """Invalid stack configuration; Pulumi prints a `RunError` without a traceback."""


def _describe(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _key(part: str | int) -> str:
    """A path element, quoted when it would be ambiguous or unprintable."""
    text = str(part)
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else json.dumps(text)


def _path(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """`litellm.models[0].fallbacks[1]` from pydantic's location tuple."""
    out = ""
    for part in parts:
        if isinstance(part, str) and part.startswith("function-"):
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{_key(part)}" if out else _key(part))
    return out


def _join(path: str, relative: str) -> str:
    if not path:
        return relative
    return path + relative if relative.startswith("[") else f"{path}.{relative}"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The section models an annotation holds (looking through lists, optionals and unions)."""
    candidates = [annotation, *typing.get_args(annotation)]
    candidates += [inner for c in candidates for inner in typing.get_args(c)]
    return [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]


def _located(loc: tuple[str | int, ...]) -> tuple[tuple[str | int, ...], type[BaseModel] | None]:
    """pydantic's location as key path parts (no validator names, no union tags such as
    postgres' engine) and the section model validated there."""
    parts: list[str | int] = []
    model: type[BaseModel] | None = StackConfig
    rest = [p for p in loc if not (isinstance(p, str) and p.startswith("function-"))]
    while rest:
        part = rest.pop(0)
        parts.append(part)
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model is not None else None
        models = _models_in(field.annotation) if field is not None else []
        model = models[0] if models else None
        if field is not None and isinstance(field.discriminator, str) and rest:
            tag, key = rest.pop(0), field.discriminator
            model = next((m for m in models if tag in typing.get_args(m.model_fields[key].annotation)), None)
    return tuple(parts), model


def _field_named_first(model: type[BaseModel] | None, message: str) -> str | None:
    """A section rule's message that starts with one of the section's fields ("bucket is
    required when ...") is reported under that field's key path."""
    first = message.split(" ", 1)[0]
    return first if model is not None and first in model.model_fields else None


def _did_you_mean(loc: tuple[str | int, ...]) -> str:
    """`; did you mean llm-gateway:postgres.cnpg.instances?`: the key of the same section nearest to
    the unknown key at `loc`, if one is close (difflib's ratio of at least 0.6)."""
    parent, model = _located(loc[:-1])
    if model is None or not isinstance(loc[-1], str):
        return ""
    nearest = get_close_matches(loc[-1], list(model.model_fields), n=1)
    return f"; did you mean {NAMESPACE}:{_join(_path(parent), nearest[0])}?" if nearest else ""


def _problem_lines(err: Any) -> list[str]:
    loc, model = _located(tuple(err["loc"]))
    path = _path(loc)
    where = f"{NAMESPACE}:{path}" if path else NAMESPACE
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        return [f"  - {where}: unknown key (not part of the config schema){_did_you_mean(tuple(err['loc']))}"]
    if kind == "missing":
        return [f"  - {where}: required key is missing"]
    if kind in ("union_tag_not_found", "union_tag_invalid"):  # the discriminator, e.g. postgres.engine
        key = ctx["discriminator"].strip("'")
        if kind == "union_tag_not_found":
            return [f"  - {NAMESPACE}:{_join(path, key)}: required key is missing"]
        tags = " or ".join(ctx["expected_tags"].split(", "))
        return [f"  - {NAMESPACE}:{_join(path, key)}: Input should be {tags} (got {_describe(err['input'][key])})"]
    cause = ctx.get("error")
    if isinstance(cause, ConfigProblemError):
        return [f"  - {NAMESPACE}:{_join(path, rel)}: {message}" for rel, message in cause.problems]
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        expected = PATTERN_EXAMPLES.get(pattern, "a value of the documented form (see docs/configuration.md)")
        return [f"  - {where}: expected {expected} (got {_describe(err['input'])})"]
    msg = err["msg"].removeprefix("Value error, ")
    if isinstance(err["input"], dict | list):  # a whole section: never dump it
        field = _field_named_first(model, msg)
        return [f"  - {NAMESPACE}:{_join(path, field)}: {msg}" if field else f"  - {where}: {msg}"]
    return [f"  - {where}: {msg} (got {_describe(err['input'])})"]


def _report(lines: list[str]) -> str:
    count = sum(1 for line in lines if line.startswith("  - "))
    return f"invalid stack config ({count} problem{'s' if count != 1 else ''}):\n" + "\n".join(lines)


def _format_errors(exc: ValidationError) -> str:
    return _report([line for err in exc.errors(include_url=False) for line in _problem_lines(err)])


def _missing_secrets(raw: Mapping[str, Any], secrets_present: frozenset[str]) -> list[str]:
    """The stack secrets the raw config needs but does not have (their values are never read)."""
    postgres = raw.get("postgres")
    if (
        isinstance(postgres, dict)
        and postgres.get("engine") == "external"
        and "postgresAdminPassword" not in secrets_present
    ):
        return [
            f"  - {NAMESPACE}:postgresAdminPassword: required secret for postgres.engine external is not set "
            f"(pulumi config set --secret {NAMESPACE}:postgresAdminPassword)"
        ]
    return []


def parse_config(
    raw: Mapping[str, Any], secrets_present: frozenset[str] = frozenset(), stack: StackSettings | None = None
) -> StackConfig:
    """Validate the decoded namespace; raise one ConfigError listing every problem.

    `secrets_present` names the stack secrets (SECRET_KEYS) that are set; their
    values are never read here. `stack`: what the stack file says beside the config
    (its secrets provider); given, a production stack's provider is checked. The
    whole-stack checks (config/checks.py) need a config whose sections are valid, so
    they are reported once every section problem is fixed.
    """
    lines = _missing_secrets(raw, secrets_present)
    try:
        cfg = StackConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(_report([*_format_errors(exc).splitlines()[1:], *lines])) from None
    problems = stack_problems(cfg)
    provider = secrets_provider_problem(cfg, stack) if stack is not None else None
    lines += [f"  - {NAMESPACE}:{key}: {text}" for key, text in [*problems, *([provider] if provider else [])]]
    if lines:
        raise ConfigError(_report(lines))
    return cfg


def read_namespace(values: Mapping[str, Any]) -> dict[str, Any]:
    """Decode the `llm-gateway:*` entries of Pulumi's flat config map.

    Each top-level key is a section; Pulumi passes it as a JSON string.
    """
    out: dict[str, Any] = {}
    problems = []
    prefix = f"{NAMESPACE}:"
    for full_key, value in sorted(values.items()):
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        if key in SECRET_KEYS:
            continue
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                problems.append(f"  - {full_key}: expected a mapping (a config section), got {_describe(value)}")
                continue
        out[key] = value
    if problems:
        raise ConfigError("invalid stack config:\n" + "\n".join(problems))
    return out


def read_stack_settings(path: Path) -> StackSettings:
    """The `secretsprovider` of a stack file (Pulumi.<stack>.yaml); no file or no key: the default provider."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: not valid YAML ({exc})") from None
    provider = doc.get("secretsprovider") if isinstance(doc, dict) else None
    if provider is not None and not isinstance(provider, str):
        raise ConfigError(f"{path.name}: secretsprovider must be a string such as gcpkms://..., got {provider!r}")
    return StackSettings(path.name, provider or None)


def load_stack_config(stack: StackSettings) -> StackConfig:
    """The running program's config: Pulumi's config map, validated, with what its stack file says
    beside it (`read_stack_settings`)."""
    values: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    present = frozenset(key for key in SECRET_KEYS if values.get(f"{NAMESPACE}:{key}"))
    return parse_config(read_namespace(values), present, stack)
