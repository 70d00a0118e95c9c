"""The reporting schema: rollups and narrow views the spend dashboards read, as pure SQL text.

One source for every statement: the CronJob mounts these files (components/reporting/component.py),
the preview writes them to `sql/` (tools/preview.py), the tests and the benchmark run them. The
names of the relations (and their measure columns) are dashboards/reporting_schema.py's: the
dashboards read what these statements build. Which relations exist and which of LiteLLM's columns
they read: relations.py; the function `refresh` and how it refreshes incrementally: refresh.py.

- `schema_sql()`: idempotent DDL, run by the schema's owner (the `reporting` role). The
  schema itself is made by the engine (CNPG `Database` CR `schemas[]`, or a
  `postgresql.Schema` on an external server); the DO block only makes it when a
  privileged user applies the file by hand.
- `grants_sql(reader)`: what the dashboards' login (`grafana_ro`) may read: USAGE on the
  schema and SELECT on its tables and views, nothing else (no `pg_read_all_data`).
- `source_grants_sql(role)`: what the `reporting` role may read of LiteLLM's tables, run by
  their owner (the job's init container) before every refresh: SELECT on exactly the
  columns of `SOURCE_COLUMNS` (what `refresh` and the three views read), every other
  privilege of the role on the `public` tables revoked first, so a LiteLLM migration that
  recreated a table, or a column this program stopped reading, leaves nothing behind; and
  the BRIN index on `updated_at` the refresh finds new rows by, made once.
- `refresh_sql(window_days)`: one call of `reporting.refresh`, which carries what LiteLLM
  wrote since its last run into every table (refresh.py).

Rollups (day = UTC day of LiteLLM's daily rows; measures: spend, requests, failed,
prompt/completion tokens). `daily_detail` keeps every dimension a filter can name; the
coarse tables answer the "All" selections with a handful of rows per day:

| table          | grain                                  | serves                                      |
|----------------|----------------------------------------|---------------------------------------------|
| daily_detail   | day x team x key x user x model        | any filtered selection, the team view       |
| daily_model    | day x model                            | totals, per-day series, spend by model      |
| daily_team     | day x team (NULL: requests of no team)  | spend by team, team budgets, chargeback     |
| daily_key      | day x key x team                        | spend by key, key budgets                   |
| daily_user     | day x user                              | top users                                   |
| weekly_key, weekly_user | ISO week (Monday) x key / user | the full weeks of a range (edges: daily)   |
| monthly_team   | calendar month x team                   | the chargeback table                        |
| key_ranges     | standard range x key label              | spend by key over "Last 1/2/7/30 days"      |
| team_ranges    | standard range x team                   | spend by team, team budgets, same ranges    |
| user_ranges    | standard range x user label             | top users over the same ranges              |
| key_state      | key: label, team, budget, spend, expiry | key labels, remaining budget per key        |
| daily_charge   | day x team x key (alias, masked name) x model group x model x provider | the chargeback export |
| monthly_charge | month x team x declared key alias          | the chargeback table's sums                  |
| chargeback_team_month | month x cost centre x team, attributed | the chargeback table                    |
| declared_teams, declared_keys | the stack's declared tenants (tenants.py) | cost centres, `undeclared` |

`key_ranges` holds, for each range of `STANDARD_RANGES` days ending on the refresh's day
(`range_days`), the per-label totals the "spend by key" panel shows with "All" selected:
Grafana's quick ranges ("Last 7 days" is the 8 UTC days from 7 days ago to today) are
then a read of their top rows instead of an aggregation over every key and a label join.
Labels there are the keys' labels at refresh time.

`key_state` is LiteLLM's key table as of the refresh (no token: `key_id` and what the
panels show), rebuilt every run: the per-key panels join it instead of the live `keys`
view, whose `key_id` costs an md5 per key on every read, and the budget list walks its
(remaining, label) index for its top rows.

Keys appear as `key_id` = md5 of LiteLLM's hashed token: stable, joinable, never the
token. The team of a row is the key's team (`"LiteLLM_VerificationToken".team_id`) when
its day was last aggregated.
"""

from __future__ import annotations

from datetime import date

