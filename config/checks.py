"""Whole-stack checks: rules across sections that read a finished `StackConfig`.

They stand above the section models and the derived facts (`inventory`,
`footprint`, `budget`): each takes a config that every section rule has already
accepted and returns (key path, explanation) for every problem it finds, so
`parse_config` (config/load.py) reports all of them at once, in one `ConfigError`.

- the rotation setting names secrets the inventory generates and may rotate;
- names that must differ: Helm releases (one namespace), GSM ids (generated, referenced and the
  tenants' keys), Google service account ids (one project: the namespaces' secret readers, tenant
  namespaces' included, and the tenants' reconciler), PostgreSQL roles and databases (one server);
- the workloads' requests fit `capacity` (config/footprint.py);
- the connection and storage budgets and the spend-log cleanup fit (config/budget.py);
- the reporting refresh window fits the spend-log retention (`reporting_problems`);
- a rotated-out tenant key outlives ESO's delivery of the new one (`tenants_problems`);
- a production stack encrypts its state with a KMS secrets provider (`secrets_provider_problem`,
  which also needs the stack file's `secretsprovider`: config/load.py reads it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from config.budget import budget_problems
from config.durations import duration_seconds
from config.footprint import capacity_problem
from config.inventory import gsm_secret_id, secret_inventory
from config.postgres import WINDOW_DAYS
from config.secrets import consuming_namespaces
from config.stack import StackConfig
from config.tenants import all_keys, reconciler_account_id, tenant_key_gsm_id, tenant_key_gsm_prefix, tenant_namespaces
from config.tenants import duration_seconds as grace_seconds
from config.types import period_seconds

Problem = tuple[str, str]
"""(key path below the namespace, what is wrong and what to do)."""

KMS_SECRETS_PROVIDERS = ("gcpkms://", "awskms://", "azurekeyvault://", "hashivault://")
"""Pulumi's secrets providers whose key lives in a KMS: decrypting the state takes the key's permission."""


@dataclass(frozen=True)
class StackSettings:
    """What the program reads of Pulumi.<stack>.yaml besides its config (Pulumi does not tell a
    running program): the state's secrets provider."""

    file_name: str
    """The stack file, e.g. Pulumi.enterprise.yaml (named in messages)."""
    secrets_provider: str | None
    """Its `secretsprovider`; None: the default (Pulumi Cloud's key, or a passphrase)."""


def stack_problems(cfg: StackConfig) -> list[Problem]:
    """Every whole-stack problem of `cfg`, in the order the checks above list them."""
    problems = [*rotation_problems(cfg), *collision_problems(cfg)]
    capacity = capacity_problem(cfg)
    if capacity is not None:
        problems.append(("capacity", capacity))
    return [*problems, *budget_problems(cfg), *reporting_problems(cfg), *tenants_problems(cfg)]


def _short(seconds: int) -> str:
    """`seconds` in the largest whole unit of a grace period (7d, 2h, 90s)."""
    unit, size = next((u, n) for u, n in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)) if seconds % n == 0)
    return f"{seconds // size}{unit}"


def tenants_problems(cfg: StackConfig) -> list[Problem]:
    """After a rotation the old key is blocked once `tenants.grace_period` has passed; ESO delivers the new
    value within `secrets.refresh_interval` of the new GSM version. A grace period under twice that
    interval (a refresh may have just run) can block the old key while pods still hold it."""
    grace, refresh = cfg.tenants.grace_period, cfg.secrets.refresh_interval
    least = 2 * duration_seconds(refresh)
    if grace_seconds(grace) >= least:
        return []
    return [
        (
            "tenants.grace_period",
            f"{grace} is shorter than twice secrets.refresh_interval ({refresh}): the old key could be blocked "
            f"before ESO delivers the new one; accepted: {_short(least)} or longer",
        )
    ]


def reporting_problems(cfg: StackConfig) -> list[Problem]:
    """The refresh window reaches back no further than LiteLLM keeps its spend logs: a day older
    than the retention can no longer be checked against (or rebuilt from) the raw log."""
    window = cfg.reporting.window_days
    retention = cfg.litellm.database.spend_logs_retention
    kept_days = period_seconds(retention) // 86400
    if window <= kept_days:
        return []
    low, high = WINDOW_DAYS
    accepted = f"{low} to {min(high, kept_days)}" if kept_days >= low else f"none below a retention of {low}d"
    return [
        (
            "reporting.window_days",
            f"{window} days is longer than litellm.database.spend_logs_retention ({retention}: {kept_days} whole "
            f"days); accepted: {accepted}",
        )
    ]


