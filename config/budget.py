"""Database budgets: the connections and the storage the stack's PostgreSQL must hold.

Pure functions of the typed config, like config/footprint.py. `parse_config`
refuses a stack whose budget does not fit (with the table, naming the key); the
`footprint` stack output and `tools.preview` carry both tables.

Connections (on the primary; every client's pool is counted full):
  LiteLLM     pods x num_workers x database_connection_pool_limit, pods = the HPA
              maximum (or replicas) plus the rolling update's surge (Kubernetes'
              default maxSurge 25 %, rounded up: neither chart sets a strategy);
              the pool is per worker process (LiteLLM's proxy_cli prints the same
              budget at start).
  migration   the chart's migration Job (Prisma's schema engine + the request-log
              index builder): MIGRATION_JOB_CONNECTIONS.
  Langfuse    web and worker pods (+ surge) x `langfuse.database_connection_limit`
              (Prisma `connection_limit`, set through DATABASE_ARGS).
  grafana_ro  the role's CONNECTION LIMIT (Grafana's max_open_conns is the same number).
  backups     barman-cloud holds one connection for a base backup (backups enabled).
  CNPG        the instance manager and its metrics exporter (superuser, local):
              CNPG_OWN_CONNECTIONS; superuser_reserved_connections (a parameter,
              PostgreSQL's default 3) are never available to the clients above.
  headroom    `postgres.budget.headroom_connections`.
The sum must not exceed max_connections (`postgres.cnpg.parameters.max_connections`,
PostgreSQL's default 100 when unset; `postgres.external.max_connections`).

Storage (the data volume, `postgres.cnpg.storage_size` or `postgres.external.storage_size`):
  spend logs   expected_requests_per_day x SPEND_LOG_ROW_BYTES x (retention days +
               one cleanup interval: rows outlive the retention until the next run)
  daily tables daily_rows_per_day x DAILY_ROW_BYTES x daily_history_days (never pruned)
  WAL          max_wal_size (PostgreSQL's default 1GB) + wal_keep_size (CNPG's default 512MB)
  base         BASE_BYTES: keys, teams, audit log, catalogs, Langfuse's metadata database
The sum must fit `postgres.budget.storage_fill_target` of the volume. The cleanup
must also keep up: at most cleanup_batch_size x cleanup_max_batches rows are
deleted per run, so a day's requests x the interval in days must fit one run.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from config.postgres import CnpgConfig
from config.stack import StackConfig
from config.types import memory_bytes, period_seconds

SPEND_LOG_ROW_BYTES = 2151
"""Bytes per LiteLLM_SpendLogs row, indexes and TOAST included (pg_total_relation_size / rows),
measured by `python -m bench.spend_log_size` (200,000 rows, PostgreSQL 15, every
litellm-proxy-extras migration, ~1.2 KB metadata, message logging off): heap 1638, indexes 512."""
DAILY_ROW_BYTES = 634
"""Bytes per row of LiteLLM_DailyUserSpend / LiteLLM_DailyTeamSpend, indexes included (same script)."""
BASE_BYTES = 2**30
"""Everything else in the cluster: keys, teams, audit log, catalogs, Langfuse's metadata database."""
DEFAULT_MAX_WAL = "1GB"
DEFAULT_WAL_KEEP = "512MB"
MIGRATION_JOB_CONNECTIONS = 2
CNPG_OWN_CONNECTIONS = 3
DEFAULT_MAX_CONNECTIONS = 100
DEFAULT_SUPERUSER_RESERVED = 3
SURGE = 0.25

_PG_SIZE = re.compile(r"^([0-9]+)\s*(kB|MB|GB|TB)?$")
_PG_UNITS = {None: 2**20, "kB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}  # bare number: MB (wal sizes)


class BudgetInputError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _surge(replicas: int) -> int:
    return math.ceil(replicas * SURGE)


def _int_parameter(cnpg: CnpgConfig, name: str, default: int) -> int:
    raw = cnpg.parameters.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]+", raw.strip()):
        raise BudgetInputError(f"postgres.cnpg.parameters.{name}", f"must be a whole number, got {raw!r}")
    return int(raw)


def _size_parameter(cfg: StackConfig, name: str, default: str) -> int:
    pg = cfg.postgres
    raw = pg.cnpg.parameters.get(name, default) if pg.engine == "cnpg" else default
    match = _PG_SIZE.match(raw.strip())
    if match is None:
        raise BudgetInputError(f"postgres.cnpg.parameters.{name}", f"must be a size such as 1GB, got {raw!r}")
    return int(match.group(1)) * _PG_UNITS[match.group(2)]


