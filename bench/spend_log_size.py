"""Measure the bytes one request costs in PostgreSQL: a `LiteLLM_SpendLogs` row and a daily-table row.

    python -m bench.spend_log_size [--rows 200000] [--days 14]

Starts a throwaway PostgreSQL (tests/harness/pglab/server.py) with LiteLLM's real
schema (every migration of the installed litellm-proxy-extras plus the
request-log indexes the migration job builds), writes `--rows` spend-log rows
with COPY, every column filled the way the proxy fills it for a proxied chat
completion with message logging off (`turn_off_message_logging`: messages,
response and proxy_server_request stay `{}`), the ~1 KB `metadata` object of
tests/harness/pglab/spend_seed.py with per-request values, then rebuilds the daily
tables from them and prints, after VACUUM ANALYZE:

  - `LiteLLM_SpendLogs`: heap, TOAST, indexes, total (pg_total_relation_size)
    and total / rows = bytes per row, indexes included;
  - `LiteLLM_DailyUserSpend` + `LiteLLM_DailyTeamSpend`: rows and bytes per row;
  - the WAL written per spend-log row during the load.

config/budget.py records the per-row numbers as constants citing this
script; re-run it when the schema or the metadata LiteLLM writes changes.
Not a test: the numbers depend on the PostgreSQL version (printed).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg

from tests.harness.pglab import spend_seed
from tests.harness.pglab.server import apply_litellm_schema, start_postgres_server

Conn = psycopg.Connection[tuple[object, ...]]

COLUMNS = (
    "request_id",
    "call_type",
    "api_key",
    "spend",
    "total_tokens",
    "prompt_tokens",
    "completion_tokens",
    "startTime",
    "endTime",
    "request_duration_ms",
    "completionStartTime",
    "model",
    "model_id",
    "model_group",
    "custom_llm_provider",
    "api_base",
    "user",
    "metadata",
    "cache_hit",
    "cache_key",
    "request_tags",
    "team_id",
    "end_user",
    "requester_ip_address",
    "session_id",
    "status",
    "litellm_call_id",
)
MODELS = (
    ("gpt-4o", "gpt-4o-2024-08-06", "openai", "https://api.openai.com/v1"),
    ("gpt-4o-mini", "gpt-4o-mini-2024-07-18", "openai", "https://api.openai.com/v1"),
    ("claude-sonnet", "claude-sonnet-4-5-20250929", "anthropic", "https://api.anthropic.com"),
    ("gpt-4o-azure", "azure/gpt-4o", "azure", "https://acme-prod.openai.azure.com"),
)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def copy_text(count: int, days: int, end: datetime, seed: int) -> io.StringIO:
    """COPY text for `count` requests spread over `days` days before `end`."""
    rng = random.Random(seed)  # noqa: S311 - deterministic test data, not secrets
    data = spend_seed.bulk_dataset()
    model_ids = {m[0]: uuid.UUID(int=rng.getrandbits(128)).hex for m in MODELS}
    buf = io.StringIO()
    for i in range(count):
        key = data.keys[int(rng.paretovariate(1.2) * 7) % len(data.keys)]
        group, model, provider, api_base = MODELS[i % len(MODELS)]
        prompt, completion = rng.randint(50, 4000), rng.randint(0, 1500)
        start = end - timedelta(seconds=rng.random() * days * 86400)
        duration_ms = rng.randint(300, 30000)
        call_id = str(uuid.UUID(int=rng.getrandbits(128)))
        meta = dict(spend_seed.REALISTIC_METADATA)
        meta |= {
            "user_api_key": key.token,
            "user_api_key_alias": key.alias,
            "user_api_key_team_id": key.team_id,
            "user_api_key_user_id": f"user-{i % 60:02d}",
            "requester_ip_address": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "usage_object": {
                **spend_seed.REALISTIC_METADATA["usage_object"],  # type: ignore[dict-item]
                "completion_tokens": completion,
                "prompt_tokens": prompt,
                "total_tokens": prompt + completion,
            },
        }
        fields = [
            f"chatcmpl-{uuid.UUID(int=rng.getrandbits(128))}",
            "acompletion",
            key.token,
            repr(round(prompt * 2.5e-6 + completion * 1e-5, 8)),
            str(prompt + completion),
            str(prompt),
            str(completion),
            start.isoformat(sep=" "),
            (start + timedelta(milliseconds=duration_ms)).isoformat(sep=" "),
            str(duration_ms),
            (start + timedelta(milliseconds=duration_ms // 3)).isoformat(sep=" "),
            model,
            model_ids[group],
            group,
            provider,
            api_base,
            f"user-{i % 60:02d}",
            json.dumps(meta),
            "False",
            "Cache OFF",
            "[]",
            key.team_id or "\\N",
            "",
            str(meta["requester_ip_address"]),
            call_id,
            "success",
            call_id,
        ]
        buf.write("\t".join(f if f == "\\N" else _escape(f) for f in fields) + "\n")
    buf.seek(0)
    return buf


def table_size(conn: Conn, table: str) -> dict[str, int]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM " + f'"{table}"' + "), pg_relation_size(%(t)s), "
        "pg_total_relation_size(%(t)s) - pg_relation_size(%(t)s) - pg_indexes_size(%(t)s), "
        "pg_indexes_size(%(t)s), pg_total_relation_size(%(t)s)",
        {"t": f'"{table}"'},
    ).fetchone()
    assert row is not None
    rows, heap, toast, indexes, total = (int(v) for v in row)  # type: ignore[call-overload]
    return {"rows": rows, "heap": heap, "toast": toast, "indexes": indexes, "total": total}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.spend_log_size", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=14)
    args = parser.parse_args(argv)

    server = start_postgres_server()
    try:
        database = apply_litellm_schema(server)
        end = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
        with server.connect_as(database.owner, database.owner_password, database.name) as conn:
            conn.autocommit = True
            spend_seed.insert_entities(conn, spend_seed.bulk_dataset())
            wal_before = conn.execute("SELECT pg_current_wal_lsn()").fetchone()
            started = time.perf_counter()
            cols = ", ".join(f'"{c}"' for c in COLUMNS)
            with conn.cursor() as cur, cur.copy(f'COPY "LiteLLM_SpendLogs" ({cols}) FROM STDIN'.encode()) as copy:
                copy.write(copy_text(args.rows, args.days, end, seed=13).getvalue())
            wal_bytes = conn.execute("SELECT pg_current_wal_lsn() - %s::pg_lsn", wal_before).fetchone()
            load_seconds = time.perf_counter() - started
            spend_seed.rebuild_daily_aggregates(conn)
            conn.execute("VACUUM ANALYZE")
            version = conn.execute("SHOW server_version").fetchone()
            logs = table_size(conn, "LiteLLM_SpendLogs")
            daily = [table_size(conn, t) for t in ("LiteLLM_DailyUserSpend", "LiteLLM_DailyTeamSpend")]
        assert wal_bytes is not None and version is not None
        print(
            f"PostgreSQL {version[0]}; {len(database.migrations)} litellm-proxy-extras migrations; "
            f"{logs['rows']} spend-log rows over {args.days} days loaded in {load_seconds:.1f} s"
        )
        print(f"{'LiteLLM_SpendLogs':28} {'bytes':>12} {'per row':>9}")
        for part in ("heap", "toast", "indexes", "total"):
            print(f"  {part:26} {logs[part]:12d} {logs[part] / logs['rows']:9.0f}")
        daily_rows = sum(d["rows"] for d in daily)
        daily_total = sum(d["total"] for d in daily)
        print(
            f"daily tables (user + team): {daily_rows} rows, {daily_total} bytes, "
            f"{daily_total / daily_rows:.0f} bytes per row, {daily_rows / args.days:.0f} rows per day"
        )
        print(f"WAL written by the spend-log load: {int(wal_bytes[0]) / logs['rows']:.0f} bytes per row")  # type: ignore[call-overload]
        print(f"SPEND_LOG_ROW_BYTES = {round(logs['total'] / logs['rows'])}")
        print(f"DAILY_ROW_BYTES = {round(daily_total / daily_rows)}")
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
