"""The standard ranges ending on the refresh's day, per key label, team and user; and `key_state`.

Summed whole from the rollups by the first refresh of a day (the ranges move), else moved by the
run's differences (delta.py), a renamed key's labels summed again: for each range of
`range_days`, "Spend by key", "Spend by team", "Remaining budget per team" and "Top users" over one of
Grafana's quick ranges ("Last 7 days", ...) with nothing else filtered then read a few
thousand precomputed rows (top users: the top of an index) instead of aggregating every
key, team or user over up to 30 daily rows each at query time.

- `key_ranges`: (range, key label) -> spend, requests, from `daily_key`, two-stage like the
  panel (key, then its label in `key_state`).

- `team_ranges`: (range, team) -> spend, requests, from `daily_team`; teams only (the
  requests of no team are in neither panel).
- `user_ranges`: (range, user label) -> spend, requests, tokens, from `daily_user`; the
  label is the panel's: the user id, '(no user)' for none or ''.
"""

from __future__ import annotations

from components.reporting.rebuild import with_room
from components.reporting.relations import SRC_TOKENS, key_id, nothing
from components.reporting.working import KEY_CHANGES, LABELS, RELABELLED, notice
from dashboards.reporting_schema import (
    BY_KEY,
    BY_TEAM,
    BY_USER,
    KEY_RANGES,
    KEY_STATE,
    RANGE_DAYS,
    STANDARD_RANGES,
    TEAM_RANGES,
    USER_RANGES,
    key_label,
    user_label,
)


def ranges_ddl() -> list[str]:
    """The two tables and their indexes (idempotent). A same-day run updates team_ranges' rows in place,
    so its pages keep room for the new versions (rebuild.py); user_ranges' spend is in its top index,
    so no update of it can use that room."""
    return [
        with_room(
            f"CREATE TABLE IF NOT EXISTS {TEAM_RANGES} (\n"
            "  from_day date NOT NULL,\n  to_day date NOT NULL,\n  team_id text NOT NULL,\n"
            "  spend double precision NOT NULL,\n  requests bigint NOT NULL,\n"
            "  PRIMARY KEY (from_day, to_day, team_id)\n)",
            TEAM_RANGES,
        ),
        f"CREATE TABLE IF NOT EXISTS {USER_RANGES} (\n"
        "  from_day date NOT NULL,\n  to_day date NOT NULL,\n  user_id text NOT NULL,\n"
        "  spend double precision NOT NULL,\n  requests bigint NOT NULL,\n  tokens bigint NOT NULL\n);",
        f"CREATE INDEX IF NOT EXISTS user_ranges_top ON {USER_RANGES} (from_day, to_day, spend DESC, user_id);",
        # one row per range and label: what the same-day refresh moves by difference (delta.py)
        f"CREATE UNIQUE INDEX IF NOT EXISTS user_ranges_label ON {USER_RANGES} (from_day, to_day, user_id);",
        f"CREATE UNIQUE INDEX IF NOT EXISTS key_ranges_label ON {KEY_RANGES} (from_day, to_day, key_alias);",
    ]


def ranges_refresh() -> str:
    """The PL/pgSQL statements that rebuild both tables (after `range_days` is filled)."""
    return (
        "  -- the standard ranges ending today, per team and per user label\n"
        f"  DELETE FROM {TEAM_RANGES};\n"
        f"  INSERT INTO {TEAM_RANGES} (from_day, to_day, team_id, spend, requests)\n"
        "  SELECT r.from_day, r.to_day, c.team_id, sum(c.spend), sum(c.requests)::bigint\n"
        f"  FROM {RANGE_DAYS} r\n"
        f"  JOIN {BY_TEAM} c ON c.day BETWEEN r.from_day AND r.to_day\n"
        "  WHERE c.team_id IS NOT NULL\n"
        "  GROUP BY 1, 2, 3\n"
        f"  HAVING NOT ({nothing({'spend': 'sum(c.spend)', 'requests': 'sum(c.requests)'})});\n"
        f"  DELETE FROM {USER_RANGES};\n"
        f"  INSERT INTO {USER_RANGES} (from_day, to_day, user_id, spend, requests, tokens)\n"
        f"  SELECT r.from_day, r.to_day, {user_label('c')}, sum(c.spend), sum(c.requests)::bigint,\n"
        "    sum(c.prompt_tokens + c.completion_tokens)::bigint\n"
        f"  FROM {RANGE_DAYS} r\n"
        f"  JOIN {BY_USER} c ON c.day BETWEEN r.from_day AND r.to_day\n"
        "  GROUP BY 1, 2, 3;"
    )


# --- keys ----------------------------------------------------------------------------------