def secrets_provider_problem(cfg: StackConfig, stack: StackSettings) -> Problem | None:
    """`data_safety.production` needs a KMS secrets provider: the state holds every generated credential
    (encrypted), and with the default provider anyone who may read the stack can decrypt them
    (`pulumi stack export --show-secrets`), bypassing Secret Manager's IAM and audit log."""
    provider = stack.secrets_provider
    if not cfg.data_safety.production or (provider and provider.startswith(KMS_SECRETS_PROVIDERS)):
        return None
    found = (
        f"{stack.file_name} has `secretsprovider: {provider}`, not a KMS ({', '.join(KMS_SECRETS_PROVIDERS)})"
        if provider
        else f"{stack.file_name} has no `secretsprovider` (the default provider)"
    )
    key = f"gcpkms://projects/{cfg.gcp.project}/locations/L/keyRings/R/cryptoKeys/K"
    return (
        "data_safety.production",
        f"true, but {found}: anyone who may read the stack can decrypt the credentials in its state. "
        "Encrypt it with a Cloud KMS key only the deploy identity may use: "
        f'pulumi stack change-secrets-provider "{key}" (docs/deploying.md), then commit the file',
    )


def rotation_problems(cfg: StackConfig) -> list[Problem]:
    """`secrets.rotation` may name only generated secrets that rotate by generation."""
    specs = {spec.key: spec for spec in secret_inventory(cfg)}
    rotation = cfg.secrets.rotation
    unknown = sorted(set(rotation) - set(specs))
    if unknown:
        return [("secrets.rotation", f"names unknown secrets {unknown}; known: {sorted(specs)}")]
    fixed = sorted(k for k in rotation if specs[k].rotation != "generation")
    if fixed:
        return [
            (
                "secrets.rotation",
                f"must not name {fixed}: stored data depends on them or they rotate outside the program "
                "(docs/security.md, Secrets inventory)",
            )
        ]
    return []


def collision_problems(cfg: StackConfig) -> list[Problem]:
    """Names that must differ: Helm releases (one namespace), GSM ids (generated vs
    referenced), PostgreSQL roles and databases (one server). One problem per key path."""
    releases = {"litellm.release_name": cfg.litellm.release_name}
    if cfg.langfuse.enabled:
        releases["langfuse.release_name"] = cfg.langfuse.release_name
    if cfg.sso.enabled:
        releases["sso.release_name"] = cfg.sso.release_name
    problems = _same_values(releases, "Helm releases in one namespace need distinct names")
    generated = {gsm_secret_id(cfg, spec) for spec in secret_inventory(cfg)}
    referenced = {
        f"litellm.provider_keys[{i}].gsm_secret": k.gsm_secret for i, k in enumerate(cfg.litellm.provider_keys)
    }
    problems += _same_values(referenced, "a GSM secret can back one provider key only")
    referenced |= {
        f"alertmanager.receivers[{i}].gsm_secret": r.gsm_secret for i, r in enumerate(cfg.alertmanager.receivers)
    }
    if cfg.sso.enabled and cfg.sso.client_secret_gsm_secret:
        referenced["sso.client_secret_gsm_secret"] = cfg.sso.client_secret_gsm_secret
    if cfg.langfuse.enabled and cfg.langfuse.sso is not None:
        referenced["langfuse.sso.client_secret_gsm_secret"] = cfg.langfuse.sso.client_secret_gsm_secret
    problems += [
        (path, f"{value!r} is a secret this program generates (secrets.prefix + inventory); name another GSM secret")
        for path, value in referenced.items()
        if value in generated
    ]
    problems += _tenant_secret_problems(cfg, generated, referenced)
    return problems + _service_account_problems(cfg) + _database_name_problems(cfg)


