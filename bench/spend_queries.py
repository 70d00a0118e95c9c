"""Benchmark the spend-dashboard queries (reporting rollups) against their naive raw-log twins.

    python -m bench.spend_queries [--points current,mid,enterprise] [--days 90] [--runs 25] [--naive-runs 5]
                                        [--rows N --keys N --teams N --users N --models N] [--db-dir DIR]
                                        [--slim-spend-logs]

A cardinality sweep: for each point a throwaway PostgreSQL (tests/harness/pglab/server.py) with
LiteLLM's real schema is loaded with spend-log rows over `--days` days drawn by PostgreSQL,
plus the matching daily aggregates (tests/harness/pglab/spend_seed.py); the reporting schema is
installed and fully refreshed as the `reporting` role with the program's SQL
(components/reporting/sql.py), timed, then an incremental refresh (the configured
default window) is timed, then a whole CronJob run's SQL (owner grants, schema, grants,
refresh) after 0, 10,000 and 100,000 new spend rows (`NEW_ROWS`; the daily rows a seed
wrote are first dated a day back, as a production database's are). Every panel query runs exactly as Grafana renders it
(tests/harness/pglab/grafana_sql.py) as a grafana_ro that can read the reporting schema only,
for a 30-day and a 7-day range, next to its naive twin reading the raw log (as the
owner) in the same run: median and p95 per panel. Overview panels run with every
variable on "All"; team-view panels for one team. A panel that can read the refresh's
precomputed quick ranges (`reporting.key_ranges`, `team_ranges`, `user_ranges`) is also timed on ranges of the same
lengths ending a day earlier (`30d-1`, `7d-1`: its aggregating path). Progress and the
load average go to stderr and stdout.

With `--db-dir DIR` each point's seeded cluster is kept in `DIR/<point>-<sizes>` and
reused by the next run with the same point and `--days` (seeding the enterprise point
takes 10-20 minutes on a busy machine); the reporting schema and roles are dropped and
installed again every run, so a run always measures the current SQL. Delete the
directory to reseed.
Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from bench import positive_int
from components.database.cnpg_roles import GRAFANA_RO_ROLE
from components.reporting import sql as reporting_sql
from config import ReportingConfig
from dashboards import reporting_schema
from dashboards.spend_queries import CHARGEBACK, OVERVIEW, TEAM_VIEW, DashboardQueries
from tests.harness.pglab import spend_seed
from tests.harness.pglab.grafana_sql import ALL, Selection, TimeRange, render
from tests.harness.pglab.naive_spend_queries import CHARGEBACK_NAIVE, OVERVIEW_NAIVE, TEAM_VIEW_NAIVE
from tests.harness.pglab.server import LiteLLMDatabase, PostgresServer, apply_litellm_schema, start_postgres_server

Conn = psycopg.Connection[tuple[object, ...]]


@dataclass(frozen=True)
class Point:
    name: str
    rows: int
    keys: int
    teams: int
    users: int
    models: int
    target_ms: float
    target_speedup: float


POINTS = {
    "current": Point("current", 1_000_000, 120, 20, 60, 8, 20.0, 20.0),
    "mid": Point("mid", 1_500_000, 1_000, 100, 500, 20, 50.0, 20.0),
    "enterprise": Point("enterprise", 2_000_000, 5_000, 500, 2_000, 40, 50.0, 20.0),
    "10x": Point("10x", 20_000_000, 50_000, 5_000, 20_000, 40, 50.0, 20.0),
}
INCREMENTAL_TARGET_S = 5.0
NEW_ROWS = (0, 10_000, 100_000)
"""Rows that arrive before each timed job run after the full apply (issue 29: <= 0.5 s after none,
<= 2 s after 10,000 at the 10x point)."""


def progress(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _time(conn: Conn, text: str, runs: int, warmup: int) -> tuple[float, float]:
    query = text.encode()
    for _ in range(warmup):
        conn.execute(query).fetchall()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        conn.execute(query).fetchall()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, max(0, round(0.95 * len(samples)) - 1))]
    return statistics.median(samples), p95


_RANGED = (reporting_schema.KEY_RANGES, reporting_schema.TEAM_RANGES, reporting_schema.USER_RANGES)
"""The refresh's precomputed ranges: a panel reading one is also timed on its aggregating path."""