@dataclass(frozen=True)
class Line:
    """One row of a budget table: who or what needs the amount, and how it was counted."""

    item: str
    formula: str
    amount: int
    """Connections or bytes."""


@dataclass(frozen=True)
class Budget:
    """Lines that add up to what the stack needs."""

    lines: tuple[Line, ...]

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


@dataclass(frozen=True)
class ConnectionBudget(Budget):
    max_connections: int
    max_connections_key: str


@dataclass(frozen=True)
class StorageBudget(Budget):
    volume: int | None
    fill_target: float

    @property
    def allowed(self) -> int | None:
        return None if self.volume is None else int(self.volume * self.fill_target)


def connection_budget(cfg: StackConfig) -> ConnectionBudget:
    pg, lit, lf = cfg.postgres, cfg.litellm, cfg.langfuse
    pods = lit.autoscaling.max_replicas if lit.autoscaling.enabled else lit.replicas
    which = "HPA max" if lit.autoscaling.enabled else "replicas"
    pool = lit.database.connection_pool_limit
    per_pod = lit.num_workers * pool
    lines = [
        Line("litellm proxy", f"{pods} pods ({which}) x {lit.num_workers} workers x pool {pool}", pods * per_pod),
        Line(
            "litellm rollout surge",
            f"{_surge(pods)} pods (maxSurge 25%) x {lit.num_workers} x {pool}",
            _surge(pods) * per_pod,
        ),
        Line("litellm migration job", "prisma migrate + index builder", MIGRATION_JOB_CONNECTIONS),
    ]
    if lf.enabled:
        limit = lf.database_connection_limit
        for name, workload in (("langfuse web", lf.web), ("langfuse worker", lf.worker)):
            n = workload.replicas + _surge(workload.replicas)
            lines.append(
                Line(name, f"({workload.replicas} + {_surge(workload.replicas)} surge) pods x {limit}", n * limit)
            )
    lines.append(Line("grafana_ro", "role CONNECTION LIMIT", pg.grafana_ro.connection_limit))
    if pg.engine == "cnpg":
        if pg.backup.enabled:
            lines.append(Line("barman-cloud backup", "one base backup at a time", 1))
        lines.append(Line("cnpg instance manager", "status, exporter (superuser)", CNPG_OWN_CONNECTIONS))
        reserved = _int_parameter(pg.cnpg, "superuser_reserved_connections", DEFAULT_SUPERUSER_RESERVED)
        max_connections = _int_parameter(pg.cnpg, "max_connections", DEFAULT_MAX_CONNECTIONS)
        max_key = "postgres.cnpg.parameters.max_connections"
    else:
        reserved = pg.external.superuser_reserved_connections
        max_connections = pg.external.max_connections
        max_key = "postgres.external.max_connections"
    lines.append(Line("superuser reserved", "superuser_reserved_connections", reserved))
    lines.append(Line("headroom", "postgres.budget.headroom_connections", pg.budget.headroom_connections))
    return ConnectionBudget(tuple(lines), max_connections, max_key)


def _days(period: str) -> float:
    return period_seconds(period) / 86400


def storage_budget(cfg: StackConfig) -> StorageBudget:
    db = cfg.litellm.database
    pg = cfg.postgres
    keep = _days(db.spend_logs_retention) + _days(db.cleanup_interval)
    logs = round(db.expected_requests_per_day * SPEND_LOG_ROW_BYTES * keep)
    daily = db.daily_rows_per_day * DAILY_ROW_BYTES * db.daily_history_days
    wal = _size_parameter(cfg, "max_wal_size", DEFAULT_MAX_WAL) + _size_parameter(
        cfg, "wal_keep_size", DEFAULT_WAL_KEEP
    )
    lines = (
        Line(
            "spend logs",
            f"{db.expected_requests_per_day}/day x {SPEND_LOG_ROW_BYTES} B x {keep:g} days "
            f"({db.spend_logs_retention} + {db.cleanup_interval})",
            logs,
        ),
        Line(
            "daily tables",
            f"{db.daily_rows_per_day}/day x {DAILY_ROW_BYTES} B x {db.daily_history_days} days",
            daily,
        ),
        Line("WAL", "max_wal_size + wal_keep_size", wal),
        Line("base", "keys, teams, audit, catalogs, langfuse", BASE_BYTES),
    )
    size = pg.cnpg.storage_size if pg.engine == "cnpg" else pg.external.storage_size
    return StorageBudget(lines, None if size is None else memory_bytes(size), pg.budget.storage_fill_target)


