"""The rules of the `tenants` section: between its entries and against the rest of the stack.

`tenant_problems` takes a section pydantic has validated (config/tenants.py) with the litellm and
namespaces sections, and returns every problem at once, each under its key path below `tenants`:
duplicate aliases and team ids (case-insensitive, keys across teams), models the stack does not
serve or the team does not have, key budgets and limits above the team's or LiteLLM's upper bound
(after LiteLLM's own key defaults, `key_limits`), deliveries into system or the stack's namespaces
or two keys into one Secret, and deletions of what is still declared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from config.litellm import LiteLLMConfig
from config.platform import NamespacesConfig
from config.tenants import KeyDelivery, TenantKey, TenantsConfig, all_keys, tenant_key_gsm_id

Problem = tuple[str, str]
"""(key path relative to `tenants`, what is wrong)."""

RESERVED_NAMESPACES: Final = frozenset(
    {"default", "kube-system", "kube-public", "kube-node-lease", "external-secrets", "cnpg-system"}
)
RESERVED_PREFIXES: Final = ("kube-", "gke-", "gmp-")
"""Namespaces of the cluster itself and of the platform operators this program relies on."""
RESERVED_TEAM_IDS: Final = frozenset({"litellm-dashboard"})
"""team_id values LiteLLM keeps for itself (its admin UI's team)."""


@dataclass(frozen=True)
class KeyLimits:
    """A key's budget and limits as LiteLLM stores them: the declared value, else the stack's key defaults
    (`default_key_generate_params`), else for the budget the upper bound LiteLLM fills in
    (`upperbound_key_generate_params`: litellm.settings.max_key_budget)."""

    max_budget: float | None
    budget_duration: str | None
    tpm_limit: int | None
    rpm_limit: int | None


def key_limits(key: TenantKey, lit: LiteLLMConfig) -> KeyLimits:
    s = lit.settings
    budget = key.max_budget if key.max_budget is not None else s.default_key_max_budget
    return KeyLimits(
        max_budget=budget if budget is not None else s.max_key_budget,
        budget_duration=key.budget_duration if key.budget_duration is not None else s.default_key_budget_duration,
        tpm_limit=key.tpm_limit if key.tpm_limit is not None else s.default_key_tpm_limit,
        rpm_limit=key.rpm_limit if key.rpm_limit is not None else s.default_key_rpm_limit,
    )


def tenant_problems(t: TenantsConfig, lit: LiteLLMConfig, namespaces: NamespacesConfig) -> list[Problem]:
    """Every rule between the section's entries and against the stack: (path below `tenants`, message)."""
    problems: list[Problem] = []
    if not t.enabled and (t.teams or t.delete.teams or t.delete.keys):
        problems.append(("enabled", "false, but teams or deletions are declared: set it true, or nothing applies them"))
    return [
        *problems,
        *_alias_problems(t),
        *_model_problems(t, lit),
        *_limit_problems(t, lit),
        *_delivery_problems(t, lit, namespaces),
        *_deletion_problems(t),
    ]


def _first_use(seen: dict[str, str], name: str, path: str, what: str) -> list[Problem]:
    """A problem at `path` if `name` (case-insensitive) was seen before; remembers it otherwise."""
    earlier = seen.setdefault(name.lower(), path)
    if earlier == path:
        return []
    return [(path, f"{name!r} is already used by {earlier} ({what} are unique, case-insensitive)")]


def _alias_problems(t: TenantsConfig) -> list[Problem]:
    problems: list[Problem] = []
    teams: dict[str, str] = {}
    ids: dict[str, str] = {}
    keys: dict[str, str] = {}
    gsm_ids: dict[str, str] = {}
    for i, team in enumerate(t.teams):
        repeated = _first_use(teams, team.alias, f"teams[{i}].alias", "team aliases")
        id_path = f"teams[{i}].id" if team.id is not None else f"teams[{i}].alias"
        if team.team_id in RESERVED_TEAM_IDS:
            problems.append((id_path, f"team id {team.team_id!r} is LiteLLM's own (its admin UI's team)"))
        if not (repeated and team.id is None):  # a derived id repeats with its alias: said once
            repeated += _first_use(ids, team.team_id, id_path, "team ids")
        problems += repeated
        for j, key in enumerate(team.keys):
            path = f"teams[{i}].keys[{j}].alias"
            problems += _first_use(keys, key.alias, path, "key aliases, across all teams,")
            gsm = tenant_key_gsm_id("", team, key)
            if gsm_ids.setdefault(gsm, path) != path:
                problems.append((path, f"its GSM secret id {gsm!r} is also {gsm_ids[gsm]}'s: rename one of the keys"))
    return problems


def _subset(path: str, names: list[str], allowed: list[str], where: str) -> list[Problem]:
    problems = [(f"{path}[{n}]", f"{m!r} is not {where}") for n, m in enumerate(names) if m not in allowed]
    problems += [(f"{path}[{n}]", f"{m!r} is listed twice") for n, m in enumerate(names) if names.index(m) != n]
    return problems


def _model_problems(t: TenantsConfig, lit: LiteLLMConfig) -> list[Problem]:
    served = [m.name for m in lit.models]
    problems: list[Problem] = []
    for i, team in enumerate(t.teams):
        problems += _subset(f"teams[{i}].models", team.models, served, f"a model of litellm.models ({served})")
        for j, key in enumerate(team.keys):
            where = f"a model of the team's ({team.models})"
            problems += _subset(f"teams[{i}].keys[{j}].models", key.models, team.models, where)
    return problems


def _limit_problems(t: TenantsConfig, lit: LiteLLMConfig) -> list[Problem]:
    problems: list[Problem] = []
    ceiling = lit.settings.max_key_budget
    for i, team, j, key in all_keys(t):
        path, limits = f"teams[{i}].keys[{j}]", key_limits(key, lit)
        budget_from = (
            "max_budget"
            if key.max_budget is not None
            else "max_budget unset: litellm.settings.default_key_max_budget"
            if lit.settings.default_key_max_budget is not None
            else "max_budget unset: litellm.settings.max_key_budget"
        )
        if limits.max_budget is not None and limits.max_budget > team.max_budget:
            problems.append(
                (f"{path}.max_budget", f"{budget_from} {limits.max_budget:g} exceeds the team's {team.max_budget:g}")
            )
        if ceiling is not None and limits.max_budget is not None and limits.max_budget > ceiling:
            problems.append(
                (
                    f"{path}.max_budget",
                    f"{limits.max_budget:g} exceeds litellm.settings.max_key_budget {ceiling:g} (LiteLLM refuses it)",
                )
            )
        for field, team_value in (("tpm_limit", team.tpm_limit), ("rpm_limit", team.rpm_limit)):
            value = getattr(limits, field)
            if value is not None and team_value is not None and value > team_value:
                problems.append((f"{path}.{field}", f"{value} exceeds the team's {field} {team_value}"))
    return problems


def reserved_namespaces(lit: LiteLLMConfig, namespaces: NamespacesConfig) -> dict[str, str]:
    """Namespace -> why no key may be delivered into it: the stack's own and the platform's."""
    own = [
        (namespaces.gateway, "namespaces.gateway"),
        (namespaces.grafana, "namespaces.grafana"),
        (lit.network.prometheus_namespace, "litellm.network.prometheus_namespace"),
    ]
    if lit.network.ingress_controller_namespace:
        own.append((lit.network.ingress_controller_namespace, "litellm.network.ingress_controller_namespace"))
    out = {ns: "a system or platform-operator namespace" for ns in RESERVED_NAMESPACES}
    for ns, key in own:
        out[ns] = f"{out[ns]} and {key}" if ns in out and ns not in RESERVED_NAMESPACES else key
    return out


def _delivery_problems(t: TenantsConfig, lit: LiteLLMConfig, namespaces: NamespacesConfig) -> list[Problem]:
    reserved = reserved_namespaces(lit, namespaces)
    problems: list[Problem] = []
    targets: dict[tuple[str, str], str] = {}
    for i, _team, j, key in all_keys(t):
        if not isinstance(key.deliver, KeyDelivery):
            continue
        path, ns = f"teams[{i}].keys[{j}].deliver", key.deliver.namespace
        why = reserved.get(ns) or ("a system namespace" if ns.startswith(RESERVED_PREFIXES) else None)
        if why:
            problems.append((f"{path}.namespace", f"{ns!r} is {why}: deliver keys into tenant namespaces only"))
        earlier = targets.setdefault((ns, key.deliver.secret), path)
        if earlier != path:
            problems.append((f"{path}.secret", f"Secret {ns}/{key.deliver.secret} is already {earlier}'s target"))
    return problems


def _deletion_problems(t: TenantsConfig) -> list[Problem]:
    teams = {name.lower() for team in t.teams for name in (team.alias, team.team_id)}
    keys = {key.alias.lower() for _, _, _, key in all_keys(t)}
    problems: list[Problem] = []
    for kind, names, declared in (("teams", t.delete.teams, teams), ("keys", t.delete.keys, keys)):
        for n, name in enumerate(names):
            if name.lower() in declared:
                problems.append((f"delete.{kind}[{n}]", f"{name!r} is still declared: remove it from teams first"))
            elif not name.strip() or any(ord(c) < 32 or ord(c) == 127 for c in name):
                problems.append((f"delete.{kind}[{n}]", "must be a non-empty name without control characters"))
    return problems