def _tenant_secret_problems(cfg: StackConfig, generated: set[str], referenced: dict[str, str]) -> list[Problem]:
    """A tenant key's GSM secret (`<prefix>tenant-<team>-<key>`) must not be one the stack generates or references;
    nor may any secret the stack generates or references start with that prefix: the reconciler's grants admit
    every secret whose id does (one condition, components/tenants/component.py)."""
    prefix = cfg.secrets.prefix
    taken = generated | set(referenced.values())
    problems: list[Problem] = [
        (
            f"tenants.teams[{i}].keys[{j}].alias",
            f"its GSM secret {gsm!r} is also a secret the stack generates or references; rename the key",
        )
        for i, team, j, key in all_keys(cfg.tenants)
        if (gsm := tenant_key_gsm_id(prefix, team, key)) in taken
    ]
    if not cfg.tenants.enabled or problems:
        return problems
    start = tenant_key_gsm_prefix(prefix)
    reader = "the tenants reconciler could read it; name another GSM secret"
    problems += [
        (path, f"{v!r} starts with {start!r}: {reader}") for path, v in referenced.items() if v.startswith(start)
    ]
    problems += [
        ("secrets.prefix", f"{v!r} starts with {start!r}: {reader}") for v in sorted(generated) if v.startswith(start)
    ]
    return problems


def _service_account_problems(cfg: StackConfig) -> list[Problem]:
    """Google service account ids are unique per project: the backup writer's, Langfuse's blob
    writer's and each consuming namespace's secret reader (`secrets.store`)."""
    accounts: list[tuple[str, str, str]] = []  # (key path, account id, whose)
    if cfg.postgres.engine == "cnpg" and cfg.postgres.backup.enabled:
        accounts.append(("postgres.backup.gsa_account_id", cfg.postgres.backup.gsa_account_id, "the backup writer's"))
    if cfg.langfuse.enabled and cfg.langfuse.gcs is not None:
        accounts.append(("langfuse.gcs.gsa_account_id", cfg.langfuse.gcs.gsa_account_id, "Langfuse's blob writer's"))
    store, gateway = cfg.secrets.store, cfg.namespaces.gateway
    for ns in consuming_namespaces(cfg.namespaces):
        key = "gsa_account_id" if ns == gateway and store.gsa_account_id else "gsa_prefix"
        accounts.append((f"secrets.store.{key}", store.account_id(ns, gateway), f"namespace {ns}'s secret reader's"))
    if cfg.tenants.enabled:
        key = "tenants.gsa_account_id" if cfg.tenants.gsa_account_id else "secrets.store.gsa_prefix"
        accounts.append((key, reconciler_account_id(cfg.tenants, store.gsa_prefix), "the tenants reconciler's"))
    for ns in tenant_namespaces(cfg.tenants):
        reader = f"tenant namespace {ns}'s secret reader's"
        accounts.append(("secrets.store.gsa_prefix", store.account_id(ns, gateway), reader))
    seen: dict[str, str] = {}
    problems = []
    for path, account, whose in accounts:
        if account in seen:
            problems.append(
                (path, f"{whose} account id {account!r} is also {seen[account]}: account ids are unique per project")
            )
        seen.setdefault(account, f"{whose} ({path})")
    return problems


def _database_name_problems(cfg: StackConfig) -> list[Problem]:
    """Roles and databases on the one PostgreSQL server."""
    pg, lf = cfg.postgres, cfg.langfuse
    problems = []
    if lf.enabled:
        if lf.owner == pg.owner:
            problems.append(("langfuse.owner", f"{lf.owner!r} is also postgres.owner; Langfuse needs its own role"))
        if lf.database == pg.database:
            problems.append(("langfuse.database", f"{lf.database!r} is also postgres.database; use its own database"))
    if pg.engine == "external" and pg.external.admin_user in {pg.owner, lf.owner if lf.enabled else pg.owner}:
        problems.append(
            ("postgres.external.admin_user", f"{pg.external.admin_user!r} must not be a role this program creates")
        )
    return problems


def _same_values(named: Mapping[str, str], rule: str) -> list[Problem]:
    """One problem per key path whose value an earlier key path already has."""
    seen: dict[str, str] = {}
    problems = []
    for path, value in named.items():
        if value in seen:
            problems.append((path, f"{value!r} is also {seen[value]} ({rule})"))
        seen.setdefault(value, path)
    return problems