from components.database.sql import quote_identifier
from components.reporting.charge import team_month_ddl
from components.reporting.ranges import ranges_ddl
from components.reporting.rebuild import SPEND_INDEXED, with_room
from components.reporting.refresh import refresh_function, updated_index_sql
from components.reporting.relations import (
    CHARGE_DIMS,
    COARSE,
    MEASURE_COLUMNS,
    MONTHLY,
    PRECOMPUTED,
    READABLE,
    ROLLUPS,
    SOURCE_COLUMNS,
    SOURCE_SCHEMA,
    SRC_LOGS,
    SRC_TEAMS,
    SRC_TOKENS,
    VIEWS,
    WEEKLY,
    key_id,
)
from components.reporting.tenants import declared_tables_sql
from components.reporting.working import scratch_ddl
from dashboards.reporting_schema import (
    BY_KEY,
    BY_TEAM,
    BY_USER,
    DAILY_CHARGE,
    DETAIL,
    FAILURES,
    KEY_RANGES,
    KEY_STATE,
    KEYS,
    MONTH_CHARGE,
    MONTH_TEAM,
    RANGE_DAYS,
    SCHEMA,
    STATE,
    TEAM_RANGES,
    TEAMS,
    USER_RANGES,
    WEEK_KEY,
    WEEK_USER,
)

# The schema's names are imported from the dashboards' floor and the relations from
# relations.py; those below are offered here too, beside the role and the statements.
__all__ = [
    "JOB_APP",
    "KEY_RANGES",
    "MONTHLY",
    "PRECOMPUTED",
    "READABLE",
    "REPORTING_ROLE",
    "ROLLUPS",
    "SCHEMA",
    "SOURCE_COLUMNS",
    "VIEWS",
    "WEEKLY",
    "grants_sql",
    "job_pod_labels",
    "key_id",
    "refresh_sql",
    "schema_sql",
    "source_grants_sql",
]

REPORTING_ROLE = "reporting"
JOB_APP = "litellm-reporting"
"""The reporting CronJob's `app.kubernetes.io/name`, on its pods: the database admits them by it."""


def job_pod_labels() -> dict[str, str]:
    """The labels of the reporting job's pods (its NetworkPolicies and the CNPG instances' select them)."""
    return {"app.kubernetes.io/name": JOB_APP}


def _table(name: str, dims: tuple[str, ...]) -> str:
    """A rollup: a refresh rewrites its rows in place, so each page keeps room for their new versions
    (rebuild.py), unless its spend is indexed (`SPEND_INDEXED`: no update of it can be HOT)."""
    columns = "".join(f"  {dim} text,\n" for dim in dims)
    table = f"CREATE TABLE IF NOT EXISTS {name} (\n  day date NOT NULL,\n{columns}  {MEASURE_COLUMNS}\n)"
    if name in SPEND_INDEXED:
        return f"{table};"
    return with_room(table, name)


