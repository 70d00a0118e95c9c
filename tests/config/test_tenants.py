"""The `tenants` section: every bad input docs/tenants.md lists is refused with its key path, all at once,
and the ranges of budgets, limits and durations are exactly the documented ones (Hypothesis)."""

from __future__ import annotations

import copy
import math
import re
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config import ConfigError, StackConfig, TenantsConfig, parse_config
from config.tenants import duration_seconds, reconciler_account_id, tenant_key_gsm_id
from config.tenants_rules import key_limits
from tests.support.config import namespace
from tools.preview import main as preview_main

NS = "llm-gateway"


def team(alias: str = "search", **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "alias": alias,
        "owner": "alice@acme.example",
        "cost_centre": "CC-1001",
        "max_budget": 40,
        "budget_duration": "30d",
        "models": ["gpt-4o-mini", "claude-haiku"],
        "keys": [],
    }
    return {**base, **extra}


def key(alias: str, **extra: Any) -> dict[str, Any]:
    return {"alias": alias, "max_budget": 10, "deliver": "gsm_only", **extra}


def lab_with(*teams: dict[str, Any], **section: Any) -> dict[str, Any]:
    """The lab's namespace (LiteLLM's max_key_budget 50, default key budget 10) with a tenants section."""
    raw = copy.deepcopy(namespace("lab"))
    raw["tenants"] = {"enabled": True, "teams": list(teams), **section}
    return raw


def problems(raw: dict[str, Any]) -> list[str]:
    """The problem lines of the ConfigError `raw` gets (fails the test when it is accepted)."""
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    return [line.removeprefix("  - ") for line in str(info.value).splitlines()[1:]]


def accepted(raw: dict[str, Any]) -> StackConfig:
    return parse_config(raw)


def test_no_tenants_by_default() -> None:
    cfg = accepted(namespace("lab") | {"tenants": {}})
    assert cfg.tenants == TenantsConfig() and not cfg.tenants.enabled and cfg.tenants.teams == []
    assert StackConfig.model_fields["tenants"].default == TenantsConfig()


def test_a_valid_section_is_accepted_with_its_derived_names() -> None:
    cfg = accepted(
        lab_with(
            team(keys=[key("search-cli", deliver={"namespace": "dev-tools", "secret": "llm-key"}), key("nb")]),
            team("Ops", id="ops-team", models=["claude-haiku"], keys=[]),
        )
    )
    search, ops = cfg.tenants.teams
    assert (search.team_id, ops.team_id) == ("llmgw-search", "ops-team")
    assert tenant_key_gsm_id("pfx-", search, search.keys[0]) == "pfx-tenant-search-search-cli"
    assert search.keys[1].gsm_only and not search.keys[0].gsm_only
    assert reconciler_account_id(cfg.tenants, "llm-gw") == "llm-gw-tenants"


# --- every refusal of the "Bad input" list, by key path ---------------------------------

