"""How a refresh carries its changes into every coarser table: by difference, not by re-aggregation.

`refresh_touched` holds each `daily_detail` group a run changed with its difference, new minus old
(rebuild.py). Summed per group of a coarser table (day, ISO week or month x key, team, user or
model; standard range x team, user or key label), they are exactly how much that group changed:
each group is updated by its difference, a new group inserted, a group left with nothing deleted.
The cost is the touched rows', whatever the size of the tables (refresh.py).

A NULL dimension (no team, no user, no model) is a group of its own: matched apart from the others
(`IS NULL`), so every match of a group can use an index.
"""

from __future__ import annotations

from components.reporting.relations import MEASURE_NAMES, nothing
from components.reporting.working import TOUCHED, notice
from dashboards.reporting_schema import (
    KEY_RANGES,
    KEY_STATE,
    MEASURES,
    RANGE_DAYS,
    TEAM_RANGES,
    USER_RANGES,
    user_label,
)

_SUMS = ", ".join(f"sum(t.{m}) AS {m}" for m in MEASURES)
_OLD = ", ".join(f"x.{m} AS was_{m}" for m in MEASURES)
_ADD = ", ".join(f"{m} = x.{m} + c.{m}" for m in MEASURES)
_EMPTIED = nothing({m: f"c.was_{m} + c.{m}" for m in MEASURES})
"""A group whose every count goes back to zero (and its spend, but for float rounding): its row goes."""
_UNCHANGED = " AND ".join(f"sum(t.{m}) = 0" for m in MEASURES)
"""A group whose rows were rebuilt as they were (a changed charge group's other user): nothing to write."""


def _same(dims: tuple[str, ...], anchor_null: bool) -> str:
    first, *rest = dims
    head = f"x.{first} IS NULL AND d.{first} IS NULL" if anchor_null else f"x.{first} = d.{first}"
    return " AND ".join([head, *(f"x.{d} IS NOT DISTINCT FROM d.{d}" for d in rest)])


def apply_delta(table: str, period: str, dims: tuple[str, ...], unit: str | None, touched: str = TOUCHED) -> str:
    """`table` (one row per `period` x `dims`, the first dimension leading its index) moved by the
    differences in `touched` (a relation with `day`, `dims` and the measures). `unit`: None when
    `period` is the day, else 'week' or 'month'.

    One statement: the differences summed once, each group's row found once (by the index; a NULL
    first dimension apart, so both halves can use it) with its place (`ctid`) and measures, then every
    group that changed updated or emptied at that place, or inserted (disjoint row sets, so one
    snapshot serves them all; only the refresh writes these tables, under its lock)."""
    of = "t.day" if unit is None else f"date_trunc('{unit}', t.day::timestamp)::date"
    cols = ", ".join(dims)
    changes = f"SELECT {of} AS p, {', '.join(f't.{d}' for d in dims)}, {_SUMS} FROM {touched} t GROUP BY 1, {cols}"
    found = "\n      UNION ALL\n".join(
        f"      SELECT d.*, x.ctid AS at, {_OLD} FROM d\n"
        f"      LEFT JOIN {table} x ON x.{period} = d.p AND {_same(dims, null)} WHERE d.{dims[0]} {which} NULL"
        for which, null in (("IS NOT", False), ("IS", True))
    )
    parts = [
        f"d AS MATERIALIZED (\n      {changes}\n      HAVING NOT ({_UNCHANGED}))",
        f"c AS MATERIALIZED (\n{found})",
        f"gone AS (DELETE FROM {table} x USING c WHERE x.ctid = c.at AND {_EMPTIED} RETURNING 1)",
        f"moved AS (UPDATE {table} x SET {_ADD} FROM c WHERE x.ctid = c.at AND NOT ({_EMPTIED}) RETURNING 1)",
        f"made AS (\n      INSERT INTO {table} ({period}, {cols}, {MEASURE_NAMES})\n"
        f"      SELECT c.p, {', '.join(f'c.{d}' for d in dims)}, {', '.join(f'c.{m}' for m in MEASURES)} FROM c\n"
        "      WHERE c.at IS NULL RETURNING 1)",
    ]
    counted = " + ".join(f"(SELECT count(*) FROM {name})" for name in ("gone", "moved", "made"))
    ctes = ",\n    ".join(parts)
    return f"    WITH {ctes}\n    SELECT {counted} INTO moved;\n{notice(table, rows='moved')}"


# --- the standard ranges, the same day as the last run -----------------------------------------


def _range_delta(table: str, label: str, of: str, columns: dict[str, str], where: str = "") -> str:
    """Upsert of `table` (unique on from_day, to_day and its label column `label`, the touched row's
    `of`) by the touched rows inside each standard range, then its emptied rows gone."""
    names = ", ".join(columns)
    sums = ", ".join(f"sum({expr})" for expr in columns.values())
    return (
        f"    INSERT INTO {table} AS x (from_day, to_day, {label}, {names})\n"
        f"    SELECT r.from_day, r.to_day, {of}, {sums}\n"
        f"    FROM {RANGE_DAYS} r JOIN {TOUCHED} t ON t.day BETWEEN r.from_day AND r.to_day\n"
        f"{where}"
        "    GROUP BY 1, 2, 3\n"
        f"    ON CONFLICT (from_day, to_day, {label}) DO UPDATE SET\n"
        f"      {', '.join(f'{c} = x.{c} + EXCLUDED.{c}' for c in columns)};\n"
        f"    DELETE FROM {table} x WHERE {nothing({c: f'x.{c}' for c in columns})};"
    )


def ranges_delta() -> str:
    """team_ranges and user_ranges moved by the touched rows (teams only: the requests of no team
    are in neither panel)."""
    measures = {"spend": "t.spend", "requests": "t.requests"}
    team = _range_delta(TEAM_RANGES, "team_id", "t.team_id", measures, "    WHERE t.team_id IS NOT NULL\n")
    tokens = {**measures, "tokens": "t.prompt_tokens + t.completion_tokens"}
    user = _range_delta(USER_RANGES, "user_id", user_label("t"), tokens)
    return f"    -- the standard ranges, moved by this run's differences\n{team}\n{user}"


def key_ranges_delta() -> str:
    """key_ranges moved by the touched rows, under each key's label as of this run."""
    delta = _range_delta(
        KEY_RANGES,
        "key_alias",
        "COALESCE(k.label, '(unknown key)')",
        {"spend": "t.spend", "requests": "t.requests"},
        f"    LEFT JOIN {KEY_STATE} k ON k.key_id = t.key_id\n",
    )
    return f"{delta}\n  {notice(KEY_RANGES)}"