def schema_sql() -> str:
    """Tables, indexes, views and the refresh function; safe to run again and again."""
    detail_dims = ("team_id", "key_id", "user_id", "model")
    parts = [
        "-- reporting schema for the spend dashboards (generated by components/reporting/sql.py)",
        "DO $$ BEGIN\n"
        f"  IF NOT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = '{SCHEMA}') THEN\n"
        f"    CREATE SCHEMA {SCHEMA};\n"
        "  END IF;\nEND $$;",
        _table(DETAIL, detail_dims),
        f"CREATE INDEX IF NOT EXISTS daily_detail_day ON {DETAIL} (day);",
        f"CREATE INDEX IF NOT EXISTS daily_detail_team_day ON {DETAIL} (team_id, day);",
        f"CREATE INDEX IF NOT EXISTS daily_detail_key_day ON {DETAIL} (key_id, day);",
        f"CREATE INDEX IF NOT EXISTS daily_detail_model_day ON {DETAIL} (model, day);",
        f"CREATE INDEX IF NOT EXISTS daily_detail_user_day ON {DETAIL} (user_id, day);",
    ]
    for name, dims in COARSE:
        short = name.split(".")[1]
        parts.append(_table(name, dims))
        parts.append(f"CREATE INDEX IF NOT EXISTS {short}_day ON {name} (day);")
    parts.append(f"CREATE INDEX IF NOT EXISTS daily_team_team_day ON {BY_TEAM} (team_id, day);")
    parts.append(f"CREATE INDEX IF NOT EXISTS daily_user_user_day ON {BY_USER} (user_id, day);")
    # one key's spend in a range (the budget list looks up only the keys it shows)
    parts.append(f"CREATE INDEX IF NOT EXISTS daily_key_key_day ON {BY_KEY} (key_id, day) INCLUDE (spend);")
    for name, _daily, dims in WEEKLY:
        short = name.split(".")[1]
        parts.append(_table(name, dims).replace("  day date NOT NULL,", "  week date NOT NULL,"))
        parts.append(f"CREATE INDEX IF NOT EXISTS {short}_week ON {name} (week);")
    for name, _daily, dims in MONTHLY:
        short = name.split(".")[1]
        parts.append(_table(name, dims).replace("  day date NOT NULL,", "  month date NOT NULL,"))
        parts.append(f"CREATE INDEX IF NOT EXISTS {short}_month ON {name} (month);")
    parts.append(f"CREATE INDEX IF NOT EXISTS weekly_key_key_week ON {WEEK_KEY} (key_id, week) INCLUDE (spend);")
    parts.append(f"CREATE INDEX IF NOT EXISTS weekly_user_user_week ON {WEEK_USER} (user_id, week);")
    parts.append(f"CREATE INDEX IF NOT EXISTS monthly_team_team_month ON {MONTH_TEAM} (team_id, month);")
    parts.append(_table(DAILY_CHARGE, CHARGE_DIMS))
    parts.append(f"CREATE INDEX IF NOT EXISTS daily_charge_day ON {DAILY_CHARGE} (day);")
    parts.append(f"CREATE INDEX IF NOT EXISTS daily_charge_key_day ON {DAILY_CHARGE} (key_id, day);")
    parts.append(
        _table(MONTH_CHARGE, ("team_id", "key_alias")).replace("  day date NOT NULL,", "  month date NOT NULL,")
    )
    parts.append(f"CREATE INDEX IF NOT EXISTS monthly_charge_month ON {MONTH_CHARGE} (month);")
    parts.append(f"CREATE INDEX IF NOT EXISTS monthly_charge_team_month ON {MONTH_CHARGE} (team_id, month);")
    parts.append(team_month_ddl())
    parts.append(declared_tables_sql())
    parts.append(
        f"CREATE TABLE IF NOT EXISTS {KEY_STATE} (\n"
        "  key_id text PRIMARY KEY,\n  label text NOT NULL,\n  key_alias text,\n  key_name text,\n  team_id text,\n"
        "  max_budget double precision,\n  spend double precision,\n  budget_reset_at timestamp,\n"
        "  expires timestamp,\n  blocked boolean\n);"
    )
    parts.append(
        f"CREATE INDEX IF NOT EXISTS key_state_remaining ON {KEY_STATE} ((max_budget - spend) NULLS LAST, label);"
    )
    parts.append(
        f"CREATE TABLE IF NOT EXISTS {RANGE_DAYS} (\n"
        "  from_day date NOT NULL,\n  to_day date NOT NULL,\n  PRIMARY KEY (from_day, to_day)\n);"
    )
    parts.append(
        f"CREATE TABLE IF NOT EXISTS {KEY_RANGES} (\n"
        "  from_day date NOT NULL,\n  to_day date NOT NULL,\n  key_alias text NOT NULL,\n"
        "  spend double precision NOT NULL,\n  requests bigint NOT NULL\n);"
    )
    parts.append(
        f"CREATE INDEX IF NOT EXISTS key_ranges_top ON {KEY_RANGES} (from_day, to_day, spend DESC, key_alias);"
    )
    parts.extend(ranges_ddl())
    parts.extend(scratch_ddl())
    parts.append(
        f"CREATE TABLE IF NOT EXISTS {STATE} (\n"
        "  id boolean PRIMARY KEY DEFAULT true CHECK (id),\n"
        "  last_day date NOT NULL,\n"
        "  window_days integer NOT NULL,\n"
        "  refreshed_at timestamptz NOT NULL\n);"
    )
    # When the last run began: the next one reads LiteLLM's rows updated since (refresh.py).
    parts.append(f"ALTER TABLE {STATE} ADD COLUMN IF NOT EXISTS started_at timestamptz;")
    # Which declared keys monthly_charge was resolved against (a change rebuilds it: refresh.py).
    parts.append(f"ALTER TABLE {STATE} ADD COLUMN IF NOT EXISTS declared_hash text;")
    # Every refresh rewrites the groups it touches (a new day's run the window's, the ranges whole):
    # with the default thresholds (20 % of a table dead) autovacuum would let dead index
    # entries pile up over several runs, and each run would read them again.
    parts.extend(
        f"ALTER TABLE {name} SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.01);"
        for name in (
            *(*ROLLUPS, *(t[0] for t in (*WEEKLY, *MONTHLY))),
            KEY_STATE,
            KEY_RANGES,
            TEAM_RANGES,
            USER_RANGES,
            DAILY_CHARGE,
            MONTH_CHARGE,
        )
    )
    parts.extend(_views())
    parts.append(refresh_function())
    parts.append(f"REVOKE ALL ON FUNCTION {SCHEMA}.refresh(integer, date) FROM PUBLIC;")
    # refresh() keeps daily_charge itself since change tracking (one pass over what changed)
    parts.append(f"DROP FUNCTION IF EXISTS {SCHEMA}.refresh_charge(integer, date);")
    return "\n\n".join(parts) + "\n"


