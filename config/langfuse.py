"""`langfuse`: self-hosted Langfuse v3 (tracing) and its subcharts."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from config.assets import matches_lock
from config.langfuse_clickhouse import MAX_CLUSTER_NAME, MIN_CLICKHOUSE, ClickHouseConfig, clickhouse_version
from config.langfuse_v4 import CHARTS, V3_SUPPORT_ENDS, LangfuseVersion, V4MigrationConfig, version_text
from config.sso import IssuerUrl, OidcClientId, OidcScope
from config.types import (
    BucketName,
    Cidr,
    DatabaseName,
    DnsLabel,
    EmailAddress,
    GcsLocation,
    GsaAccountId,
    GsmSecretId,
    Hostname,
    MemoryQuantity,
    PinnedVersion,
    ReleaseName,
    ResourceAmounts,
    Resources,
    RoleName,
    Section,
    pattern,
    refuse,
)

# --- Langfuse v3 (tracing) -----------------------------------------------------


def _amounts(cpu: str, memory: str) -> ResourceAmounts:
    return ResourceAmounts(cpu=cpu, memory=memory)


def _same(cpu: str, memory: str) -> Resources:
    """Requests equal to limits (Guaranteed QoS): what Langfuse's sizing guide lists."""
    return Resources(requests=_amounts(cpu, memory), limits=_amounts(cpu, memory))


class LangfuseWorkload(Section):
    """A Langfuse Deployment (web or worker): replicas and per-pod resources."""

    replicas: Annotated[int, Field(ge=1, le=20)] = Field(default=1, description="Pods of the Deployment.")
    resources: Resources = Field(
        default=_same("2", "4Gi"),
        description="Requests and limits per pod (requests equal to limits: Langfuse's sizing guide).",
    )


class MinioConfig(Section):
    """The chart's MinIO subchart (alias s3), standalone."""

    resources: Resources = Field(default=_same("2", "4Gi"), description="Requests and limits of the MinIO pod.")
    storage_size: MemoryQuantity = Field(default="20Gi", description="MinIO's volume size.")


BUCKET_IP = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}$")
GOOGLE_LIKE = re.compile(r"g[o0][o0]g[l1]e")


def not_refused_by_gcs(name: str) -> str:
    """What GCS refuses beyond the characters BucketName allows (Cloud Storage docs, "Bucket names"): a name
    starting with `goog` or containing `google` or a look-alike, an IP address, a dot-separated part that is
    empty, longer than 63 characters or starts or ends with a dash."""
    problems = []
    if name.startswith("goog"):
        problems.append("starts with 'goog'")
    if GOOGLE_LIKE.search(name):
        problems.append("contains 'google' or a look-alike")
    if BUCKET_IP.match(name):
        problems.append("is an IP address")
    if any(not part or part[0] == "-" or part[-1] == "-" or len(part) > 63 for part in name.split(".")):
        problems.append("has a dot-separated part that is empty, over 63 characters or starts or ends with '-'")
    if problems:
        raise ValueError(f"{name!r} {'; '.join(problems)}: GCS refuses such a bucket name")
    return name


class LangfuseGcsConfig(Section):
    """GCS instead of MinIO: a bucket, a service account with access to it only, HMAC credentials,
    raw events and exports expiring after `retention_days`."""

    bucket: Annotated[BucketName, AfterValidator(not_refused_by_gcs)] = Field(
        description="The bucket Langfuse stores events and media in."
    )
    location: GcsLocation = Field(default="EU", description="The bucket's location.")
    gsa_account_id: GsaAccountId = Field(
        default="langfuse-blob",
        description="Google service account with access to the bucket only (HMAC key for S3 interop).",
    )
    retention_days: Annotated[int, Field(ge=3, le=3650)] = Field(
        default=30,
        description=(
            "Days the bucket keeps Langfuse's raw ingestion events (prefix events/) and batch exports (exports/): "
            "a GCS lifecycle rule deletes them at this age (Langfuse re-reads events only to retry or replay "
            "ingestion; 30 is Langfuse Cloud's window). Media (bucket root) and the traces in ClickHouse are not "
            "deleted: trace retention is an Enterprise feature of self-hosted Langfuse (docs/security.md)."
        ),
    )


