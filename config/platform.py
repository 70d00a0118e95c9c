"""Where the stack runs: the GCP project, the GKE cluster, the namespaces, the
cluster's capacity for this program and the protection of stateful resources."""

from __future__ import annotations

from pydantic import Field

from config.types import DnsLabel, GcpId, GcpLocation, GcpRegion, Section


class GcpConfig(Section):
    """The GCP project everything is created in, and the provider's default region."""

    project: GcpId = Field(description="GCP project of GKE, Secret Manager and the buckets.")
    region: GcpRegion = Field(description="Default region of the GCP provider (and of Memorystore).")


class GkeConfig(Section):
    """The GKE cluster: Workload Identity needs its name and location."""

    cluster_name: DnsLabel = Field(description="The GKE cluster (Workload Identity, the ESO store).")
    location: GcpLocation = Field(description="The cluster's region or zone.")
    kube_context: str | None = Field(
        default=None,
        description=(
            "kubeconfig context the program deploys to; unset: `gke_<project>_<location>_<cluster_name>`, the name "
            "`gcloud container clusters get-credentials` writes, so a stack never lands on whatever context is "
            "current."
        ),
    )


class NamespacesConfig(Section):
    gateway: DnsLabel = Field(description="Namespace of LiteLLM, its database and its secrets.")
    grafana: DnsLabel = Field(description="Grafana's namespace (the datasource Secret and the dashboards).")
    create_gateway: bool = Field(
        default=True, description="Create the gateway namespace (Pod Security `restricted`); false: it exists already."
    )


class DataSafetyConfig(Section):
    """Resource options for stateful resources (database, buckets, GSM secrets), and whether the stack
    is production (its state's secrets need a KMS provider)."""

    protect: bool = Field(
        description=(
            "Pulumi `protect` on stateful resources: the CNPG Cluster, buckets, GSM secrets, the external database, "
            "the gateway namespace when it holds data, Langfuse's database and release."
        )
    )
    retain_on_delete: bool = Field(
        description="Pulumi `retainOnDelete` on the same stateful resources (Langfuse's release excepted)."
    )
    production: bool = Field(
        description=(
            "A production stack: its state (which holds every generated credential, encrypted) must be encrypted "
            "by a KMS secrets provider (`secretsprovider: gcpkms://...` in Pulumi.<stack>.yaml), so reading the "
            "credentials takes the key's decrypt permission, not only read access to the stack; the program "
            "refuses to run otherwise (docs/security.md, Finding 5)."
        )
    )
