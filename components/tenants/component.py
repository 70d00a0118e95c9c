"""Tenants: one GSM secret per declared key, its delivery into the tenant's namespace, and the reconciler's run.

- Each key: a GSM `Secret` (id `<secrets.prefix>tenant-<team>-<key>`, labels team / key-alias /
  cost-centre, the stack's replication; deletion protection and `retain_on_delete` always, not
  `protect`: the secret is the key value's only copy, so a key removed from config is forgotten by
  Pulumi and its value stays in GSM). No SecretVersion: the reconciler generates the value and
  adds the versions, so no key value ever reaches Pulumi state.
- The reconciler's identity: KSA `litellm-tenants` (gateway namespace) acting as its own Google
  service account (Workload Identity), granted `secretVersionAdder` and `secretAccessor` once each,
  on the project, under an IAM condition admitting only secrets (and their versions) whose id starts
  with the tenant prefix `<secrets.prefix>tenant-` (`key_condition`; config/checks.py refuses a stack
  secret with that prefix): two grants, whatever the number of keys (docs/decisions.md).
- Delivery: each tenant namespace gets the per-namespace store unit (`NamespaceSecretStore`), whose
  Google service account reads exactly that namespace's keys, and one ExternalSecret per key
  (Secret `<deliver.secret>`, data key `api-key`). `gsm_only` keys: no ExternalSecret, no grant.
- The run: a ConfigMap with the desired document and the reconciler's source, a Job named by their
  hash (after the LiteLLM release: the caller's depends_on) and a CronJob for drift, NetworkPolicies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.gcp import workload_identity_account
from components.kit import custom_resource, network_policies, object_meta, service_host
from components.litellm.names import selector_labels, service_name
from components.secrets.managed import replication_args
from components.secrets.store import NamespaceSecretStore, NamespaceStoreArgs
from components.tenants import manifests
from components.tenants.desired import desired_document, document_text, run_hash
from config import API_PORT, KeyDelivery, ReplicationConfig, Resources, StackConfig
from config.tenants import (
    all_keys,
    reconciler_account_id,
    tenant_key_gsm_id,
    tenant_key_gsm_prefix,
    tenant_namespaces,
)

SECRET_ROLES = ("roles/secretmanager.secretVersionAdder", "roles/secretmanager.secretAccessor")
"""The reconciler's roles on the tenant key secrets: add a version (a new value), read the latest. No
predefined role holds both (`secretVersionManager` lacks `versions.access`), hence two grants."""


def key_condition(project: str, project_number: str, id_prefix: str) -> dict[str, str]:
    """The IAM condition of the reconciler's grants: a secret's (or its version's) resource name starts
    with `projects/<project>/secrets/<id_prefix>`. IAM names GSM resources by project number; the
    project id form is kept beside it so the condition holds whichever form a request is checked under."""
    terms = [f'resource.name.startsWith("projects/{p}/secrets/{id_prefix}")' for p in (project_number, project)]
    return {
        "title": "tenant key secrets",
        "description": f"Secret Manager secrets whose id starts with {id_prefix} (llm-gateway tenants)",
        "expression": " || ".join(terms),
    }


def gsm_label(value: str) -> str:
    """A GSM label value: lowercase letters, digits, '_' and '-', at most 63 characters."""
    return re.sub(r"[^a-z0-9_-]", "_", value.lower())[:63]


@dataclass(frozen=True)
class TenantKeySecret:
    """One declared key's GSM secret and where ESO delivers it (None: `gsm_only`)."""

    gsm_secret_id: str
    labels: Mapping[str, str]
    delivery: KeyDelivery | None


@dataclass(frozen=True)
class TenantsArgs:
    namespace: str
    """The gateway namespace: the reconciler's KSA, ConfigMap, Job, CronJob and NetworkPolicies."""
    project: str
    document: str
    """The desired document's text (components/tenants/desired.py)."""
    reconciler_source: str
    keys: tuple[TenantKeySecret, ...]
    stores: tuple[NamespaceStoreArgs, ...]
    """One per tenant namespace a key is delivered into."""
    key_id_prefix: str
    """What every key's GSM secret id starts with (`tenant_key_gsm_prefix`): the grants' condition."""
    gsa_account_id: str
    image: str
    """The pinned LiteLLM image (`litellm.image`): the reconciler needs only its python3."""
    litellm_url: str
    litellm_pods: Mapping[str, str]
    master_key: tuple[str, str]
    """(Secret, data key) of the master key in the gateway namespace."""
    schedule: str
    resources: Resources
    google_apis_cidrs: tuple[str, ...]
    replication: ReplicationConfig
    refresh_interval: str

    @classmethod
    def from_config(cls, cfg: StackConfig, master_key: tuple[str, str], source: str | None = None) -> TenantsArgs:
        """`source`: the reconciler's text (default: read from components/tenants/reconciler.py)."""
        t, prefix = cfg.tenants, cfg.secrets.prefix
        keys = tuple(
            TenantKeySecret(
                gsm_secret_id=tenant_key_gsm_id(prefix, team, key),
                labels={
                    "app": "llm-gateway",
                    "managed-by": "pulumi",
                    "team": gsm_label(team.alias),
                    "key-alias": gsm_label(key.alias),
                    "cost-centre": gsm_label(team.cost_centre),
                },
                delivery=key.deliver,
            )
            for _, team, _, key in all_keys(t)
        )
        ns = cfg.namespaces.gateway
        return cls(
            namespace=ns,
            project=cfg.gcp.project,
            document=document_text(desired_document(t, cfg.litellm, cfg.gcp.project, prefix)),
            reconciler_source=manifests.reconciler_source() if source is None else source,
            keys=keys,
            stores=tuple(NamespaceStoreArgs.from_config(cfg, tns) for tns in tenant_namespaces(t)),
            key_id_prefix=tenant_key_gsm_prefix(prefix),
            gsa_account_id=reconciler_account_id(t, cfg.secrets.store.gsa_prefix),
            image=cfg.litellm.image,
            litellm_url=f"http://{service_host(service_name(cfg.litellm), ns)}:{API_PORT}",
            litellm_pods=selector_labels(cfg.litellm),
            master_key=master_key,
            schedule=t.reconcile_schedule,
            resources=t.resources,
            google_apis_cidrs=tuple(t.google_apis_cidrs),
            replication=cfg.secrets.replication,
            refresh_interval=cfg.secrets.refresh_interval,
        )


class Tenants(pulumi.ComponentResource):
    """The tenants' GSM secrets, their delivery, and the reconciler's identity, ConfigMap, Job and CronJob."""

    def __init__(self, name: str, args: TenantsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("llm-gateway:tenants:Tenants", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        kept = pulumi.ResourceOptions(parent=self, retain_on_delete=True)  # a key's only copy: never deleted by Pulumi
        account = workload_identity_account(
            name,
            account_id=args.gsa_account_id,
            display_name="llm-gateway tenants reconciler (adds and reads tenant key versions)",
            project=args.project,
            namespace=args.namespace,
            service_account=manifests.NAME,
            app=manifests.APP,
            opts=child,
        )
        member = pulumi.Output.concat("serviceAccount:", account.gsa.email)
        stores = {s.namespace: NamespaceSecretStore(f"{name}-store-{s.namespace}", s, child) for s in args.stores}
        # One `serviceAccount:<reader>` per tenant namespace, shared by its keys' grants (one Output, not one per key).
        readers = {ns: pulumi.Output.concat("serviceAccount:", s.access.accessor_email) for ns, s in stores.items()}
        ready: list[pulumi.Resource] = [account.binding, account.service_account]
        number = gcp.organizations.get_project_output(project_id=args.project).number
        condition = number.apply(
            lambda n: gcp.projects.IAMMemberConditionArgs(**key_condition(args.project, str(n), args.key_id_prefix))
        )
        ready += [
            gcp.projects.IAMMember(
                f"{name}-keys-{role.rsplit('.', 1)[-1]}",
                project=args.project,
                role=role,
                member=member,
                condition=condition,
                opts=child,
            )
            for role in SECRET_ROLES
        ]
        for key in args.keys:
            stem = f"{name}-{key.gsm_secret_id}"
            secret = gcp.secretmanager.Secret(
                stem,
                secret_id=key.gsm_secret_id,
                project=args.project,
                replication=replication_args(args.replication),
                deletion_protection=True,
                labels=dict(key.labels),
                annotations={"llm-gateway/used-by": "the tenants reconciler (adds versions) and the key's holder"},
                opts=kept,
            )
            if key.delivery is not None:
                ns = key.delivery.namespace
                self._deliver(stem, secret, key, stores[ns], readers[ns], args.refresh_interval)
        cm = manifests.config_map_manifest(args.namespace, args.document, args.reconciler_source)
        ready.append(
            k8s.core.v1.ConfigMap(f"{name}-config", metadata=object_meta(cm["metadata"]), data=cm["data"], opts=child)
        )
        ready += network_policies(
            name, manifests.network_policy_manifests(args.namespace, args.litellm_pods, args.google_apis_cidrs), child
        )
        spec = manifests.job_spec(args.image, args.litellm_url, args.master_key, args.resources)
        after = pulumi.ResourceOptions(parent=self, depends_on=ready)
        job = manifests.job_manifest(args.namespace, run_hash(args.document, args.reconciler_source), args.image, spec)
        k8s.batch.v1.Job(f"{name}-run", metadata=object_meta(job["metadata"]), spec=job["spec"], opts=after)
        cron = manifests.cronjob_manifest(args.namespace, args.schedule, args.image, spec)
        k8s.batch.v1.CronJob(f"{name}-cronjob", metadata=object_meta(cron["metadata"]), spec=cron["spec"], opts=after)
        self.register_outputs({"reconciler_gsa": account.gsa.email, "keys": len(args.keys)})

    def _deliver(
        self,
        stem: str,
        secret: gcp.secretmanager.Secret,
        key: TenantKeySecret,
        store: NamespaceSecretStore,
        reader: pulumi.Output[str],
        refresh_interval: str,
    ) -> None:
        """`secretAccessor` for the tenant namespace's reader on this key alone, then its ExternalSecret."""
        grant = gcp.secretmanager.SecretIamMember(
            f"{stem}-reader",
            secret_id=secret.id,
            role="roles/secretmanager.secretAccessor",
            member=reader,
            opts=pulumi.ResourceOptions(parent=self),
        )
        assert key.delivery is not None
        delivery = key.delivery
        manifest = manifests.key_external_secret(
            key.gsm_secret_id, delivery.namespace, delivery.secret, store.access.ref, refresh_interval
        )
        custom_resource(f"{stem}-external-secret", manifest, pulumi.ResourceOptions(parent=self, depends_on=[grant]))