def key_state() -> str:
    """LiteLLM's keys as of this run (a handful of columns, no token), compared with `key_state` in one
    full join, nothing copied: only the keys that differ are written; those whose label changed, new or
    gone, land in `refresh_relabelled`."""
    columns = "label, key_alias, key_name, team_id, max_budget, spend, budget_reset_at, expires, blocked"
    names = columns.split(", ")
    excluded = ", ".join(f"EXCLUDED.{c}" for c in names)
    return (
        "  -- the keys as of this run, for labels and the budget list\n"
        f"  INSERT INTO {KEY_CHANGES} (key_id, present, {columns}, old_label)\n"
        f"  SELECT key_id, k.key_id IS NOT NULL, {', '.join(f'k.{c}' for c in names)}, s.label\n"
        "  FROM (\n"
        f"    SELECT {key_id('t.token')} AS key_id, {key_label('t')} AS label, t.key_alias, t.key_name, t.team_id,\n"
        "      t.max_budget, t.spend, t.budget_reset_at, t.expires, t.blocked\n"
        f"    FROM {SRC_TOKENS} t\n"
        f"  ) k FULL JOIN {KEY_STATE} s USING (key_id)\n"
        f"  WHERE k.key_id IS NULL OR s.key_id IS NULL\n"
        f"    OR ({', '.join(f'k.{c}' for c in names)}) IS DISTINCT FROM ({', '.join(f's.{c}' for c in names)});\n"
        f"  INSERT INTO {RELABELLED}\n"
        f"  SELECT key_id, old_label FROM {KEY_CHANGES} WHERE label IS DISTINCT FROM old_label;\n"
        f"  DELETE FROM {KEY_STATE} s USING {KEY_CHANGES} c WHERE c.key_id = s.key_id AND NOT c.present;\n"
        f"  INSERT INTO {KEY_STATE} AS s (key_id, {columns})\n"
        f"  SELECT key_id, {columns} FROM {KEY_CHANGES} WHERE present\n"
        f"  ON CONFLICT (key_id) DO UPDATE SET ({columns}) = ROW({excluded});\n"
        f"{notice(KEY_STATE)}"
    )


def _key_ranges_body(where: str) -> str:
    return (
        f"    INSERT INTO {KEY_RANGES} (from_day, to_day, key_alias, spend, requests)\n"
        f"    SELECT s.from_day, s.to_day, {key_label('k')}, sum(s.spend), sum(s.requests)::bigint\n"
        "    FROM (\n"
        "      SELECT r.from_day, r.to_day, c.key_id, sum(c.spend) AS spend, sum(c.requests) AS requests\n"
        f"      FROM {RANGE_DAYS} r\n"
        f"      JOIN {BY_KEY} c ON c.day BETWEEN r.from_day AND r.to_day\n"
        f"{where}"
        "      GROUP BY 1, 2, 3\n"
        "    ) s\n"
        f"    LEFT JOIN {KEY_STATE} k ON k.key_id = s.key_id\n"
        "    GROUP BY 1, 2, 3\n"
        f"    HAVING NOT ({nothing({'spend': 'sum(s.spend)', 'requests': 'sum(s.requests)'})});"
    )


def key_ranges() -> str:
    """Per-label totals of `daily_key` for the standard ranges ending today, all of them."""
    days = ", ".join(str(n) for n in STANDARD_RANGES)
    return (
        f"    DELETE FROM {KEY_RANGES};\n"
        f"    DELETE FROM {RANGE_DAYS};\n"
        f"    INSERT INTO {RANGE_DAYS} (from_day, to_day)\n"
        f"    SELECT this_day - r.days, this_day FROM unnest(ARRAY[{days}]) AS r (days);\n"
        f"{_key_ranges_body('')}\n"
        f"  {notice(KEY_RANGES)}"
    )


def key_ranges_relabelled() -> str:
    """The same day as the last run, after the differences (delta.py): a key whose label changed
    (renamed, new, deleted) moves its whole range totals, so its old and new labels are summed again.
    A deleted key joins the '(unknown key)' label: that one is summed again whole."""
    unknown = "'(unknown key)'"
    labels = (
        f"    INSERT INTO {LABELS}\n"
        f"    SELECT COALESCE(k.label, {unknown}) AS label\n"
        f"    FROM {RELABELLED} t\n"
        f"    LEFT JOIN {KEY_STATE} k USING (key_id)\n"
        f"    UNION SELECT old_label FROM {RELABELLED} WHERE old_label IS NOT NULL;\n"
    )
    where = (
        "      WHERE c.key_id IN (\n"
        f"        SELECT k.key_id FROM {KEY_STATE} k JOIN {LABELS} l USING (label)\n"
        f"        UNION ALL SELECT x.key_id FROM {BY_KEY} x\n"
        f"        WHERE {unknown} IN (SELECT label FROM {LABELS})\n"
        f"          AND x.day >= this_day - {max(STANDARD_RANGES)}\n"
        f"          AND NOT EXISTS (SELECT FROM {KEY_STATE} k WHERE k.key_id = x.key_id))\n"
    )
    return (
        f"{labels}"
        f"    DELETE FROM {KEY_RANGES} WHERE key_alias IN (SELECT label FROM {LABELS});\n"
        f"{_key_ranges_body(where)}\n"
        f"  {notice(KEY_RANGES)}"
    )
