"""Fuzz the stack files, as text and as values.

Every mutated Pulumi.lab.yaml / Pulumi.enterprise.yaml that is still a YAML stack file goes the
way Pulumi hands it to the program (one string per key, JSON for mappings) through
`read_namespace` and `parse_config`. A refusal must be a `ConfigError` naming key paths, never
another exception and never a hang (hypothesis' deadline). A config that is accepted must not be
one of the accepted-but-invalid classes of item 9: that is checked with parsers that are not the
program's (ipaddress, cronsim, Helm's own release-name check, Kubernetes' DNS rules as Kubernetes
writes them, Decimal quantities, docs/security.md's rotation table), and every duration accepted along
the way is finally handed to promtool.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import math
import re
import subprocess
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import API_PORT, NAMESPACE, ConfigError, StackConfig, parse_config, read_namespace
from offline.stackfile import as_pulumi_config
from tests.support import ROOT
from tests.support.components import require

TEXTS = {stack: (ROOT / f"Pulumi.{stack}.yaml").read_text() for stack in ("lab", "enterprise")}
SECRETS = frozenset({"postgresAdminPassword"})

# Values that sit on the edges of item 9's classes, plus plain junk.
EDGE_STRINGS = [
    "0s",
    "1s1h",
    "5m5m",
    "90s",
    "1h30m",
    "0 0 3 * * *",
    "0 3 * * *",
    "a b c d e f",
    "0 0 25 * * *",
    "61 0 3 * * *",
    "*/5 * * * * *",
    "10.0.0.0/8",
    "10.0.0.1/8",
    "10.0.0.0/33",
    "300.1.1.0/24",
    "::/0",
    "0.0.0.0/0",
    "llm.acme.example",
    "LLM.acme.example",
    "llm..acme.example",
    "-x.example",
    "x" * 64,
    "1litellm",
    "litellm",
    "langfuse",
    "oauth2-proxy",
    "l" * 54,
    "postgres",
    "template1",
    "pg_monitor",
    "grafana_ro",
    "500m",
    "2",
    "0.5",
    "4Gi",
    "8m",
    "3Ti",
    "1e3",
    "https://x.example/{{ .A }}",
    "https://x.example/runbook#a",
    "https://wiki.acme.example/alerts",
    "litellm-master-key",
    "langfuse-salt",
    "openai-api-key",
    "ghcr.io/cloudnative-pg/postgresql@sha256:" + "ab" * 32,
    "ghcr.io/cloudnative-pg/postgresql:13.9",
    "ghcr.io/cloudnative-pg/postgresql:17.6",
    "",
    " ",
    "null",
]
EDGE_NUMBERS = [0, 1, 4000, 4001, 65536, -1, 0.0, 1e308, math.inf, -math.inf, math.nan, 2**63]
VALUES = st.one_of(
    st.sampled_from(EDGE_STRINGS),
    st.sampled_from(EDGE_NUMBERS),
    st.none(),
    st.booleans(),
    st.lists(st.sampled_from(EDGE_STRINGS), max_size=3),
    st.dictionaries(
        st.sampled_from(["langfuse-salt", "litellm-master-key", "app", "x"]), st.integers(0, 3), max_size=2
    ),
    st.text(max_size=10),
)
# Edge values per kind of key (matched on the key's name), so that mutations land on the rules.
FAMILIES: list[tuple[str, list[Any]]] = [
    (r"cidr", [["10.0.0.0/33"], ["300.1.1.0/24"], ["10.0.0.1/8"], ["::/0"], ["10.0.0.0/8"], []]),
    (r"host$|domains", ["llm..acme.example", "LLM.acme.example", "-x.example", "x" * 64 + ".example", "a.b", ["x..y"]]),
    (r"schedule", ["a b c d e f", "0 3 * * *", "0 0 25 * * *", "61 0 3 * * *", "*/5 * * * * *", "0 0 3 * * * *"]),
    (r"_for$|_interval$|_wait$|cookie_expire", ["0s", "1s1h", "5m5m", "90s", "1h30m", "4hours", "1d", "0"]),
    (r"^(cpu|memory)$|storage_size", ["500m", "2", "0.5", "4Gi", "8m", "3Ti", "1e3", "64Gi", "0"]),
    (r"release_name|^name$", ["1litellm", "litellm", "langfuse", "oauth2-proxy", "l" * 54, "p" * 51, "9pg"]),
    (r"owner|database$|admin_user", ["postgres", "template1", "pg_monitor", "grafana_ro", "litellm", "langfuse"]),
    (r"gsm_secret", ["litellm-master-key", "langfuse-salt", "openai-api-key", "anthropic-api-key"]),
    (
        r"image",
        [
            "ghcr.io/cloudnative-pg/postgresql@sha256:" + "ab" * 32,
            "ghcr.io/cloudnative-pg/postgresql:13.9",
            "ghcr.io/cloudnative-pg/postgresql:13.9@sha256:" + "ab" * 32,
        ],
    ),
    (
        r"runbook",
        ["https://x.example/{{ .A }}", "https://x.example/runbook#a", "https://x.example/a b", "http://x.example"],
    ),
    (r"_usd|_seconds|_ratio|factor|percent|_per_|warning|critical", [math.inf, math.nan, -math.inf, 1e308]),
    (r"port", [4000, 4001, 65536, 80]),
    (r"rotation", [{"langfuse-salt": 1}, {"langfuse-encryption-key": 1}, {"litellm-master-key": 1}]),
    (r"prometheus_pod_labels", [{"app": "x" * 64}, {}, {"app.kubernetes.io/name": "prometheus"}]),
]


def _family(leaf: Any) -> list[Any] | None:
    for pattern, values in FAMILIES:
        if re.search(pattern, str(leaf)):
            return values
    return None


YAML_SNIPPETS = ["0s", ".inf", ".nan", "null", "[]", "{}", "'", '"', ":", "- x", "\t", "&a", "*a", "!!binary x", "~"]


def _leaves(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict) and node:
        return [p for k, v in node.items() for p in _leaves(v, (*prefix, k))]
    if isinstance(node, list) and node:
        return [p for i, v in enumerate(node) for p in _leaves(v, (*prefix, i))] + [prefix]
    return [prefix]


BASES = {stack: yaml.safe_load(text)["config"] for stack, text in TEXTS.items()}
LEAVES = {stack: _leaves(base) for stack, base in BASES.items()}
ACCEPTED_DURATIONS: set[str] = set()
COUNTS = {"accepted": 0, "refused": 0, "not_yaml": 0}


def run(config: Any) -> StackConfig | None:
    """The program's view of a stack file's `config:` mapping; None when refused (cleanly)."""
    if not isinstance(config, dict):
        COUNTS["not_yaml"] += 1  # the Pulumi CLI refuses a stack file without a config mapping
        return None
    flat, _ = as_pulumi_config({str(k): v for k, v in config.items()})
    try:
        cfg = parse_config(read_namespace(flat), SECRETS)
    except ConfigError as exc:
        COUNTS["refused"] += 1
        lines = str(exc).splitlines()
        assert lines[0].startswith("invalid stack config"), str(exc)
        problems = [line for line in lines[1:] if not line.startswith("    ")]  # (indented: a problem's detail)
        assert problems and all(line.startswith(f"  - {NAMESPACE}:") for line in problems), str(exc)
        return None
    COUNTS["accepted"] += 1
    assert_not_invalid(cfg)
    return cfg


# --- independent checks: what Kubernetes, Helm, Prometheus, CNPG and ESO would refuse ---------

_K8S_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_K8S_SUBDOMAIN = re.compile(rf"{_K8S_DNS1123_LABEL}(\.{_K8S_DNS1123_LABEL})*")
_K8S_DNS1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_UNITS: dict[str, Decimal] = {"": Decimal(1), "m": Decimal("0.001")}
_UNITS |= {unit: Decimal(10) ** (3 * i) for i, unit in enumerate(("k", "M", "G", "T"), start=1)}
_UNITS |= {unit: Decimal(2) ** (10 * i) for i, unit in enumerate(("Ki", "Mi", "Gi", "Ti"), start=1)}


def _quantity(text: str, memory: bool) -> Decimal:
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", text)
    assert match and match.group(2) in _UNITS, text
    assert not (memory and match.group(2) == "m"), f"millibytes in a memory field: {text}"
    return Decimal(match.group(1)) * _UNITS[match.group(2)]


def _host(name: str) -> None:
    assert len(name) <= 253 and _K8S_SUBDOMAIN.fullmatch(name), name
    assert all(len(label) <= 63 for label in name.split(".")), name


def _cron6(expr: str) -> None:
    from cronsim import CronSim

    fields = expr.split()
    assert len(fields) == 6, expr
    seconds = fields[0]
    for part in seconds.split(","):
        base = part.split("/")[0]
        for bound in base.split("-") if base != "*" else []:
            assert bound.isdigit() and int(bound) <= 59, expr
    from datetime import datetime

    CronSim(" ".join(fields[1:]), datetime(2026, 1, 1))  # raises CronSimError on a bad expression


def _walk(data: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in _walk(v, f"{path}.{k}" if path else str(k))]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _walk(v, f"{path}[{i}]")]
    return [(path, data)]


def _documented_fixed_keys() -> set[str]:
    readme = (ROOT / "docs" / "security.md").read_text()
    rows = re.findall(r"^\| `[a-z0-9-]+`[^|]*\| `([a-z0-9-]+)` \|[^|]*\|([^|]*)\|$", readme, flags=re.MULTILINE)
    return {key for key, how in rows if "bump" not in how}


FIXED_KEYS = _documented_fixed_keys()


def assert_not_invalid(cfg: StackConfig) -> None:
    import helm_python

    dump = cfg.model_dump()
    for path, value in _walk(dump):
        if isinstance(value, float):
            assert math.isfinite(value), path
        leaf = path.rsplit(".", 1)[-1]
        go_duration = leaf.endswith(("_for", "_interval", "_wait")) or leaf == "cookie_expire"
        if isinstance(value, str) and go_duration and not path.startswith("litellm.database."):  # (LiteLLM periods)
            ACCEPTED_DURATIONS.add(value)
        if isinstance(value, str) and "cidr" in path:
            ipaddress.ip_network(value, strict=True)
    assert re.search(r"[1-9]", cfg.secrets.refresh_interval), "refresh_interval 0s: ESO never refreshes"
    lit, lf, sso, pg = cfg.litellm, cfg.langfuse, cfg.sso, cfg.postgres
    releases = (
        [lit.release_name] + ([lf.release_name] if lf.enabled else []) + ([sso.release_name] if sso.enabled else [])
    )
    for name in releases:
        helm_python.validate_release_name(name)
        assert _K8S_DNS1035.fullmatch(name), f"Service {name}-... would start with a digit"
    assert len(set(releases)) == len(releases), releases
    hosts = [lit.ingress.host, lf.ingress_host, *sso.allowed_email_domains]
    if pg.engine == "external":
        hosts.append(pg.external.host)
    for host in filter(None, hosts):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            _host(host)
    if pg.backup.enabled or pg.backup.schedule != "0 0 3 * * *":
        _cron6(pg.backup.schedule)
    for path, value in _walk(dump):
        if path.endswith((".requests.cpu", ".limits.cpu")) or path == "capacity.cpu":
            _quantity(value, memory=False)
        if path.endswith((".requests.memory", ".limits.memory", "storage_size")) or path == "capacity.memory":
            _quantity(value, memory=True)
        if path.endswith(".requests.cpu") or path.endswith(".requests.memory"):
            limit = dump
            for part in re.split(r"\.", path.replace(".requests.", ".limits.")):
                limit = limit[part]
            assert _quantity(value, "memory" in path) <= _quantity(str(limit), "memory" in path), path
    if pg.engine == "cnpg":
        assert _K8S_DNS1035.fullmatch(pg.cnpg.name) and len(pg.cnpg.name) <= 50, pg.cnpg.name
        tag = pg.cnpg.image.split("@")[0].rpartition(":")[2]
        assert re.match(r"v?[0-9]+", tag) and int(re.match(r"v?([0-9]+)", tag).group(1)) >= 14, pg.cnpg.image  # type: ignore[union-attr]
    assert lit.metrics_port != API_PORT
    roles = {pg.owner} | ({lf.owner} if lf.enabled else set())
    assert not (roles & {"postgres", "grafana_ro", "public"}) and not any(r.startswith("pg_") for r in roles), roles
    assert pg.database not in {"postgres", "template0", "template1"}
    if lf.enabled:
        assert lf.owner != pg.owner and lf.database != pg.database
    url = cfg.alerts.runbook_base_url
    assert urlsplit(url).scheme == "https" and not re.search(r"[\s{}#$]", url), url
    assert not (set(cfg.secrets.rotation) & FIXED_KEYS), cfg.secrets.rotation
    from config.inventory import gsm_secret_id, secret_inventory

    generated = {gsm_secret_id(cfg, spec) for spec in secret_inventory(cfg)}
    referenced = [k.gsm_secret for k in lit.provider_keys]
    assert len(set(referenced)) == len(referenced) and not (set(referenced) & generated), referenced


# --- strategies -------------------------------------------------------------------------------


@st.composite
def text_mutations(draw: st.DrawFn) -> tuple[str, str]:
    stack = draw(st.sampled_from(sorted(TEXTS)))
    lines = TEXTS[stack].splitlines()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["value", "value", "value", "delete", "duplicate", "insert", "truncate"]))
        line = lines[i]
        if action == "value" and ": " in line:
            key, _, _rest = line.partition(": ")
            family = _family(key.strip().lstrip("- "))
            pool = [v for v in family or [] if not isinstance(v, list | dict)]
            token = draw(
                st.one_of(st.sampled_from(EDGE_STRINGS + YAML_SNIPPETS), st.sampled_from(EDGE_NUMBERS))
                if not pool or draw(st.booleans())
                else st.sampled_from(pool)
            )
            lines[i] = f"{key}: {json.dumps(token) if isinstance(token, str) and draw(st.booleans()) else token}"
        elif action == "delete":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, line)
        elif action == "insert":
            pos = draw(st.integers(0, len(line)))
            lines[i] = line[:pos] + draw(st.sampled_from(YAML_SNIPPETS)) + line[pos:]
        elif action == "truncate":
            lines = lines[: max(i, 1)]
    return stack, "\n".join(lines) + "\n"


@st.composite
def value_mutations(draw: st.DrawFn) -> dict[str, Any]:
    stack = draw(st.sampled_from(sorted(BASES)))
    config: dict[str, Any] = copy.deepcopy(BASES[stack])
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(LEAVES[stack]))
        node = config
        try:
            for part in path[:-1]:
                node = node[part]
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(node, dict | list) or not path:
            continue
        if draw(st.integers(0, 5)) == 0 and isinstance(node, dict):
            node.pop(path[-1], None)
        elif isinstance(node, dict) or (isinstance(path[-1], int) and path[-1] < len(node)):
            name = path[-1] if isinstance(path[-1], str) else path[-2] if len(path) > 1 else ""
            family = _family(name)
            use_family = family is not None and draw(st.integers(0, 3)) > 0
            node[path[-1]] = draw(st.sampled_from(family)) if use_family and family else draw(VALUES)
    return config


FUZZ = settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=timedelta(seconds=2),  # a hang (a pathological regex, a loop) fails the example
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(text_mutations())
def test_mutated_stack_file_text_is_refused_cleanly_or_valid(mutated: tuple[str, str]) -> None:
    _, text = mutated
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        COUNTS["not_yaml"] += 1  # the Pulumi CLI refuses to read it; the program never runs
        return
    run(document.get("config") if isinstance(document, dict) else None)


@FUZZ
@given(value_mutations())
def test_mutated_stack_values_are_refused_cleanly_or_valid(config: dict[str, Any]) -> None:
    run(config)


def test_fuzz_reached_both_outcomes_and_promtool_parses_every_accepted_duration(tmp_path: Path) -> None:
    """Guards the fuzz above (it must both accept and refuse), then Prometheus' own parser."""
    assert COUNTS["accepted"] >= 20 and COUNTS["refused"] >= 100, COUNTS
    promtool = require("promtool")
    assert ACCEPTED_DURATIONS
    rules = {
        "groups": [
            {
                "name": "durations",
                "rules": [
                    {"alert": f"D{i}", "expr": "vector(1) > 0", "for": d}
                    for i, d in enumerate(sorted(ACCEPTED_DURATIONS))
                ],
            }
        ]
    }
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
