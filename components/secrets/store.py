"""SecretStore: how External Secrets Operator reads Google Secret Manager, one namespace at a time.

Every namespace that consumes secrets (`store_namespaces`) gets a `NamespaceSecretStore`, the
unit a tenant namespace reuses:
- a Google service account of its own (account id from `secrets.store`: `<gsa_prefix>-<namespace>`,
  hash-shortened, or `gsa_account_id` for the gateway namespace);
- a Kubernetes service account in that namespace (`secrets.eso.service_account`, no token
  mounted) annotated `iam.gke.io/gcp-service-account` with it, and
  `roles/iam.workloadIdentityUser` on the Google account for that KSA
  (`<project>.svc.id.goog[<ns>/<ksa>]`);
- a namespaced `SecretStore` (gcpsm, `auth.workloadIdentity`) acting as that KSA: ESO's
  controller requests the KSA's tokens (TokenRequest), and a SecretStore can only name a KSA of
  its own namespace, so no other namespace can use it.

Secret access is never granted here: whoever creates or references a GSM secret grants
`roles/secretmanager.secretAccessor` on that secret alone to the Google service account of each
namespace whose ExternalSecrets read it (`StoreAccess.accessor_email`), so each namespace reads
exactly what it consumes (tests/components/secrets/test_secret_reach.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.gcp import workload_identity_account, workload_identity_account_meta
from components.kit import custom_resource
from components.secrets.eso import StoreRef, secret_store
from config import GkeConfig, StackConfig
from config.secrets import consuming_namespaces


def store_namespaces(cfg: StackConfig) -> tuple[str, ...]:
    """Every namespace the program renders ExternalSecrets into: each gets its own store and identity."""
    return consuming_namespaces(cfg.namespaces)


def gsm_secret_path(project: str, secret_id: str) -> str:
    return f"projects/{project}/secrets/{secret_id}"


def grant_referenced_secret(
    resource_name: str,
    project: str,
    secret_id: str,
    accessor_email: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> gcp.secretmanager.SecretIamMember:
    """`secretAccessor` for the reading namespace's service account on one existing GSM secret.

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
    """What a component needs of one namespace's secret store, in one value.

    `ref` names the SecretStore its ExternalSecrets in that namespace read through;
    `accessor_email` is that namespace's Google service account, which each secret the
    component creates or references for that namespace grants `secretAccessor` on that
    secret alone.
    """

    ref: StoreRef
    accessor_email: pulumi.Input[str]

    @property
    def namespace(self) -> str | None:
        """The namespace whose ExternalSecrets use this store (None: not known, e.g. in a unit test)."""
        return self.ref.namespace


def reader_display_name(namespace: str) -> str:
    """The Google service account's display name (at most 100 characters)."""
    return f"llm-gateway secret reader of namespace {namespace} (ESO SecretStore)"


@dataclass(frozen=True)
class NamespaceStoreArgs:
    """One namespace's store: where, its names, the cluster (Workload Identity), its Google account."""

    namespace: str
    project: str
    gke: GkeConfig
    store_name: str
    """The SecretStore's name (`secrets.store.name`)."""
    service_account: str
    """The Kubernetes service account it authenticates as (`secrets.eso.service_account`)."""
    gsa_account_id: str
    """The Google service account's id (`StoreConfig.account_id`)."""

    @classmethod
    def from_config(cls, cfg: StackConfig, namespace: str) -> NamespaceStoreArgs:
        store = cfg.secrets.store
        return cls(
            namespace=namespace,
            project=cfg.gcp.project,
            gke=cfg.gke,
            store_name=store.name,
            service_account=cfg.secrets.eso.service_account,
            gsa_account_id=store.account_id(namespace, cfg.namespaces.gateway),
        )


STORE_ACCOUNT_APP = "external-secrets-store"


def reader_service_account_meta(args: NamespaceStoreArgs, gsa_email: str) -> dict[str, Any]:
    """Metadata of the Kubernetes service account the namespace's store authenticates as (Workload Identity)."""
    return workload_identity_account_meta(args.service_account, args.namespace, STORE_ACCOUNT_APP, gsa_email)


