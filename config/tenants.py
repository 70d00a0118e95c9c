"""`tenants`: teams, their budgets and virtual keys, declared per stack and reconciled with LiteLLM.

The section is data only: components/tenants builds the desired-state document the in-cluster
reconciler applies (docs/tenants.md), one GSM secret per key and its delivery by ESO. The rules
between entries and against the rest of the stack (models the stack serves, namespaces it must not
deliver into, LiteLLM's own key defaults and upper bound) are `tenant_problems`
(config/tenants_rules.py), which StackConfig runs on a validated section so that every problem is
reported at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BeforeValidator, Field

from config.durations import PeriodRange, period_seconds
from config.litellm_models import ModelName
from config.secrets import derived_gsa_account_id
from config.types import (
    Cidr,
    CronSchedule,
    DnsLabel,
    EmailAddress,
    GsaAccountId,
    ResourceAmounts,
    Resources,
    Section,
    pattern,
)

TenantAlias = Annotated[
    str,
    pattern(
        r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,38}[A-Za-z0-9])?$",
        "an alias of 1-40 letters, digits, '-' and '_' (no spaces or control characters), e.g. search-prod",
    ),
]
"""A team's or a key's alias: unique case-insensitively (teams among teams, keys among every team's keys)."""
TeamId = Annotated[
    str, pattern(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$", "a LiteLLM team id of 1-63 characters, e.g. llmgw-search")
]
CostCentre = Annotated[
    str,
    pattern(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$", "a cost centre code of 1-63 letters, digits, '-', '_', e.g. CC-1001"),
]
Budget = Annotated[float, Field(gt=0, le=1_000_000_000)]
"""USD; finite (no .nan or .inf: every section refuses them)."""
TpmLimit = Annotated[int, Field(ge=1, le=1_000_000_000_000)]
RpmLimit = Annotated[int, Field(ge=1, le=1_000_000_000)]

DURATION_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "mo": 30 * 86400}
"""LiteLLM's duration units in seconds (`mo` counts 30 days, as its parser does)."""
_BUDGET_DURATION = re.compile(r"([0-9]{1,5})(s|m|h|d|w|mo)")
_GRACE = re.compile(r"([0-9]{1,5})(s|m|h|d|w)")


def _budget_duration(value: str) -> str:
    """LiteLLM's budget reset period, as its reset scheduler reads it: digits and ONE unit, nothing after it
    (LiteLLM's validation accepts `30days`, then its scheduler resets such a budget every midnight)."""
    match = _BUDGET_DURATION.fullmatch(value)
    if match is None:
        raise ValueError("must be a number and one unit of s, m, h, d, w or mo (e.g. 30d, 1mo, 12h), nothing else")
    if int(match[1]) == 0:
        raise ValueError("must be longer than 0")
    return value


def _grace_period(value: str) -> str:
    match = _GRACE.fullmatch(value)
    if match is None or int(match[1]) == 0:
        raise ValueError("must be a positive number and one unit of s, m, h, d or w (e.g. 7d, 12h)")
    return value


def _key_expiry(value: str) -> str:
    """A calendar date; the key stops working at 00:00 UTC that day."""
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValueError
        date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a date YYYY-MM-DD (the key expires at 00:00 UTC that day)") from None
    return value


def _date_as_text(value: Any) -> Any:
    """An unquoted YAML date (`expires: 2027-06-30`) arrives as a date: taken as its ISO text."""
    return value.isoformat() if isinstance(value, date) else value


class _BudgetPeriodRange(PeriodRange):
    """A LiteLLM budget period's range; `mo` (a calendar month) counts as 30 days here."""

    def seconds(self, value: str) -> int:
        months = re.fullmatch(r"([0-9]+)mo", value)
        return int(months[1]) * 30 * 86400 if months else period_seconds(value)


BudgetDuration = Annotated[
    str,
    AfterValidator(_budget_duration),
    _BudgetPeriodRange("1h", "365d", "a budget period; LiteLLM adds it to now to set the next reset"),
]
GracePeriod = Annotated[
    str,
    AfterValidator(_grace_period),
    PeriodRange("1h", "90d", "a rotated-out key keeps working this long, then is blocked"),
]
KeyExpiry = Annotated[str, BeforeValidator(_date_as_text), AfterValidator(_key_expiry)]


def duration_seconds(value: str) -> int:
    """A budget duration or grace period (`30d`, `1mo`, `12h`) in seconds."""
    match = re.fullmatch(r"([0-9]+)(mo|[smhdw])", value)
    if match is None:
        raise ValueError(f"not a duration: {value!r}")
    return int(match[1]) * DURATION_UNITS[match[2]]


GSM_ONLY: Final = "gsm_only"
KEY_DATA_KEY: Final = "api-key"
"""The data key of a delivered Secret holding the key value (fixed; docs/tenants.md)."""


def _delivery(value: Any) -> Any:
    """`gsm_only` is held as None (no delivery); a mapping is a KeyDelivery; anything else is refused once."""
    if value == GSM_ONLY:
        return None
    if isinstance(value, dict):
        return value
    raise ValueError(f"must be `{GSM_ONLY}` or a mapping {{namespace, secret}}")


class KeyDelivery(Section):
    """Where a key's value is rendered: a Kubernetes Secret in a tenant namespace (by ESO)."""

    namespace: DnsLabel = Field(
        description=(
            f"The tenant namespace (`deliver: {GSM_ONLY}` instead: the value stays in Google Secret Manager). It "
            "exists: the program does not create it. Never a system namespace nor one of "
            "the stack's own; the program adds a SecretStore and a Google service account there that read exactly "
            "this namespace's keys."
        )
    )
    secret: DnsLabel = Field(
        description=f"The Secret the key's value is rendered into, under data key `{KEY_DATA_KEY}` (one key each)."
    )


class TenantKey(Section):
    """One LiteLLM virtual key of a team: its limits and where its value is delivered."""

    alias: TenantAlias = Field(
        description="LiteLLM's key_alias: unique across every team's keys (case-insensitive), 1-40 characters."
    )
    models: list[ModelName] = Field(
        default=[], description="Models the key may call: a subset of the team's (empty: all of the team's)."
    )
    max_budget: Budget | None = Field(
        default=None,
        description=(
            "USD the key may spend per budget_duration: at most the team's max_budget and "
            "litellm.settings.max_key_budget; unset: litellm.settings.default_key_max_budget, if any."
        ),
    )
    budget_duration: BudgetDuration | None = Field(
        default=None,
        description="When the key's spend resets (e.g. 30d, 1mo); unset: litellm.settings.default_key_budget_duration.",
    )
    tpm_limit: TpmLimit | None = Field(
        default=None,
        description="Tokens per minute (at most the team's); unset: litellm.settings.default_key_tpm_limit.",
    )
    rpm_limit: RpmLimit | None = Field(
        default=None,
        description="Requests per minute (at most the team's); unset: litellm.settings.default_key_rpm_limit.",
    )
    expires: KeyExpiry | None = Field(
        default=None, description="Date the key stops working (YYYY-MM-DD, 00:00 UTC); unset: never."
    )
    rotation: Annotated[int, Field(ge=0, le=1_000_000)] = Field(
        default=0,
        description=(
            "Bump to rotate: the reconciler generates a new value, registers it, and blocks the old key after "
            "tenants.grace_period. Never lower it (the diff refuses that)."
        ),
    )
    deliver: Annotated[KeyDelivery | None, BeforeValidator(_delivery)] = Field(
        description=(
            f"`{GSM_ONLY}` (the value stays in Google Secret Manager) or {{namespace, secret}}: ESO renders it into "
            "that Secret of that tenant namespace."
        )
    )

    @property
    def gsm_only(self) -> bool:
        return self.deliver is None


class TenantTeam(Section):
    """One LiteLLM team: who owns it, who pays, its budget, limits and models, and its keys."""

    alias: TenantAlias = Field(
        description="LiteLLM's team_alias: unique among the teams (case-insensitive), 1-40 characters."
    )
    id: TeamId | None = Field(
        default=None,
        description="LiteLLM's team_id, never changed once created; unset: `llmgw-` and the alias in lower case.",
    )
    owner: EmailAddress = Field(description="The team's owner (an e-mail address), kept in the team's metadata.")
    cost_centre: CostCentre = Field(description="Who pays: the chargeback groups spend by it.")
    max_budget: Budget = Field(description="USD the team may spend per budget_duration (0 < budget ≤ 1e9).")
    budget_duration: BudgetDuration | None = Field(
        default=None, description="When the team's spend resets (e.g. 30d, 1mo); unset: never."
    )
    tpm_limit: TpmLimit | None = Field(default=None, description="Tokens per minute of the whole team.")
    rpm_limit: RpmLimit | None = Field(default=None, description="Requests per minute of the whole team.")
    models: Annotated[list[ModelName], Field(min_length=1)] = Field(
        description="Models the team may call: names of litellm.models (at least one)."
    )
    blocked: bool = Field(default=False, description="Block every request of the team (keys kept).")
    keys: list[TenantKey] = Field(default=[], description="The team's virtual keys.")

    @property
    def team_id(self) -> str:
        return self.id if self.id is not None else f"llmgw-{self.alias.lower()}"


class TenantDeletions(Section):
    """What the reconciler deletes for good (by default a removed team or key is only blocked)."""

    teams: list[str] = Field(
        default=[],
        description=(
            "Team ids or aliases no longer declared: deleted with /team/delete, which deletes the team's keys too "
            "(list them in keys). Spend logs stay."
        ),
    )
    keys: list[str] = Field(default=[], description="Key aliases no longer declared: deleted with /key/delete.")


def _default_resources() -> Resources:
    return Resources(
        requests=ResourceAmounts(cpu="20m", memory="64Mi"), limits=ResourceAmounts(cpu="500m", memory="256Mi")
    )


class TenantsConfig(Section):
    """Tenants as code: teams, budgets and virtual keys, reconciled with LiteLLM by a Job in the cluster."""

    enabled: bool = Field(
        default=False,
        description=(
            "Run the reconciler (a Job per change and a CronJob). Keep it on once teams were declared: with no teams "
            "left, it blocks every team and key it manages."
        ),
    )
    grace_period: GracePeriod = Field(
        default="7d",
        description=(
            "After a rotation, how long the old key keeps working before it is blocked; at least twice "
            "secrets.refresh_interval, so ESO has delivered the new value first."
        ),
    )
    reconcile_schedule: CronSchedule = Field(
        default="17 * * * *", description="The CronJob that reports and corrects drift (five-field cron, UTC)."
    )
    teams: list[TenantTeam] = Field(default=[], description="The teams, each with its keys.")
    delete: TenantDeletions = Field(
        default=TenantDeletions(), description="Teams and keys to delete for good (removed ones are only blocked)."
    )
    resources: Resources = Field(default_factory=_default_resources, description="The reconciler's container.")
    gsa_account_id: GsaAccountId | None = Field(
        default=None,
        description=(
            "The reconciler's Google service account id (it adds and reads the key secrets' versions); unset: "
            "`<secrets.store.gsa_prefix>-tenants`."
        ),
    )
    google_apis_cidrs: Annotated[list[Cidr], Field(min_length=1)] = Field(
        default=["0.0.0.0/0"],
        description=(
            "Where the reconciler may reach Secret Manager (HTTPS only): Google's APIs have no stable public ranges; "
            "with Private Google Access, private.googleapis.com's 199.36.153.8/30."
        ),
    )


def key_models(team: TenantTeam, key: TenantKey) -> list[str]:
    """The models a key may call: its own list, else the team's."""
    return list(key.models) if key.models else list(team.models)


def tenant_key_gsm_prefix(prefix: str) -> str:
    """What every tenant key's GSM secret id starts with, and no other secret's of the stack: the
    reconciler's grants are conditioned on it (components/tenants/component.py)."""
    return f"{prefix}tenant-"


def tenant_key_gsm_id(prefix: str, team: TenantTeam, key: TenantKey) -> str:
    """The GSM secret id of a key (at most 40 + 7 + 40 + 1 + 40 = 128 characters of GSM's 255)."""
    return f"{tenant_key_gsm_prefix(prefix)}{team.alias}-{key.alias}"


def all_keys(tenants: TenantsConfig) -> Iterator[tuple[int, TenantTeam, int, TenantKey]]:
    """(team index, team, key index, key) of every declared key, in order."""
    for i, team in enumerate(tenants.teams):
        for j, key in enumerate(team.keys):
            yield i, team, j, key


def tenant_namespaces(tenants: TenantsConfig) -> tuple[str, ...]:
    """The namespaces keys are delivered into (each gets its own store and identity), sorted."""
    delivered = (k.deliver for _, _, _, k in all_keys(tenants))
    return tuple(sorted({d.namespace for d in delivered if isinstance(d, KeyDelivery)}))


RECONCILER_ACCOUNT_STEM: Final = "tenants"


def reconciler_account_id(tenants: TenantsConfig, gsa_prefix: str) -> str:
    """The reconciler's Google service account id: `tenants.gsa_account_id`, else `<gsa_prefix>-tenants`."""
    if tenants.gsa_account_id is not None:
        return tenants.gsa_account_id
    return derived_gsa_account_id(gsa_prefix, RECONCILER_ACCOUNT_STEM)
