"""Config that Kubernetes, Helm, Prometheus, CNPG or ESO would reject (or that
would silently do nothing) is refused before any resource, with the key path. One case per class;
each was accepted before (or, for CPU units in a memory field, crashed with a traceback)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from config import ConfigError
from tests.support.config import errors_for, namespace, with_value
from tests.support.program import run_cached

DIGEST = "sha256:" + "ab" * 32


CASES: list[tuple[str, str, Any, str]] = [
    # (stack, key path, value, what the message must say besides the key path)
    ("lab", "litellm.network.egress_cidrs", ["10.0.0.0/33"], "CIDR"),
    ("lab", "litellm.network.egress_cidrs", ["300.1.1.0/24"], "CIDR"),
    ("lab", "litellm.network.egress_cidrs", ["10.0.0.1/8"], "host bits"),
    ("enterprise", "litellm.ingress.host", "llm..acme.example", "RFC 1123"),
    ("enterprise", "litellm.ingress.host", "-llm.acme.example", "RFC 1123"),
    ("enterprise", "litellm.ingress.host", "LLM.acme.example", "lower-case"),
    ("enterprise", "langfuse.ingress_host", "a" * 64 + ".acme.example", "RFC 1123"),
    ("enterprise", "postgres.backup.schedule", "a b c d e f", "six-field cron"),
    ("enterprise", "postgres.backup.schedule", "0 3 * * *", "six-field cron"),
    ("enterprise", "postgres.backup.schedule", "0 0 25 * * *", "six-field cron"),
    ("lab", "alerts.performance.latency_for", "5m5m", "duration"),
    ("lab", "alerts.performance.latency_for", "1s1h", "duration"),
    ("lab", "alertmanager.repeat_interval", "4hours", "duration"),
    ("lab", "secrets.refresh_interval", "0s", "must be at least 1s"),
    ("lab", "alerts.cost.daily_spend_usd", float("inf"), "finite"),
    ("lab", "alerts.performance.latency_p95_seconds", float("nan"), "finite"),
    ("lab", "litellm.release_name", "l" * 54, "at most 53"),
    ("lab", "litellm.release_name", "1litellm", "expected a"),
    ("lab", "postgres.cnpg.name", "9pg", "expected a"),
    ("lab", "postgres.cnpg.name", "p" * 51, "at most 50"),
    ("lab", "litellm.network.prometheus_pod_labels", {"app": "x" * 64}, "expected a"),
    ("lab", "litellm.resources.requests.cpu", "2", "requests.cpu 2 exceeds limits.cpu 1"),
    ("lab", "litellm.resources.requests.memory", "3Gi", "requests.memory 3Gi exceeds limits.memory 2Gi"),
    ("lab", "litellm.resources.limits.memory", "500m", "expected a"),
    ("lab", "capacity.memory", "8m", "expected a"),
    ("lab", "litellm.metrics_port", 4000, "is the API port"),
    ("lab", "alerts.runbook_base_url", "https://wiki.acme.example/{{ .Labels }}", "templates"),
    ("lab", "alerts.runbook_base_url", "https://wiki.acme.example/a b", "templates"),
    ("lab", "alerts.runbook_base_url", "https://wiki.acme.example/runbook#top", "fragment"),
    ("lab", "postgres.cnpg.image", f"ghcr.io/cloudnative-pg/postgresql@{DIGEST}", "exact tag"),
    ("lab", "litellm.image", f"ghcr.io/berriai/litellm-non_root@{DIGEST}", "exact tag"),
    ("lab", "litellm.image", "ghcr.io/berriai/litellm-non_root:v1.108.7@sha256:abcd", "64 lower-case hex"),
    ("lab", "litellm.image", f"ghcr.io/berriai/litellm-non_root:v1.108.7@{DIGEST.upper()}", "64 lower-case hex"),
    ("lab", "reporting.image", f"ghcr.io/cloudnative-pg/postgresql:17.6@md5:{'ab' * 16}", "64 lower-case hex"),
    ("enterprise", "sso.image", f"quay.io/oauth2-proxy/oauth2-proxy@{DIGEST}", "@sha256:<64 hex> may follow"),
    ("enterprise", "sso.image", "quay.io/oauth2-proxy/oauth2-proxy:v7.15.3@sha256:ab", "@sha256:<64 hex> may follow"),
    ("lab", "postgres.cnpg.image", f"ghcr.io/cloudnative-pg/postgresql:13.9@{DIGEST}", "PostgreSQL 14+"),
    ("lab", "postgres.database", "template1", "PostgreSQL creates itself"),
    ("lab", "postgres.owner", "postgres", "reserved"),
    ("enterprise", "langfuse.owner", "pg_monitor", "reserved"),
    ("lab", "reporting.window_days", 0, "greater than or equal to 2"),
    ("lab", "reporting.window_days", 32, "less than or equal to 31"),
]


@pytest.mark.parametrize(("stack", "path", "value", "why"), CASES, ids=[f"{c[1]}={c[2]!r}"[:60] for c in CASES])
def test_invalid_values_are_refused_with_the_key_path(stack: str, path: str, value: Any, why: str) -> None:
    message = errors_for(with_value(stack, path, value))
    # Requests vs limits is a rule of the `resources` mapping: its line names it and the two fields.
    where = path.rsplit(".", 2)[0] if why.startswith("requests.") else path
    line = next((ln for ln in message.splitlines() if f"llm-gateway:{where}" in ln), None)
    assert line is not None, message
    assert why in line, line


def test_a_digest_with_the_major_version_in_the_tag_is_accepted() -> None:
    from config import parse_config

    cfg = parse_config(with_value("lab", "postgres.cnpg.image", f"ghcr.io/cloudnative-pg/postgresql:17.6@{DIGEST}"))
    assert cfg.postgres.engine == "cnpg" and cfg.postgres.cnpg.image.endswith(DIGEST)


@pytest.mark.parametrize(
    ("stack", "path", "image"),
    [
        ("lab", "litellm.image", "ghcr.io/berriai/litellm-non_root:v1.108.7"),
        ("lab", "reporting.image", "registry.corp.example/postgres/psql:16.4-1"),
        ("enterprise", "sso.image", "quay.io/oauth2-proxy/oauth2-proxy:v7.15.3"),
        ("enterprise", "sso.image", "registry.corp.example:5000/mirror/oauth2-proxy:v7.15.3"),
    ],
)
def test_every_image_setting_takes_a_digest_after_its_tag(stack: str, path: str, image: str) -> None:
    """`repository:tag@sha256:<64 hex>` (docs/security.md, "Scanner skips": a digest passes Checkov's
    CKV_K8S_43 and CKV_K8S_15); the tag stays required beside it."""
    from config import parse_config

    cfg = parse_config(with_value(stack, path, f"{image}@{DIGEST}"))
    section, _, key = path.partition(".")
    assert getattr(getattr(cfg, section), key) == f"{image}@{DIGEST}"


def test_a_pinned_image_splits_into_a_charts_repository_and_tag() -> None:
    from config.types import image_name_and_tag

    assert image_name_and_tag("registry:5000/a/b:1.2.3") == ("registry:5000/a/b", "1.2.3")
    assert image_name_and_tag(f"registry:5000/a/b:1.2.3@{DIGEST}") == ("registry:5000/a/b", f"1.2.3@{DIGEST}")


def _mutated(stack: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    raw = copy.deepcopy(namespace(stack))
    change(raw)
    return raw


def _window_beyond_retention(window: int, database: dict[str, str]) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        raw["litellm"].setdefault("database", {}).update(database)
        raw.setdefault("reporting", {}).update(window_days=window)

    return change


def _grace_and_refresh(grace: str, refresh: str) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        raw["tenants"].update(grace_period=grace)
        raw["secrets"].update(refresh_interval=refresh)

    return change


CROSS_FIELD: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "enterprise",
        lambda r: r["langfuse"].update(release_name="litellm"),
        "langfuse.release_name: 'litellm' is also litellm.release_name",
    ),
    (
        "enterprise",
        lambda r: r["sso"].update(release_name="litellm"),
        "sso.release_name: 'litellm' is also litellm.release_name",
    ),
    (
        "lab",
        lambda r: r["litellm"]["provider_keys"][1].update(gsm_secret="openai-api-key"),
        "litellm.provider_keys[1].gsm_secret: 'openai-api-key' is also litellm.provider_keys[0].gsm_secret",
    ),
    (
        "lab",
        lambda r: r["litellm"]["provider_keys"][0].update(gsm_secret="litellm-master-key"),
        "litellm.provider_keys[0].gsm_secret: 'litellm-master-key' is a secret this program generates",
    ),
    (
        "enterprise",
        lambda r: r["alertmanager"]["receivers"][0].update(gsm_secret="langfuse-salt"),
        "alertmanager.receivers[0].gsm_secret: 'langfuse-salt' is a secret this program generates",
    ),
    (
        "enterprise",
        lambda r: r["litellm"]["network"]["client_namespaces"].append("llm-gateway"),
        "litellm.network.client_namespaces: must not name the gateway namespace 'llm-gateway'",
    ),
    (
        "enterprise",
        lambda r: r["langfuse"]["sso"].update(client_secret_gsm_secret="litellm-master-key"),
        "langfuse.sso.client_secret_gsm_secret: 'litellm-master-key' is a secret this program generates",
    ),
    (
        "enterprise",
        lambda r: r["langfuse"].update(owner="litellm"),
        "langfuse.owner: 'litellm' is also postgres.owner",
    ),
    (
        "enterprise",
        lambda r: r["langfuse"].update(database="litellm"),
        "langfuse.database: 'litellm' is also postgres.database",
    ),
    (
        "enterprise",
        lambda r: r["secrets"].update(rotation={"langfuse-salt": 1}),
        "llm-gateway:secrets.rotation: must not name ['langfuse-salt']",
    ),
    (
        "enterprise",
        lambda r: r["secrets"].update(rotation={"langfuse-encryption-key": 2, "litellm-master-key": 1}),
        "llm-gateway:secrets.rotation: must not name ['langfuse-encryption-key']",
    ),
    (
        "lab",
        _window_beyond_retention(3, {"spend_logs_retention": "36h", "cleanup_interval": "1d"}),
        "llm-gateway:reporting.window_days: 3 days is longer than litellm.database.spend_logs_retention (36h: 1 whole "
        "days); accepted: none below a retention of 2d",
    ),
    (
        "enterprise",
        _grace_and_refresh("1h", "45m"),
        "llm-gateway:tenants.grace_period: 1h is shorter than twice secrets.refresh_interval (45m): the old key "
        "could be blocked before ESO delivers the new one; accepted: 90m or longer",
    ),
    (
        "lab",
        _grace_and_refresh("1d", "13h"),
        "llm-gateway:tenants.grace_period: 1d is shorter than twice secrets.refresh_interval (13h): the old key "
        "could be blocked before ESO delivers the new one; accepted: 26h or longer",
    ),
    (
        "enterprise",
        _window_beyond_retention(8, {"spend_logs_retention": "7d"}),
        "llm-gateway:reporting.window_days: 8 days is longer than litellm.database.spend_logs_retention (7d: 7 whole "
        "days); accepted: 2 to 7",
    ),
]


@pytest.mark.parametrize(("stack", "change", "expected"), CROSS_FIELD, ids=[c[2][:50] for c in CROSS_FIELD])
def test_collisions_are_refused_naming_both_key_paths(
    stack: str, change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    assert expected in errors_for(_mutated(stack, change))


def test_cpu_units_in_a_memory_field_are_a_config_error_not_a_traceback() -> None:
    """The footprint's parser raised ValueError (a traceback) on `memory: 500m` before."""
    message = errors_for(with_value("enterprise", "langfuse.web.resources.requests.memory", "4000m"))
    assert "llm-gateway:langfuse.web.resources.requests.memory" in message


