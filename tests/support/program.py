"""Whole-program runs under the recording mock engine, and the named scenarios they run.

A scenario is a stack file plus `--set`-style overrides. The overrides every test
shares are named here once (the external PostgreSQL engine, Langfuse on the lab,
in-cluster Valkey...), so two tests that mean the same scenario run the same one and
share its cached run. Runs are cached per (stack, overrides) for the session: a run
is pure data once it has finished.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from typing import Any

from offline.run import ProgramRun, gc_paused, no_source_positions, run_program, run_stack
from offline.stackfile import STACKS

__all__ = [
    "ADMIN_PASSWORD",
    "EXTERNAL_ENGINE",
    "EXTERNAL_SERVER",
    "HELM_RELEASE",
    "LAB_LANGFUSE",
    "LAB_UI",
    "LANGFUSE_V3",
    "REDIS_IN_CLUSTER",
    "SCENARIOS",
    "SECRET_CONFIG",
    "STACKS",
    "V3_MINIO",
    "VARIANTS",
    "VARIANT_NAMES",
    "created_after",
    "release",
    "run_cached",
    "run_components",
    "run_scenario",
    "walk_strings",
]

EXTERNAL_SERVER = "192.168.10.5"
"""The address of the external PostgreSQL server in EXTERNAL_ENGINE."""

# Bring-your-own PostgreSQL: a stack switched to an external server.
EXTERNAL_ENGINE = (
    "llm-gateway:postgres.engine=external",
    "llm-gateway:postgres.cnpg=null",
    "llm-gateway:postgres.external={host: pg.home.arpa, admin_user: pgadmin, sslmode: verify-full,"
    f" server_cidrs: [{EXTERNAL_SERVER}/32]}}",
)
# The lab with Langfuse on (v4, GCS, one ClickHouse replica and one Keeper, the operator beside) needs a bigger capacity than the lab's,
# and a shared Redis for Langfuse's queues (the in-cluster Valkey; the lab's LiteLLM alone needs none).
LAB_LANGFUSE = (
    "llm-gateway:langfuse.enabled=true",
    "llm-gateway:redis.mode=in_cluster",
    "llm-gateway:langfuse.clickhouse.operator_namespace=clickhouse-operator-system",
    "llm-gateway:langfuse.blob_storage=gcs",
    "llm-gateway:langfuse.gcs={bucket: lab-langfuse-blobs}",
    "llm-gateway:capacity={cpu: '10', memory: 24Gi}",
)
# Langfuse's UI on a public host, signed in with the lab's identity provider, an initial admin.
LAB_UI = (
    "llm-gateway:langfuse.init.admin_email=admin@example.org",
    "llm-gateway:langfuse.ingress_host=langfuse.lab.example",
    "llm-gateway:litellm.ingress.cluster_issuer=lab-ca",
    "llm-gateway:litellm.network.ingress_controller_namespace=ingress-nginx",
    "llm-gateway:langfuse.sso={issuer_url: 'https://login.lab.example/realms/lab', client_id: langfuse, "
    "client_secret_gsm_secret: lab-langfuse-oidc}",
)
# Langfuse v3 (chart 1.5.x) beside it: an install that has not moved to v4 yet.
LANGFUSE_V3 = ("llm-gateway:langfuse.version=3",)
# v3 with the 1.5.x chart's MinIO instead of GCS (v4 has GCS only).
V3_MINIO = (*LANGFUSE_V3, "llm-gateway:langfuse.blob_storage=minio", "llm-gateway:langfuse.gcs=null")
# Shared state in a Valkey the program runs instead of Memorystore.
REDIS_IN_CLUSTER = ("llm-gateway:redis.mode=in_cluster",)

# The one stack-config secret (external engine), as `pulumi config set --secret` stores it.
ADMIN_PASSWORD = "Adm1n-p@ss:w/rd?#"
SECRET_CONFIG = {"llm-gateway:postgresAdminPassword": {"secure": ADMIN_PASSWORD}}

SCENARIOS: dict[str, tuple[str, tuple[str, ...]]] = {
    "lab": ("lab", ()),
    "enterprise": ("enterprise", ()),
    "lab-external": ("lab", EXTERNAL_ENGINE),
    "lab-langfuse": ("lab", LAB_LANGFUSE),
    "lab-langfuse-external": ("lab", (*LAB_LANGFUSE, *EXTERNAL_ENGINE)),
    "lab-langfuse-v3": ("lab", (*LAB_LANGFUSE, *V3_MINIO, *LAB_UI)),
    "enterprise-redis-in-cluster": ("enterprise", REDIS_IN_CLUSTER),
}
"""Every named scenario: name -> (stack, overrides)."""

VARIANT_NAMES = ("lab", "enterprise", "lab-external")
"""The shipped stack files and the lab on the external engine: the scenarios every whole-program check covers."""
VARIANTS = [SCENARIOS[name] for name in VARIANT_NAMES]
"""VARIANT_NAMES as (stack, overrides) pairs."""

_cache: dict[tuple[str, tuple[str, ...]], ProgramRun] = {}


def run_cached(stack: str, *overrides: str) -> ProgramRun:
    """The real program's run for `stack` with `overrides` (and the stack secret), once per session."""
    key = (stack, overrides)
    if key not in _cache:
        _cache[key] = run_stack(stack, overrides, extra_config=SECRET_CONFIG)
    return _cache[key]


def run_scenario(name: str) -> ProgramRun:
    stack, overrides = SCENARIOS[name]
    return run_cached(stack, *overrides)


HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def created_after(run: ProgramRun, name: str) -> set[str]:
    """Every resource `name` is created after: its dependencies (a component's stand for its
    resources, as the engine records them) and, transitively, theirs and its ancestors' (a child
    registers once its parent has, and a parent once its dependencies exist)."""
    by_name = {r.name: r for r in run.resources}
    out: set[str] = set()
    todo = [name]
    while todo:
        r = by_name[todo.pop()]
        for dep in [*r.options.get("dependencies", []), *([r.parent] if r.parent else [])]:
            if dep not in out:
                out.add(dep)
                todo.append(dep)
    return out


def release(run: ProgramRun, name: str) -> dict[str, Any]:
    """The plain inputs of the one Helm release named `name` in `run`."""
    found = [r.plain_inputs for r in run.of_type(HELM_RELEASE) if r.plain_inputs["name"] == name]
    assert len(found) == 1, f"{len(found)} releases named {name}"
    return found[0]  # type: ignore[no-any-return]


def run_components(
    build: Callable[[], None], stack: str = "components", gcp_project: str = "mock-project"
) -> ProgramRun:
    """Run `build` (which constructs components, e.g. one component alone) under the mock engine."""
    config = {"llm-gateway:gcp": {"project": gcp_project}}
    with gc_paused(), no_source_positions():
        return contextvars.Context().run(run_program, stack, config, build)


def walk_strings(value: Any) -> Iterator[str]:
    """Every string in a nested value (mapping keys included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from walk_strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from walk_strings(v)
