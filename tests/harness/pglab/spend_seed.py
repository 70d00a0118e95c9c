"""Spend data on LiteLLM's real schema: a small exact data set and a bulk generator.

- `SMALL`: a hand-written set of requests (three days in range, one day before it)
  over keys, teams and budgets chosen to exercise every rule of the spend panels:
  keys without alias or budget, an expired and a blocked key, a blocked team, a
  team without budget, a team id and key alias with a quote in them, failures.
  Spends are binary fractions, so every sum is exact in float8.
- `bulk_load`: N requests over D days drawn by PostgreSQL (deterministic for a seed);
  `add_bulk_rows`: the same law's rows from Python, loaded with COPY, and their daily rows
  upserted as LiteLLM's batch writer does.
- `rebuild_daily_aggregates`: the daily tables computed from `"LiteLLM_SpendLogs"`
  (DailyUserSpend: every request; DailyTeamSpend: requests with a team), grouped
  like LiteLLM's unique keys, so raw and aggregates always agree.
- `install_reporting`: the `reporting` role and schema as the engines make them, then
  the program's reporting SQL (schema, grants to the reader, first refresh) as that role.

Every write runs as the database owner (`litellm`), like LiteLLM itself.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import psycopg
from psycopg import sql

from components.reporting import sql as reporting_sql
from tests.harness.pglab.server import PostgresServer

Conn = psycopg.Connection[tuple[object, ...]]

PROVIDER = {
    "gpt-4o": "openai",
    "gpt-4o-mini": "openai",
    "claude-3-5-sonnet": "anthropic",
}


def token_of(name: str) -> str:
    """LiteLLM stores sha256(key) as the token; a stand-in made the same way."""
    return hashlib.sha256(f"sk-{name}".encode()).hexdigest()


@dataclass(frozen=True)
class Team:
    team_id: str
    alias: str | None
    max_budget: float | None
    spend: float
    blocked: bool = False


@dataclass(frozen=True)
class Key:
    name: str
    alias: str | None
    team_id: str | None
    max_budget: float | None
    spend: float
    expires: datetime | None = None
    blocked: bool | None = None

    @property
    def token(self) -> str:
        return token_of(self.name)

    @property
    def key_name(self) -> str:
        """LiteLLM's masked display name of a key (`sk-...` + last 4)."""
        return f"sk-...{self.name[-4:]}"


@dataclass(frozen=True)
class Request:
    day: str
    hour: int
    key: str
    user: str
    model: str
    spend: float
    prompt_tokens: int
    completion_tokens: int
    status: str = "success"


@dataclass(frozen=True)
class DataSet:
    teams: tuple[Team, ...]
    keys: tuple[Key, ...]
    requests: tuple[Request, ...]

    def key(self, name: str) -> Key:
        return next(k for k in self.keys if k.name == name)


