"""What a run of the program under the mock engine recorded, and the helpers to read it.

`Recorded` is one resource registration (type, name, parent, inputs, options), `ProgramRun`
a whole run. Secrets arrive wrapped in Pulumi's secret signature: `unwrap_secrets` reads
through it, `redact_secrets` turns each secret into `[secret]` (what the preview writes).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270"
REDACTED = "[secret]"


@dataclass(frozen=True)
class Recorded:
    """One resource registration as the engine received it."""

    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    protect: bool = False
    retain_on_delete: bool = False
    aliases: tuple[str, ...] = ()
    """Names this resource was known by before (from its `pulumi.Alias`es)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Every resource option as registered, for resources.json and diffs: protect, retain_on_delete,
    aliases (type aliases included), dependencies, delete_before_replace, replace_on_changes, ignore_changes."""

    @property
    def plain_inputs(self) -> Any:
        """Inputs with secrets unwrapped and integral floats turned back into ints."""
        return normalize(unwrap_secrets(self.inputs))

    @property
    def redacted_inputs(self) -> Any:
        return normalize(redact_secrets(self.inputs))


@dataclass
class ProgramRun:
    stack: str
    resources: list[Recorded]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    generated_secrets: set[str] = field(default_factory=set)
    protected: set[str] = field(default_factory=set)
    """Names of resources registered with both `protect` and `retain_on_delete`."""

    def of_type(self, type_: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> Recorded:
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources named {name!r}")
        return found[0]

    def custom_resources(self, kind: str) -> list[dict[str, Any]]:
        """Rendered Kubernetes custom resources of a kind (plain values)."""
        return [r.plain_inputs for r in self.resources if is_kubernetes_object(r) and r.inputs.get("kind") == kind]

    def kubernetes_objects(self) -> list[dict[str, Any]]:
        """Every Kubernetes object (not Helm releases, not providers), secrets redacted."""
        return [manifest(r) for r in self.resources if is_kubernetes_object(r)]


def is_secret_wrapper(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE


def _map(value: Any, on_secret: Any) -> Any:
    if is_secret_wrapper(value):
        return on_secret(value.get("value"))
    if isinstance(value, dict):
        return {k: _map(v, on_secret) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_map(v, on_secret) for v in value]
    return value


def unwrap_secrets(value: Any) -> Any:
    return _map(value, lambda inner: unwrap_secrets(inner))


def redact_secrets(value: Any) -> Any:
    return _map(value, lambda _inner: REDACTED)


def normalize(value: Any) -> Any:
    """The mock engine hands numbers over as floats; Kubernetes wants integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


def is_kubernetes_object(r: Recorded) -> bool:
    return (
        r.custom
        and r.type.startswith("kubernetes:")
        and not r.type.startswith("kubernetes:helm.sh/")
        and not r.type.startswith("pulumi:providers:")
    )


_MANIFEST_ORDER = ("apiVersion", "kind", "metadata")


def manifest(r: Recorded) -> dict[str, Any]:
    """A Kubernetes object exactly as the API server would receive it (secrets redacted)."""
    body = r.redacted_inputs
    ordered = {k: body[k] for k in _MANIFEST_ORDER if k in body}
    ordered.update({k: v for k, v in body.items() if k not in _MANIFEST_ORDER})
    return ordered


def walk_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from walk_strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from walk_strings(v)
