"""Run the real Pulumi program under Pulumi's mock engine, with no CLI and no cloud.

This is the engine behind `python -m tools.preview` and the test harness:
`run_stack("lab")` reads `Pulumi.lab.yaml`, applies `--set`-style overrides,
executes `__main__.py` with `set_mocks(..., preview=False)` (so every `apply`
runs) in a fresh event loop and a fresh context, and returns every registered
resource with its type, name, parent and inputs.

Provider-computed values (ids, service-account emails, generated passwords)
are plausible placeholders made up by `RecordingMocks`; generated passwords
are recorded so tests can prove they never appear outside a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import hashlib
import json
import re
import runpy
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.stack import run_pulumi_func

from config import NAMESPACE, SECRET_KEYS, ConfigError, StackConfig, parse_config, read_namespace
from tools.inputs import InputError, load_yaml, read_yaml_mapping

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "llm-gateway"
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


# --- value helpers -----------------------------------------------------------


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


# --- the mock engine ---------------------------------------------------------


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers every registration with plausible outputs and records it."""

    def __init__(self, gcp_project: str) -> None:
        self.gcp_project = gcp_project
        self.generated_secrets: set[str] = set()
        self.states: dict[tuple[str, str], dict[str, Any]] = {}
        self.inputs: dict[tuple[str, str], dict[str, Any]] = {}

    @staticmethod
    def _seed(name: str, inputs: Mapping[str, Any]) -> bytes:
        """Name and inputs: a random resource replaced with new keepers gets a new value, as in the cloud."""
        return hashlib.sha256(f"{name}:{json.dumps(inputs, sort_keys=True, default=str)}".encode()).digest()

    def _fake_password(self, name: str, inputs: Mapping[str, Any]) -> str:
        # Deterministic, unmistakable, and full of URL-special characters so a
        # leak or a broken quoting shows up in tests.
        length = int(inputs.get("length", 32))
        seed = self._seed(name, inputs).hex()
        value = (f"Mk{seed}p@s:/?#" * 4)[: max(length, 16)]
        self.generated_secrets.add(value)
        return value

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = unwrap_secrets(args.inputs)
        state: dict[str, Any] = dict(args.inputs)
        project = inputs.get("project") or self.gcp_project
        rid = f"{args.name}-id"
        if args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = self._fake_password(args.name, inputs)
        elif args.typ == "random:index/randomBytes:RandomBytes":
            raw = self._seed(args.name, inputs) * 4
            data = raw[: int(inputs.get("length", 32))]
            state["hex"] = data.hex()
            import base64

            state["base64"] = base64.b64encode(data).decode()
            # Also the URL-safe form ManagedSecret derives for `generator: base64url`.
            self.generated_secrets.update({state["hex"], state["base64"], base64.urlsafe_b64encode(data).decode()})
        elif args.typ == "gcp:serviceaccount/account:Account":
            email = f"{inputs['accountId']}@{project}.iam.gserviceaccount.com"
            state.update(
                email=email, name=f"projects/{project}/serviceAccounts/{email}", member=f"serviceAccount:{email}"
            )
            rid = state["name"]
        elif args.typ == "gcp:secretmanager/secret:Secret":
            rid = f"projects/{project}/secrets/{inputs['secretId']}"
            state.update(name=rid)
        elif args.typ == "gcp:storage/bucket:Bucket":
            state.update(url=f"gs://{inputs.get('name', args.name)}")
            rid = str(inputs.get("name", args.name))
        elif args.typ == "gcp:storage/hmacKey:HmacKey":
            # Provider-generated credentials: an access id and a secret (recorded as generated).
            seed = hashlib.sha256(args.name.encode()).hexdigest()
            state.update(accessId=f"GOOG1E{seed[:24].upper()}", secret=f"Hm{seed[:38]}+/=")
            self.generated_secrets.add(state["secret"])
        elif args.typ == "gcp:redis/instance:Instance":
            # Google-generated: the AUTH string (recorded as generated), the server CA, a TEST-NET address.
            seed = hashlib.sha256(args.name.encode()).hexdigest()
            state.update(
                host="192.0.2.10",
                port=6378,
                authString=f"Ms{seed[:34]}",
                serverCaCerts=[{"cert": f"-----BEGIN CERTIFICATE-----\nMOCK{seed[:16]}\n-----END CERTIFICATE-----"}],
            )
            self.generated_secrets.add(state["authString"])
        self.states[(args.typ, args.name)] = state
        self.inputs[(args.typ, args.name)] = dict(args.inputs)
        return rid, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also remembering each registration's parent."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[tuple[str, str, str, str, bool]] = []
        self.guarded: set[str] = set()
        self.options: dict[str, tuple[bool, bool, tuple[str, ...]]] = {}
        self.registered: dict[str, dict[str, Any]] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append((response.urn, request.type, request.name, request.parent, bool(request.custom)))
            if request.protect and request.retainOnDelete:
                self.guarded.add(request.name)
            aliases = [a.spec.name or a.urn.rpartition("::")[2] for a in request.aliases]
            aliases += [u.rpartition("::")[2] for u in request.aliasURNs]
            self.options[response.urn] = (
                bool(request.protect),
                bool(request.retainOnDelete),
                tuple(a for a in aliases if a and a != request.name),
            )
            self.registered[response.urn] = registered_options(request)
        return response