SMALL = DataSet(
    teams=(
        Team("team-a", "Alpha", 100.0, 40.0),
        Team("team-b", "Beta", None, 12.5),
        Team("team-c", "Gamma", 50.0, 0.0, blocked=True),
        Team("team-d'q", "O'Brien squad", 10.0, 2.0),
    ),
    keys=(
        Key("k1-alpha", "alpha-prod", "team-a", 60.0, 30.0),
        Key("k2-alpha", "alpha-dev", "team-a", None, 3.0),
        Key("k3-beta", "beta-svc", "team-b", 20.0, 5.0, expires=datetime(2999, 1, 1)),
        Key("k4-zz99", None, None, 5.0, 1.0),
        Key("k5-old", "expired-key", "team-a", 10.0, 1.0, expires=datetime(2000, 1, 1)),
        Key("k6-blk", "blocked-key", "team-b", 10.0, 1.0, blocked=True),
        Key("k7-obr", "o'brien-key", "team-d'q", 10.0, 2.0, blocked=False),
    ),
    requests=(
        Request("2025-03-01", 9, "k1-alpha", "alice", "gpt-4o", 2.0, 1000, 500),
        Request("2025-03-01", 10, "k1-alpha", "alice", "gpt-4o", 1.0, 400, 200),
        Request("2025-03-01", 11, "k2-alpha", "bob", "claude-3-5-sonnet", 0.5, 300, 100),
        Request("2025-03-01", 12, "k3-beta", "carol", "gpt-4o-mini", 0.25, 200, 50),
        Request("2025-03-01", 13, "k3-beta", "carol", "gpt-4o-mini", 0.0, 100, 0, "failure"),
        Request("2025-03-02", 8, "k1-alpha", "alice", "claude-3-5-sonnet", 4.0, 2000, 1000),
        Request("2025-03-02", 9, "k4-zz99", "", "gpt-4o-mini", 0.125, 100, 20),
        Request("2025-03-02", 10, "k7-obr", "dave", "gpt-4o", 1.5, 600, 300),
        Request("2025-03-02", 11, "k2-alpha", "bob", "gpt-4o", 0.0, 50, 0, "failure"),
        Request("2025-03-03", 7, "k3-beta", "carol", "claude-3-5-sonnet", 3.0, 1500, 700),
        Request("2025-03-03", 8, "k5-old", "erin", "gpt-4o", 0.75, 300, 150),
        Request("2025-03-03", 9, "k6-blk", "frank", "gpt-4o-mini", 0.5, 250, 100),
        Request("2025-03-03", 23, "k1-alpha", "alice", "gpt-4o", 1.0, 500, 250),
        # Before the tested range: must never be counted.
        Request("2025-02-20", 12, "k1-alpha", "alice", "gpt-4o", 8.0, 4000, 2000),
    ),
)

ERROR_METADATA = {"error_information": {"error_code": "429", "error_class": "RateLimitError"}}

# --- writing -------------------------------------------------------------------------------


def insert_entities(conn: Conn, data: DataSet) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            'INSERT INTO "LiteLLM_TeamTable" (team_id, team_alias, max_budget, spend, blocked, updated_at)'
            " VALUES (%s, %s, %s, %s, %s, now())",
            [(t.team_id, t.alias, t.max_budget, t.spend, t.blocked) for t in data.teams],
        )
        cur.executemany(
            'INSERT INTO "LiteLLM_VerificationToken" (token, key_name, key_alias, team_id, max_budget, spend,'
            " expires, blocked) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(k.token, k.key_name, k.alias, k.team_id, k.max_budget, k.spend, k.expires, k.blocked) for k in data.keys],
        )


_COPY_COLUMNS = (
    'request_id, call_type, api_key, spend, total_tokens, prompt_tokens, completion_tokens, "startTime", "endTime",'
    ' model, model_group, custom_llm_provider, "user", team_id, status, metadata'
)


def _copy_line(
    request_id: str,
    api_key: str,
    spend: float,
    prompt: int,
    completion: int,
    start: datetime,
    model: str,
    user: str,
    team_id: str | None,
    status: str,
    metadata: str,
) -> str:
    def esc(value: str) -> str:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")

    end = start + timedelta(seconds=2)
    fields = [
        request_id,
        "acompletion",
        api_key,
        repr(spend),
        str(prompt + completion),
        str(prompt),
        str(completion),
        start.isoformat(sep=" "),
        end.isoformat(sep=" "),
        model,
        model,
        PROVIDER.get(model, "openai"),
        user,
        "\\N" if team_id is None else team_id,
        status,
        metadata,
    ]
    return "\t".join(esc(f) if f != "\\N" else f for f in fields) + "\n"


def insert_requests(conn: Conn, data: DataSet, prefix: str = "small") -> None:
    buf = io.StringIO()
    for number, r in enumerate(data.requests):
        key = data.key(r.key)
        start = datetime.fromisoformat(r.day) + timedelta(hours=r.hour, minutes=number % 60)
        meta = json.dumps(ERROR_METADATA if r.status == "failure" else {})
        buf.write(
            _copy_line(
                f"{prefix}-{number:04d}",
                key.token,
                r.spend,
                r.prompt_tokens,
                r.completion_tokens,
                start,
                r.model,
                r.user,
                key.team_id,
                r.status,
                meta,
            )
        )
    with conn.cursor() as cur, cur.copy(f'COPY "LiteLLM_SpendLogs" ({_COPY_COLUMNS}) FROM STDIN') as copy:
        copy.write(buf.getvalue())


