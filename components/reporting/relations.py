"""The relations the reporting SQL names: the rollups and their weekly and monthly twins, what the
dashboards' login may read, and LiteLLM's tables the reporting role reads, with their columns.

The relation names themselves are dashboards/reporting_schema.py's (the dashboards read them);
the statements are components/reporting/sql.py's (the files) and refresh.py's (the function).
"""

from __future__ import annotations

from dashboards.reporting_schema import (
    BY_KEY,
    BY_MODEL,
    BY_TEAM,
    BY_USER,
    CHARGE_TEAM_MONTH,
    DAILY_CHARGE,
    DECLARED_KEYS,
    DECLARED_TEAMS,
    DETAIL,
    FAILURES,
    KEY_RANGES,
    KEY_STATE,
    KEYS,
    MEASURES,
    MONTH_CHARGE,
    MONTH_TEAM,
    RANGE_DAYS,
    STATE,
    TEAM_RANGES,
    TEAMS,
    USER_RANGES,
    WEEK_KEY,
    WEEK_USER,
)

ROLLUPS = (DETAIL, BY_MODEL, BY_TEAM, BY_KEY, BY_USER)
WEEKLY = ((WEEK_KEY, BY_KEY, ("key_id", "team_id")), (WEEK_USER, BY_USER, ("user_id",)))
"""Per ISO week (Monday) twins of the two widest coarse rollups: a 30-day range reads
its full weeks there and only the edge days from the daily table."""
MONTHLY = ((MONTH_TEAM, BY_TEAM, ("team_id",)),)
"""Per calendar month twin of daily_team: the chargeback table reads whole months."""
CHARGE_DIMS = ("team_id", "key_id", "key_alias", "key_name", "model_group", "model", "provider")
"""`daily_charge`'s dimensions besides the day: the chargeback export's grain (one FOCUS row each)."""
DECLARED = (DECLARED_TEAMS, DECLARED_KEYS)
VIEWS = (KEYS, TEAMS, FAILURES)
PRECOMPUTED = (KEY_RANGES, RANGE_DAYS, KEY_STATE, TEAM_RANGES, USER_RANGES)
READABLE = (
    *ROLLUPS,
    *(t[0] for t in (*WEEKLY, *MONTHLY)),
    *PRECOMPUTED,
    *VIEWS,
    STATE,
    DAILY_CHARGE,
    MONTH_CHARGE,
    CHARGE_TEAM_MONTH,
    *DECLARED,
)
"""Everything the dashboards' login may SELECT."""

SOURCE_SCHEMA = "public"
_DAILY, _TOKENS, _TEAMS, _LOGS, _DELETED_TOKENS = (
    "LiteLLM_DailyUserSpend",
    "LiteLLM_VerificationToken",
    "LiteLLM_TeamTable",
    "LiteLLM_SpendLogs",
    "LiteLLM_DeletedVerificationToken",
)
SRC_DAILY = f'{SOURCE_SCHEMA}."{_DAILY}"'
SRC_TOKENS = f'{SOURCE_SCHEMA}."{_TOKENS}"'
SRC_TEAMS = f'{SOURCE_SCHEMA}."{_TEAMS}"'
SRC_LOGS = f'{SOURCE_SCHEMA}."{_LOGS}"'
SRC_DELETED_TOKENS = f'{SOURCE_SCHEMA}."{_DELETED_TOKENS}"'

SOURCE_COLUMNS: dict[str, tuple[str, ...]] = {
    _DAILY: (
        "date",
        "api_key",
        "user_id",
        "model",
        "model_group",
        "custom_llm_provider",
        "spend",
        "api_requests",
        "failed_requests",
        "prompt_tokens",
        "completion_tokens",
        # what LiteLLM wrote since the last run (refresh.py)
        "updated_at",
    ),
    # `token` is LiteLLM's hash of the key: the join to the daily rows and `key_id` (md5 of it).
    _TOKENS: (
        "token",
        "key_alias",
        "key_name",
        "team_id",
        "max_budget",
        "spend",
        "budget_reset_at",
        "expires",
        "blocked",
    ),
    _TEAMS: ("team_id", "team_alias", "max_budget", "spend", "budget_reset_at", "blocked"),
    # `metadata`: the failures view reads its `error_information` (PostgreSQL grants whole columns).
    _LOGS: ("startTime", "api_key", "model", "team_id", "metadata", "status"),
    # A deleted key's team and alias (LiteLLM archives the row when a key or its team is deleted):
    # its spend keeps both in the rollups.
    _DELETED_TOKENS: ("token", "key_alias", "key_name", "team_id", "deleted_at"),
}
"""LiteLLM's columns the reporting role may SELECT, per table of the `public` schema: exactly
what `refresh` and the views (which read as their owner, `reporting`) use. Not the users'
password hashes, stored credentials, invitation links, the audit log, prompts or responses."""


DAILY_MEASURED = tuple(c for c in SOURCE_COLUMNS[_DAILY] if c != "updated_at")
"""What the refresh aggregates of LiteLLM's daily rows (its working copy, `refresh_source`, holds these)."""


def _measure_type(name: str) -> str:
    return "double precision" if name == "spend" else "bigint"


MEASURE_COLUMNS = ",\n  ".join(f"{name} {_measure_type(name)} NOT NULL" for name in MEASURES)
MEASURE_NAMES = ", ".join(MEASURES)
SUM_MEASURES = ", ".join(f"sum({name})" + ("" if name == "spend" else "::bigint") for name in MEASURES)

# Coarse rollups: table -> dimension columns (each is also built from daily_detail).
COARSE: tuple[tuple[str, tuple[str, ...]], ...] = (
    (BY_MODEL, ("model",)),
    (BY_TEAM, ("team_id",)),
    (BY_KEY, ("key_id", "team_id")),
    (BY_USER, ("user_id",)),
)


def key_id(token_expr: str) -> str:
    """The key's public id in the reporting schema (md5 of LiteLLM's hashed token)."""
    return f"md5({token_expr})"


def key_owner_join(token_expr: str) -> str:
    """LiteLLM's key table as `k` and, for a key deleted since (alone or with its team), its last
    archived row as `d` (read only then, by its token index): a deleted key's spend stays under the
    team it had, whether its day is aggregated before or after the deletion."""
    return (
        f"      LEFT JOIN {SRC_TOKENS} k ON k.token = {token_expr}\n"
        "      LEFT JOIN LATERAL (\n"
        f"        SELECT a.team_id, a.key_alias, a.key_name FROM {SRC_DELETED_TOKENS} a\n"
        f"        WHERE k.token IS NULL AND a.token = {token_expr} ORDER BY a.deleted_at DESC LIMIT 1\n"
        "      ) d ON true\n"
    )


def nothing(values: dict[str, str]) -> str:
    """True when each of `values` (column -> its SQL expression) holds nothing: a count zero, the
    spend zero but for float rounding. Such a row of a standard range is kept on no path: a run that
    moves the ranges by differences cannot tell it from none."""
    return " AND ".join(f"abs({e}) < 1e-9" if c == "spend" else f"{e} = 0" for c, e in values.items())