_SEEDED = "seeded.json"
"""Written once a kept cluster is fully seeded: the seed's end time and the owner's password."""
_DAILY_ROWS = "upserted"
"""How the kept cluster's daily rows were written: one row per LiteLLM unique key, batches added to
it (tests/harness/pglab/spend_seed.py). Seeds from before wrote a row per batch, which let a day's
rows grow with every benchmark run."""


def _load(server: PostgresServer, point: Point, days: int, end: datetime, slim: bool) -> tuple[LiteLLMDatabase, str]:
    database = apply_litellm_schema(server)
    started = time.perf_counter()
    with server.connect_as(database.owner, database.owner_password, database.name) as conn:
        data = spend_seed.bulk_dataset(teams=point.teams, keys=point.keys)
        spend_seed.bulk_load(
            conn,
            rows=point.rows,
            days=days,
            end=end,
            data=data,
            users=point.users,
            models=point.models,
            metadata={} if slim else spend_seed.REALISTIC_METADATA,
            progress=progress,
        )
    how = f"loaded in {time.perf_counter() - started:.0f} s" + (" (slim spend logs: metadata {})" if slim else "")
    return database, _summary(server, database, point, how)


def _summary(server: PostgresServer, database: LiteLLMDatabase, point: Point, how: str) -> str:
    with server.connect_as(database.owner, database.owner_password, database.name) as conn:
        sizes = {
            table: conn.execute(f'SELECT count(*) FROM "{table}"'.encode()).fetchone()
            for table in ("LiteLLM_SpendLogs", "LiteLLM_DailyUserSpend", "LiteLLM_DailyTeamSpend")
        }
    return (
        f"{how}: "
        + ", ".join(f"{t} {row[0] if row else '?':,} rows" for t, row in sizes.items())
        + f"; {point.keys:,} keys, {point.teams} teams, {point.users:,} users, {point.models} models"
    )


