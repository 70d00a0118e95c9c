"""Footprint: the CPU and memory everything this stack runs asks the cluster for.

A pure function of the typed config (the same settings the builders turn into
Helm values and CNPG specs; no Pulumi calls): one row per workload with its
replica count and per-pod requests and limits, and the totals. The root
component exports it (`footprint`), `tools.preview` prints it, and
`parse_config` refuses a stack whose requests exceed `capacity` (the cluster's
allocatable CPU and memory for this program) with the table, before any
resource is registered.

Counted: LiteLLM's replicas (the HPA floor when autoscaling), its migration Job
(a Helm hook that needs room during every upgrade), the CNPG instances, and,
when `langfuse.enabled`, Langfuse web and worker, ClickHouse and its Keeper (the
operator's clusters) and MinIO (v3), oauth2-proxy when `sso.enabled`,
and the in-cluster Valkey when `redis.mode` is `in_cluster` (Memorystore runs
outside the cluster; Langfuse shares that Redis, it runs none of its own). Not counted: platform operators
(CNPG, ESO, kube-prometheus-stack) and GKE's system pods; `capacity` is what
is left for this program after them.

Volumes: the persistent volume claims the same workloads create, one per pod, from
the settings their builders read (per claim size and StorageClass, summed): the
CNPG instances' (`postgres.cnpg.storage_size`; no separate WAL volume is
configured), ClickHouse's and Keeper's (`langfuse.clickhouse`), MinIO's (v3), and
the in-cluster Valkey's when `persistence`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from config.budget import as_output as budget_output
from config.stack import StackConfig
from config.types import MIB, ResourceAmounts, Resources, memory_bytes, millicores


@dataclass(frozen=True)
class Amount:
    """CPU in millicores, memory in bytes."""

    cpu_m: int
    memory: int

    @classmethod
    def of(cls, amounts: ResourceAmounts) -> Amount:
        return cls(millicores(amounts.cpu), memory_bytes(amounts.memory))

    def __add__(self, other: Amount) -> Amount:
        return Amount(self.cpu_m + other.cpu_m, self.memory + other.memory)

    def times(self, n: int) -> Amount:
        return Amount(self.cpu_m * n, self.memory * n)


@dataclass(frozen=True)
class Row:
    component: str
    replicas: int
    requests: Amount
    """Per pod."""
    limits: Amount
    """Per pod."""

    @property
    def total_requests(self) -> Amount:
        return self.requests.times(self.replicas)

    @property
    def total_limits(self) -> Amount:
        return self.limits.times(self.replicas)


@dataclass(frozen=True)
class Footprint:
    rows: tuple[Row, ...]

    @property
    def requests(self) -> Amount:
        return sum((r.total_requests for r in self.rows), Amount(0, 0))

    @property
    def limits(self) -> Amount:
        return sum((r.total_limits for r in self.rows), Amount(0, 0))


def _row(component: str, replicas: int, res: Resources) -> Row:
    return Row(component, replicas, Amount.of(res.requests), Amount.of(res.limits))


def footprint(cfg: StackConfig) -> Footprint:
    """Every workload of the stack with the resources its config deploys."""
    lit = cfg.litellm
    replicas = lit.autoscaling.min_replicas if lit.autoscaling.enabled else lit.replicas
    rows = [
        _row("litellm proxy", replicas, lit.resources),
        _row("litellm migration job", 1, lit.migration_resources),
    ]
    pg = cfg.postgres
    if pg.engine == "cnpg":
        rows.append(_row("postgres (cnpg)", pg.cnpg.instances, pg.cnpg.resources))
    lf = cfg.langfuse
    if lf.enabled:
        rows += [
            _row("langfuse web", lf.web.replicas, lf.web.resources),
            _row("langfuse worker", lf.worker.replicas, lf.worker.resources),
            _row("langfuse clickhouse", lf.clickhouse.replicas, lf.clickhouse.resources),
        ]
        rows.append(_row("langfuse keeper", lf.clickhouse.keeper.replicas, lf.clickhouse.keeper.resources))
        if lf.blob_storage == "minio":
            rows.append(_row("langfuse minio", 1, lf.minio.resources))
    if cfg.sso.enabled:
        rows.append(_row("oauth2-proxy (sso)", cfg.sso.replicas, cfg.sso.resources))
    if cfg.redis.mode == "in_cluster":
        rows.append(_row("redis (valkey, in-cluster)", cfg.redis.in_cluster.pods, cfg.redis.in_cluster.resources))
    return Footprint(tuple(rows))


@dataclass(frozen=True)
class Claims:
    """The volume claims of one workload: `claims` of `size` each."""

    workload: str
    claims: int
    size: str
    storage_class: str | None
    """None: the cluster's default StorageClass."""

    @property
    def total(self) -> int:
        return self.claims * memory_bytes(self.size)


def volumes(cfg: StackConfig) -> tuple[Claims, ...]:
    """Every persistent volume claim the stack's workloads create (the builders' sizes and classes)."""
    rows = []
    pg = cfg.postgres
    if pg.engine == "cnpg":
        rows.append(Claims("postgres (cnpg)", pg.cnpg.instances, pg.cnpg.storage_size, pg.cnpg.storage_class))
    lf = cfg.langfuse
    if lf.enabled:
        ch = lf.clickhouse
        rows.append(Claims("langfuse clickhouse", ch.replicas, ch.storage_size, ch.storage_class))
        # The KeeperCluster's claims take ClickHouse's class (components/langfuse/clickhouse.py).
        rows.append(Claims("langfuse keeper", ch.keeper.replicas, ch.keeper.storage_size, ch.storage_class))
        if lf.blob_storage == "minio":
            rows.append(Claims("langfuse minio", 1, lf.minio.storage_size, None))
    ic = cfg.redis.in_cluster
    if cfg.redis.mode == "in_cluster" and ic.persistence:
        rows.append(Claims("redis (valkey, in-cluster)", ic.pods, ic.storage_size, ic.storage_class))
    return tuple(rows)


