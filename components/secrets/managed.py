"""ManagedSecret: a credential generated once, kept in GSM, synced by ESO.

Encapsulates:
- a `pulumi_random.RandomPassword` (length/alphabet from the caller's policy);
  its only keeper is the rotation generation, so nothing but a deliberate
  bump of `secrets.rotation.<key>` replaces the value;
- a GSM `Secret` (replication, labels, deletion protection, data-safety options) and a
  `SecretVersion` holding the value (old versions are disabled, not destroyed);
- a `roles/secretmanager.secretAccessor` grant on this secret only, to the
  secret store's Google service account;
- one `ExternalSecret` per consumer, rendering the value into a Kubernetes
  Secret (with an ESO template when the consumer needs a shape).

The value stays a secret Output end to end; no Kubernetes Secret is written
by the program.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from components.kit import custom_resource, stateful_options
from components.secrets.eso import RemoteEntry, StoreRef, TargetSecret, external_secret
from config import DataSafetyConfig, ReplicationConfig, StackConfig
from config.inventory import SecretSpec, gsm_secret_id


@dataclass(frozen=True)
class SecretConsumer:
    """One ExternalSecret rendering the value for one consumer."""

    resource_name: str
    """Name of the ExternalSecret object (and stem of its Pulumi resource name)."""
    secret_key: str
    """Key the value is read under (and the data key when there is no template)."""
    target: TargetSecret


@dataclass(frozen=True)
class ManagedSecretArgs:
    spec: SecretSpec
    gsm_secret_id: str
    rotation: int
    replication: ReplicationConfig
    deletion_protection: bool
    safety: DataSafetyConfig
    store: StoreRef
    refresh_interval: str
    consumers: tuple[SecretConsumer, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)


def managed_secret_args(
    cfg: StackConfig, spec: SecretSpec, store: StoreRef, consumers: tuple[SecretConsumer, ...] = ()
) -> ManagedSecretArgs:
    """A ManagedSecret's settings for one inventory entry, from the stack config."""
    return ManagedSecretArgs(
        spec=spec,
        gsm_secret_id=gsm_secret_id(cfg, spec),
        rotation=cfg.secrets.rotation.get(spec.key, 0),
        replication=cfg.secrets.replication,
        deletion_protection=cfg.secrets.deletion_protection,
        safety=cfg.data_safety,
        store=store,
        refresh_interval=cfg.secrets.refresh_interval,
        consumers=consumers,
    )


def basic_auth_consumer(
    resource_name: str,
    namespace: str,
    username: str,
    labels: Mapping[str, str],
    extra_template: Mapping[str, str] | None = None,
) -> SecretConsumer:
    """A `kubernetes.io/basic-auth` Secret {username, password, ...extra} rendered from the value."""
    return SecretConsumer(
        resource_name=resource_name,
        secret_key="password",
        target=TargetSecret(
            name=resource_name,
            namespace=namespace,
            secret_type="kubernetes.io/basic-auth",
            labels=labels,
            template_data={"username": username, "password": "{{ .password }}", **(extra_template or {})},
        ),
    )


def urlsafe_base64(standard: str) -> str:
    """Standard base64 (RandomBytes.base64) as URL-safe base64, padding kept (`tr -- '+/' '-_'`)."""
    return standard.replace("+", "-").replace("/", "_")


def secret_options(
    spec: SecretSpec, safety: DataSafetyConfig, child: pulumi.ResourceOptions
) -> tuple[pulumi.ResourceOptions, pulumi.ResourceOptions]:
    """(GSM secret, value and version) options: see `SecretSpec.rotation` and `disposable`."""
    stateful = pulumi.ResourceOptions.merge(child, stateful_options(safety))
    secret = child if spec.disposable else stateful
    return secret, stateful if spec.rotation == "never" else child


def replication_args(replication: ReplicationConfig) -> gcp.secretmanager.SecretReplicationArgsDict:
    if replication.mode == "automatic":
        return {"auto": {}}
    return {"user_managed": {"replicas": [{"location": loc} for loc in replication.locations]}}


def gsm_labels(args: ManagedSecretArgs) -> dict[str, str]:
    return {"app": "llm-gateway", "managed-by": "pulumi", "secret": args.spec.key, **args.labels}


def consumer_manifests(args: ManagedSecretArgs) -> list[dict[str, Any]]:
    return [
        external_secret(
            name=c.resource_name,
            store=args.store,
            entries=[RemoteEntry(secret_key=c.secret_key, gsm_secret_id=args.gsm_secret_id)],
            target=c.target,
            refresh_interval=args.refresh_interval,
        )
        for c in args.consumers
    ]


class ManagedSecret(pulumi.ComponentResource):
    value: pulumi.Output[str]
    gsm_secret_id: str

    def __init__(
        self,
        name: str,
        args: ManagedSecretArgs,
        accessor_email: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
        value: pulumi.Input[str] | None = None,
    ) -> None:
        """`value`: the secret for a `generator: provider` spec (kept secret); otherwise generated here."""
        super().__init__("llm-gateway:managed_secret:ManagedSecret", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # The GSM secret holds every version: it carries the data-safety options. A rotation
        # replaces the value and its version, so those stay unprotected, except for a value
        # stored data depends on (rotation "never"): protect refuses any replacement of it.
        secret_opts, value_opts = secret_options(args.spec, args.safety, child)
        policy = args.spec.policy
        if (value is None) != (policy.generator != "provider"):
            raise ValueError(f"{args.spec.key}: a value is given exactly for generator 'provider'")
        # The rotation generation is the only keeper: nothing else replaces the value.
        keepers = {"rotation": str(args.rotation)}
        generated: pulumi.Input[str]
        if value is not None:
            generated = value
        elif policy.generator in ("hex", "base64url"):
            raw = random.RandomBytes(f"{name}-value", length=policy.length, keepers=keepers, opts=value_opts)
            generated = raw.hex if policy.generator == "hex" else raw.base64.apply(urlsafe_base64)
        else:
            generated = random.RandomPassword(
                f"{name}-value",
                length=policy.length,
                special=policy.special,
                override_special=policy.override_special or None,
                keepers=keepers,
                opts=value_opts,
            ).result
        self.value = pulumi.Output.secret(pulumi.Output.from_input(generated).apply(lambda r: f"{policy.prefix}{r}"))
        self.gsm_secret_id = args.gsm_secret_id

        secret = gcp.secretmanager.Secret(
            f"{name}-gsm",
            secret_id=args.gsm_secret_id,
            replication=replication_args(args.replication),
            deletion_protection=args.deletion_protection,
            labels=gsm_labels(args),
            annotations={"llm-gateway/used-by": args.spec.used_by},
            opts=secret_opts,
        )
        version = gcp.secretmanager.SecretVersion(
            f"{name}-version",
            secret=secret.id,
            secret_data=self.value,
            deletion_policy="DISABLE",
            opts=value_opts,
        )
        grant = gcp.secretmanager.SecretIamMember(
            f"{name}-accessor",
            secret_id=secret.id,
            role="roles/secretmanager.secretAccessor",
            member=pulumi.Output.concat("serviceAccount:", accessor_email),
            opts=child,
        )
        for manifest in consumer_manifests(args):
            custom_resource(
                f"{name}-{manifest['metadata']['name']}",
                manifest,
                pulumi.ResourceOptions(parent=self, depends_on=[version, grant]),
            )
        self.register_outputs({"gsm_secret_id": args.gsm_secret_id})