DisplayName = Annotated[str, pattern(r"^[A-Za-z0-9 ._-]{1,60}$", "a display name, e.g. 'LLM Gateway'")]
Reason = Annotated[
    str,
    pattern(
        r"^\S.{8,298}\S$",
        "a sentence of 10-300 characters, e.g. 'lab behind the office VPN, reviewed 2026-12'",
    ),
]

CALLBACK_PATH = "/api/auth/callback/custom"
"""NextAuth's redirect path for Langfuse's generic OIDC provider (`custom`): register
https://<ingress_host>/api/auth/callback/custom with the identity provider."""


class LangfuseSsoConfig(Section):
    """Langfuse's own sign-in against the stack's OIDC identity provider (NextAuth's generic OIDC
    provider, AUTH_CUSTOM_*): one account per person with Langfuse's roles, email/password sign-in off."""

    issuer_url: IssuerUrl = Field(
        description="The identity provider's issuer: the stack's, the same as sso.issuer_url where that is set."
    )
    client_id: OidcClientId = Field(
        description=(
            "Langfuse's own OIDC client (confidential, redirect URI https://<ingress_host>" + CALLBACK_PATH + "); "
            "assign it to the people who may use Langfuse: the identity provider decides who signs in."
        )
    )
    client_secret_gsm_secret: GsmSecretId = Field(
        description="GSM secret id of that client's secret (created by the identity team; never a value here)."
    )
    display_name: DisplayName = Field(default="SSO", description="The sign-in button's label (AUTH_CUSTOM_NAME).")
    scopes: Annotated[list[OidcScope], Field(min_length=1)] = Field(
        default=["openid", "email", "profile"],
        description="OIDC scopes requested (Langfuse needs the `email` claim).",
    )
    link_existing_accounts: bool = Field(
        default=True,
        description=(
            "A first SSO sign-in whose email a local account already has signs into that account "
            "(AUTH_CUSTOM_ALLOW_ACCOUNT_LINKING): the init.admin_email owner and the accounts from before SSO "
            "keep their roles. Trusts the identity provider's email claim; turn off if its users can set "
            "unverified emails."
        ),
    )
    idp_egress_cidrs: Annotated[list[Cidr], Field(min_length=1)] = Field(
        default=["0.0.0.0/0"],
        description="Where the web pods may reach the identity provider (TCP 443 only): discovery, token, keys.",
    )


class LangfuseInitConfig(Section):
    """Headless initialization (LANGFUSE_INIT_*): the organization and project LiteLLM writes to."""

    org_id: DnsLabel = Field(default="llm-gateway", description="The organization's id.")
    org_name: DisplayName = Field(default="LLM Gateway", description="The organization's display name.")
    project_id: DnsLabel = Field(default="litellm", description="The project's id (LiteLLM writes its traces there).")
    project_name: DisplayName = Field(default="LiteLLM", description="The project's display name.")
    admin_email: EmailAddress | None = Field(
        default=None,
        description="An initial admin user (password generated into GSM); none: create users by SSO or sign-up.",
    )


