"""Pulumi's mock engine, recording: `RecordingMocks` answers each registration with plausible
outputs (ids, emails, generated passwords; generated values are remembered so tests can
prove they never appear outside a secret) and `RecordingMonitor` records each registration's
parent and resource options.

The engine hands values over its own way: a secret wrapped in Pulumi's secret signature
(`unwrap_secrets` reads through it, `redact_secrets` turns it into `[secret]`), every
number as a float (`normalize` gives Kubernetes its integers back).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270"
REDACTED = "[secret]"
MOCK_PROJECT_NUMBER = "123456789012"
"""The project number `gcp.organizations.get_project` answers offline."""


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
        elif args.typ == "tls:index/privateKey:PrivateKey":
            # Provider-generated: a private key (recorded as generated, so a leak shows up).
            seed = hashlib.sha256(args.name.encode()).hexdigest()
            state.update(
                privateKeyPem=f"-----BEGIN EC PRIVATE KEY-----\nMOCKKEY{seed[:40]}\n-----END EC PRIVATE KEY-----\n"
            )
            self.generated_secrets.add(state["privateKeyPem"].split("\n")[1])
        elif args.typ == "tls:index/selfSignedCert:SelfSignedCert":
            seed = hashlib.sha256(args.name.encode()).hexdigest()
            state.update(certPem=f"-----BEGIN CERTIFICATE-----\nMOCKCERT{seed[:40]}\n-----END CERTIFICATE-----\n")
        self.states[(args.typ, args.name)] = state
        self.inputs[(args.typ, args.name)] = dict(args.inputs)
        return rid, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == "gcp:organizations/getProject:getProject":
            # A stand-in project number (IAM conditions name GSM resources by it).
            return {"projectId": self.gcp_project, "number": MOCK_PROJECT_NUMBER}, []
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
        """The SDK's `MockMonitor.RegisterResource` (the mocks' id and state, serialised as the answer), answering
        without re-serialising the inputs the state echoes, then recording the registration."""
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ENSURE_EVENT_LOOP()  # deserialising a resource reference needs one on this thread
        inputs = rpc.deserialize_properties(request.object)
        args = pulumi.runtime.MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=inputs,
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
            transforms=pulumi_mocks._resolve_callbacks(request.transforms),
        )
        rid, state = self.mocks.new_resource(args)
        id_ = rid or ""
        answer = state_struct(request.object, inputs, state)
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_, state)
        response = resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=answer)
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


_ENSURE_EVENT_LOOP: Callable[[], object] = pulumi_mocks._ensure_event_loop  # type: ignore[attr-defined]


def serialized(values: Mapping[str, Any]) -> Any:
    """`values` as the SDK serialises a mock's state (`serialize_properties`), awaited through the mock module's
    `_sync_await` as the SDK's mock monitor does (offline/run.py makes it `await_now` inside a run)."""
    return pulumi_mocks._sync_await(rpc.serialize_properties(values, {}))  # type: ignore[attr-defined]


def state_struct(sent: Any, inputs: Mapping[str, Any], state: Mapping[str, Any]) -> Any:
    """A registration's answer: `state` serialised. A state that holds every input unchanged (the very objects
    deserialised from `sent`) plus new keys is `sent` with the new keys' serialisation added, the bytes the
    whole state's serialisation gives (the SDK's serialising undoes its deserialising), without re-serialising
    each resource's inputs; any other state is serialised whole."""
    added = {k: v for k, v in state.items() if k not in inputs}
    if len(state) - len(added) != len(inputs) or any(state[k] is not v for k, v in inputs.items()):
        return serialized(state)
    answer = type(sent)()  # a protobuf Struct
    answer.CopyFrom(sent)
    if added:
        extra = serialized(added)
        for key in extra.fields:
            answer.fields[key].CopyFrom(extra.fields[key])
    return answer


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
