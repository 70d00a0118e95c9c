"""The typed stack configuration: one pydantic model for the `llm-gateway:` namespace.

Every difference between stacks is a setting here ("Settings, not stack names" in
docs/design.md), every key is validated before a single resource is registered
("Refuse bad config early"), and a bad stack
file is answered by one `ConfigError` that names every bad key path, what was
expected and what was found.

Pulumi hands structured config to the program as JSON strings, one per
top-level key (`llm-gateway:gcp`, `llm-gateway:postgres`, ...). `read_namespace`
collects them; `parse_config` validates them; `load_stack_config` does both for
the running program.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator, model_validator

from config.budget import budget_problems
from config.footprint import capacity_problem
from config.inventory import gsm_secret_id, secret_inventory
from config.langfuse import LangfuseConfig
from config.litellm import LiteLLMConfig
from config.observability import AlertRoutingConfig, AlertsConfig, GrafanaConfig, MonitoringConfig
from config.platform import DataSafetyConfig, GcpConfig, GkeConfig, NamespacesConfig
from config.postgres import PostgresConfig, ReportingConfig
from config.redis import REDIS_NEEDED, RedisConfig
from config.secrets import SecretsConfig
from config.sso import SsoConfig
from config.types import PATTERN_EXAMPLES, ConfigProblemError, ResourceAmounts, Section

NAMESPACE = "llm-gateway"

# Config keys that hold secrets are read with `require_secret` where they are
# used; they are never part of the validated model (and never in a stack file).
SECRET_KEYS = frozenset({"postgresAdminPassword"})


class ConfigError(pulumi.RunError):
    """Invalid stack configuration; Pulumi prints a `RunError` without a traceback."""


class StackConfig(Section):
    """The whole `llm-gateway:` namespace of a stack file."""

    gcp: GcpConfig = Field(description="The GCP project and region.")
    gke: GkeConfig = Field(description="The GKE cluster.")
    namespaces: NamespacesConfig = Field(description="The namespaces the program deploys to.")
    secrets: SecretsConfig = Field(description="Google Secret Manager and External Secrets Operator.")
    data_safety: DataSafetyConfig = Field(description="Resource options of stateful resources.")
    postgres: PostgresConfig = Field(description="LiteLLM's PostgreSQL: a CNPG cluster or an external server.")
    reporting: ReportingConfig = Field(
        default=ReportingConfig(), description="The job that keeps the reporting rollups fresh."
    )
    monitoring: MonitoringConfig = Field(
        default=MonitoringConfig(), description="How kube-prometheus-stack finds the monitors, rules and dashboards."
    )
    grafana: GrafanaConfig = Field(default=GrafanaConfig(), description="Grafana's PostgreSQL datasource.")
    alerts: AlertsConfig = Field(default=AlertsConfig(), description="Prometheus alert rules.")
    alertmanager: AlertRoutingConfig = Field(
        default=AlertRoutingConfig(), description="Alert routing (AlertmanagerConfig)."
    )
    litellm: LiteLLMConfig = Field(description="The LiteLLM proxy.")
    langfuse: LangfuseConfig = Field(default=LangfuseConfig(), description="Self-hosted Langfuse v3 (tracing).")
    sso: SsoConfig = Field(default=SsoConfig(), description="Single sign-on for the admin UI (oauth2-proxy).")
    redis: RedisConfig = Field(default=RedisConfig(), description="Shared state for LiteLLM's processes.")
    # The cluster's allocatable CPU and memory for this program's workloads: the
    # stack's summed requests (config/footprint.py) must fit, or parse fails.
    capacity: ResourceAmounts = Field(
        description=(
            "The cluster's allocatable CPU and memory for this program: the stack's summed requests must fit (README, "
            "Footprint)."
        )
    )

    @property
    def kube_context(self) -> str:
        return self.gke.kube_context or f"gke_{self.gcp.project}_{self.gke.location}_{self.gke.cluster_name}"

    @model_validator(mode="after")
    def _rotation_names_known(self) -> StackConfig:
        specs = {spec.key: spec for spec in secret_inventory(self)}
        unknown = sorted(set(self.secrets.rotation) - set(specs))
        if unknown:
            raise ValueError(f"secrets.rotation names unknown secrets {unknown}; known: {sorted(specs)}")
        fixed = sorted(k for k in self.secrets.rotation if specs[k].rotation != "generation")
        if fixed:
            raise ValueError(
                f"secrets.rotation must not name {fixed}: stored data depends on them or they rotate outside "
                "the program (README, Secrets inventory)"
            )
        return self

    @model_validator(mode="after")
    def _no_collisions(self) -> StackConfig:
        """Names that must differ: Helm releases (one namespace), GSM ids (generated vs referenced),
        PostgreSQL roles and databases (one server)."""
        problems = []
        releases = {"litellm.release_name": self.litellm.release_name}
        if self.langfuse.enabled:
            releases["langfuse.release_name"] = self.langfuse.release_name
        if self.sso.enabled:
            releases["sso.release_name"] = self.sso.release_name
        problems += _same_values(releases, "Helm releases in one namespace need distinct names")
        generated = {gsm_secret_id(self, spec) for spec in secret_inventory(self)}
        referenced = {
            f"litellm.provider_keys[{i}].gsm_secret": k.gsm_secret for i, k in enumerate(self.litellm.provider_keys)
        }
        problems += _same_values(referenced, "a GSM secret can back one provider key only")
        referenced |= {
            f"alertmanager.receivers[{i}].gsm_secret": r.gsm_secret for i, r in enumerate(self.alertmanager.receivers)
        }
        if self.sso.enabled and self.sso.client_secret_gsm_secret:
            referenced["sso.client_secret_gsm_secret"] = self.sso.client_secret_gsm_secret
        problems += [
            f"{path}: {value!r} is a secret this program generates (secrets.prefix + inventory); "
            "name another GSM secret"
            for path, value in referenced.items()
            if value in generated
        ]
        pg, lf = self.postgres, self.langfuse
        if lf.enabled:
            if lf.owner == pg.owner:
                problems.append(f"langfuse.owner: {lf.owner!r} is also postgres.owner; Langfuse needs its own role")
            if lf.database == pg.database:
                problems.append(f"langfuse.database: {lf.database!r} is also postgres.database; use its own database")
        if pg.engine == "external" and pg.external.admin_user in {pg.owner, lf.owner if lf.enabled else pg.owner}:
            problems.append(
                f"postgres.external.admin_user: {pg.external.admin_user!r} must not be a role this program creates"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # Field validators reading the (already validated) litellm section: they run,
    # and are reported, even when an unrelated section has errors.
    @field_validator("langfuse")
    @classmethod
    def _langfuse_ingress(cls, lf: LangfuseConfig, info: ValidationInfo) -> LangfuseConfig:
        litellm = info.data.get("litellm")
        if litellm is not None and lf.enabled and lf.ingress_host and not litellm.ingress.cluster_issuer:
            raise ConfigProblemError(
                [("ingress_host", "needs litellm.ingress.cluster_issuer (the UI's TLS uses the gateway's issuer)")]
            )
        return lf

    @field_validator("redis")
    @classmethod
    def _shared_state(cls, redis: RedisConfig, info: ValidationInfo) -> RedisConfig:
        lit = info.data.get("litellm")
        if lit is None or redis.mode != "none":
            return redis
        pods = lit.autoscaling.max_replicas if lit.autoscaling.enabled else lit.replicas
        processes = pods * lit.num_workers
        if processes > 1:
            what = "autoscaling.max_replicas" if lit.autoscaling.enabled else "replicas"
            raise ConfigProblemError(
                [
                    (
                        "mode",
                        f"none with litellm.{what} ({pods}) x litellm.num_workers ({lit.num_workers}) = "
                        f"{processes} processes; set redis.mode memorystore or in_cluster. "
                        + REDIS_NEEDED.format(processes=processes),
                    )
                ]
            )
        return redis

    @field_validator("sso")
    @classmethod
    def _sso_behind_the_ingress(cls, sso: SsoConfig, info: ValidationInfo) -> SsoConfig:
        litellm = info.data.get("litellm")
        if litellm is None or not sso.enabled:
            return sso
        missing = []
        if not litellm.ingress.enabled:
            missing.append("litellm.ingress.enabled (the UI is served on the gateway's ingress host)")
        if not litellm.network.ingress_controller_namespace:
            missing.append("litellm.network.ingress_controller_namespace (the only client of oauth2-proxy)")
        if missing:
            raise ConfigProblemError([("enabled", "needs " + " and ".join(missing))])
        return sso


def _same_values(named: Mapping[str, str], rule: str) -> list[str]:
    """One problem per key path whose value an earlier key path already has."""
    seen: dict[str, str] = {}
    problems = []
    for path, value in named.items():
        if value in seen:
            problems.append(f"{path}: {value!r} is also {seen[value]} ({rule})")
        seen.setdefault(value, path)
    return problems


def _describe(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _key(part: str | int) -> str:
    """A path element, quoted when it would be ambiguous or unprintable."""
    text = str(part)
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else json.dumps(text)


def _path(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """`litellm.models[0].fallbacks[1]` from pydantic's location tuple."""
    out = ""
    for part in parts:
        if isinstance(part, str) and part.startswith("function-"):
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{_key(part)}" if out else _key(part))
    return out


