"""Bad config gets one clear error naming every bad key path; never a traceback."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from config import PATTERN_EXAMPLES, ConfigError, StackConfig, parse_config, read_namespace
from tests.support.config import errors_for, namespace, stack_config, with_value, without


@pytest.mark.parametrize("stack", ["lab", "enterprise"])
def test_stack_files_parse(stack: str) -> None:
    cfg = stack_config(stack)
    assert isinstance(cfg, StackConfig)


def test_stack_files_differ_only_by_settings() -> None:
    lab, ent = stack_config("lab"), stack_config("enterprise")
    assert lab.postgres.engine == ent.postgres.engine == "cnpg"
    assert (lab.postgres.cnpg.instances, ent.postgres.cnpg.instances) == (1, 3)
    assert (lab.postgres.backup.enabled, ent.postgres.backup.enabled) == (False, True)
    assert (lab.data_safety.protect, ent.data_safety.protect) == (False, True)
    assert lab.secrets.replication.mode == "automatic"
    assert ent.secrets.replication.mode == "user_managed"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("gcp.project", 42, "llm-gateway:gcp.project: Input should be a valid string (got 42)"),
        ("postgres.cnpg.instances", "3", "llm-gateway:postgres.cnpg.instances: Input should be a valid integer"),
        (
            "postgres.cnpg.instances",
            0,
            "llm-gateway:postgres.cnpg.instances: Input should be greater than or equal to 1",
        ),
        ("postgres.grafana_ro.connection_limit", 1000, "llm-gateway:postgres.grafana_ro.connection_limit"),
        (
            "secrets.deletion_protection",
            "yes",
            "llm-gateway:secrets.deletion_protection: Input should be a valid boolean",
        ),
        ("postgres.cnpg.image", "ghcr.io/cloudnative-pg/postgresql:latest", "floating tag 'latest'"),
        ("postgres.cnpg.image", "ghcr.io/cloudnative-pg/postgresql", "must name an exact tag"),
        ("postgres.cnpg.image", "ghcr.io/cloudnative-pg/postgresql:13.9", "PostgreSQL 14+ is required"),
        ("postgres.engine", "rds", "llm-gateway:postgres.engine: Input should be 'cnpg' or 'external'"),
        (
            "secrets.rotation",
            {"no-such-secret": 1},
            "llm-gateway:secrets.rotation: names unknown secrets ['no-such-secret']",
        ),
        ("secrets.rotation", {"litellm-master-key": -1}, "llm-gateway:secrets.rotation.litellm-master-key"),
        ("secrets.replication", {"mode": "user_managed"}, "user_managed replication needs at least one location"),
    ],
)
def test_bad_values_name_the_key(path: str, value: Any, expected: str) -> None:
    assert expected in errors_for(with_value("lab", path, value))


def test_unknown_keys_are_refused_at_every_level() -> None:
    raw = with_value("lab", "postgres.cnpg.enablePodMonitr", True)
    raw["gpc"] = {"project": "x"}
    message = errors_for(raw)
    assert "llm-gateway:postgres.cnpg.enablePodMonitr: unknown key" in message
    assert "llm-gateway:gpc: unknown key" in message


@pytest.mark.parametrize("path", ["gcp", "gcp.project", "postgres.cnpg.image", "secrets.store"])
def test_missing_keys_are_named(path: str) -> None:
    assert f"llm-gateway:{path}: required key is missing" in errors_for(without("lab", path))


def test_every_problem_is_reported_at_once() -> None:
    raw = with_value("lab", "postgres.cnpg.instances", 0)
    raw["gcp"]["region"] = "mars"
    raw["namespaces"]["gateway"] = "Not_A_DNS_Label"
    message = errors_for(raw)
    assert message.startswith("invalid stack config (3 problems):")
    for path in ("postgres.cnpg.instances", "gcp.region", "namespaces.gateway"):
        assert f"llm-gateway:{path}:" in message


def test_every_whole_stack_problem_is_reported_at_once_under_its_key_path() -> None:
    """The whole-stack checks (config/checks.py) report together, one line per key path.

    Before, the rotation and collision rules were model validators: the first to fail hid
    the others, the collisions were joined on one line under `llm-gateway:`, and the capacity
    and budget checks ran only once those passed."""
    raw = with_value("lab", "langfuse.enabled", True)  # over capacity (test_footprint)
    raw["redis"] = {"mode": "in_cluster"}  # Langfuse's queues
    raw["langfuse"].update(
        clickhouse={"operator_namespace": "clickhouse-operator-system"},
        blob_storage="gcs",
        gcs={"bucket": "lab-langfuse-blobs"},
    )
    raw["secrets"]["rotation"] = {"no-such-secret": 1}
    raw["litellm"]["provider_keys"][1]["gsm_secret"] = raw["litellm"]["provider_keys"][0]["gsm_secret"]
    raw["langfuse"]["release_name"] = raw["litellm"]["release_name"]
    message = errors_for(raw)
    assert message.startswith("invalid stack config (4 problems):"), message
    for path in (
        "secrets.rotation",
        "langfuse.release_name",
        "litellm.provider_keys[1].gsm_secret",
        "capacity",
    ):
        assert f"\n  - llm-gateway:{path}: " in message, path


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r["postgres"]["backup"].update(enabled=True, bucket=None), "bucket is required when backups"),
        (lambda r: r["postgres"].update(engine="external", cnpg=None), "engine external needs postgres.external.host"),
        (lambda r: r["secrets"]["store"].update(create=False), "cannot keep one namespace from reading another's"),
    ],
)
def test_cross_field_rules(mutate: Any, expected: str) -> None:
    raw = copy.deepcopy(namespace("lab"))
    mutate(raw)
    assert expected in errors_for(raw)


def test_external_engine_needs_the_admin_password_secret() -> None:
    raw = copy.deepcopy(namespace("lab"))
    raw["postgres"].update(
        engine="external",
        cnpg=None,
        external={"host": "pg.home.arpa", "admin_user": "pgadmin", "server_cidrs": ["192.168.10.5/32"]},
    )
    assert "llm-gateway:postgresAdminPassword: required secret" in errors_for(raw)
    assert parse_config(raw, frozenset({"postgresAdminPassword"})).postgres.engine == "external"


def test_a_section_that_is_not_a_mapping_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="llm-gateway:gcp: expected a mapping"):
        read_namespace({"llm-gateway:gcp": "acme-project"})


# --- fuzz: every generated bad config is answered by the clean error -----------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10**6),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _leaf_paths(node: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(node, dict) and node:
        return [p for k, v in node.items() for p in _leaf_paths(v, (*prefix, k))]
    return [prefix]


LAB = namespace("lab")
LEAVES = _leaf_paths(LAB)


@st.composite
def bad_configs(draw: st.DrawFn) -> dict[str, Any]:
    raw = copy.deepcopy(LAB)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(LEAVES))
        node = raw
        for part in path[:-1]:
            node = node[part]
        action = draw(st.sampled_from(["replace", "delete", "extra"]))
        if action == "replace":
            node[path[-1]] = draw(_scalars)
        elif action == "delete":
            node.pop(path[-1], None)
        else:
            node[draw(st.text(min_size=1, max_size=8))] = draw(_scalars)
    return raw


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad_configs())
def test_fuzzed_configs_never_traceback(raw: dict[str, Any]) -> None:
    """Any mutation either still validates or raises exactly ConfigError with key paths."""
    try:
        parse_config(raw)
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith("invalid stack config")
        assert "llm-gateway:" in message
        assert "Traceback" not in message


_counter = {"refused": 0}


def assert_one_line_per_problem(message: str) -> None:
    """`  - llm-gateway:<path>: ...` per problem; a problem's detail (the capacity table)
    continues on lines indented deeper, never at the problem level."""
    header, *lines = message.splitlines()
    count = int(header.split("(")[1].split()[0])
    problems = [line for line in lines if line.startswith("  - ")]
    assert len(problems) == count, message
    assert lines[0].startswith("  - llm-gateway:"), message
    assert all(line.startswith(("  - llm-gateway:", "      ")) for line in lines), message


# Langfuse on the lab's capacity: refused with the footprint table (a multi-line problem).
LAB_WITH_LANGFUSE = {**copy.deepcopy(LAB), "langfuse": {"enabled": True}}


@settings(max_examples=350, deadline=None)
@given(bad_configs().filter(lambda r: r != LAB))
@example(LAB_WITH_LANGFUSE)
def test_fuzzed_bad_configs_are_refused_cleanly(raw: dict[str, Any]) -> None:
    """Mutations that break the schema (most do) are refused with one message per problem."""
    try:
        parse_config(raw)
    except ConfigError as exc:
        _counter["refused"] += 1
        assert_one_line_per_problem(str(exc))


def test_fuzz_really_produced_hundreds_of_refusals() -> None:
    """Guards the fuzz above against silently generating only valid configs."""
    assert _counter["refused"] >= 300, _counter


# --- sharper errors: key paths, examples, cross-field beside field problems -----


def test_cross_field_problems_are_reported_with_field_problems_each_under_its_path() -> None:
    raw = copy.deepcopy(LAB)
    raw["litellm"]["replicas"] = 0  # a field problem in the same section
    raw["litellm"]["models"] = [
        {"name": "a", "model": "openai/x", "fallbacks": ["a", "nope"]},
        {"name": "a", "model": "openai/y"},
    ]
    raw["gcp"]["region"] = "mars"
    raw["postgres"]["engine"] = "external"  # and the admin password secret is missing
    message = errors_for(raw)
    assert_one_line_per_problem(message)
    for line in (
        "  - llm-gateway:gcp.region: expected a GCP region, e.g. europe-west1 (got 'mars')",
        "  - llm-gateway:litellm.replicas: Input should be greater than or equal to 1 (got 0)",
        "  - llm-gateway:litellm.models[0].fallbacks[0]: 'a' is not another model's name",
        "  - llm-gateway:litellm.models[0].fallbacks[1]: 'nope' is not another model's name",
        "  - llm-gateway:litellm.models[1].name: model name 'a' is already used by models[0]",
        "  - llm-gateway:postgresAdminPassword: required secret",
    ):
        assert line in message, message
    assert "{" not in message  # no section dumped as "got"


def test_a_section_level_rule_does_not_dump_the_section() -> None:
    raw = copy.deepcopy(LAB)
    raw["secrets"]["replication"] = {"mode": "user_managed"}
    message = errors_for(raw)
    assert "llm-gateway:secrets.replication: user_managed replication needs at least one location" in message
    assert "got" not in message


def test_a_section_rule_about_one_field_is_reported_under_that_field() -> None:
    raw = copy.deepcopy(LAB)
    raw["postgres"]["backup"] = {"enabled": True}
    raw["litellm"]["autoscaling"] = {"enabled": True, "min_replicas": 5, "max_replicas": 2}
    message = errors_for(raw)
    assert "  - llm-gateway:postgres.backup.bucket: bucket is required when backups are enabled" in message
    assert "  - llm-gateway:litellm.autoscaling.min_replicas: min_replicas must not exceed max_replicas" in message


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("namespaces.gateway", "Not_A_Label", "expected a DNS label: lowercase letters, digits and '-', e.g."),
        ("capacity.memory", "2GB", "expected a memory quantity, e.g. 512Mi or 2Gi (no CPU units such as m)"),
        ("secrets.refresh_interval", "1 hour", "must be a duration such as 30s, 5m or 1h30m"),
    ],
)
def test_a_value_failing_a_pattern_gets_an_example_not_the_regex(path: str, value: str, expected: str) -> None:
    message = errors_for(with_value("lab", path, value))
    assert f"llm-gateway:{path}: {expected}" in message
    assert "pattern" not in message and "^" not in message


def test_every_pattern_has_an_example() -> None:
    """Every pattern is written with `config.types.pattern`, which records its example."""

    def patterns(node: Any) -> set[str]:
        if isinstance(node, dict):
            found = {node["pattern"]} if isinstance(node.get("pattern"), str) else set()
            return found.union(*(patterns(v) for v in node.values()))
        if isinstance(node, list):
            return set().union(*(patterns(v) for v in node))
        return set()

    used = patterns(StackConfig.model_json_schema())
    assert used and sorted(used - set(PATTERN_EXAMPLES)) == []


@pytest.mark.parametrize(("cpu", "memory"), [(2, "8Gi"), (2.5, "8Gi"), ("2", "8Gi")])
def test_numbers_are_accepted_where_a_quantity_is_expected(cpu: Any, memory: Any) -> None:
    """`pulumi config set --path llm-gateway:capacity.cpu 2` stores the number 2."""
    cfg = parse_config(with_value("lab", "capacity", {"cpu": cpu, "memory": memory}))
    assert cfg.capacity.cpu == str(cpu)


def test_a_boolean_is_not_a_quantity() -> None:
    assert "llm-gateway:capacity.cpu: Input should be a valid string (got true)" in errors_for(
        with_value("lab", "capacity.cpu", True)
    )


def test_stack_files_hold_no_secret_values() -> None:
    for stack in ("lab", "enterprise"):
        text = yaml.safe_load(open(f"Pulumi.{stack}.yaml").read())  # noqa: SIM115
        assert "secure" not in json.dumps(text)