def volumes_output(cfg: StackConfig) -> dict[str, Any]:
    """The `volumes` part of the `footprint` stack output."""
    rows = volumes(cfg)
    return {
        "claims": [
            {
                "workload": v.workload,
                "claims": v.claims,
                "size": v.size,
                "storage_class": v.storage_class,
                "total": memory_text(v.total),
            }
            for v in rows
        ],
        "total_claims": sum(v.claims for v in rows),
        "total": memory_text(sum(v.total for v in rows)),
    }


def volumes_table(output: Mapping[str, Any]) -> str:
    """The volumes table from the `footprint` stack output (what tools.preview prints)."""
    header = ("workload", "claims", "size", "storage class", "total")
    v = output["volumes"]
    rows = [
        (
            str(c["workload"]),
            str(c["claims"]),
            str(c["size"]),
            c["storage_class"] or "(cluster default)",
            str(c["total"]),
        )
        for c in v["claims"]
    ]
    lines = [header, *rows, ("total", str(v["total_claims"]), "", "", str(v["total"]))]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    right = (False, True, True, False, True)
    out = []
    for i, line in enumerate(lines):
        cells = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(line, widths, right, strict=True)]
        out.append("  ".join(cells).rstrip())
        if i in (0, len(rows)):
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def cpu_text(cpu_m: int) -> str:
    return f"{cpu_m / 1000:g}"


def memory_text(memory: int) -> str:
    gi = memory / 2**30
    return f"{gi:g}Gi" if gi >= 1 else f"{memory / MIB:g}Mi"


_HEADER = ("component", "replicas", "cpu req", "mem req", "cpu lim", "mem lim")


def _render(rows: Sequence[tuple[str, ...]], totals: tuple[str, ...], capacity: tuple[str, str] | None) -> str:
    lines = [_HEADER, *rows, totals]
    if capacity is not None:
        lines.append(("capacity", "", *capacity, "", ""))
    widths = [max(len(line[i]) for line in lines) for i in range(len(_HEADER))]
    rule = "  ".join("-" * w for w in widths)
    out = []
    for i, line in enumerate(lines):
        cells = [line[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(line[1:], widths[1:], strict=True)]
        out.append("  ".join(cells).rstrip())
        if i in (0, len(rows)):
            out.append(rule)
    return "\n".join(out)


def table(fp: Footprint, capacity: ResourceAmounts | None = None) -> str:
    """A plain-text table: per row replicas and total requests/limits, then the totals (and capacity)."""
    rows = [
        (
            r.component,
            str(r.replicas),
            cpu_text(r.total_requests.cpu_m),
            memory_text(r.total_requests.memory),
            cpu_text(r.total_limits.cpu_m),
            memory_text(r.total_limits.memory),
        )
        for r in fp.rows
    ]
    req, lim = fp.requests, fp.limits
    totals = ("total", "", cpu_text(req.cpu_m), memory_text(req.memory), cpu_text(lim.cpu_m), memory_text(lim.memory))
    cap = None
    if capacity is not None:
        amount = Amount.of(capacity)
        cap = (cpu_text(amount.cpu_m), memory_text(amount.memory))
    return _render(rows, totals, cap)


def output_table(output: Mapping[str, Any]) -> str:
    """The same table from the `footprint` stack output (what tools.preview prints)."""
    rows = [
        (
            str(w["component"]),
            str(w["replicas"]),
            str(w["requests"]["cpu"]),
            str(w["requests"]["memory"]),
            str(w["limits"]["cpu"]),
            str(w["limits"]["memory"]),
        )
        for w in output["workloads"]
    ]
    req, lim, cap = output["requests"], output["limits"], output["capacity"]
    totals = ("total", "", str(req["cpu"]), str(req["memory"]), str(lim["cpu"]), str(lim["memory"]))
    return _render(rows, totals, (str(cap["cpu"]), str(cap["memory"])))


def capacity_problem(cfg: StackConfig) -> str | None:
    """Why the stack does not fit `capacity` (with the table), or None when it fits."""
    fp = footprint(cfg)
    cap = Amount.of(cfg.capacity)
    req = fp.requests
    over = []
    if req.cpu_m > cap.cpu_m:
        over.append(f"cpu {cpu_text(req.cpu_m)} > {cpu_text(cap.cpu_m)}")
    if req.memory > cap.memory:
        over.append(f"memory {memory_text(req.memory)} > {memory_text(cap.memory)}")
    if not over:
        return None
    body = "\n".join(f"      {line}" for line in table(fp, cfg.capacity).splitlines())
    return (
        f"the stack's resource requests exceed the cluster's allocatable capacity ({'; '.join(over)}); "
        "raise capacity (a bigger node pool) or shrink the workloads below:\n" + body
    )


def as_output(cfg: StackConfig) -> dict[str, Any]:
    """The `footprint` stack output: totals, capacity and one entry per workload."""
    fp = footprint(cfg)

    def amounts(a: Amount) -> dict[str, str]:
        return {"cpu": cpu_text(a.cpu_m), "memory": memory_text(a.memory)}

    return {
        "requests": amounts(fp.requests),
        "limits": amounts(fp.limits),
        "capacity": {"cpu": cfg.capacity.cpu, "memory": cfg.capacity.memory},
        "workloads": [
            {
                "component": r.component,
                "replicas": r.replicas,
                "requests": amounts(r.total_requests),
                "limits": amounts(r.total_limits),
            }
            for r in fp.rows
        ],
        "volumes": volumes_output(cfg),
        **budget_output(cfg),
    }
