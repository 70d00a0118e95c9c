"""`python -m tools.chargeback --month YYYY-MM [--out DIR]`: a month's chargeback, from the reporting
schema, as a FOCUS 1.3 CSV and a Markdown summary by cost centre and team (docs/chargeback.md).

The database: the libpq connection string (or URI) in `LLM_GATEWAY_REPORTING_DSN`, for a read-only
login (grafana_ro reads everything the export needs); the session is also set read-only. What is
read and written: dashboards/focus.py. Exit 2 with one message (no traceback) for a bad month or a
missing DSN, 1 when the database cannot be read.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from dashboards.focus import STATE_QUERY as STATE_QUERY
from dashboards.focus import Month, focus_records, month_query, summary_markdown, write_csv

DSN_ENV = "LLM_GATEWAY_REPORTING_DSN"
PROG = "python -m tools.chargeback"


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def read_month(dsn: str, month: Month) -> tuple[list[tuple[object, ...]], tuple[date | None, datetime | None]]:
    """The month's attributed charge rows and the rollups' refresh state, in one read-only transaction."""
    import psycopg

    with psycopg.connect(dsn, connect_timeout=15) as conn:
        conn.read_only = True
        rows = conn.execute(month_query().encode(), {"start": month.start, "end": month.end}).fetchall()
        state = conn.execute(STATE_QUERY.encode()).fetchone()
    refreshed = (state[0], state[1]) if state else (None, None)
    return rows, refreshed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--month", required=True, help="the calendar month (UTC), YYYY-MM")
    parser.add_argument("--out", type=Path, default=Path("."), help="the directory to write into (default: .)")
    args = parser.parse_args(argv)
    try:
        month = Month.parse(args.month)
    except ValueError as err:
        return _fail(f"--month: {err}", 2)
    dsn = os.environ.get(DSN_ENV, "").strip()
    if not dsn:
        return _fail(
            f"{DSN_ENV} is not set: set it to a libpq connection string for a read-only login, e.g."
            f" {DSN_ENV}='host=... dbname=litellm user=grafana_ro sslmode=verify-full'",
            2,
        )
    try:
        rows, refreshed = read_month(dsn, month)
    except Exception as err:
        return _fail(f"cannot read the reporting schema ({DSN_ENV}): {type(err).__name__}: {err}".strip(), 1)
    records = focus_records(rows, month)
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = args.out / f"chargeback-{month}.csv", args.out / f"chargeback-{month}.md"
    with csv_path.open("w", encoding="utf-8", newline="") as stream:
        write_csv(records, stream)
    summary = summary_markdown(records, month, refreshed)
    md_path.write_text(summary, encoding="utf-8")
    total = next(line for line in summary.splitlines() if line.startswith("| **Total**"))
    print(f"{csv_path} ({len(records)} rows), {md_path}; total USD {total.split('**')[3]}")
    return 0