def _join(path: str, relative: str) -> str:
    if not path:
        return relative
    return path + relative if relative.startswith("[") else f"{path}.{relative}"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The section models an annotation holds (looking through lists, optionals and unions)."""
    candidates = [annotation, *typing.get_args(annotation)]
    candidates += [inner for c in candidates for inner in typing.get_args(c)]
    return [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]


def _located(loc: tuple[str | int, ...]) -> tuple[tuple[str | int, ...], type[BaseModel] | None]:
    """pydantic's location as key path parts (no validator names, no union tags such as
    postgres' engine) and the section model validated there."""
    parts: list[str | int] = []
    model: type[BaseModel] | None = StackConfig
    rest = [p for p in loc if not (isinstance(p, str) and p.startswith("function-"))]
    while rest:
        part = rest.pop(0)
        parts.append(part)
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model is not None else None
        models = _models_in(field.annotation) if field is not None else []
        model = models[0] if models else None
        if field is not None and isinstance(field.discriminator, str) and rest:
            tag, key = rest.pop(0), field.discriminator
            model = next((m for m in models if tag in typing.get_args(m.model_fields[key].annotation)), None)
    return tuple(parts), model


def _field_named_first(model: type[BaseModel] | None, message: str) -> str | None:
    """A section rule's message that starts with one of the section's fields ("bucket is
    required when ...") is reported under that field's key path."""
    first = message.split(" ", 1)[0]
    return first if model is not None and first in model.model_fields else None