_COUNTERS = ("prompt_tokens", "completion_tokens", "spend", "api_requests", "successful_requests", "failed_requests")
_DAY = "to_char(\"startTime\", 'YYYY-MM-DD')"
_MEASURES = (
    "sum(prompt_tokens), sum(completion_tokens), sum(spend), count(*),"
    " count(*) FILTER (WHERE status = 'success'), count(*) FILTER (WHERE status = 'failure')"
)


def _daily_insert(table: str, entity: str, source_entity: str, where: str) -> str:
    """LiteLLM's daily rows from the raw log, one per unique key, written the way its batch writer
    writes them (litellm/proxy/db/daily_spend_bulk_upsert.py): `mcp_namespaced_tool_name` and
    `endpoint` as '' (a NULL never conflicts, so the next batch would add a row beside this one)
    and `updated_at` the database's UTC time. In day order: LiteLLM writes a day's rows during that
    day, so they sit together, and the refresh's BRIN index on `updated_at` finds them there."""
    return (
        f'INSERT INTO "{table}" (id, {entity}, date, api_key, model, model_group, custom_llm_provider,'
        f" mcp_namespaced_tool_name, endpoint, {', '.join(_COUNTERS)}, updated_at)"
        f" SELECT gen_random_uuid()::text, {source_entity}, {_DAY}, api_key, model, max(model_group),"
        f" custom_llm_provider, '', '', {_MEASURES}, now() AT TIME ZONE 'UTC'"
        f' FROM "LiteLLM_SpendLogs" WHERE {where}'
        f" GROUP BY {source_entity}, {_DAY}, api_key, model, custom_llm_provider"
        " ORDER BY 3"  # by day, as LiteLLM writes them: a day's rows share the table's last pages
    )


def rebuild_daily_aggregates(conn: Conn) -> None:
    """DailyUserSpend / DailyTeamSpend from the raw log, grouped on LiteLLM's unique keys."""
    with conn.transaction():
        conn.execute('DELETE FROM "LiteLLM_DailyUserSpend"')
        conn.execute('DELETE FROM "LiteLLM_DailyTeamSpend"')
        conn.execute(_daily_insert("LiteLLM_DailyUserSpend", "user_id", '"user"', "true"))
        conn.execute(_daily_insert("LiteLLM_DailyTeamSpend", "team_id", "team_id", "team_id IS NOT NULL"))


def add_daily_rows(conn: Conn, prefix: str) -> None:
    """LiteLLM's daily rows for the spend-log rows whose request_id starts with `prefix-`, as its
    batch writer adds them: an upsert on the unique key, the counters added to an existing row
    and its `updated_at` set to now (a new row otherwise), the other daily rows untouched."""
    added = ", ".join(f'{c} = "LiteLLM_DailyUserSpend".{c} + EXCLUDED.{c}' for c in _COUNTERS)
    conn.execute(
        _daily_insert("LiteLLM_DailyUserSpend", "user_id", '"user"', "request_id LIKE %s")
        + " ON CONFLICT (user_id, date, api_key, model, custom_llm_provider, mcp_namespaced_tool_name, endpoint)"
        + f" DO UPDATE SET {added}, updated_at = EXCLUDED.updated_at",
        [f"{prefix}-%"],
    )


def seed(conn: Conn, data: DataSet = SMALL) -> None:
    insert_entities(conn, data)
    insert_requests(conn, data)
    rebuild_daily_aggregates(conn)


# --- bulk ----------------------------------------------------------------------------------

