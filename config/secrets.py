"""`secrets`: Google Secret Manager, the External Secrets Operator store and rotation."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from config.durations import DurationRange
from config.platform import NamespacesConfig
from config.types import (
    DnsLabel,
    GcpRegion,
    GsaAccountId,
    LeadingLetterName,
    Section,
    pattern,
    refuse,
)

GSA_ID_LENGTH = (6, 30)
"""A Google service account id's length: 6 to 30 characters, `[a-z]([-a-z0-9]*[a-z0-9])`."""
GSA_HASH_LENGTH = 6
GSA_PREFIX_MAX = GSA_ID_LENGTH[1] - 1 - GSA_HASH_LENGTH
"""23: `<prefix>-<hash>` must fit 30 characters whatever the namespace."""


def _gsa_prefix(value: str) -> str:
    if len(value) > GSA_PREFIX_MAX:
        raise ValueError(
            f"at most {GSA_PREFIX_MAX} characters: '<prefix>-<{GSA_HASH_LENGTH}-character hash>' must fit a "
            f"service account id's {GSA_ID_LENGTH[1]}"
        )
    return value


GsaPrefix = Annotated[LeadingLetterName, AfterValidator(_gsa_prefix)]


def derived_gsa_account_id(prefix: str, namespace: str) -> str:
    """The account id of the Google service account a namespace reads its secrets as.

    `<prefix>-<namespace>` when that is 6-30 characters; otherwise the namespace is cut so that
    `<prefix>-<cut>-<hash>` fits 30, where `<hash>` is 6 hex digits of the namespace's SHA-256
    (so two long namespaces with the same beginning still differ). Any valid prefix (GsaPrefix)
    and namespace (a DNS label) give a valid id.
    """
    low, high = GSA_ID_LENGTH
    plain = f"{prefix}-{namespace}"
    if low <= len(plain) <= high:
        return plain
    digest = hashlib.sha256(namespace.encode()).hexdigest()[:GSA_HASH_LENGTH]
    cut = namespace[: max(high - len(prefix) - 2 - GSA_HASH_LENGTH, 0)].rstrip("-")
    return f"{prefix}-{cut}-{digest}" if cut else f"{prefix}-{digest}"


def _retired_store_keys(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The single-store layout's keys, each refused with what to do instead."""
    problems = []
    if data.get("create") is False:
        problems.append(
            (
                "create",
                "false (an existing ClusterSecretStore) cannot keep one namespace from reading another's secrets: "
                "every namespace that consumes secrets now gets its own SecretStore and Google service account "
                "(docs/security.md, Finding 1). Remove `create` and `gsa_email` and set `gsa_prefix`; the existing "
                "store and its account are no longer used by this stack",
            )
        )
    elif "create" in data:
        problems.append(
            (
                "create",
                "no longer a setting: the program creates a SecretStore and Google service account per consuming "
                "namespace (docs/security.md, Finding 1); remove it (keep `gsa_account_id`: that account stays the "
                "gateway namespace's)",
            )
        )
    if "gsa_email" in data:
        problems.append(("gsa_email", "no longer a setting (an existing store's account, see `create`): remove it"))
    return problems


class StoreConfig(Section):
    """The ESO SecretStore of every namespace that consumes secrets, and the Google service account
    each one reads Secret Manager as (granted exactly the secrets that namespace's ExternalSecrets read)."""

    name: DnsLabel = Field(
        default="gcp-secret-manager", description="The SecretStore's name, the same in every consuming namespace."
    )
    gsa_prefix: GsaPrefix = Field(
        description=(
            "Prefix of the Google service accounts the namespaces read secrets as: `<prefix>-<namespace>`, "
            "shortened with a hash of the namespace beyond 30 characters. Unique per GCP project: two deployments "
            "in one project need different prefixes."
        )
    )
    gsa_account_id: GsaAccountId | None = Field(
        default=None,
        description=(
            "The gateway namespace's service account id instead of the derived one: set it to the single store's "
            "former `gsa_account_id` to keep that account (and its grants on the gateway's secrets) on upgrade."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _retired_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            refuse(_retired_store_keys(data))
        return data

    def account_id(self, namespace: str, gateway_namespace: str) -> str:
        """The account id of the Google service account `namespace` reads its secrets as."""
        if namespace == gateway_namespace and self.gsa_account_id is not None:
            return self.gsa_account_id
        return derived_gsa_account_id(self.gsa_prefix, namespace)


def consuming_namespaces(namespaces: NamespacesConfig) -> tuple[str, ...]:
    """Every namespace the program renders ExternalSecrets into; each gets its own SecretStore and
    Google service account. The gateway namespace (LiteLLM, database, Langfuse, SSO, alerting) and
    Grafana's (the datasource Secret its sidecar imports)."""
    return tuple(sorted({namespaces.gateway, namespaces.grafana}))


class EsoConfig(Section):
    """The Kubernetes service account each namespace's SecretStore authenticates as."""

    service_account: DnsLabel = Field(
        default="llm-gateway-gsm",
        description=(
            "The Kubernetes service account each consuming namespace's SecretStore authenticates as (created in "
            "that namespace, no token mounted; the Workload Identity member of that namespace's Google service "
            "account). External Secrets Operator requests its tokens (TokenRequest)."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _retired_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and "namespace" in data:
            refuse(
                [
                    (
                        "namespace",
                        "no longer a setting: each namespace's SecretStore authenticates as a service account in that "
                        "namespace, none lives in ESO's (docs/security.md, Finding 1); remove it",
                    )
                ]
            )
        return data


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
    store: StoreConfig = Field(
        description="The SecretStore and Google service account of every namespace that consumes secrets."
    )
    eso: EsoConfig = Field(
        default=EsoConfig(), description="The Kubernetes service account each namespace's SecretStore authenticates as."
    )
    replication: ReplicationConfig = Field(description="Replication of every GSM secret the program creates.")
    deletion_protection: bool = Field(description="GSM deletion protection on every secret the program creates.")
    refresh_interval: Annotated[
        str, DurationRange("1s", "24h", "a rotated secret reaches the pods within this time; 0s never refreshes")
    ] = Field(
        default="1h",
        description=(
            "ESO refreshInterval: a rotation reaches the pods within it (0s would mean never refresh, so rotations "
            "would never arrive)."
        ),
    )
    prefix: Annotated[
        str, pattern(r"^[a-z0-9-]{0,40}$", "lowercase letters, digits and '-' (up to 40), e.g. team-a")
    ] = Field(default="", description="Prefix of every GSM secret id (several deployments in one project).")
    rotation: dict[str, Annotated[int, Field(ge=0, le=1_000_000)]] = Field(
        default={},
        description=(
            "Rotation generation per secrets-inventory key: bump a number to replace that secret's value on purpose "
            "(refused for keys that cannot rotate; docs/security.md, Secrets inventory)."
        ),
    )