def _did_you_mean(loc: tuple[str | int, ...]) -> str:
    """`; did you mean llm-gateway:postgres.cnpg.instances?`: the key of the same section nearest to
    the unknown key at `loc`, if one is close (difflib's ratio of at least 0.6)."""
    from difflib import get_close_matches  # here: used only to word this one error

    parent, model = _located(loc[:-1])
    if model is None or not isinstance(loc[-1], str):
        return ""
    nearest = get_close_matches(loc[-1], list(model.model_fields), n=1)
    return f"; did you mean {NAMESPACE}:{_join(_path(parent), nearest[0])}?" if nearest else ""


def _problem_lines(err: Any) -> list[str]:
    loc, model = _located(tuple(err["loc"]))
    path = _path(loc)
    where = f"{NAMESPACE}:{path}" if path else NAMESPACE
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        return [f"  - {where}: unknown key (not part of the config schema){_did_you_mean(tuple(err['loc']))}"]
    if kind == "missing":
        return [f"  - {where}: required key is missing"]
    if kind in ("union_tag_not_found", "union_tag_invalid"):  # the discriminator, e.g. postgres.engine
        key = ctx["discriminator"].strip("'")
        if kind == "union_tag_not_found":
            return [f"  - {NAMESPACE}:{_join(path, key)}: required key is missing"]
        tags = " or ".join(ctx["expected_tags"].split(", "))
        return [f"  - {NAMESPACE}:{_join(path, key)}: Input should be {tags} (got {_describe(err['input'][key])})"]
    cause = ctx.get("error")
    if isinstance(cause, ConfigProblemError):
        return [f"  - {NAMESPACE}:{_join(path, rel)}: {message}" for rel, message in cause.problems]
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        expected = PATTERN_EXAMPLES.get(pattern, "a value of the documented form (see README, Config reference)")
        return [f"  - {where}: expected {expected} (got {_describe(err['input'])})"]
    msg = err["msg"].removeprefix("Value error, ")
    if isinstance(err["input"], dict | list):  # a whole section: never dump it
        field = _field_named_first(model, msg)
        return [f"  - {NAMESPACE}:{_join(path, field)}: {msg}" if field else f"  - {where}: {msg}"]
    return [f"  - {where}: {msg} (got {_describe(err['input'])})"]