# --- label values: the longest names the config admits still render valid label values -------

_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def _receiver(name: str) -> str:
    return f"llm-gateway:alertmanager.receivers=[{{name: {name}, type: webhook, gsm_secret: hook, severities: [critical]}}]"


# A name at the longest a DNS label may be (63) for each key, then all at the longest admitted now.
LONG_NAMES = [
    ("litellm.release_name", ("llm-gateway:litellm.release_name=" + "l" * 63,)),
    ("langfuse.release_name", ("llm-gateway:langfuse.release_name=" + "f" * 63,)),
    ("sso.release_name", ("llm-gateway:sso.release_name=" + "s" * 63,)),
    ("langfuse.release_name", ("llm-gateway:langfuse.release_name=" + "f" * 38,)),
    ("postgres.cnpg.name", ("llm-gateway:postgres.cnpg.name=" + "p" * 63,)),
    ("alertmanager.receivers", (_receiver("r" * 63),)),
    (
        "all",
        (
            "llm-gateway:litellm.release_name=" + "l" * 53,
            "llm-gateway:langfuse.release_name=" + "f" * 37,
            "llm-gateway:sso.release_name=" + "s" * 51,
            "llm-gateway:postgres.cnpg.name=" + "p" * 50,
            _receiver("r" * 50),
        ),
    ),
]