def _seeded_server(point: Point, args: argparse.Namespace) -> tuple[PostgresServer, LiteLLMDatabase, datetime, str]:
    """A server holding the point's data: seeded now, or a kept one from an earlier run."""
    keep_in: Path | None = None
    if args.db_dir is not None:
        sizes = f"{point.rows}r-{point.keys}k-{point.teams}t-{point.users}u-{point.models}m-{args.days}d"
        sizes += "-slim" if args.slim_spend_logs else ""
        keep_in = Path(args.db_dir) / f"{point.name}-{sizes}"
        if keep_in.exists() and not (keep_in / _SEEDED).is_file():
            progress(f"{keep_in} holds an unfinished seed: seeding again")
            shutil.rmtree(keep_in)
        elif keep_in.exists() and json.loads((keep_in / _SEEDED).read_text()).get("daily_rows") != _DAILY_ROWS:
            progress(f"{keep_in} was seeded with a daily row per batch, not LiteLLM's upsert: seeding again")
            shutil.rmtree(keep_in)
    progress("starting PostgreSQL ...")
    server = start_postgres_server(keep_in)
    try:
        if server.reused and keep_in is not None:
            seeded = json.loads((keep_in / _SEEDED).read_text())
            database = LiteLLMDatabase(
                server, seeded["database"], seeded["owner"], seeded["owner_password"], (), (), 0.0
            )
            end = datetime.fromisoformat(seeded["end"])
            _drop_reporting(server, database.name)
            return server, database, end, _summary(server, database, point, f"reused {keep_in}")
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0, tzinfo=None)
        database, summary = _load(server, point, args.days, end, slim=args.slim_spend_logs)
        if keep_in is not None:
            seeded_file = keep_in / _SEEDED
            fd = os.open(seeded_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(
                    {
                        "database": database.name,
                        "owner": database.owner,
                        "owner_password": database.owner_password,
                        "end": end.isoformat(),
                        "daily_rows": _DAILY_ROWS,
                    },
                    out,
                )
        return server, database, end, summary
    except BaseException:
        server.stop()
        raise


def _drop_reporting(server: PostgresServer, dbname: str) -> None:
    """What an earlier run installed: the reporting schema and both roles."""
    roles = (reporting_sql.REPORTING_ROLE, GRAFANA_RO_ROLE)
    with server.superuser_connection(dbname) as conn:
        for role in roles:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
                conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(role)))
    with server.superuser_connection() as conn:
        for role in roles:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def run_point(point: Point, args: argparse.Namespace) -> int:
    print(
        f"\n## point {point.name}: {point.rows:,} rows / {point.keys:,} keys / {point.teams} teams"
        f" / {point.users:,} users / {point.models} models",
        flush=True,
    )
    server, database, end, summary = _seeded_server(point, args)
    try:
        print(summary, flush=True)
        print(f"load average at start: {_loadavg()}", flush=True)
        password = secrets.token_urlsafe(18)
        with server.superuser_connection() as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(GRAFANA_RO_ROLE), sql.Literal(password)
                )
            )
        progress("reporting schema + full refresh ...")
        window = ReportingConfig().window_days
        # every run on the seeded day: a cluster reused on a later day keeps its "ranges ending now"
        today = end.date()
        full_s = spend_seed.install_reporting(
            server, database.name, password, GRAFANA_RO_ROLE, window_days=window, today=today
        )
        _backdate(server, database)
        # what autovacuum does in production between the first apply and the next run: after the
        # backdating, which rewrites a fresh seed's every daily row (the BRIN index's new ranges
        # are summarized by VACUUM; unsummarized, every run would scan them all)
        with server.superuser_connection(database.name) as conn:
            conn.execute("VACUUM ANALYZE")
        incremental = [spend_seed.refresh(server, database.name, password, window, today) for _ in range(3)]
        incremental_s = statistics.median(incremental)
        job_runs = _job_after_new_rows(server, database, password, point, end)
        with server.connect_as(reporting_sql.REPORTING_ROLE, password, database.name) as conn:
            rollups = {
                name: conn.execute(f"SELECT count(*) FROM {name}".encode()).fetchone() for name in reporting_sql.ROLLUPS
            }
        print(
            f"refresh: full {full_s:.2f} s, incremental ({window}-day window) {incremental_s:.2f} s"
            f" (target <= {INCREMENTAL_TARGET_S:.0f} s); rollup rows: "
            + ", ".join(f"{n.split('.')[1]} {r[0] if r else '?':,}" for n, r in rollups.items()),
            flush=True,
        )
        misses = 0 if incremental_s <= INCREMENTAL_TARGET_S else 1
        for rows, (job_s, refresh_s) in job_runs.items():
            print(
                f"job run after {rows:,} new rows: {job_s:.2f} s (its refresh.sql {refresh_s:.2f} s)",
                flush=True,
            )

        end_utc = end.replace(tzinfo=UTC)
        ranges = {
            "30d": TimeRange(end_utc - timedelta(days=30), end_utc),
            "7d": TimeRange(end_utc - timedelta(days=7), end_utc),
        }
        # The same lengths ending a day earlier: not a range the refresh precomputes, so a
        # panel that reads reporting.key_ranges is also timed on its aggregating path.
        yesterday = end_utc - timedelta(days=1)
        not_precomputed = {
            "30d-1": TimeRange(yesterday - timedelta(days=30), yesterday),
            "7d-1": TimeRange(yesterday - timedelta(days=7), yesterday),
        }
        print("ranges: 30d/7d end now; 30d-1/7d-1 end a day earlier (not precomputed: the aggregating path)")
        overview_sel: dict[str, Selection] = {"team": ALL, "key_alias": ALL, "model": ALL}
        team_sel: dict[str, Selection] = {"team": "team-01", "key_alias": ALL, "model": ALL}
        plan: list[tuple[str, DashboardQueries, Mapping[str, str], dict[str, Selection]]] = [
            ("overview", OVERVIEW, OVERVIEW_NAIVE, overview_sel),
            ("team", TEAM_VIEW, TEAM_VIEW_NAIVE, team_sel),
            ("chargeback", CHARGEBACK, CHARGEBACK_NAIVE, {}),
        ]
        header = (
            f"| {'panel':38} | {'range':>5} | {'median ms':>9} | {'p95 ms':>7} | {'naive med':>9} | {'naive p95':>9}"
            f" | {'speedup':>7} | verdict |"
        )
        print(header)
        print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|", flush=True)
        with (
            server.connect_as(GRAFANA_RO_ROLE, password, database.name) as conn,
            server.connect_as(database.owner, database.owner_password, database.name) as owner,
        ):
            for dash_name, queries, naive, selection in plan:
                for query in queries.panels:
                    timed = ranges | (not_precomputed if any(t in query.sql for t in _RANGED) else {})
                    for range_name, time_range in timed.items():
                        fast = render(query.sql, queries.variables, selection, time_range)
                        med, p95 = _time(conn, fast, args.runs, 3)
                        slow_sql = naive.get(query.key)
                        name = f"{dash_name}/{query.key}"
                        if slow_sql is None:
                            print(f"| {name:38} | {range_name:>5} | {med:9.2f} | {p95:7.2f} | | | | |")
                            continue
                        slow = render(slow_sql, queries.variables, selection, time_range)
                        nmed, np95 = _time(owner, slow, args.naive_runs, 1)
                        speedup = nmed / med if med else float("inf")
                        ok = med <= point.target_ms and (speedup >= point.target_speedup or not query.time_bounded)
                        misses += 0 if ok else 1
                        print(
                            f"| {name:38} | {range_name:>5} | {med:9.2f} | {p95:7.2f} | {nmed:9.1f} | {np95:9.1f}"
                            f" | {speedup:6.0f}x | {'ok' if ok else 'MISS'} |",
                            flush=True,
                        )
        print(_psql_run(server, database, password, today), flush=True)
        # Last: it moves the standard ranges to tomorrow, which the panels above must not see.
        tomorrow = today + timedelta(days=1)
        new_day = spend_seed.refresh(server, database.name, password, window, today=tomorrow)
        print(
            f"the first run of a new UTC day (the {window}-day window again, whole; the standard ranges moved):"
            f" {new_day:.2f} s",
            flush=True,
        )
        print(
            f"targets ({point.name}): median <= {point.target_ms:.0f} ms and >= {point.target_speedup:.0f}x the naive"
            f" query, incremental refresh <= {INCREMENTAL_TARGET_S:.0f} s; {misses} miss(es)",
            flush=True,
        )
        print(f"load average at end: {_loadavg()}", flush=True)
        return misses
    finally:
        server.stop()