BULK_MODELS = (
    ("gpt-4o", 0.3, 2.5e-6, 10e-6),
    ("gpt-4o-mini", 0.25, 0.15e-6, 0.6e-6),
    ("claude-3-5-sonnet", 0.2, 3e-6, 15e-6),
    ("claude-3-5-haiku", 0.1, 0.8e-6, 4e-6),
    ("gemini-1.5-pro", 0.06, 1.25e-6, 5e-6),
    ("gemini-1.5-flash", 0.05, 0.075e-6, 0.3e-6),
    ("mistral-large", 0.02, 2e-6, 6e-6),
    ("llama-3.1-70b", 0.02, 0.6e-6, 0.6e-6),
)


# The size and shape of what LiteLLM writes into `metadata` for a proxied request
# (~1 KB: key/team/user identity, usage object, model map, hidden params), so the
# raw-log scans in the benchmark read rows as wide as production ones.
REALISTIC_METADATA: dict[str, object] = {
    "user_api_key": "0" * 64,
    "user_api_key_alias": "svc-000",
    "user_api_key_team_id": "team-00",
    "user_api_key_org_id": None,
    "user_api_key_user_id": "user-00",
    "user_api_key_team_alias": "Team 00",
    "user_api_key_end_user_id": None,
    "user_api_key_user_email": "user-00@example.com",
    "spend_logs_metadata": None,
    "requester_ip_address": "10.12.34.56",
    "requester_metadata": {},
    "applied_guardrails": [],
    "batch_models": None,
    "mcp_tool_call_metadata": None,
    "vector_store_request_metadata": None,
    "guardrail_information": None,
    "usage_object": {
        "completion_tokens": 412,
        "prompt_tokens": 1234,
        "total_tokens": 1646,
        "completion_tokens_details": {"accepted_prediction_tokens": 0, "audio_tokens": 0, "reasoning_tokens": 0},
        "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": 0},
    },
    "model_map_information": {
        "model_map_key": "gpt-4o-2024-08-06",
        "model_map_value": {
            "input_cost_per_token": 2.5e-06,
            "output_cost_per_token": 1e-05,
            "litellm_provider": "openai",
        },
    },
    "hidden_params": {
        "model_id": "4f1c2a9e0b7d4e5f8a6b3c2d1e0f9a8b",
        "cache_key": None,
        "api_base": "https://api.openai.com/v1",
        "response_cost": 0.006245,
        "additional_headers": {"llm_provider-x-ratelimit-remaining-requests": "9999"},
        "litellm_overhead_time_ms": 3.2,
    },
    "additional_usage_values": {"prompt_tokens_details": None, "completion_tokens_details": None},
    "cold_storage_object_key": None,
    "status": "success",
}


def bulk_dataset(teams: int = 20, keys: int = 120) -> DataSet:
    """Teams (every 7th without budget) and keys (the last 10 without team, every 9th without alias)."""
    team_list = tuple(
        Team(f"team-{t:02d}", f"Team {t:02d}", None if t % 7 == 0 else 500.0 + 50 * t, 10.0 * t) for t in range(teams)
    )
    key_list = tuple(
        Key(
            f"bulk-key-{k:03d}",
            None if k % 9 == 0 else f"svc-{k:03d}",
            None if k >= keys - 10 else f"team-{k % teams:02d}",
            None if k % 5 == 0 else 100.0 + k,
            float(k % 37),
            expires=datetime(2000, 1, 1) if k % 23 == 0 else None,
            blocked=True if k % 29 == 0 else None,
        )
        for k in range(keys)
    )
    return DataSet(team_list, key_list, ())


def bulk_models(count: int = len(BULK_MODELS)) -> tuple[tuple[str, float, float, float], ...]:
    """The first `count` models: the named ones, then long-tail `model-NN` ones (weight 0.01)."""
    extra = tuple((f"model-{n:02d}", 0.01, 1e-6, 4e-6) for n in range(len(BULK_MODELS), count))
    return (BULK_MODELS + extra)[:count]


