"""SecretStore: how External Secrets Operator reads Google Secret Manager.

Encapsulates:
- a Google service account for ESO (or the email of an existing store's one);
- `roles/iam.workloadIdentityUser` for the Kubernetes service account ESO's
  store authenticates as (`<project>.svc.id.goog[<ns>/<ksa>]`), and that KSA
  annotated with `iam.gke.io/gcp-service-account`;
- a `ClusterSecretStore` (provider `gcpsm`, `auth.workloadIdentity`) whose
  `spec.conditions` admit exactly the namespaces the program renders
  ExternalSecrets into (`store_namespaces`): one Google service account and
  one store, rather than a namespaced SecretStore, Kubernetes service account
  and Workload Identity binding per namespace.

Secret access is never granted here: each ManagedSecret grants
`roles/secretmanager.secretAccessor` on itself only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.kit import custom_resource, metadata, object_meta, workload_identity_member
from components.secrets.eso import StoreRef, cluster_secret_store
from config import EsoConfig, GkeConfig, StackConfig, StoreConfig


def store_namespaces(cfg: StackConfig) -> tuple[str, ...]:
    """Every namespace the program renders ExternalSecrets into: the only ones the store admits.

    The gateway namespace (LiteLLM, database, Langfuse, SSO, alerting) and Grafana's
    (the datasource Secret its sidecar imports).
    """
    return tuple(sorted({cfg.namespaces.gateway, cfg.namespaces.grafana}))


def gsm_secret_path(project: str, secret_id: str) -> str:
    return f"projects/{project}/secrets/{secret_id}"


def grant_referenced_secret(
    resource_name: str,
    project: str,
    secret_id: str,
    accessor_email: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> gcp.secretmanager.SecretIamMember:
    """`secretAccessor` for the store's service account on one existing GSM secret.

    For secrets their owners create (provider keys, receiver credentials, the OIDC
    client secret): the program never writes them, and never grants project-wide.
    """
    return gcp.secretmanager.SecretIamMember(
        resource_name,
        project=project,
        secret_id=gsm_secret_path(project, secret_id),
        role="roles/secretmanager.secretAccessor",
        member=pulumi.Output.concat("serviceAccount:", accessor_email),
        opts=opts,
    )


@dataclass(frozen=True)
class StoreAccess:
    """What a component needs of the secret store, in one value.

    `ref` names the ClusterSecretStore its ExternalSecrets read through;
    `accessor_email` is ESO's Google service account, which each secret the
    component creates or references grants `secretAccessor` on that secret alone.
    """

    ref: StoreRef
    accessor_email: pulumi.Input[str]


GSA_DISPLAY_NAME = "llm-gateway External Secrets Operator (Secret Manager reader)"


@dataclass(frozen=True)
class SecretStoreArgs:
    """What the store needs: the project, the cluster (Workload Identity), its own settings, the namespaces."""

    project: str
    gke: GkeConfig
    store: StoreConfig
    eso: EsoConfig
    namespaces: tuple[str, ...]
    """The namespaces the store admits (`store_namespaces`)."""

    @classmethod
    def from_config(cls, cfg: StackConfig) -> SecretStoreArgs:
        return cls(
            project=cfg.gcp.project,
            gke=cfg.gke,
            store=cfg.secrets.store,
            eso=cfg.secrets.eso,
            namespaces=store_namespaces(cfg),
        )


def eso_service_account_meta(eso: EsoConfig, gsa_email: str) -> dict[str, Any]:
    """Metadata of the Kubernetes service account ESO's store authenticates as (Workload Identity)."""
    return metadata(
        eso.service_account,
        eso.namespace,
        app="external-secrets-store",
        annotations={"iam.gke.io/gcp-service-account": gsa_email},
    )


def store_manifest(args: SecretStoreArgs) -> dict[str, Any]:
    """The ClusterSecretStore reading GSM as the store's Google service account."""
    return cluster_secret_store(
        name=args.store.name,
        project_id=args.project,
        cluster_location=args.gke.location,
        cluster_name=args.gke.cluster_name,
        service_account=args.eso.service_account,
        service_account_namespace=args.eso.namespace,
        namespaces=args.namespaces,
    )


class SecretStore(pulumi.ComponentResource):
    store: StoreRef
    gsa_email: pulumi.Output[str]

    @property
    def access(self) -> StoreAccess:
        return StoreAccess(self.store, self.gsa_email)

    def __init__(self, name: str, args: SecretStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-gateway:secret_store:SecretStore", name, None, opts)
        store_cfg = args.store
        eso = args.eso
        self.store = StoreRef(name=store_cfg.name)
        child = pulumi.ResourceOptions(parent=self)

        if not store_cfg.create:
            assert store_cfg.gsa_email is not None  # enforced by StoreConfig
            self.gsa_email = pulumi.Output.from_input(store_cfg.gsa_email)
            self.register_outputs({"store": self.store.name, "gsa_email": self.gsa_email})
            return

        assert store_cfg.gsa_account_id is not None  # enforced by StoreConfig
        gsa = gcp.serviceaccount.Account(
            f"{name}-gsa",
            account_id=store_cfg.gsa_account_id,
            display_name=GSA_DISPLAY_NAME,
            project=args.project,
            opts=child,
        )
        self.gsa_email = gsa.email
        binding = gcp.serviceaccount.IAMMember(
            f"{name}-workload-identity",
            service_account_id=gsa.name,
            role="roles/iam.workloadIdentityUser",
            member=workload_identity_member(args.project, eso.namespace, eso.service_account),
            opts=child,
        )
        ksa = k8s.core.v1.ServiceAccount(
            f"{name}-ksa",
            metadata=gsa.email.apply(lambda email: object_meta(eso_service_account_meta(eso, email))),
            automount_service_account_token=False,
            opts=child,
        )
        custom_resource(
            f"{name}-cluster-secret-store",
            store_manifest(args),
            pulumi.ResourceOptions(parent=self, depends_on=[binding, ksa]),
        )
        self.register_outputs({"store": self.store.name, "gsa_email": self.gsa_email})