T0 = f"{NS}:tenants.teams[0]"
T1 = f"{NS}:tenants.teams[1]"
REFUSALS: list[tuple[str, dict[str, Any], str, str]] = [
    # (case, raw tenants teams/section, key path, words of the message)
    (
        "duplicate team alias, case-insensitive",
        {"teams": [team("search"), team("Search")]},
        f"{T1}.alias",
        "'Search' is already used by teams[0].alias",
    ),
    (
        "duplicate key alias across teams, case-insensitive",
        {"teams": [team("a", keys=[key("cli")]), team("b", keys=[key("CLI")])]},
        f"{T1}.keys[0].alias",
        "key aliases, across all teams, are unique",
    ),
    ("empty key alias", {"teams": [team(keys=[key("")])]}, f"{T0}.keys[0].alias", "expected an alias of 1-40"),
    ("over-long alias", {"teams": [team("t" * 41)]}, f"{T0}.alias", "expected an alias of 1-40"),
    ("control character", {"teams": [team(keys=[key("cli\x1b[2J")])]}, f"{T0}.keys[0].alias", "control characters"),
    (
        "model not in the stack's list",
        {"teams": [team(models=["gpt-5"])]},
        f"{T0}.models[0]",
        "'gpt-5' is not a model of litellm.models",
    ),
    (
        "key model not in the team's",
        {"teams": [team(models=["gpt-4o-mini"], keys=[key("cli", models=["claude-haiku"])])]},
        f"{T0}.keys[0].models[0]",
        "'claude-haiku' is not a model of the team's",
    ),
    (
        "key budget above its team's",
        {"teams": [team(max_budget=5, keys=[key("cli", max_budget=6)])]},
        f"{T0}.keys[0].max_budget",
        "max_budget 6 exceeds the team's 5",
    ),
    (
        "key without a budget: LiteLLM's default (10) above the team's",
        {"teams": [team(max_budget=5, keys=[{"alias": "cli", "deliver": "gsm_only"}])]},
        f"{T0}.keys[0].max_budget",
        "max_budget unset: litellm.settings.default_key_max_budget 10 exceeds the team's 5",
    ),
    (
        "key budget above LiteLLM's max_key_budget",
        {"teams": [team(max_budget=500, keys=[key("cli", max_budget=60)])]},
        f"{T0}.keys[0].max_budget",
        "exceeds litellm.settings.max_key_budget 50",
    ),
    ("negative budget", {"teams": [team(max_budget=-1)]}, f"{T0}.max_budget", "greater than 0"),
    ("zero budget", {"teams": [team(max_budget=0)]}, f"{T0}.max_budget", "greater than 0"),
    ("NaN budget", {"teams": [team(max_budget=math.nan)]}, f"{T0}.max_budget", "finite"),
    ("infinite budget", {"teams": [team(keys=[key("k", max_budget=math.inf)])]}, f"{T0}.keys[0].max_budget", "finite"),
    ("negative limit", {"teams": [team(tpm_limit=-5)]}, f"{T0}.tpm_limit", "greater than or equal to 1"),
    ("infinite limit", {"teams": [team(rpm_limit=math.inf)]}, f"{T0}.rpm_limit", "valid integer"),
    (
        "key limit above the team's",
        {"teams": [team(rpm_limit=10, keys=[key("k", rpm_limit=11)])]},
        f"{T0}.keys[0].rpm_limit",
        "11 exceeds the team's rpm_limit 10",
    ),
    ("malformed budget_duration", {"teams": [team(budget_duration="30days")]}, f"{T0}.budget_duration", "one unit"),
    ("zero budget_duration", {"teams": [team(budget_duration="0d")]}, f"{T0}.budget_duration", "longer than 0"),
    (
        "invalid namespace name",
        {"teams": [team(keys=[key("k", deliver={"namespace": "Dev_Tools", "secret": "s"})])]},
        f"{T0}.keys[0].deliver.namespace",
        "expected a DNS label",
    ),
    (
        "system namespace",
        {"teams": [team(keys=[key("k", deliver={"namespace": "kube-system", "secret": "s"})])]},
        f"{T0}.keys[0].deliver.namespace",
        "'kube-system' is a system or platform-operator namespace",
    ),
    (
        "the stack's gateway namespace",
        {"teams": [team(keys=[key("k", deliver={"namespace": "llm-gateway", "secret": "s"})])]},
        f"{T0}.keys[0].deliver.namespace",
        "'llm-gateway' is namespaces.gateway",
    ),
    (
        "the stack's Grafana namespace",
        {"teams": [team(keys=[key("k", deliver={"namespace": "monitoring", "secret": "s"})])]},
        f"{T0}.keys[0].deliver.namespace",
        "'monitoring' is namespaces.grafana",
    ),
    (
        "two keys delivering to one Secret",
        {
            "teams": [
                team(
                    keys=[
                        key("a", deliver={"namespace": "dev-tools", "secret": "s"}),
                        key("b", deliver={"namespace": "dev-tools", "secret": "s"}),
                    ]
                )
            ]
        },
        f"{T0}.keys[1].deliver.secret",
        "Secret dev-tools/s is already teams[0].keys[0].deliver's target",
    ),
    ("owner not an e-mail", {"teams": [team(owner="alice")]}, f"{T0}.owner", "expected an email address"),
    ("unknown delivery", {"teams": [team(keys=[key("k", deliver="gsm")])]}, f"{T0}.keys[0].deliver", "gsm_only"),
    (
        "deleting what is still declared",
        {"teams": [team(keys=[key("cli")])], "delete": {"teams": ["llmgw-search"], "keys": ["CLI"]}},
        f"{NS}:tenants.delete.keys[0]",
        "'CLI' is still declared",
    ),
    (
        "LiteLLM's own team id",
        {"teams": [team(id="litellm-dashboard")]},
        f"{T0}.id",
        "LiteLLM's own",
    ),
    (
        "two GSM secret ids alike",
        {"teams": [team("a-b", keys=[key("c")]), team("a", keys=[key("b-c")])]},
        f"{T1}.keys[0].alias",
        "its GSM secret id 'tenant-a-b-c' is also teams[0].keys[0].alias's",
    ),
    ("teams while disabled", {"enabled": False, "teams": [team()]}, f"{NS}:tenants.enabled", "set it true"),
]


