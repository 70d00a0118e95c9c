"""SharedState: the Redis that LiteLLM's processes share (`redis.mode`).

LiteLLM keeps its router's rpm/tpm counters and cooldowns, its response cache
and its spend transaction buffer per process unless they live in Redis; with
more than one process (replicas x workers) every limit then lets through a
multiple of its value. This component provides that Redis:

- `memorystore`: a Google Memorystore for Redis instance (AUTH on, TLS with
  server authentication, reachable only from the configured VPC). Google
  generates the AUTH string; it goes into GSM from the instance's
  `auth_string` output (a secret Output, never plaintext) and reaches the pods
  through ESO, like every credential. The TLS server CA takes the same path
  and is mounted as a file, so LiteLLM verifies the server.
- `in_cluster`: the official Valkey chart (valkey-io/valkey-helm) in the gateway
  namespace, `restricted` pods with a read-only root filesystem, ACL auth with
  the password generated into GSM and synced by ESO (`auth.usersExistingSecret`),
  NetworkPolicies that admit only its clients on the Redis port (LiteLLM's pods,
  and the other clients the root names, e.g. Langfuse's web and worker), the
  chart's own NetworkPolicy off. Its data must survive a restart
  (`config.redis.DATA_MUST_SURVIVE`): nothing is evicted, and with persistence
  every write reaches an append-only file on its volume.

The resource contents come from `components.redis.values`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.kit import helm_release, network_policies, stateful_options
from components.redis.values import (
    AUTH_SECRET,
    CA_KEY,
    CA_SECRET,
    PASSWORD_KEY,
    RedisWiring,
    in_cluster_wiring,
    memorystore_args,
    memorystore_wiring,
    server_ca_pem,
    valkey_chart,
    valkey_network_policies,
    valkey_values,
)
from components.secrets.eso import TargetSecret
from components.secrets.managed import ManagedSecret, ManagedSecretArgs, SecretConsumer, managed_secret_args
from components.secrets.store import StoreAccess
from config import DataSafetyConfig, RedisConfig, StackConfig
from config.inventory import MEMORYSTORE_AUTH, MEMORYSTORE_CA, REDIS_PASSWORD


def _consumer(name: str, key: str, ns: str) -> SecretConsumer:
    return SecretConsumer(resource_name=name, secret_key=key, target=TargetSecret(name=name, namespace=ns))


@dataclass(frozen=True)
class SharedStateArgs:
    redis: RedisConfig
    """The mode and the settings of the Memorystore instance or the in-cluster chart."""
    namespace: str
    """The gateway namespace (the in-cluster release, its NetworkPolicies, the credentials' Secrets)."""
    region: str
    """The GCP region of the Memorystore instance."""
    data_safety: DataSafetyConfig
    """Whether the Memorystore instance is protected from deletion."""
    auth: ManagedSecretArgs
    """The credential LiteLLM authenticates with: Memorystore's AUTH string (its value set from the
    instance here) or the generated in-cluster password; synced into `AUTH_SECRET`."""
    server_ca: ManagedSecretArgs | None
    """Memorystore's server CA (its value set from the instance here); None in-cluster."""
    litellm_pods: Mapping[str, str]
    """LiteLLM's pod selector labels: a client the in-cluster Redis admits."""
    other_clients: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Other pods the in-cluster Redis admits on its port, by name (e.g. `langfuse`: the labels Langfuse's web
    and worker pods share); each gets its NetworkPolicy `<release>-from-<name>`. They read the password from
    `AUTH_SECRET` (gateway namespace) like LiteLLM: `RedisWiring.auth_secret`/`password_key`."""

    @property
    def clients(self) -> dict[str, Mapping[str, str]]:
        """Every client of the shared Redis by name, LiteLLM first."""
        return {"litellm": self.litellm_pods, **self.other_clients}

    @classmethod
    def from_config(
        cls,
        cfg: StackConfig,
        store: StoreAccess,
        litellm_pods: Mapping[str, str],
        other_clients: Mapping[str, Mapping[str, str]] | None = None,
    ) -> SharedStateArgs:
        ns = cfg.namespaces.gateway
        auth_consumer = (_consumer(AUTH_SECRET, PASSWORD_KEY, ns),)
        memorystore = cfg.redis.mode == "memorystore"
        return cls(
            redis=cfg.redis,
            namespace=ns,
            region=cfg.gcp.region,
            data_safety=cfg.data_safety,
            auth=managed_secret_args(cfg, MEMORYSTORE_AUTH if memorystore else REDIS_PASSWORD, store, auth_consumer),
            server_ca=(
                managed_secret_args(cfg, MEMORYSTORE_CA, store, (_consumer(CA_SECRET, CA_KEY, ns),))
                if memorystore
                else None
            ),
            litellm_pods=litellm_pods,
            other_clients=dict(other_clients or {}),
        )


class SharedState(pulumi.ComponentResource):
    """The stack's Redis (memorystore or in-cluster) and its credentials in GSM -> ESO."""

    wiring: RedisWiring

    def __init__(self, name: str, args: SharedStateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-gateway:redis:SharedState", name, None, opts)
        redis, ns = args.redis, args.namespace
        child = pulumi.ResourceOptions(parent=self)
        if redis.mode == "memorystore":
            assert args.server_ca is not None  # from_config sets it for memorystore
            instance = gcp.redis.Instance(
                f"{name}-memorystore",
                **memorystore_args(redis.memorystore, args.region),
                opts=pulumi.ResourceOptions.merge(child, stateful_options(args.data_safety)),
            )
            # Google generates the AUTH string: GSM gets it from the instance (a secret Output).
            ManagedSecret(
                f"{name}-auth",
                dataclasses.replace(args.auth, value=pulumi.Output.secret(instance.auth_string)),
                child,
            )
            ManagedSecret(
                f"{name}-server-ca",
                dataclasses.replace(args.server_ca, value=instance.server_ca_certs.apply(server_ca_pem)),
                child,
            )
            self.wiring = memorystore_wiring(redis.memorystore, instance.host)
        else:
            password = ManagedSecret(f"{name}-password", args.auth, child)
            ic = redis.in_cluster
            helm_release(
                f"{name}-valkey",
                ic.release_name,
                ns,
                valkey_chart(ic),
                valkey_values(ic),
                pulumi.ResourceOptions(parent=self, depends_on=[password]),
            )
            network_policies(name, valkey_network_policies(ic, ns, args.clients), child)
            self.wiring = in_cluster_wiring(ic, ns)
        self.register_outputs({"mode": redis.mode})
