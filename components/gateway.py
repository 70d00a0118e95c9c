"""LlmGateway: the root component; wires every concern from one StackConfig.

Encapsulates the providers (GCP project/region and the kube context, both
from config), the gateway namespace, the secret stores (one per consuming
namespace), and the managed secrets. Each concern lives in its own component module; this one only
connects their outputs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.database.args import DatabaseArgs
from components.database.component import Database
from components.database.endpoint import DatabaseEndpoint
from components.kit import metadata, namespace_options, object_meta
from components.langfuse.component import Langfuse, LangfuseArgs
from components.langfuse.credentials import litellm_tracing
from components.langfuse.database import database_tenant
from components.langfuse.names import app_labels
from components.langfuse.names import names as langfuse_names
from components.litellm.component import LiteLLM, LiteLLMArgs
from components.litellm.names import selector_labels
from components.litellm.wiring import AdminFrontDoor, GatewayWiring, gateway_wiring
from components.observability.alerting import Alerting, AlertingArgs
from components.observability.dashboards import Dashboards, DashboardsArgs
from components.observability.datasource import GrafanaDatasource, GrafanaDatasourceArgs
from components.redis.component import SharedState, SharedStateArgs
from components.redis.values import RedisWiring
from components.reporting.component import Reporting, ReportingArgs
from components.secrets.eso import TargetSecret
from components.secrets.managed import ManagedSecret, SecretConsumer, managed_secret_args
from components.secrets.store import SecretStore, SecretStoreArgs
from components.sso import values as sso_values
from components.sso.component import Sso, SsoArgs
from components.tenants.component import Tenants, TenantsArgs
from components.tenants.manifests import pod_labels as reconciler_pod_labels
from components.tenants.view import tenants_output
from config import StackConfig
from config.footprint import as_output as footprint_output
from config.inventory import MASTER_KEY, SALT_KEY, SecretSpec
from config.langfuse_v4 import V3_WARNING

MASTER_KEY_SECRET = "litellm-master-key"
MASTER_KEY_DATA_KEY = "masterkey"
SALT_KEY_SECRET = "litellm-salt-key"
SALT_KEY_ENV = "LITELLM_SALT_KEY"


def gateway_namespace(name: str, cfg: StackConfig, child: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
    """The gateway namespace (PSA `restricted`) when the stack creates it; returns the options of
    everything inside it, which waits for it."""
    if not cfg.namespaces.create_gateway:
        return child
    restricted = {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted"}
    namespace = k8s.core.v1.Namespace(
        f"{name}-namespace",
        metadata=object_meta(metadata(cfg.namespaces.gateway, app="llm-gateway", extra_labels=restricted)),
        opts=pulumi.ResourceOptions.merge(child, namespace_options(cfg)),
    )
    return pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[namespace]))


def wire_litellm(cfg: StackConfig, endpoint: DatabaseEndpoint, redis: RedisWiring | None) -> GatewayWiring:
    """What LiteLLM is wired to: the database, its keys, Langfuse's tracing, the shared Redis and,
    with SSO, oauth2-proxy in front of the admin surface."""
    tracing = litellm_tracing(cfg)
    wired = gateway_wiring(cfg, endpoint, MASTER_KEY_SECRET, MASTER_KEY_DATA_KEY, SALT_KEY_SECRET, tracing)
    admin = (
        AdminFrontDoor(tuple(sso_values.ingress_paths(cfg)), sso_values.ingress_annotations(cfg))
        if cfg.sso.enabled
        else None
    )
    # The tenants' reconciler calls the management API from the gateway namespace.
    clients = (reconciler_pod_labels(),) if cfg.tenants.enabled else ()
    return dataclasses.replace(wired, redis=redis, admin=admin, api_clients=clients)


@dataclass(frozen=True)
class LlmGatewayArgs:
    config: StackConfig
    """The validated stack config (`config.load_stack_config`)."""
    admin_password: pulumi.Input[str] | None = None
    """The external PostgreSQL server's admin password (stack secret `postgresAdminPassword`); None without one."""