class LangfuseConfig(Section):
    """Self-hosted Langfuse (v4, or v3 for installs not moved yet): the chart with MinIO (v3) or GCS, its
    PostgreSQL database in the stack's database layer, its queues and cache in the stack's shared Redis
    (`redis.mode`, database `config.redis.LANGFUSE_REDIS_DB`), ClickHouse on the upstream operator.
    Defaults are Langfuse's minimum sizing."""

    enabled: bool = Field(default=False, description="Deploy Langfuse and turn on LiteLLM's langfuse_otel callback.")
    version: Annotated[LangfuseVersion, BeforeValidator(version_text)] = Field(
        default="4",
        description=(
            'Langfuse\'s major version: "4" (the langfuse 2.x chart) for new stacks; "3" (the 1.5.x chart) only for '
            f"installs that have not moved yet: security patches until {V3_SUPPORT_ENDS} "
            "(docs/runbooks/langfuse-v3-to-v4.md)."
        ),
    )
    release_name: ReleaseName = Field(default="langfuse", description="Helm release name.")
    chart_version: PinnedVersion | None = Field(
        default=None,
        description=(
            "Optional: restates the version of the chart the release installs (`chart/langfuse-v4` for version 4, "
            "`chart/langfuse` for 3 in assets.lock.json, docs/versions.md); refused when it differs. Unset: the "
            "lock decides."
        ),
    )
    v4_migration: V4MigrationConfig = Field(
        default=V4MigrationConfig(),
        description="Langfuse v4's migration switches (version 4; the defaults unless moving from v3).",
    )
    database: DatabaseName = Field(default="langfuse", description="Langfuse's database in the stack's PostgreSQL.")
    owner: RoleName = Field(default="langfuse", description="The role that owns Langfuse's database.")
    web: LangfuseWorkload = Field(default=LangfuseWorkload(), description="The web Deployment.")
    worker: LangfuseWorkload = Field(default=LangfuseWorkload(), description="The worker Deployment.")
    clickhouse: ClickHouseConfig = Field(
        default=ClickHouseConfig(), description="ClickHouse and Keeper on the upstream ClickHouse operator."
    )
    blob_storage: Literal["minio", "gcs"] = Field(
        default="minio", description="Where events and media go: the MinIO subchart, or a GCS bucket (gcs section)."
    )
    minio: MinioConfig = Field(default=MinioConfig(), description="The MinIO subchart (blob_storage minio).")
    gcs: LangfuseGcsConfig | None = Field(default=None, description="The GCS bucket (blob_storage gcs only).")
    init: LangfuseInitConfig = Field(
        default=LangfuseInitConfig(),
        description="Headless initialization: the organization and project LiteLLM writes to.",
    )
    ingress_host: Hostname | None = Field(
        default=None,
        description="The UI's host name (TLS, same class and cert-manager issuer as the gateway's ingress).",
    )
    sso: LangfuseSsoConfig | None = Field(
        default=None,
        description=(
            "Sign-in with the stack's identity provider, email/password sign-in off (needs ingress_host). "
            "Required with ingress_host unless local_sign_in_reason accepts password sign-in."
        ),
    )
    local_sign_in_reason: Reason | None = Field(
        default=None,
        description=(
            "Keeps email/password sign-in on the UI's public host (with or without sso): why that is acceptable. "
            "Unset, a public host needs sso and password sign-in is off."
        ),
    )
    sign_up_disabled: bool | None = Field(
        default=None,
        description=(
            "Refuse new accounts (AUTH_DISABLE_SIGNUP). Default: on without sso; off with sso, where a first SSO "
            "sign-in creates the person's account with no access until an owner invites them. On with sso: only "
            "accounts that already exist may sign in."
        ),
    )
    public_api_on_ingress: bool = Field(
        default=False,
        description=(
            "Serve Langfuse's public API (/api/public/*: SDK ingestion, OTLP, prompts, scores) on ingress_host, "
            "authenticated by project keys alone. Off: the Ingress sends it to a Service without endpoints; "
            "LiteLLM sends its traces inside the cluster either way."
        ),
    )
    database_connection_limit: Annotated[int, Field(ge=1, le=100)] = Field(
        default=5,
        description=(
            "Prisma `connection_limit` of each web and worker pod (DATABASE_ARGS); Prisma's default, 2 x the node's "
            "CPUs + 1, would follow the node size instead of the connection budget."
        ),
    )

    @property
    def password_sign_in(self) -> bool:
        """Email/password sign-in stays on: without sso (the only way in), or accepted with a reason."""
        return self.sso is None or self.local_sign_in_reason is not None

    @property
    def sign_up_refused(self) -> bool:
        """AUTH_DISABLE_SIGNUP: the setting, else refused without sso and allowed (by SSO only) with it."""
        return self.sign_up_disabled if self.sign_up_disabled is not None else self.sso is None

    @model_validator(mode="after")
    def _sign_in(self) -> LangfuseConfig:
        problems = []
        if self.enabled and self.ingress_host and self.sso is None and self.local_sign_in_reason is None:
            problems.append(
                (
                    "ingress_host",
                    "a public UI needs langfuse.sso (Langfuse's own OIDC client against the stack's identity "
                    "provider; email/password sign-in is then off), or langfuse.local_sign_in_reason saying why "
                    "one shared password sign-in may face the internet",
                )
            )
        if self.sso is not None and not self.ingress_host:
            problems.append(
                (
                    "sso",
                    "needs langfuse.ingress_host: the identity provider sends the browser back to "
                    f"https://<ingress_host>{CALLBACK_PATH}",
                )
            )
        sso_only = self.sso is not None and not self.password_sign_in
        if sso_only and self.init.admin_email and self.sso is not None and not self.sso.link_existing_accounts:
            problems.append(
                (
                    "init.admin_email",
                    "is created as a password account, and with sso (password sign-in off) only "
                    "langfuse.sso.link_existing_accounts lets its owner in by SSO; turn that on or drop admin_email",
                )
            )
        refuse(problems)
        return self

    @property
    def chart_asset(self) -> str:
        """The locked chart of this version (assets.lock.json)."""
        return CHARTS[self.version]

    @model_validator(mode="after")
    def _version(self) -> LangfuseConfig:
        problems = []
        if self.chart_version is not None:
            try:
                matches_lock(self.chart_asset)(self.chart_version)
            except ValueError as exc:
                problems.append(("chart_version", str(exc)))
        if self.version == "3" and self.v4_migration != V4MigrationConfig():
            problems.append(("v4_migration", 'applies to version "4" only'))
        if self.enabled and self.version == "4" and self.blob_storage == "minio":
            problems.append(
                (
                    "blob_storage",
                    "version \"4\" needs gcs: the 2.x chart has no MinIO (the 1.5.x chart's was Bitnami's)",
                )
            )
        refuse(problems)
        return self

    @model_validator(mode="after")
    def _clickhouse(self) -> LangfuseConfig:
        problems = []
        oldest = MIN_CLICKHOUSE[self.version]
        if clickhouse_version(self.clickhouse.image) < oldest:
            problems.append(
                (
                    "clickhouse.image",
                    f"Langfuse v{self.version} needs ClickHouse {oldest[0]}.{oldest[1]} or later, "
                    f"not {self.clickhouse.image}",
                )
            )
        if self.enabled and len(self.release_name) > MAX_CLUSTER_NAME:
            problems.append(
                (
                    "release_name",
                    f"at most {MAX_CLUSTER_NAME} characters with Langfuse on: it names the ClickHouseCluster, whose "
                    "StatefulSets (<name>-clickhouse-<shard>-<replica>) put their name and a hash in a pod label "
                    "Kubernetes limits to 63",
                )
            )
        if self.enabled and self.clickhouse.operator_namespace is None:
            problems.append(
                (
                    "clickhouse.operator_namespace",
                    "is required: Langfuse's ClickHouse is a ClickHouseCluster and a KeeperCluster "
                    "(clickhouse.com/v1alpha1) for the upstream ClickHouse operator, a platform prerequisite the "
                    "program does not install (docs/langfuse.md); install it and name the namespace it runs in",
                )
            )
        refuse(problems)
        return self

    @model_validator(mode="after")
    def _blob(self) -> LangfuseConfig:
        if self.blob_storage == "gcs" and self.gcs is None:
            raise ValueError("blob_storage gcs needs the langfuse.gcs section (bucket)")
        if self.blob_storage == "minio" and self.gcs is not None:
            raise ValueError("langfuse.gcs is only for blob_storage gcs")
        return self