def store_manifest(args: NamespaceStoreArgs) -> dict[str, Any]:
    """The namespace's SecretStore, reading GSM as the namespace's Google service account."""
    return secret_store(
        name=args.store_name,
        namespace=args.namespace,
        project_id=args.project,
        cluster_location=args.gke.location,
        cluster_name=args.gke.cluster_name,
        service_account=args.service_account,
    )


class NamespaceSecretStore(pulumi.ComponentResource):
    """One namespace's Google service account, Kubernetes service account, binding and SecretStore."""

    access: StoreAccess
    gsa_email: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: NamespaceStoreArgs,
        opts: pulumi.ResourceOptions | None = None,
        gsa_aliases: tuple[pulumi.Alias, ...] = (),
    ) -> None:
        """`gsa_aliases`: what the Google service account was known as before (an existing install's)."""
        super().__init__("llm-gateway:secret_store:NamespaceSecretStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = workload_identity_account(
            name,
            account_id=args.gsa_account_id,
            display_name=reader_display_name(args.namespace),
            project=args.project,
            namespace=args.namespace,
            service_account=args.service_account,
            app=STORE_ACCOUNT_APP,
            opts=child,
            gsa_opts=pulumi.ResourceOptions(parent=self, aliases=list(gsa_aliases)),
        )
        gsa, binding, ksa = account.gsa, account.binding, account.service_account
        self.gsa_email = gsa.email
        store = custom_resource(
            f"{name}-secret-store",
            store_manifest(args),
            pulumi.ResourceOptions(parent=self, depends_on=[binding, ksa]),
        )
        # The email as the grants see it: known once the whole store exists, so every grant to this
        # namespace (and every ExternalSecret waiting for a grant) comes after the store. On an
        # upgrade from the single ClusterSecretStore, the ExternalSecrets switch to this store only
        # once it and its grants are in place; Pulumi deletes the old store after that.
        ready = pulumi.Output.all(gsa.email, binding.id, ksa.id, store.id).apply(lambda values: str(values[0]))
        self.access = StoreAccess(StoreRef(args.store_name, "SecretStore", args.namespace), ready)
        self.register_outputs({"namespace": args.namespace, "store": args.store_name, "gsa_email": self.gsa_email})


@dataclass(frozen=True)
class SecretStoreArgs:
    """Every consuming namespace's store, and which one keeps the single store's former account."""

    namespaces: tuple[NamespaceStoreArgs, ...]
    keeps_former_gsa: str | None = None
    """The namespace whose Google service account is the single-store layout's (`secrets.store.gsa_account_id`
    set: the gateway's), aliased so an existing install keeps that account and its grants."""

    @classmethod
    def from_config(cls, cfg: StackConfig) -> SecretStoreArgs:
        return cls(
            namespaces=tuple(NamespaceStoreArgs.from_config(cfg, ns) for ns in store_namespaces(cfg)),
            keeps_former_gsa=cfg.namespaces.gateway if cfg.secrets.store.gsa_account_id else None,
        )


class SecretStore(pulumi.ComponentResource):
    """The stores of every consuming namespace (`NamespaceSecretStore` each)."""

    stores: Mapping[str, NamespaceSecretStore]

    def __init__(self, name: str, args: SecretStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-gateway:secret_store:SecretStore", name, None, opts)
        stores = {}
        for ns_args in args.namespaces:
            # The single store's account was `<name>-gsa`, a child of this component.
            keeps = ns_args.namespace == args.keeps_former_gsa
            former = (pulumi.Alias(name=f"{name}-gsa", parent=self),) if keeps else ()
            stores[ns_args.namespace] = NamespaceSecretStore(
                f"{name}-{ns_args.namespace}", ns_args, pulumi.ResourceOptions(parent=self), gsa_aliases=former
            )
        self.stores = stores
        self.register_outputs({"gsa_emails": self.gsa_emails})

    @property
    def gsa_emails(self) -> dict[str, pulumi.Output[str]]:
        """Each consuming namespace's Google service account."""
        return {ns: store.gsa_email for ns, store in self.stores.items()}

    def access(self, namespace: str) -> StoreAccess:
        """The store of `namespace`; only namespaces of `store_namespaces` have one."""
        if namespace not in self.stores:
            raise KeyError(f"namespace {namespace} has no SecretStore (stores: {sorted(self.stores)})")
        return self.stores[namespace].access