def _views() -> list[str]:
    return [
        # Only what the dashboards show: no token, no metadata, no permissions.
        f"CREATE OR REPLACE VIEW {KEYS} AS\n"
        f"SELECT {key_id('k.token')} AS key_id, k.key_alias, k.key_name, k.team_id, k.max_budget, k.spend,\n"
        "  k.budget_reset_at, k.expires, k.blocked\n"
        f"FROM {SRC_TOKENS} k;",
        f"CREATE OR REPLACE VIEW {TEAMS} AS\n"
        "SELECT t.team_id, t.team_alias, t.max_budget, t.spend, t.budget_reset_at, t.blocked\n"
        f"FROM {SRC_TEAMS} t;",
        # The one raw-log read: failed requests only, no payloads, no token; the joins on
        # LiteLLM's primary keys keep "newest 50" an index walk on "startTime".
        f"CREATE OR REPLACE VIEW {FAILURES} AS\n"
        "SELECT l.\"startTime\" AS start_time, COALESCE(k.key_alias, k.key_name, '(unknown key)') AS key_label,\n"
        "  k.key_alias, l.model, l.team_id, COALESCE(t.team_alias, l.team_id) AS team,\n"
        "  l.metadata -> 'error_information' ->> 'error_code' AS error_code,\n"
        "  l.metadata -> 'error_information' ->> 'error_class' AS error_class\n"
        f"FROM {SRC_LOGS} l\n"
        f"LEFT JOIN {SRC_TOKENS} k ON k.token = l.api_key\n"
        f"LEFT JOIN {SRC_TEAMS} t ON t.team_id = l.team_id\n"
        "WHERE l.status = 'failure';",
    ]


def grants_sql(reader: str) -> str:
    """The dashboards' login reads the reporting schema and nothing else of it."""
    who = quote_identifier(reader)
    return (
        f"-- what {reader} may read (generated by components/reporting/sql.py)\n"
        f"GRANT USAGE ON SCHEMA {SCHEMA} TO {who};\n"
        f"GRANT SELECT ON {', '.join(READABLE)} TO {who};\n"
        f"REVOKE ALL ON FUNCTION {SCHEMA}.refresh(integer, date) FROM PUBLIC;\n"
    )


def source_grants_sql(role: str) -> str:
    """What `role` may read of LiteLLM's tables: SELECT on the `SOURCE_COLUMNS`, nothing else.

    Run by the tables' owner (only an owner may grant on its tables), after LiteLLM's migrations,
    in one transaction: every privilege `role` holds on a table of the schema is revoked first
    (column privileges with it), so the result is exactly the list whatever a migration did.
    Idempotent. A column that a LiteLLM upgrade dropped or renamed fails the grant, by name.
    """
    who = quote_identifier(role)
    lines = [
        f"-- what {role} may read of LiteLLM's tables (generated by components/reporting/sql.py);",
        "-- run by the tables' owner before each refresh",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {SOURCE_SCHEMA} FROM {who};",
    ]
    for table, columns in SOURCE_COLUMNS.items():
        cols = ", ".join(quote_identifier(c) for c in columns)
        lines.append(f"GRANT SELECT ({cols}) ON {SOURCE_SCHEMA}.{quote_identifier(table)} TO {who};")
    lines.append("-- how the refresh finds the daily rows LiteLLM wrote since its last run (refresh.py)")
    lines.append(updated_index_sql())
    return "\n".join(lines) + "\n"


def refresh_sql(window_days: int, today: date | None = None) -> str:
    """The job's refresh: on the database's UTC day, or on `today` (a benchmark's cluster seeded on an
    earlier day, whose "ranges ending now" end then)."""
    if window_days < 1:
        raise ValueError("window_days must be at least 1")
    on = "" if today is None else f", DATE '{today.isoformat()}'"
    return (
        "-- re-aggregate the days that can still change (generated by components/reporting/sql.py)\n"
        f"SELECT * FROM {SCHEMA}.refresh({window_days}{on});\n"
    )