def _backdate(server: PostgresServer, database: LiteLLMDatabase) -> None:
    """The daily rows a seed (or an earlier run) wrote just now, dated a day back: as in production,
    only rows written since the last refresh are new to the next one."""
    with server.connect_as(database.owner, database.owner_password, database.name) as conn:
        conn.execute(
            "UPDATE \"LiteLLM_DailyUserSpend\" SET updated_at = updated_at - interval '1 day'"
            " WHERE updated_at > now() - interval '1 day'"
        )


def _job_run(server: PostgresServer, database: LiteLLMDatabase, password: str, today: date) -> tuple[float, float]:
    """One CronJob run's SQL as the job runs it on `today` (the seeded day): the owner's grants, then
    schema, grants and refresh in one transaction as `reporting`. Seconds for the whole run and for
    the refresh."""
    files = reporting_sql
    window = ReportingConfig().window_days
    started = time.perf_counter()
    with server.connect_as(database.owner, database.owner_password, database.name) as conn, conn.transaction():
        conn.execute(files.source_grants_sql(files.REPORTING_ROLE).encode())
    with server.connect_as(files.REPORTING_ROLE, password, database.name) as conn, conn.transaction():
        conn.execute(files.schema_sql().encode())
        conn.execute(files.grants_sql(GRAFANA_RO_ROLE).encode())
        begun = time.perf_counter()
        conn.execute(files.refresh_sql(window, today).encode())
        refresh_s = time.perf_counter() - begun
    return time.perf_counter() - started, refresh_s