@pytest.mark.parametrize(("case", "section", "path", "words"), REFUSALS, ids=[c[0] for c in REFUSALS])
def test_each_bad_input_is_refused_under_its_key_path(
    case: str, section: dict[str, Any], path: str, words: str
) -> None:
    raw = lab_with(**section)
    found = [p for p in problems(raw) if p.startswith(f"{path}: ")]
    assert found and any(words in p for p in found), (case, problems(raw))


def test_every_problem_is_listed_at_once() -> None:
    raw = lab_with(
        team("a", models=["gpt-5"], keys=[key("k", max_budget=60)]),
        team("A", keys=[key("K", deliver={"namespace": "kube-system", "secret": "s"})]),
        delete={"keys": ["k"]},
    )
    found = [p.split(": ", 1)[0].removeprefix(f"{NS}:tenants.") for p in problems(raw)]
    assert sorted(found) == [
        "delete.keys[0]",
        "teams[0].keys[0].max_budget",  # above the team's
        "teams[0].keys[0].max_budget",  # above LiteLLM's max_key_budget
        "teams[0].models[0]",
        "teams[1].alias",
        "teams[1].keys[0].alias",
        "teams[1].keys[0].deliver.namespace",
    ]


def test_a_type_problem_of_each_entry_is_listed_at_once() -> None:
    raw = lab_with(
        team(owner="x", max_budget=-1, budget_duration="1y", keys=[key("bad alias"), key("ok", rotation=-1)])
    )
    assert len(problems(raw)) == 5


def test_the_preview_refuses_bad_tenants_with_exit_2_and_one_message(capsys: pytest.CaptureFixture[str]) -> None:
    teams = "[{alias: a, owner: nobody, cost_centre: X, max_budget: 5, models: [gpt-5]}]"
    code = preview_main(["lab", "--set", f"{NS}:tenants={{enabled: true, teams: {teams}}}"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and "Traceback" not in err
    assert f"{NS}:tenants.teams[0].owner" in err


def test_stack_wide_names_of_tenants_must_not_collide() -> None:
    """Their GSM secret with a referenced one; a tenant namespace's reader and the reconciler with other accounts."""
    raw = lab_with(team("openai", keys=[key("api-key")]))
    raw["litellm"]["provider_keys"][0]["gsm_secret"] = "tenant-openai-api-key"
    assert any("tenants.teams[0].keys[0].alias: its GSM secret 'tenant-openai-api-key'" in p for p in problems(raw))
    raw = lab_with(team(keys=[key("k", deliver={"namespace": "tenants", "secret": "s"})]))
    assert any("secrets.store.gsa_prefix: tenant namespace tenants's" in p for p in problems(raw))


def test_no_secret_of_the_stack_starts_with_the_tenant_prefix() -> None:
    """The reconciler's grants admit every secret whose id starts with `<secrets.prefix>tenant-`: a referenced
    secret with that prefix (not a key's own id) would be readable by it, so the config is refused."""
    raw = lab_with(team("openai", keys=[key("api-key")]))
    raw["litellm"]["provider_keys"][0]["gsm_secret"] = "tenant-shared-openai"
    assert any(
        "litellm.provider_keys[0].gsm_secret: 'tenant-shared-openai' starts with 'tenant-'" in p for p in problems(raw)
    )
    raw["litellm"]["provider_keys"][0]["gsm_secret"] = "shared-tenant-openai"
    accepted(raw)


# --- ranges (Hypothesis) ------------------------------------------------------------------------

REAL = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**13), max_value=10**13),
    st.sampled_from([0, 0.0, -0.0, 1e9, 1e9 + 1, 5e-324, True]),
)


