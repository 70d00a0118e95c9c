"""LlmGateway: the root component; wires every concern from one StackConfig.

Encapsulates the providers (GCP project/region and the kube context, both
from config), the gateway namespace, the secret store, and the managed
secrets. Each concern lives in its own component module; this one only
connects their outputs.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.config import StackConfig
from components.eso import TargetSecret
from components.inventory import MASTER_KEY, SecretSpec, gsm_secret_id
from components.k8s import metadata
from components.managed_secret import ManagedSecret, ManagedSecretArgs, SecretConsumer
from components.secret_store import SecretStore

MASTER_KEY_SECRET = "litellm-master-key"
MASTER_KEY_DATA_KEY = "masterkey"


def managed_secret_args(
    cfg: StackConfig, spec: SecretSpec, consumers: tuple[SecretConsumer, ...], store: SecretStore
) -> ManagedSecretArgs:
    return ManagedSecretArgs(
        spec=spec,
        gsm_secret_id=gsm_secret_id(cfg, spec),
        rotation=cfg.secrets.rotation.get(spec.key, 0),
        replication=cfg.secrets.replication,
        deletion_protection=cfg.secrets.deletion_protection,
        safety=cfg.data_safety,
        store=store.store,
        refresh_interval=cfg.secrets.refresh_interval,
        consumers=consumers,
    )


class LlmGateway(pulumi.ComponentResource):
    master_key_secret_name: str

    def __init__(self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-gateway:gateway:LlmGateway", name, None, opts)
        gcp_provider = gcp.Provider(
            f"{name}-gcp", project=cfg.gcp.project, region=cfg.gcp.region, opts=pulumi.ResourceOptions(parent=self)
        )
        k8s_provider = k8s.Provider(
            f"{name}-k8s", context=cfg.kube_context, opts=pulumi.ResourceOptions(parent=self)
        )
        child = pulumi.ResourceOptions(parent=self, providers=[gcp_provider, k8s_provider])

        ns = cfg.namespaces.gateway
        if cfg.namespaces.create_gateway:
            k8s.core.v1.Namespace(
                f"{name}-namespace",
                metadata=metadata(
                    ns,
                    app="llm-gateway",
                    extra_labels={
                        "pod-security.kubernetes.io/enforce": "restricted",
                        "pod-security.kubernetes.io/warn": "restricted",
                    },
                ),
                opts=child,
            )

        store = SecretStore(f"{name}-secret-store", cfg, child)

        master_key = ManagedSecret(
            f"{name}-master-key",
            managed_secret_args(
                cfg,
                MASTER_KEY,
                (
                    SecretConsumer(
                        resource_name=MASTER_KEY_SECRET,
                        secret_key=MASTER_KEY_DATA_KEY,
                        target=TargetSecret(name=MASTER_KEY_SECRET, namespace=ns),
                    ),
                ),
                store,
            ),
            store.gsa_email,
            child,
        )
        self.master_key_secret_name = MASTER_KEY_SECRET
        self.outputs = {
            "gateway_namespace": ns,
            "secret_store": store.store.name,
            "eso_service_account": store.gsa_email,
            "master_key_secret": MASTER_KEY_SECRET,
            "master_key_gsm_secret": master_key.gsm_secret_id,
        }
        self.register_outputs(self.outputs)