def _job_after_new_rows(
    server: PostgresServer, database: LiteLLMDatabase, password: str, point: Point, end: datetime
) -> dict[int, tuple[float, float]]:
    """A job run after each of `NEW_ROWS` new spend rows (and their daily rows) arrived."""
    data = spend_seed.bulk_dataset(teams=point.teams, keys=point.keys)
    timed: dict[int, tuple[float, float]] = {}
    for rows in NEW_ROWS:
        if rows:
            progress(f"{rows:,} new spend rows ...")
            with server.connect_as(database.owner, database.owner_password, database.name) as conn:
                spend_seed.add_bulk_rows(
                    conn,
                    data,
                    rows=rows,
                    end=end,
                    prefix=f"new{time.time_ns()}",
                    users=point.users,
                    models=point.models,
                )
        timed[rows] = _job_run(server, database, password, end.date())
    return timed


def _psql_run(server: PostgresServer, database: LiteLLMDatabase, password: str, today: date) -> str:
    """One job run as the CronJob runs it, psql itself, under `/usr/bin/time -v`: its peak memory
    sizes the job's container (components/reporting/component.py). psql holds no result rows, only
    the NOTICEs it prints, so its memory does not grow with the data."""
    psql, timer = shutil.which("psql"), Path("/usr/bin/time")
    if psql is None or not timer.is_file():
        return "psql job run: skipped (needs psql and /usr/bin/time)"
    window = ReportingConfig().window_days
    with tempfile.TemporaryDirectory() as folder:
        files = {"schema.sql": reporting_sql.schema_sql(), "refresh.sql": reporting_sql.refresh_sql(window, today)}
        argv = [str(timer), "-v", psql, "--no-psqlrc", "--single-transaction", "--set", "ON_ERROR_STOP=1"]
        for name, text in files.items():
            (Path(folder) / name).write_text(text)
            argv += ["-f", str(Path(folder) / name)]
        started = time.perf_counter()
        done = subprocess.run(
            [*argv, server.dsn(reporting_sql.REPORTING_ROLE, password, database.name)],
            capture_output=True,
            text=True,
            check=False,
        )
    seconds = time.perf_counter() - started
    peak = next((line.split(":")[1].strip() for line in done.stderr.splitlines() if "Maximum resident" in line), "?")
    return f"psql job run (schema + refresh): {seconds:.2f} s, exit {done.returncode}, peak RSS {peak} KiB"


def _loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min, {os.cpu_count()} CPUs)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.spend_queries", description=__doc__.split("\n")[0])
    parser.add_argument("--points", default="current,mid,enterprise", help=f"comma-separated, of {sorted(POINTS)}")
    parser.add_argument("--days", type=positive_int, default=90, help="days the rows spread over")
    parser.add_argument("--runs", type=positive_int, default=25, help="timed runs per panel query")
    parser.add_argument("--naive-runs", type=positive_int, default=5, help="timed runs per naive query")
    for dim in ("rows", "keys", "teams", "users", "models"):
        parser.add_argument(f"--{dim}", type=positive_int, help=f"a custom point instead of --points ({dim})")
    parser.add_argument("--db-dir", help="keep each point's seeded cluster here and reuse it on the next run")
    parser.add_argument(
        "--slim-spend-logs",
        action="store_true",
        help="seed successful requests with metadata {} instead of LiteLLM's ~1 KB: only the naive twins read the"
        " raw log (faster with narrower rows), and 20M rows of it need ~42 GB of disk otherwise",
    )
    args = parser.parse_args(argv)
    # SIGTERM (kill PID) unwinds like Ctrl-C, so every throwaway server is stopped.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    custom = {dim: getattr(args, dim) for dim in ("rows", "keys", "teams", "users", "models")}
    if any(v is not None for v in custom.values()):
        base = POINTS["current"]
        points = [
            Point(
                "custom",
                **{dim: value if value is not None else getattr(base, dim) for dim, value in custom.items()},
                target_ms=50.0,
                target_speedup=20.0,
            )
        ]
    else:
        unknown = [p for p in args.points.split(",") if p not in POINTS]
        if unknown:
            parser.error(f"unknown point(s) {unknown}; known: {sorted(POINTS)}")
        points = [POINTS[p] for p in args.points.split(",")]
    misses = sum(run_point(point, args) for point in points)
    print(f"\n{misses} miss(es) over {len(points)} point(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
