"""Benchmark the spend-dashboard queries against their naive raw-log twins.

    python -m tools.bench_spend_queries [--rows 1000000] [--days 90] [--runs 25] [--naive-runs 5]

Starts a throwaway PostgreSQL (tests/support/postgres.py) with LiteLLM's real
schema, bulk-loads `--rows` spend-log rows over `--days` days with COPY plus the
matching daily aggregates (tests/support/spend_seed.py), creates grafana_ro the
way CNPG does, then runs every panel query exactly as Grafana renders it
(tests/support/grafana_sql.py) as grafana_ro for a 30-day and a 7-day range, and
prints median / p95 per panel next to the naive query that reads the raw log.
Overview panels run with every variable on "All"; team-view panels for one team.
Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import psycopg

from components.cnpg import GRAFANA_RO_ROLE
from dashboards.spend_queries import OVERVIEW, TEAM_VIEW, DashboardQueries
from tests.support import spend_seed
from tests.support.grafana_sql import ALL, Selection, TimeRange, render
from tests.support.naive_spend_queries import OVERVIEW_NAIVE, TEAM_VIEW_NAIVE
from tests.support.postgres import apply_litellm_schema, start_postgres_server
from tools.inputs import positive_int

TARGET_MS = 20.0
TARGET_SPEEDUP = 25.0


def _time(conn: psycopg.Connection[tuple[object, ...]], text: str, runs: int, warmup: int) -> tuple[float, float]:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_spend_queries", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=positive_int, default=1_000_000, help="spend-log rows to load")
    parser.add_argument("--days", type=positive_int, default=90, help="days the rows spread over")
    parser.add_argument("--runs", type=positive_int, default=25, help="timed runs per panel query")
    parser.add_argument("--naive-runs", type=positive_int, default=5, help="timed runs per naive query")
    args = parser.parse_args(argv)

    server = start_postgres_server()
    try:
        database = apply_litellm_schema(server)
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0, tzinfo=None)
        started = time.perf_counter()
        with server.connect_as(database.owner, database.owner_password, database.name) as conn:
            data = spend_seed.bulk_load(conn, rows=args.rows, days=args.days, end=end)
            sizes = {
                table: conn.execute(f'SELECT count(*) FROM "{table}"'.encode()).fetchone()
                for table in ("LiteLLM_SpendLogs", "LiteLLM_DailyUserSpend", "LiteLLM_DailyTeamSpend")
            }
        load_seconds = time.perf_counter() - started
        password = secrets.token_urlsafe(18)
        spend_seed.create_grafana_ro(database, database.name, password)
        print(
            f"loaded in {load_seconds:.1f} s: "
            + ", ".join(f"{t} {row[0] if row else '?'} rows" for t, row in sizes.items())
            + f"; {len(data.keys)} keys, {len(data.teams)} teams; PostgreSQL {server.bindir.parent.name}"
        )
        end_utc = end.replace(tzinfo=UTC)
        ranges = {
            "30d": TimeRange(end_utc - timedelta(days=30), end_utc),
            "7d": TimeRange(end_utc - timedelta(days=7), end_utc),
        }
        overview_sel: dict[str, Selection] = {"team": ALL, "key_alias": ALL, "model": ALL}
        team_sel: dict[str, Selection] = {"team": "team-01", "key_alias": ALL, "model": ALL}
        plan: list[tuple[str, DashboardQueries, Mapping[str, str], dict[str, Selection]]] = [
            ("overview", OVERVIEW, OVERVIEW_NAIVE, overview_sel),
            ("team", TEAM_VIEW, TEAM_VIEW_NAIVE, team_sel),
        ]
        header = (
            f"{'panel':38} {'range':>5} {'median ms':>10} {'p95 ms':>8} {'naive med':>10} {'naive p95':>10}"
            f" {'speedup':>8}  verdict"
        )
        print(header)
        print("-" * len(header))
        misses = 0
        with server.connect_as(GRAFANA_RO_ROLE, password, database.name) as conn:
            for dash_name, queries, naive, selection in plan:
                for query in queries.panels:
                    for range_name, time_range in ranges.items():
                        fast = render(query.sql, queries.variables, selection, time_range)
                        med, p95 = _time(conn, fast, args.runs, 3)
                        slow_sql = naive.get(query.key)
                        if slow_sql is None:
                            print(f"{dash_name + '/' + query.key:38} {range_name:>5} {med:10.2f} {p95:8.2f}")
                            continue
                        slow = render(slow_sql, queries.variables, selection, time_range)
                        nmed, np95 = _time(conn, slow, args.naive_runs, 1)
                        speedup = nmed / med if med else float("inf")
                        ok = med <= TARGET_MS and (speedup >= TARGET_SPEEDUP or not query.time_bounded)
                        misses += 0 if ok else 1
                        verdict = "ok" if ok else "MISS"
                        print(
                            f"{dash_name + '/' + query.key:38} {range_name:>5} {med:10.2f} {p95:8.2f} {nmed:10.1f}"
                            f" {np95:10.1f} {speedup:7.0f}x  {verdict}"
                        )
        print(f"targets: median <= {TARGET_MS:.0f} ms and >= {TARGET_SPEEDUP:.0f}x the naive query; {misses} miss(es)")
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
