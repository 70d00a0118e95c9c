"""`sso`: oauth2-proxy in front of LiteLLM's admin UI."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, ValidationInfo, model_validator

from config.assets import OAUTH2_PROXY_CHART, matches_lock, restated_chart_version
from config.durations import DurationRange, duration_seconds
from config.image_reference import image_reference
from config.types import (
    Cidr,
    ConfigProblemError,
    GsmSecretId,
    Hostname,
    PinnedVersion,
    ReleaseName,
    ResourceAmounts,
    Resources,
    Section,
    pattern,
    pinned_image,
)

# --- single sign-on for the admin UI (oauth2-proxy) ----------------------------

OidcClientId = Annotated[str, pattern(r"^[A-Za-z0-9._:@/-]{1,255}$", "an OIDC client id, e.g. llm-gateway")]
# No comma (oauth2-proxy splits list flags on commas) and no braces (ESO templates).
OidcGroup = Annotated[
    str, pattern(r"^[^,{}\s]([^,{}]{0,253}[^,{}\s])?$", "a group name without commas or braces, e.g. llm-admins")
]
IssuerUrl = Annotated[str, pattern(r"^https://[^\s{}]+$", "an https URL, e.g. https://login.example.com/realms/acme")]
OidcScope = Annotated[str, pattern(r"^[A-Za-z0-9_.:/-]{1,100}$", "an OIDC scope, e.g. groups")]
# The chart takes image.registry, image.repository and image.tag: a registry host and a tag (the tag
# value may carry the digest: the chart renders `registry/repository:tag`).
RegistryImage = Annotated[
    str,
    pattern(
        r"^[a-z0-9-]+(\.[a-z0-9-]+)+(:[0-9]+)?/[a-z0-9._/-]+:[A-Za-z0-9._+-]+(@sha256:[0-9a-f]{64})?$",
        "registry/repository:tag, e.g. quay.io/oauth2-proxy/oauth2-proxy:v7.15.3 (@sha256:<64 hex> may follow)",
    ),
    AfterValidator(image_reference),
    AfterValidator(pinned_image),
]


def _required_when_enabled(value: Any, info: ValidationInfo) -> Any:
    if value is None and info.data.get("enabled"):
        raise ValueError("required when sso.enabled is true")
    return value


class SsoConfig(Section):
    """oauth2-proxy in front of LiteLLM's admin UI (/ui and /oauth2 on the gateway's ingress host),
    against the company's OIDC identity provider. API clients keep using virtual keys."""

    enabled: bool = Field(
        default=False,
        description=(
            "oauth2-proxy in front of the admin surface (needs litellm.ingress and "
            "litellm.network.ingress_controller_namespace)."
        ),
    )
    provider: Literal["oidc", "keycloak-oidc"] = Field(default="oidc", description="oauth2-proxy provider.")
    issuer_url: Annotated[IssuerUrl | None, AfterValidator(_required_when_enabled)] = Field(
        default=None,
        validate_default=True,
        description="The OIDC issuer (`<issuer>/.well-known/openid-configuration` must answer).",
    )
    client_id: Annotated[OidcClientId | None, AfterValidator(_required_when_enabled)] = Field(
        default=None,
        validate_default=True,
        description="The OIDC client registered with the identity provider (required when enabled).",
    )
    client_secret_gsm_secret: Annotated[GsmSecretId | None, AfterValidator(_required_when_enabled)] = Field(
        default=None,
        validate_default=True,
        description="GSM secret id of the OIDC client secret (created by the identity team; never a value here).",
    )
    allowed_email_domains: list[Hostname] = Field(
        default=[],
        description="Email domains that may log in (with allowed_groups: at least one non-empty when enabled).",
    )
    allowed_groups: list[OidcGroup] = Field(
        default=[], description="Values of the ID token's `groups` claim; any one of them admits a user."
    )
    scopes: Annotated[list[OidcScope], Field(min_length=1)] = Field(
        default=["openid", "email", "profile"],
        description="OIDC scopes requested (add `groups` where the provider only sends the claim when asked).",
    )
    release_name: Annotated[ReleaseName, StringConstraints(max_length=51)] = Field(
        default="oauth2-proxy",
        description="Helm release name (51 at most: its ExternalSecret <release_name>-credentials is a label value).",
    )
    chart_version: Annotated[PinnedVersion, AfterValidator(matches_lock(OAUTH2_PROXY_CHART))] | None = (
        restated_chart_version(OAUTH2_PROXY_CHART)
    )
    image: RegistryImage = Field(
        default="quay.io/oauth2-proxy/oauth2-proxy:v7.15.3",
        description=(
            "Exact image, registry/repository:tag, optionally with its digest (registry/repository:tag@sha256:...)."
        ),
    )
    replicas: Annotated[int, Field(ge=1, le=10)] = Field(default=1, description="oauth2-proxy pods.")
    resources: Resources = Field(
        default=Resources(
            requests=ResourceAmounts(cpu="50m", memory="64Mi"), limits=ResourceAmounts(cpu="200m", memory="128Mi")
        ),
        description="Requests and limits per pod.",
    )
    cookie_expire: Annotated[
        str, DurationRange("0s", "168h", "an admin session that outlives a week outlives the reason it was opened")
    ] = Field(
        default="12h",
        description=(
            "Session lifetime (oauth2-proxy --cookie-expire, at most 168h, its default; 0s: no expiry of its own)."
        ),
    )
    cookie_refresh: Annotated[
        str, DurationRange("1s", "24h", "a user removed from allowed_groups keeps access for up to this long")
    ] = Field(
        default="1h",
        description=(
            "How old a session may get before oauth2-proxy refreshes it with the identity provider "
            "(--cookie-refresh): a user removed from allowed_groups, or disabled, loses access within this time. "
            "Needs refresh tokens: Keycloak issues them by default; Okta, Auth0 and Azure AD only with "
            "`offline_access` in scopes (docs/runbooks/single-sign-on.md). Shorter than cookie_expire."
        ),
    )
    idp_egress_cidrs: Annotated[list[Cidr], Field(min_length=1)] = Field(
        default=["0.0.0.0/0"], description="Where oauth2-proxy may reach the identity provider (TCP 443 only)."
    )

    @model_validator(mode="after")
    def _who_may_log_in(self) -> SsoConfig:
        if self.enabled and not self.allowed_email_domains and not self.allowed_groups:
            raise ValueError(
                "an enabled sso needs allowed_email_domains or allowed_groups "
                "(with neither, every account of the identity provider could administer the gateway)"
            )
        return self

    @model_validator(mode="after")
    def _refresh_before_expiry(self) -> SsoConfig:
        # oauth2-proxy's own rule (pkg/validation/cookie.go, validateCookie): with an expiry,
        # the refresh must be strictly shorter, or the proxy refuses to start.
        expire = duration_seconds(self.cookie_expire)
        if expire and duration_seconds(self.cookie_refresh) >= expire:
            raise ConfigProblemError(
                [
                    (
                        "cookie_refresh",
                        f"{self.cookie_refresh} must be shorter than cookie_expire ({self.cookie_expire}): "
                        "oauth2-proxy refuses a refresh period equal to or longer than the session lifetime",
                    )
                ]
            )
        return self