class LlmGateway(pulumi.ComponentResource):
    outputs: dict[str, Any]

    def __init__(self, name: str, args: LlmGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-gateway:gateway:LlmGateway", name, None, opts)
        cfg = args.config
        gcp_provider = gcp.Provider(
            f"{name}-gcp", project=cfg.gcp.project, region=cfg.gcp.region, opts=pulumi.ResourceOptions(parent=self)
        )
        k8s_provider = k8s.Provider(f"{name}-k8s", context=cfg.kube_context, opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, providers=[gcp_provider, k8s_provider])

        ns = cfg.namespaces.gateway
        in_ns = gateway_namespace(name, cfg, child)

        # One store and identity per consuming namespace; everything that reads secrets in a namespace
        # waits for that namespace's store (the gateway's needs the namespace itself).
        stores = SecretStore(f"{name}-secret-store", SecretStoreArgs.from_config(cfg), in_ns)
        in_ns = pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[stores]))
        in_grafana = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[stores]))
        store = stores.access(ns)
        grafana_store = stores.access(cfg.namespaces.grafana)

        def one_key_secret(suffix: str, spec: SecretSpec, secret: str, key: str) -> ManagedSecret:
            """A generated value synced into one Kubernetes Secret of the gateway namespace."""
            consumer = SecretConsumer(
                resource_name=secret, secret_key=key, target=TargetSecret(name=secret, namespace=ns)
            )
            return ManagedSecret(f"{name}-{suffix}", managed_secret_args(cfg, spec, store, (consumer,)), in_ns)

        master_key = one_key_secret("master-key", MASTER_KEY, MASTER_KEY_SECRET, MASTER_KEY_DATA_KEY)
        # Encrypts the credentials LiteLLM stores in its database; generated once, never rotated
        # (rotation "never"), so rotating the master key leaves them readable.
        salt_key = one_key_secret("salt-key", SALT_KEY, SALT_KEY_SECRET, SALT_KEY_ENV)
        database = Database(
            f"{name}-database",
            DatabaseArgs.from_config(
                cfg,
                store,
                selector_labels(cfg.litellm),
                admin_password=args.admin_password,
                tenants=(database_tenant(cfg),) if cfg.langfuse.enabled else (),
                grafana_store=grafana_store,
            ),
            in_ns,
        )
        # Shared state for the proxy's processes and Langfuse's queues (redis.mode); LiteLLM waits for its
        # credentials. Langfuse's web and worker pods are its other clients (config refuses Langfuse without it).
        shared = (
            SharedState(
                f"{name}-redis",
                SharedStateArgs.from_config(
                    cfg,
                    store,
                    selector_labels(cfg.litellm),
                    {"langfuse": app_labels(langfuse_names(cfg))} if cfg.langfuse.enabled else None,
                ),
                in_ns,
            )
            if cfg.redis.mode != "none"
            else None
        )
        # Tracing: created only when enabled; LiteLLM waits for its keys' ExternalSecret only.
        langfuse: Langfuse | None = None
        if cfg.langfuse.enabled:
            assert shared is not None  # config.redis.langfuse_redis_problems refuses Langfuse without a shared Redis
            langfuse = Langfuse(
                f"{name}-langfuse",
                LangfuseArgs.from_config(cfg, store, database, shared, shared.wiring, database.postgres_provider),
                pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[database])),
            )
        wired = wire_litellm(cfg, database.endpoint_info, shared.wiring if shared else None)
        gateway = LiteLLM(
            f"{name}-litellm",
            LiteLLMArgs.from_config(cfg, wired, store),
            pulumi.ResourceOptions.merge(
                in_ns,
                pulumi.ResourceOptions(
                    depends_on=[
                        master_key,
                        salt_key,
                        database,
                        *([langfuse.litellm_keys] if langfuse else []),
                        *([shared] if shared else []),
                    ]
                ),
            ),
        )
        if cfg.sso.enabled:
            Sso(f"{name}-sso", SsoArgs.from_config(cfg, store), in_ns)
        Reporting(
            f"{name}-reporting",
            ReportingArgs.from_config(cfg, database.endpoint_info),
            pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[database])),
        )
        GrafanaDatasource(
            f"{name}-grafana-datasource",
            GrafanaDatasourceArgs.from_config(cfg, database.endpoint_info, grafana_store),
            # grafana_ro's GSM secret and its grant to Grafana's namespace come with the database.
            pulumi.ResourceOptions.merge(in_grafana, pulumi.ResourceOptions(depends_on=[database])),
        )
        if cfg.tenants.enabled:
            # Teams and keys: the reconciler's Job runs once LiteLLM's release (and its master key) is up.
            Tenants(
                f"{name}-tenants",
                TenantsArgs.from_config(cfg, (MASTER_KEY_SECRET, MASTER_KEY_DATA_KEY)),
                pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[gateway, master_key])),
            )
        Dashboards(f"{name}-dashboards", DashboardsArgs.from_config(cfg), child)
        Alerting(f"{name}-alerting", AlertingArgs.from_config(cfg, store), in_ns)
        self.outputs = {
            "gateway_namespace": ns,
            "secret_store": cfg.secrets.store.name,
            # The Google service account each namespace reads its secrets as.
            "secret_readers": stores.gsa_emails,
            "master_key_secret": MASTER_KEY_SECRET,
            "master_key_gsm_secret": master_key.gsm_secret_id,
            "database": database.endpoint(),
            "litellm_service": gateway.service_host,
            # CPU/memory requests and limits of every workload (config/footprint.py).
            "footprint": footprint_output(cfg),
        }
        if cfg.tenants.enabled:
            # Teams and keys as declared (no key value): the preview's table, the diff's Tenants section.
            self.outputs["tenants"] = tenants_output(cfg.tenants, cfg.litellm)
        if langfuse is not None:
            self.outputs["langfuse_url"] = langfuse.url
            self.outputs["langfuse_otel_host"] = langfuse.otel_host
            if cfg.langfuse.version == "3":
                # Shown by `pulumi preview` (the log) and tools.preview (this output).
                pulumi.log.warn(V3_WARNING, resource=langfuse)
                self.outputs["warnings"] = [V3_WARNING]
        self.register_outputs(self.outputs)
