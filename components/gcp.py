"""The GCP helpers several components share: GKE Workload Identity members, private buckets, and a
bucket with the one service account that may write it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp


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
