"""The refresh's working sets: unlogged tables of the reporting schema, so its owner needs no TEMP
privilege on the database. Nobody else may read them (they hold LiteLLM's key hashes during a run);
every run empties them at its start and its end (refresh.py)."""

from __future__ import annotations

from dashboards.reporting_schema import SCHEMA

SCRATCH = {
    "refresh_changed": "date text, api_key text, user_id text, model text, day date, key_id text",
    "refresh_source": (
        "date text, api_key text, user_id text, model text, model_group text, custom_llm_provider text,"
        " spend double precision, api_requests bigint, failed_requests bigint, prompt_tokens bigint,"
        " completion_tokens bigint"
    ),
    "refresh_charged": (
        "day date, team_id text, key_alias text, spend double precision, requests bigint, failed bigint,"
        " prompt_tokens bigint, completion_tokens bigint"
    ),
    "refresh_touched": (
        "day date, team_id text, key_id text, user_id text, model text, spend double precision, requests bigint,"
        " failed bigint, prompt_tokens bigint, completion_tokens bigint"
    ),
    "refresh_was_detail": (
        "at tid, day date, team_id text, key_id text, user_id text, model text, spend double precision,"
        " requests bigint, failed bigint, prompt_tokens bigint, completion_tokens bigint"
    ),
    "refresh_was_charge": (
        "at tid, day date, team_id text, key_id text, key_alias text, key_name text, model_group text, model text,"
        " provider text, spend double precision, requests bigint, failed bigint, prompt_tokens bigint,"
        " completion_tokens bigint"
    ),
    "refresh_key_changes": (
        "key_id text, present boolean, label text, key_alias text, key_name text, team_id text,"
        " max_budget double precision, spend double precision, budget_reset_at timestamp, expires timestamp,"
        " blocked boolean, old_label text"
    ),
    "refresh_relabelled": "key_id text, old_label text",
    "refresh_labels": "label text",
}
"""Each working table and its columns."""
CHANGED = f"{SCHEMA}.refresh_changed"
"""The detail groups (day, key, user, model) of the daily rows changed since the last run: rebuilt."""
SOURCE = f"{SCHEMA}.refresh_source"
"""LiteLLM's daily rows of the changed groups, read once per run (both grains rebuild from them)."""
CHARGED = f"{SCHEMA}.refresh_charged"
"""Each `daily_charge` group this run changed, with its difference: monthly_charge's differences."""
TOUCHED = f"{SCHEMA}.refresh_touched"
"""Each `daily_detail` group this run changed, with its difference (new minus old measures): what
every coarser table moves by (delta.py)."""
WAS_DETAIL = f"{SCHEMA}.refresh_was_detail"
"""The `daily_detail` rows of the changed charge groups before this run, each with its place (`at`)."""
WAS_CHARGE = f"{SCHEMA}.refresh_was_charge"
"""The `daily_charge` rows of the changed charge groups before this run, each with its place (`at`)."""
KEY_CHANGES = f"{SCHEMA}.refresh_key_changes"
"""The keys that differ between LiteLLM's key table and `key_state`: new, changed
(`present`) or gone, each with its label in `key_state` before this run."""
RELABELLED = f"{SCHEMA}.refresh_relabelled"
"""Keys whose label changed (or that are new or gone), with their label before this run."""
LABELS = f"{SCHEMA}.refresh_labels"
"""The key labels whose standard ranges this run rebuilds."""


RETIRED = ("refresh_keys",)
"""Working tables an earlier version made: dropped by the schema apply."""


def scratch_ddl() -> list[str]:
    """The working tables, made again by every schema apply (they hold nothing between runs, so an
    upgrade that changes their columns needs no migration); the retired ones dropped."""
    return [f"DROP TABLE IF EXISTS {SCHEMA}.{name};" for name in RETIRED] + [
        f"DROP TABLE IF EXISTS {SCHEMA}.{name};\nCREATE UNLOGGED TABLE {SCHEMA}.{name} ({columns});"
        for name, columns in SCRATCH.items()
    ]


def empty_scratch() -> str:
    return f"  TRUNCATE {', '.join(f'{SCHEMA}.{name}' for name in SCRATCH)};"


def notice(stage: str, rows: str = "") -> str:
    """After a statement: a NOTICE with its rows (or the variable `rows`) and the seconds since the
    run began (`began`)."""
    return (
        ("" if rows else "  GET DIAGNOSTICS n = ROW_COUNT;\n")
        + f"  RAISE NOTICE 'reporting.refresh: {stage} % rows (% s)', {rows or 'n'},"
        + " round(extract(epoch FROM clock_timestamp() - began)::numeric, 1);"
    )