def _labels(node: Any) -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        found = [
            (k, v) for key in ("labels", "matchLabels") if isinstance(node.get(key), dict) for k, v in node[key].items()
        ]
        return found + [p for k, v in node.items() for p in _labels(v)]
    if isinstance(node, list):
        return [p for v in node for p in _labels(v)]
    return []


@pytest.mark.parametrize(("path", "overrides"), LONG_NAMES, ids=[p for p, _ in LONG_NAMES])
def test_long_names_are_refused_or_render_valid_label_values(path: str, overrides: tuple[str, ...]) -> None:
    """An ExternalSecret named `alertmanager-<receiver>` or `<sso release>-credentials` put its
    name in a label value, over 63 characters (Kubernetes refuses the object) for long names."""
    try:
        run = run_cached("enterprise", *overrides)
    except ConfigError as exc:
        assert f"llm-gateway:{path}" in str(exc)
        return
    bad = [
        (r.name, key, value)
        for r in run.resources
        for key, value in _labels(r.plain_inputs)
        if not (isinstance(value, str) and len(value) <= 63 and _LABEL_VALUE.fullmatch(value))
    ]
    assert bad == []


def test_rotation_refusals_follow_the_documented_inventory() -> None:
    """docs/security.md's "rotates by" column and the inventory's `rotates` flag say the same."""
    from config import inventory
    from tests.support import ROOT

    readme = (ROOT / "docs" / "security.md").read_text()
    specs = [v for v in vars(inventory).values() if isinstance(v, inventory.SecretSpec)]
    checked = 0
    for spec in specs:
        row = re.search(rf"^\| `{spec.gsm_name}`[^|]*\| `{spec.key}` \|[^|]*\|([^|]*)\|$", readme, re.MULTILINE)
        if row is not None:  # (langfuse-minio-password is described in prose below the table)
            checked += 1
            assert (spec.rotation == "generation") == ("bump" in row.group(1)), (spec.key, row.group(1))
    assert checked >= 10
