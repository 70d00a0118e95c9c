"""The GCP helpers several components share: GKE Workload Identity members and service accounts,
private buckets, and a bucket with the one service account that may write it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components.kit import metadata, object_meta


def workload_identity_member(project: str, namespace: str, service_account: str) -> str:
    """The IAM member a Kubernetes service account acts as under GKE Workload Identity."""
    return f"serviceAccount:{project}.svc.id.goog[{namespace}/{service_account}]"


def workload_identity_binding(
    resource_name: str,
    gsa: gcp.serviceaccount.Account,
    *,
    project: str,
    namespace: str,
    service_account: str,
    opts: pulumi.ResourceOptions,
) -> gcp.serviceaccount.IAMMember:
    """Let the Kubernetes service account `namespace/service_account` act as `gsa` (GKE Workload
    Identity: `roles/iam.workloadIdentityUser` on the Google account, for that KSA only)."""
    return gcp.serviceaccount.IAMMember(
        resource_name,
        service_account_id=gsa.name,
        role="roles/iam.workloadIdentityUser",
        member=workload_identity_member(project, namespace, service_account),
        opts=opts,
    )


def workload_identity_account_meta(name: str, namespace: str, app: str, gsa_email: str) -> dict[str, Any]:
    """Metadata of a Kubernetes service account acting as the Google account `gsa_email`."""
    return metadata(name, namespace, app=app, annotations={"iam.gke.io/gcp-service-account": gsa_email})


@dataclass(frozen=True)
class WorkloadIdentityAccount:
    gsa: gcp.serviceaccount.Account
    binding: gcp.serviceaccount.IAMMember
    service_account: k8s.core.v1.ServiceAccount


def workload_identity_account(
    resource_name: str,
    *,
    account_id: str,
    display_name: str,
    project: str,
    namespace: str,
    service_account: str,
    app: str,
    opts: pulumi.ResourceOptions,
    gsa_opts: pulumi.ResourceOptions | None = None,
) -> WorkloadIdentityAccount:
    """A Google service account (`<resource_name>-gsa`) and the Kubernetes service account
    `namespace/service_account` (`<resource_name>-ksa`, no token mounted) acting as it: annotated with
    its email, and bound to it (`<resource_name>-workload-identity`). `gsa_opts`: the Google account's
    options, when not `opts` (aliases of an existing install's account)."""
    gsa = gcp.serviceaccount.Account(
        f"{resource_name}-gsa",
        account_id=account_id,
        display_name=display_name,
        project=project,
        opts=gsa_opts or opts,
    )
    binding = workload_identity_binding(
        f"{resource_name}-workload-identity",
        gsa,
        project=project,
        namespace=namespace,
        service_account=service_account,
        opts=opts,
    )
    ksa = k8s.core.v1.ServiceAccount(
        f"{resource_name}-ksa",
        metadata=gsa.email.apply(
            lambda email: object_meta(workload_identity_account_meta(service_account, namespace, app, email))
        ),
        automount_service_account_token=False,
        opts=opts,
    )
    return WorkloadIdentityAccount(gsa, binding, ksa)


PRIVATE_BUCKET: dict[str, Any] = {
    "uniform_bucket_level_access": True,
    "public_access_prevention": "enforced",
    "force_destroy": False,
}


def private_bucket(name: str, location: str, **settings: Any) -> dict[str, Any]:
    """A GCS bucket's arguments: reachable by IAM only (uniform access, public access prevented),
    never emptied by a destroy; `settings` adds versioning, lifecycle rules, soft delete..., and
    may not loosen any of the first three."""
    loosened = sorted(PRIVATE_BUCKET.keys() & settings.keys())
    if loosened:
        raise ValueError(f"a private bucket keeps {', '.join(loosened)} as they are")
    return {"name": name, "location": location, **PRIVATE_BUCKET, **settings}


@dataclass(frozen=True)
class BucketWriter:
    """A bucket and the Google service account that alone may write it."""

    bucket: gcp.storage.Bucket
    account: gcp.serviceaccount.Account
    grant: gcp.storage.BucketIAMMember


def bucket_with_writer(
    resource_name: str,
    bucket: Mapping[str, Any],
    account_resource_name: str,
    *,
    account_id: str,
    display_name: str,
    project: str,
    bucket_opts: pulumi.ResourceOptions,
    opts: pulumi.ResourceOptions,
) -> BucketWriter:
    """Register a bucket (`private_bucket` arguments; `bucket_opts` carries the data-safety options),
    a service account, and `roles/storage.objectAdmin` for that account on that bucket only
    (`<resource_name>-access`)."""
    created = gcp.storage.Bucket(resource_name, **bucket, opts=bucket_opts)
    gsa = gcp.serviceaccount.Account(
        account_resource_name, account_id=account_id, display_name=display_name, project=project, opts=opts
    )
    grant = gcp.storage.BucketIAMMember(
        f"{resource_name}-access",
        bucket=created.name,
        role="roles/storage.objectAdmin",
        member=gsa.member,
        opts=opts,
    )
    return BucketWriter(created, gsa, grant)