def _team_budget_accepted(value: Any) -> bool:
    try:
        parse_config(lab_with(team(max_budget=value)))
    except ConfigError:
        return False
    return True


@settings(deadline=None)  # parse_config of a whole stack: slow on a loaded machine
@given(REAL)
def test_a_budget_is_accepted_exactly_when_finite_positive_and_at_most_a_billion(value: Any) -> None:
    valid = not isinstance(value, bool) and math.isfinite(value) and 0 < value <= 1e9
    assert _team_budget_accepted(value) is valid


@settings(deadline=None)  # parse_config of a whole stack: slow on a loaded machine
@given(st.one_of(st.integers(min_value=-(10**13), max_value=10**13), st.floats(), st.booleans()))
def test_a_limit_is_accepted_exactly_when_an_integer_in_its_range(value: Any) -> None:
    for field, high in (("tpm_limit", 10**12), ("rpm_limit", 10**9)):
        valid = type(value) is int and 1 <= value <= high
        try:
            parse_config(lab_with(team(**{field: value})))
            ok = True
        except ConfigError:
            ok = False
        assert ok is valid, (field, value)


DURATION = re.compile(r"([0-9]{1,5})(s|m|h|d|w|mo)")


@settings(deadline=None)  # parse_config of a whole stack: slow on a loaded machine
@given(
    st.one_of(
        st.from_regex(r"\A[0-9]{1,6}(s|m|h|d|w|mo|y|M|days|month)?\Z"),
        st.text(alphabet="0123456789smhdwoy -", max_size=8),
    )
)
def test_a_budget_duration_is_accepted_exactly_in_litellms_strict_form(value: str) -> None:
    match = DURATION.fullmatch(value)
    # LiteLLM's strict form, and within the setting's range (1h to 365d; a month counts 30 days)
    valid = match is not None and 3600 <= duration_seconds(value) <= 365 * 86400
    try:
        cfg = parse_config(lab_with(team(budget_duration=value)))
    except ConfigError:
        assert not valid
        return
    assert valid
    assert cfg.tenants.teams[0].budget_duration == value
    assert duration_seconds(value) > 0


def test_an_unquoted_yaml_date_is_an_expiry() -> None:
    """`expires: 2027-06-30` unquoted reaches the config as a date, not text."""
    cfg = accepted(lab_with(team(keys=[key("k", expires=date(2027, 6, 30))])))
    assert cfg.tenants.teams[0].keys[0].expires == "2027-06-30"


def test_the_key_limits_fall_back_to_litellms_key_defaults() -> None:
    """What LiteLLM stores for a key without its own values: default_key_generate_params, else for the budget
    upperbound_key_generate_params (litellm/proxy/management_endpoints/key_management_endpoints.py)."""
    cfg = accepted(lab_with(team(keys=[{"alias": "k", "deliver": "gsm_only"}])))
    limits = key_limits(cfg.tenants.teams[0].keys[0], cfg.litellm)
    assert (limits.max_budget, limits.budget_duration, limits.tpm_limit, limits.rpm_limit) == (10.0, "30d", None, None)
    raw = lab_with(team(max_budget=100, keys=[{"alias": "k", "deliver": "gsm_only"}]))
    del raw["litellm"]["settings"]["default_key_max_budget"]
    cfg = accepted(raw)
    assert key_limits(cfg.tenants.teams[0].keys[0], cfg.litellm).max_budget == 50.0