def _render(header: tuple[str, str, str], rows: list[tuple[str, str, str]], totals: list[tuple[str, str, str]]) -> str:
    lines = [header, *rows, *totals]
    widths = [max(len(line[i]) for line in lines) for i in range(3)]
    rule = "  ".join("-" * w for w in widths)
    out = []
    for i, line in enumerate(lines):
        out.append(f"{line[0].ljust(widths[0])}  {line[1].ljust(widths[1])}  {line[2].rjust(widths[2])}".rstrip())
        if i in (0, len(rows)):
            out.append(rule)
    return "\n".join(out)


def connection_table(budget: ConnectionBudget) -> str:
    return _render(
        ("client", "formula", "connections"),
        [(line.item, line.formula, str(line.amount)) for line in budget.lines],
        [
            ("total", "", str(budget.total)),
            ("max_connections", budget.max_connections_key, str(budget.max_connections)),
        ],
    )


def _gib(amount: int) -> str:
    return f"{amount / 2**20:.0f}Mi" if amount < 2**30 else f"{amount / 2**30:.1f}Gi"


def storage_table(budget: StorageBudget) -> str:
    totals = [("total", "", _gib(budget.total))]
    if budget.volume is not None and budget.allowed is not None:
        totals.append(("allowed", f"{budget.fill_target:g} x volume {_gib(budget.volume)}", _gib(budget.allowed)))
    return _render(
        ("item", "formula", "bytes"),
        [(line.item, line.formula, _gib(line.amount)) for line in budget.lines],
        totals,
    )


def _indent(text: str) -> str:
    return "\n".join(f"      {line}" for line in text.splitlines())


def budget_problems(cfg: StackConfig) -> list[tuple[str, str]]:
    """(key path, explanation with the table) for every budget the stack does not fit."""
    try:
        conns = connection_budget(cfg)
        storage = storage_budget(cfg)
    except BudgetInputError as exc:
        return [(exc.key, str(exc))]
    problems = []
    if conns.total > conns.max_connections:
        problems.append(
            (
                "litellm.database.connection_pool_limit",
                f"the stack's PostgreSQL clients may open {conns.total} connections, more than "
                f"{conns.max_connections_key} ({conns.max_connections}); lower the pool limit (or the HPA maximum, "
                f"workers, Langfuse's limit) or raise max_connections:\n" + _indent(connection_table(conns)),
            )
        )
    if storage.allowed is not None and storage.total > storage.allowed:
        problems.append(
            (
                "litellm.database.spend_logs_retention",
                f"the expected data ({_gib(storage.total)}) does not fit {storage.fill_target:g} of the "
                f"{_gib(storage.volume or 0)} volume; shorten the retention or raise the volume size "
                "(postgres.cnpg.storage_size):\n" + _indent(storage_table(storage)),
            )
        )
    db = cfg.litellm.database
    per_run = db.cleanup_batch_size * db.cleanup_max_batches
    due = math.ceil(db.expected_requests_per_day * _days(db.cleanup_interval))
    if due > per_run:
        problems.append(
            (
                "litellm.database.cleanup_max_batches",
                f"the cleanup would fall behind: {due} spend-log rows expire per run "
                f"({db.expected_requests_per_day}/day x {db.cleanup_interval}) but one run deletes at most "
                f"{per_run} (cleanup_batch_size {db.cleanup_batch_size} x cleanup_max_batches "
                f"{db.cleanup_max_batches}); raise cleanup_max_batches or shorten cleanup_interval",
            )
        )
    return problems


def as_output(cfg: StackConfig) -> dict[str, Any]:
    """The `connections` and `storage` parts of the `footprint` stack output."""
    conns = connection_budget(cfg)
    storage = storage_budget(cfg)
    return {
        "connections": {
            "clients": [{"client": ln.item, "formula": ln.formula, "connections": ln.amount} for ln in conns.lines],
            "total": conns.total,
            "max_connections": conns.max_connections,
            "max_connections_key": conns.max_connections_key,
        },
        "storage": {
            "items": [{"item": ln.item, "formula": ln.formula, "bytes": ln.amount} for ln in storage.lines],
            "total_bytes": storage.total,
            "volume_bytes": storage.volume,
            "fill_target": storage.fill_target,
        },
    }


def output_tables(output: dict[str, Any]) -> tuple[str, str]:
    """Both tables from the `footprint` stack output (what tools.preview prints)."""
    c = output["connections"]
    conns = ConnectionBudget(
        tuple(Line(r["client"], r["formula"], int(r["connections"])) for r in c["clients"]),
        int(c["max_connections"]),
        str(c["max_connections_key"]),
    )
    s = output["storage"]
    storage = StorageBudget(
        tuple(Line(r["item"], r["formula"], int(r["bytes"])) for r in s["items"]),
        None if s["volume_bytes"] is None else int(s["volume_bytes"]),
        float(s["fill_target"]),
    )
    return connection_table(conns), storage_table(storage)