def _bulk_lines(
    data: DataSet, rows: int, days: int, end: datetime, seed_value: int, users: int, models: int, prefix: str = "bulk"
) -> Iterator[str]:
    rng = random.Random(seed_value)
    span = days * 86400
    start0 = end - timedelta(days=days)
    catalogue = bulk_models(models)
    names = [m[0] for m in catalogue]
    weights = [m[1] for m in catalogue]
    prices = {m[0]: (m[2], m[3]) for m in catalogue}
    failure_meta = json.dumps(ERROR_METADATA)
    ok_meta = json.dumps(REALISTIC_METADATA)
    keys = data.keys
    # Heavy-tailed traffic per key; the spread grows with the key count so that the
    # daily tables grow with active (user, key, model) combinations like in production.
    spread = max(7.0, len(keys) / 40)
    user_of = {key.name: f"user-{index % users:04d}" for index, key in enumerate(keys)}
    for i in range(rows):
        key = keys[int((rng.paretovariate(1.2) - 1) * spread) % len(keys)]
        model = rng.choices(names, weights)[0]
        prompt = rng.randint(50, 4000)
        completion = rng.randint(0, 1500)
        failed = rng.random() < 0.03
        price_in, price_out = prices[model]
        spend = 0.0 if failed else round(prompt * price_in + completion * price_out, 8)
        start = start0 + timedelta(seconds=rng.random() * span)
        user = user_of[key.name]
        yield _copy_line(
            f"{prefix}-{i:08d}",
            key.token,
            spend,
            prompt,
            0 if failed else completion,
            start,
            model,
            user,
            key.team_id,
            "failure" if failed else "success",
            failure_meta if failed else ok_meta,
        )


_DRAWN = """
INSERT INTO "LiteLLM_SpendLogs" ({columns})
SELECT %(prefix)s || '-' || lpad(g.i::text, 8, '0'), 'acompletion', (%(tokens)s::text[])[g.k + 1],
  CASE WHEN g.failed THEN 0 ELSE round((g.prompt * (%(price_in)s::float8[])[g.m]
    + g.completion * (%(price_out)s::float8[])[g.m])::numeric, 8)::float8 END,
  g.prompt + CASE WHEN g.failed THEN 0 ELSE g.completion END, g.prompt, CASE WHEN g.failed THEN 0 ELSE g.completion END,
  g.t, g.t + interval '2 seconds', (%(models)s::text[])[g.m], (%(models)s::text[])[g.m], (%(providers)s::text[])[g.m],
  'user-' || CASE WHEN g.k %% %(users)s < 1000 THEN lpad((g.k %% %(users)s)::text, 4, '0') ELSE (g.k %% %(users)s)::text END,
  (%(teams)s::text[])[g.k + 1], CASE WHEN g.failed THEN 'failure' ELSE 'success' END,
  CASE WHEN g.failed THEN %(failure_meta)s::jsonb ELSE %(ok_meta)s::jsonb END
FROM (
  SELECT i, (floor((1.0 / power(1.0 - random(), 1.0 / 1.2) - 1) * %(spread)s)::bigint %% %(keys)s)::int AS k,
    width_bucket(random() * %(weight)s, %(thresholds)s::float8[]) AS m,
    50 + floor(random() * 3951)::int AS prompt, floor(random() * 1501)::int AS completion,
    random() < 0.03 AS failed, %(start)s::timestamp + random() * %(span)s * interval '1 second' AS t
  FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i
) g
"""
"""`_bulk_lines`' law drawn by PostgreSQL (generate_series and random()): a heavy-tailed key (Pareto,
alpha 1.2, over `spread`), its one user, a model by weight, uniform tokens and time, 3 % failures.
The same law, not the same rows: PostgreSQL's generator is not Python's."""


