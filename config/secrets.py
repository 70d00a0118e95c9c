"""`secrets`: Google Secret Manager, the External Secrets Operator store and rotation."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from config.types import DnsLabel, GcpRegion, PositiveDuration, Section


class StoreConfig(Section):
    """The ESO ClusterSecretStore: created here, or an existing one by name."""

    create: bool = True
    name: DnsLabel = "gcp-secret-manager"
    # create: true -> a Google service account with this account id is made for ESO.
    gsa_account_id: Annotated[str, StringConstraints(pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")] | None = None
    # create: false -> the existing store's Google service account (for per-secret grants).
    gsa_email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[-a-z0-9.]+\.iam\.gserviceaccount\.com$")] | None = (
        None
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

    namespace: DnsLabel = "external-secrets"
    service_account: DnsLabel = "llm-gateway-gsm"


class ReplicationConfig(Section):
    mode: Literal["automatic", "user_managed"]
    locations: list[GcpRegion] = []

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
    store: StoreConfig
    eso: EsoConfig = EsoConfig()
    replication: ReplicationConfig
    # GSM deletion protection on every secret the program creates.
    deletion_protection: bool
    refresh_interval: PositiveDuration = "1h"
    """ESO refreshInterval; 0s would mean never refresh, so rotations would never arrive."""
    # Prefix for every GSM secret id (several deployments in one project).
    prefix: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{0,40}$")] = ""
    # Rotation generations: bump a number to replace that secret's value on purpose.
    rotation: dict[str, Annotated[int, Field(ge=0)]] = {}