def _report(lines: list[str]) -> str:
    count = sum(1 for line in lines if line.startswith("  - "))
    return f"invalid stack config ({count} problem{'s' if count != 1 else ''}):\n" + "\n".join(lines)


def _format_errors(exc: ValidationError) -> str:
    return _report([line for err in exc.errors(include_url=False) for line in _problem_lines(err)])


def parse_config(raw: Mapping[str, Any], secrets_present: frozenset[str] = frozenset()) -> StackConfig:
    """Validate the decoded namespace; raise one ConfigError listing every problem.

    `secrets_present` names the stack secrets (SECRET_KEYS) that are set; their
    values are never read here. The capacity check needs a valid config, so it
    is reported only once every other problem is fixed.
    """
    lines: list[str] = []
    postgres = raw.get("postgres")
    if (
        isinstance(postgres, dict)
        and postgres.get("engine") == "external"
        and "postgresAdminPassword" not in secrets_present
    ):
        lines.append(
            f"  - {NAMESPACE}:postgresAdminPassword: required secret for postgres.engine external is not set "
            f"(pulumi config set --secret {NAMESPACE}:postgresAdminPassword)"
        )
    try:
        cfg = StackConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(_report([*_format_errors(exc).splitlines()[1:], *lines])) from None
    if lines:
        raise ConfigError(_report(lines))
    problem = capacity_problem(cfg)
    if problem is not None:
        raise ConfigError(_report([f"  - {NAMESPACE}:capacity: {problem}"]))
    problems = budget_problems(cfg)
    if problems:
        raise ConfigError(_report([f"  - {NAMESPACE}:{key}: {text}" for key, text in problems]))
    return cfg


def read_namespace(values: Mapping[str, Any]) -> dict[str, Any]:
    """Decode the `llm-gateway:*` entries of Pulumi's flat config map.

    Each top-level key is a section; Pulumi passes it as a JSON string.
    """
    out: dict[str, Any] = {}
    problems = []
    prefix = f"{NAMESPACE}:"
    for full_key, value in sorted(values.items()):
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        if key in SECRET_KEYS:
            continue
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                problems.append(f"  - {full_key}: expected a mapping (a config section), got {_describe(value)}")
                continue
        out[key] = value
    if problems:
        raise ConfigError("invalid stack config:\n" + "\n".join(problems))
    return out


def load_stack_config() -> StackConfig:
    """The running program's config: Pulumi's config map, validated."""
    values: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    present = frozenset(key for key in SECRET_KEYS if values.get(f"{NAMESPACE}:{key}"))
    return parse_config(read_namespace(values), present)
