"""`secrets`: Google Secret Manager, the External Secrets Operator store and rotation."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from config.types import DnsLabel, GcpRegion, GsaAccountId, PositiveDuration, Section, pattern


class StoreConfig(Section):
    """The ESO ClusterSecretStore: created here, or an existing one by name."""

    create: bool = Field(
        default=True,
        description="Create the ClusterSecretStore and ESO's Google service account; false: use an existing store.",
    )
    name: DnsLabel = Field(default="gcp-secret-manager", description="The ClusterSecretStore's name.")
    gsa_account_id: GsaAccountId | None = Field(
        default=None, description="create true: account id of the Google service account made for ESO (required then)."
    )
    gsa_email: (
        Annotated[
            str,
            pattern(
                r"^[^@\s]+@[-a-z0-9.]+\.iam\.gserviceaccount\.com$",
                "a service account email, e.g. eso@my-project.iam.gserviceaccount.com",
            ),
        ]
        | None
    ) = Field(
        default=None,
        description=(
            "create false: the existing store's Google service account, for per-secret grants (required then)."
        ),
    )

    @model_validator(mode="after")
    def _one_identity(self) -> StoreConfig:
        if self.create and not self.gsa_account_id:
            raise ValueError("gsa_account_id is required when create is true")
        if self.create and self.gsa_email:
            raise ValueError("gsa_email is only for an existing store (create: false)")
        if not self.create and not self.gsa_email:
            raise ValueError("gsa_email (the existing store's service account) is required when create is false")
        return self


class EsoConfig(Section):
    """Where External Secrets Operator runs, and the KSA its store authenticates as."""

    namespace: DnsLabel = Field(default="external-secrets", description="Where External Secrets Operator runs.")
    service_account: DnsLabel = Field(
        default="llm-gateway-gsm",
        description="The Kubernetes service account the store authenticates as (the Workload Identity member).",
    )


class ReplicationConfig(Section):
    mode: Literal["automatic", "user_managed"] = Field(
        description="GSM replication: automatic, or user_managed with locations."
    )
    locations: list[GcpRegion] = Field(
        default=[], description="user_managed only: the regions GSM replicates secrets to (at least one, no repeats)."
    )

    @model_validator(mode="after")
    def _locations(self) -> ReplicationConfig:
        if self.mode == "user_managed" and not self.locations:
            raise ValueError("user_managed replication needs at least one location")
        if self.mode == "automatic" and self.locations:
            raise ValueError("locations are only allowed with mode user_managed")
        if len(set(self.locations)) != len(self.locations):
            raise ValueError("locations must not repeat")
        return self


class SecretsConfig(Section):
    store: StoreConfig = Field(description="The ESO ClusterSecretStore: created here, or an existing one.")
    eso: EsoConfig = Field(
        default=EsoConfig(), description="Where External Secrets Operator runs and the service account its store uses."
    )
    replication: ReplicationConfig = Field(description="Replication of every GSM secret the program creates.")
    deletion_protection: bool = Field(description="GSM deletion protection on every secret the program creates.")
    refresh_interval: PositiveDuration = Field(
        default="1h", description="ESO refreshInterval; 0s would mean never refresh, so rotations would never arrive."
    )
    prefix: Annotated[
        str, pattern(r"^[a-z0-9-]{0,40}$", "lowercase letters, digits and '-' (up to 40), e.g. team-a")
    ] = Field(default="", description="Prefix of every GSM secret id (several deployments in one project).")
    rotation: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default={},
        description=(
            "Rotation generation per secrets-inventory key: bump a number to replace that secret's value on purpose "
            "(refused for keys that cannot rotate; docs/security.md, Secrets inventory)."
        ),
    )