def bulk_load(
    conn: Conn,
    *,
    rows: int,
    days: int,
    end: datetime,
    data: DataSet | None = None,
    seed_value: int = 5,
    users: int = 60,
    models: int = len(BULK_MODELS),
    metadata: Mapping[str, object] = REALISTIC_METADATA,
    progress: Callable[[str], None] | None = None,
) -> DataSet:
    """Entities plus `rows` requests over `days` days ending at `end`, drawn by PostgreSQL in chunks
    (`_DRAWN`: 20M rows in minutes, where Python's lines take hours); then the daily tables.
    `metadata`: what each successful request's `metadata` holds (default: LiteLLM's ~1 KB)."""
    data = data or bulk_dataset()
    insert_entities(conn, data)
    catalogue = bulk_models(models)
    weights = [m[1] for m in catalogue]
    params: dict[str, object] = {
        "prefix": "bulk",
        "tokens": [k.token for k in data.keys],
        "teams": [k.team_id for k in data.keys],
        "models": [m[0] for m in catalogue],
        "providers": [PROVIDER.get(m[0], "openai") for m in catalogue],
        "price_in": [m[2] for m in catalogue],
        "price_out": [m[3] for m in catalogue],
        "thresholds": [float(sum(weights[:n])) for n in range(len(weights))],
        "weight": sum(weights),
        "spread": max(7.0, len(data.keys) / 40),
        "keys": len(data.keys),
        "users": users,
        "start": end - timedelta(days=days),
        "span": days * 86400,
        "failure_meta": json.dumps(ERROR_METADATA),
        "ok_meta": json.dumps(metadata),
    }
    conn.execute("SELECT setseed(%s)", [(seed_value % 1000) / 1000])
    statement = _DRAWN.format(columns=_COPY_COLUMNS)
    chunk = 500_000
    for first in range(0, rows, chunk):
        last = min(first + chunk, rows) - 1
        conn.execute(statement, {**params, "first": first, "last": last})
        if progress is not None:
            progress(f"spend logs: {last + 1:,} / {rows:,} rows")
    if progress is not None:
        progress("daily aggregate tables ...")
    conn.execute("SET work_mem = '256MB'")
    rebuild_daily_aggregates(conn)
    if progress is not None:
        progress("ANALYZE ...")
    conn.execute("ANALYZE")
    return data


def add_bulk_rows(conn: Conn, data: DataSet, *, rows: int, end: datetime, prefix: str, users: int, models: int) -> None:
    """`rows` new requests over the day before `end` (ids `prefix-N`), and LiteLLM's daily rows for
    them as its batch writer adds them (`add_daily_rows`): what arrives between two refreshes."""
    lines = _bulk_lines(data, rows, 1, end, sum(prefix.encode()), users, models, prefix)
    with conn.cursor() as cur, cur.copy(f'COPY "LiteLLM_SpendLogs" ({_COPY_COLUMNS}) FROM STDIN') as copy:
        copy.write("".join(line for line in lines))
    add_daily_rows(conn, prefix)


# --- the reporting schema ----------------------------------------------------------------


def install_reporting(
    server: PostgresServer, dbname: str, password: str, reader: str, *, window_days: int = 3, today: date | None = None
) -> float:
    """Role and schema as the engines make them, the job's grants on LiteLLM's columns, then
    schema, grants and a full refresh.

    The source grants run as the superuser, which PostgreSQL records as the tables' owner's
    (what the job's init container does as that owner). Returns the seconds the first (full)
    refresh took.
    """
    role = reporting_sql.REPORTING_ROLE
    with server.superuser_connection("postgres") as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))
            )
    with server.superuser_connection(dbname) as conn:
        conn.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(
                sql.Identifier(reporting_sql.SCHEMA), sql.Identifier(role)
            )
        )
        with conn.transaction():
            conn.execute(reporting_sql.source_grants_sql(role).encode())
    with server.connect_as(role, password, dbname) as conn:
        conn.execute(reporting_sql.schema_sql().encode())
        conn.execute(reporting_sql.grants_sql(reader).encode())
        started = time.perf_counter()
        conn.execute(reporting_sql.refresh_sql(window_days, today).encode())
        return time.perf_counter() - started


def refresh(server: PostgresServer, dbname: str, password: str, window_days: int, today: date | None = None) -> float:
    """One `reporting.refresh` as the reporting role (on the database's day, or `today`); seconds taken."""
    with server.connect_as(reporting_sql.REPORTING_ROLE, password, dbname) as conn:
        started = time.perf_counter()
        conn.execute(reporting_sql.refresh_sql(window_days, today).encode())
        return time.perf_counter() - started
