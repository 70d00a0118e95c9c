"""Per-team and per-user totals of the standard ranges ending on the refresh's day.

Like `key_ranges` (refresh.py), rebuilt by every refresh from the rollups for each range of
`range_days`: "Spend by team", "Remaining budget per team" and "Top users" over one of
Grafana's quick ranges ("Last 7 days", ...) with nothing else filtered then read a few
thousand precomputed rows (top users: the top of an index) instead of aggregating every
team or user over up to 30 daily rows each at query time.

- `team_ranges`: (range, team) -> spend, requests, from `daily_team`; teams only (the
  requests of no team are in neither panel).
- `user_ranges`: (range, user label) -> spend, requests, tokens, from `daily_user`; the
  label is the panel's: the user id, '(no user)' for none or ''.
"""

from __future__ import annotations

from dashboards.reporting_schema import BY_TEAM, BY_USER, RANGE_DAYS, TEAM_RANGES, USER_RANGES, user_label


def ranges_ddl() -> list[str]:
    """The two tables and their indexes (idempotent)."""
    return [
        f"CREATE TABLE IF NOT EXISTS {TEAM_RANGES} (\n"
        "  from_day date NOT NULL,\n  to_day date NOT NULL,\n  team_id text NOT NULL,\n"
        "  spend double precision NOT NULL,\n  requests bigint NOT NULL,\n"
        "  PRIMARY KEY (from_day, to_day, team_id)\n);",
        f"CREATE TABLE IF NOT EXISTS {USER_RANGES} (\n"
        "  from_day date NOT NULL,\n  to_day date NOT NULL,\n  user_id text NOT NULL,\n"
        "  spend double precision NOT NULL,\n  requests bigint NOT NULL,\n  tokens bigint NOT NULL\n);",
        f"CREATE INDEX IF NOT EXISTS user_ranges_top ON {USER_RANGES} (from_day, to_day, spend DESC, user_id);",
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
        "  GROUP BY 1, 2, 3;\n"
        f"  DELETE FROM {USER_RANGES};\n"
        f"  INSERT INTO {USER_RANGES} (from_day, to_day, user_id, spend, requests, tokens)\n"
        f"  SELECT r.from_day, r.to_day, {user_label('c')}, sum(c.spend), sum(c.requests)::bigint,\n"
        "    sum(c.prompt_tokens + c.completion_tokens)::bigint\n"
        f"  FROM {RANGE_DAYS} r\n"
        f"  JOIN {BY_USER} c ON c.day BETWEEN r.from_day AND r.to_day\n"
        "  GROUP BY 1, 2, 3;"
    )