def _urn_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def registered_options(request: Any) -> dict[str, Any]:
    """The resource options of one registration, by name, in a stable order (for diffs)."""
    aliases: set[str] = {_urn_name(u) for u in request.aliasURNs}
    for alias in request.aliases:
        if alias.urn:
            aliases.add(_urn_name(alias.urn))
        else:
            spec = alias.spec
            where = (
                f" (parent {_urn_name(spec.parentUrn)})" if spec.parentUrn else " (no parent)" if spec.noParent else ""
            )
            aliases.add(f"{spec.name or '<same name>'}{f' ({spec.type})' if spec.type else ''}{where}")
    return {
        "protect": bool(request.protect),
        "retain_on_delete": bool(request.retainOnDelete),
        "aliases": sorted(aliases),
        "dependencies": sorted({_urn_name(u) for u in request.dependencies}),
        "delete_before_replace": bool(request.deleteBeforeReplace),
        "replace_on_changes": sorted(request.replaceOnChanges),
        "ignore_changes": sorted(request.ignoreChanges),
    }


# --- config ------------------------------------------------------------------


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


def available_stacks() -> list[str]:
    """Every Pulumi.<name>.yaml in the repository root (personal stacks included)."""
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in ROOT.glob("Pulumi.*.yaml"))


def apply_override(config: dict[str, Any], assignment: str) -> None:
    """Apply `ns:key.path=value` (value parsed as YAML) like `pulumi config set --path`."""
    key, sep, raw = assignment.partition("=")
    namespace, colon, dotted = key.partition(":")
    if not sep or not colon or not namespace or not dotted:
        raise InputError(f"--set expects NAMESPACE:KEY[.PATH]=VALUE, got {assignment!r}")
    parts = dotted.split(".")
    if any(not part for part in parts):
        raise InputError(f"--set {key}: empty key in the path (two dots, or a dot at an end)")
    value = load_yaml(raw, f"--set {key} value") if raw != "" else ""
    top, *path = f"{namespace}:{dotted}".split(".")
    if not path:
        config[top] = value
        return
    node = config.setdefault(top, {})
    for i, part in enumerate(path):
        if not isinstance(node, dict):
            where = ".".join([top, *path[:i]])
            raise InputError(f"--set {key}: {where} is not a mapping, so it has no key {part!r}")
        if i == len(path) - 1:
            node[part] = value
        else:
            node = node.setdefault(part, {})


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


def stack_config(stack: str, overrides: Sequence[str] = ()) -> StackConfig:
    """A shipped stack's typed config with `--set` overrides, every stack secret present (for one component)."""
    flat, _ = as_pulumi_config(overridden_config(stack, overrides))
    return parse_config(read_namespace(flat), SECRET_KEYS)


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
        parse_config(read_namespace(flat), _secrets_present(config))
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


# --- running -----------------------------------------------------------------


def run_stack(stack: str, overrides: Sequence[str] = (), extra_config: Mapping[str, Any] | None = None) -> ProgramRun:
    config = overridden_config(stack, overrides)
    if extra_config:
        config.update(extra_config)
    return run_config(stack, config)


def run_config(stack: str, config: Mapping[str, Any], program: Path = ROOT / "__main__.py") -> ProgramRun:
    """Run `program` for `config` in a fresh context (no state leaks between runs)."""

    def program_main() -> None:
        runpy.run_path(str(program), run_name="__main__")

    with gc_paused():
        return contextvars.Context().run(_run, stack, dict(config), program_main)


@contextlib.contextmanager
def gc_paused() -> Generator[None, None, None]:
    """No cyclic garbage collection inside: a program run allocates about a million objects but
    leaves few cycles, so the collector's passes over everything the imports created cost a fifth
    of the run and free next to nothing (the peak memory is the same). Collection resumes after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run_components(
    build: Callable[[], None], stack: str = "components", gcp_project: str = "mock-project"
) -> ProgramRun:
    """Run `build` (which constructs components, e.g. one component alone) under the mock engine."""
    config = {f"{PROJECT}:gcp": {"project": gcp_project}}
    with gc_paused():
        return contextvars.Context().run(_run, stack, config, build)


def _run(stack: str, config: dict[str, Any], program: Callable[[], None]) -> ProgramRun:
    gcp = config.get(f"{PROJECT}:gcp")
    gcp_project = gcp.get("project", "mock-project") if isinstance(gcp, dict) else "mock-project"
    mocks = RecordingMocks(str(gcp_project))
    monitor = RecordingMonitor(mocks)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        flat, secret_keys = as_pulumi_config(config)
        pulumi.runtime.set_all_config(flat, secret_keys)
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)

        loop.run_until_complete(run_pulumi_func(program))
        outputs, secret_outputs = loop.run_until_complete(_stack_outputs())
    finally:
        loop.close()
        asyncio.set_event_loop(None)

    names = {urn: name for urn, _t, name, _p, _c in monitor.registrations}
    resources = []
    for urn, type_, name, parent_urn, custom in monitor.registrations:
        protect, retain, aliases = monitor.options.get(urn, (False, False, ()))
        state = mocks.states.get((type_, name), {})
        resources.append(
            Recorded(
                type=type_,
                name=name,
                parent=names.get(parent_urn),
                custom=custom,
                inputs=mocks.inputs.get((type_, name), {}),
                outputs=state,
                protect=protect,
                retain_on_delete=retain,
                aliases=aliases,
                options=monitor.registered.get(urn, {}),
            )
        )
    return ProgramRun(stack, resources, outputs, secret_outputs, set(mocks.generated_secrets), set(monitor.guarded))


async def _stack_outputs() -> tuple[dict[str, Any], set[str]]:
    from pulumi.runtime.settings import get_root_resource

    root = get_root_resource()
    values: dict[str, Any] = {}
    secrets: set[str] = set()
    for key, value in (getattr(root, "outputs", None) or {}).items():
        out = pulumi.Output.from_input(value)
        values[key] = await out.future()
        if await out.is_secret():
            secrets.add(key)
    return values, secrets


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
