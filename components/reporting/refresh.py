"""`reporting.refresh(window_days, today)`: the PL/pgSQL function that re-aggregates the rollups.

Incremental refresh: the first run aggregates every day; later runs delete and rebuild
the days from `least(today, last run's day) - (window_days - 1)` on (UTC), so a missed
run is caught up, plus every older day that LiteLLM updated since the last run (late
rows: a daily row whose `updated_at` is past the last run's start, less `LATE_MARGIN` for
writes in flight then), with the weeks and months that hold those days. LiteLLM writes
today's daily rows in batches (and yesterday's right after midnight): a window of 2+ days
covers them. Each stage prints a NOTICE (its rows and seconds): the first, full run's
progress in the job's log.
"""

from __future__ import annotations

from components.reporting.ranges import ranges_refresh
from components.reporting.relations import (
    CHARGE_DIMS,
    COARSE,
    MEASURE_NAMES,
    MONTHLY,
    ROLLUPS,
    SRC_DAILY,
    SRC_DELETED_TOKENS,
    SRC_TOKENS,
    SUM_MEASURES,
    WEEKLY,
    key_id,
)
from dashboards.reporting_schema import (
    BY_KEY,
    DAILY_CHARGE,
    DETAIL,
    KEY_RANGES,
    KEY_STATE,
    MONTH_TEAM,
    RANGE_DAYS,
    SCHEMA,
    STANDARD_RANGES,
    STATE,
    key_label,
)

LATE_MARGIN = "1 hour"
"""How far before the last run's start `updated_at` is still read as new: LiteLLM's pods set it
(Prisma's clock, not the database's) and may commit a batch after the run began."""


def _notice(stage: str) -> str:
    return (
        f"  GET DIAGNOSTICS n = ROW_COUNT;\n"
        f"  RAISE NOTICE 'reporting.refresh: {stage} % rows (% s)', n,"
        " round(extract(epoch FROM clock_timestamp() - began)::numeric, 1);"
    )


def refresh_function() -> str:
    deletes = "\n".join(f"  DELETE FROM {name} WHERE day >= first OR day = ANY(late);" for name in ROLLUPS)
    weekly = "\n".join(
        f"  DELETE FROM {name} WHERE week >= first_week OR week = ANY(late_weeks);\n"
        f"  INSERT INTO {name} (week, {', '.join(dims)}, {MEASURE_NAMES})\n"
        f"  SELECT date_trunc('week', day::timestamp)::date, {', '.join(dims)}, {SUM_MEASURES}\n"
        f"  FROM {daily} WHERE day >= first_week OR day = ANY(late_week_days) GROUP BY 1, {', '.join(dims)};\n"
        f"{_notice(name)}"
        for name, daily, dims in WEEKLY
    )
    monthly = "\n".join(
        f"  DELETE FROM {name} WHERE month >= first_month OR month = ANY(late_months);\n"
        f"  INSERT INTO {name} (month, {', '.join(dims)}, {MEASURE_NAMES})\n"
        f"  SELECT date_trunc('month', day::timestamp)::date, {', '.join(dims)}, {SUM_MEASURES}\n"
        f"  FROM {daily} WHERE day >= first_month OR day = ANY(late_month_days) GROUP BY 1, {', '.join(dims)};\n"
        f"{_notice(name)}"
        for name, daily, dims in MONTHLY
    )
    coarse = "\n".join(
        f"  INSERT INTO {name} (day, {', '.join(dims)}, {MEASURE_NAMES})\n"
        f"  SELECT day, {', '.join(dims)}, {SUM_MEASURES}\n"
        f"  FROM {DETAIL} WHERE day >= first OR day = ANY(late) GROUP BY day, {', '.join(dims)};\n"
        f"{_notice(name)}"
        for name, dims in COARSE
    )
    return (
        f"{_opening('refresh', 'detail_rows')}"
        "  first_week date;\n"
        "  first_month date;\n"
        "  n bigint;\n"
        "  detail bigint;\n"
        "  began timestamptz := clock_timestamp();\n"
        "  mark timestamptz;\n"
        "  late date[] := '{}';\n"
        "  late_weeks date[];\n"
        "  late_week_days date[];\n"
        "  late_months date[];\n"
        "  late_month_days date[];\n"
        f"{_BEGIN_CHECKED}"
        "  -- one refresh at a time; readers keep reading the previous state until COMMIT\n"
        f"  LOCK TABLE {STATE} IN SHARE ROW EXCLUSIVE MODE;\n"
        f"  SELECT s.last_day, s.started_at INTO last, mark FROM {STATE} s;\n"
        "  -- first run: every day; then the window, reaching back to before a missed run\n"
        "  first := CASE WHEN last IS NULL THEN '-infinity'::date\n"
        "                ELSE least(this_day, last) - (window_days - 1) END;\n"
        f"{_late_days()}\n"
        f"{deletes}\n"
        f"  INSERT INTO {DETAIL} (day, team_id, key_id, user_id, model, {MEASURE_NAMES})\n"
        f"  SELECT u.date::date, k.team_id, {key_id('u.api_key')}, u.user_id, u.model,\n"
        "    sum(u.spend), sum(u.api_requests)::bigint, sum(u.failed_requests)::bigint,\n"
        "    sum(u.prompt_tokens)::bigint, sum(u.completion_tokens)::bigint\n"
        f"  FROM {SRC_DAILY} u\n"
        f"  LEFT JOIN {SRC_TOKENS} k ON k.token = u.api_key\n"
        "  WHERE u.date >= CASE WHEN first = '-infinity' THEN '' ELSE to_char(first, 'YYYY-MM-DD') END\n"
        "    OR u.date = ANY(ARRAY(SELECT to_char(d, 'YYYY-MM-DD') FROM unnest(late) d))\n"
        "  GROUP BY 1, 2, 3, 4, 5;\n"
        f"{_notice(DETAIL)}\n"
        "  detail := n;\n"
        f"{coarse}\n"
        "  -- the weeks holding a re-aggregated day (their other days are already in the daily tables)\n"
        "  first_week := CASE WHEN first = '-infinity' THEN first\n"
        "                     ELSE date_trunc('week', first::timestamp)::date END;\n"
        f"{_late_periods('week', 7)}\n"
        f"{weekly}\n"
        "  -- every month when the table is new (a schema upgrade): daily_team holds the history\n"
        f"  first_month := CASE WHEN first = '-infinity' OR NOT EXISTS (SELECT FROM {MONTH_TEAM}) THEN '-infinity'\n"
        "                      ELSE date_trunc('month', first::timestamp)::date END;\n"
        f"{_late_periods('month', 31)}\n"
        f"{monthly}\n"
        f"{_key_state()}\n"
        f"{_key_ranges()}\n"
        f"{ranges_refresh()}\n"
        f"  INSERT INTO {STATE} (id, last_day, window_days, refreshed_at, started_at, late_days)\n"
        "  VALUES (true, this_day, window_days, now(), began, late)\n"
        "  ON CONFLICT (id) DO UPDATE SET last_day = EXCLUDED.last_day, window_days = EXCLUDED.window_days,\n"
        "    refreshed_at = EXCLUDED.refreshed_at, started_at = EXCLUDED.started_at, late_days = EXCLUDED.late_days;\n"
        "  RAISE NOTICE 'reporting.refresh: done in % s',\n"
        "    round(extract(epoch FROM clock_timestamp() - began)::numeric, 1);\n"
        "  RETURN QUERY SELECT first, detail;\n"
        "END;\n"
        "$fn$;"
    )


def _opening(function: str, rows: str) -> str:
    """A refresh function's signature and the variables both functions declare first."""
    return (
        f"CREATE OR REPLACE FUNCTION {SCHEMA}.{function}(window_days integer, today date DEFAULT NULL)\n"
        f"RETURNS TABLE (first_day date, {rows} bigint)\n"
        "LANGUAGE plpgsql\n"
        "SET search_path = pg_catalog, pg_temp\n"
        "AS $fn$\n"
        "DECLARE\n"
        "  this_day date := COALESCE(today, (now() AT TIME ZONE 'UTC')::date);\n"
        "  last date;\n"
        "  first date;\n"
    )


_BEGIN_CHECKED = (
    "BEGIN\n"
    "  IF window_days IS NULL OR window_days < 1 THEN\n"
    "    RAISE EXCEPTION 'window_days must be at least 1, got %', window_days;\n"
    "  END IF;\n"
)
"""The body's start: a window of less than a day is refused."""


def _late_days() -> str:
    """`late`: the days before the window holding a daily row LiteLLM updated since the last run."""
    return (
        "  -- late rows: older days LiteLLM updated since the last run began (less a margin)\n"
        "  IF first <> '-infinity' AND mark IS NOT NULL THEN\n"
        "    late := ARRAY(\n"
        f"      SELECT DISTINCT u.date::date FROM {SRC_DAILY} u\n"
        f"      WHERE u.updated_at > (mark - interval '{LATE_MARGIN}') AT TIME ZONE 'UTC'\n"
        "        AND u.date < to_char(first, 'YYYY-MM-DD'));\n"
        "  END IF;\n"
        "  RAISE NOTICE 'reporting.refresh: from % and % late day(s) %', first, cardinality(late), late;"
    )


def _late_periods(unit: str, most: int) -> str:
    """`late_<unit>s`: the periods holding a late day, before the first re-aggregated one;
    `late_<unit>_days`: all their days (index lookups on the daily tables' `day`)."""
    return (
        f"  late_{unit}s := ARRAY(SELECT DISTINCT date_trunc('{unit}', d::timestamp)::date FROM unnest(late) d\n"
        f"    WHERE date_trunc('{unit}', d::timestamp)::date < first_{unit});\n"
        f"  late_{unit}_days := ARRAY(SELECT p + i FROM unnest(late_{unit}s) p, generate_series(0, {most - 1}) i\n"
        f"    WHERE date_trunc('{unit}', (p + i)::timestamp)::date = p);"
    )


def _key_state() -> str:
    """LiteLLM's keys as of this run (every key; a handful of columns, no token)."""
    return (
        "  -- the keys as of this run, for labels and the budget list\n"
        f"  DELETE FROM {KEY_STATE};\n"
        f"  INSERT INTO {KEY_STATE} (key_id, label, key_alias, key_name, team_id, max_budget, spend,\n"
        "    budget_reset_at, expires, blocked)\n"
        f"  SELECT {key_id('k.token')}, {key_label('k')}, k.key_alias, k.key_name, k.team_id, k.max_budget, k.spend,\n"
        "    k.budget_reset_at, k.expires, k.blocked\n"
        f"  FROM {SRC_TOKENS} k;"
    )


def _key_ranges() -> str:
    """Per-label totals of `daily_key` for the standard ranges ending today (rebuilt every run)."""
    days = ", ".join(str(n) for n in STANDARD_RANGES)
    return (
        "  -- the standard ranges ending today, per key label (two-stage like the panel: key, then label)\n"
        f"  DELETE FROM {KEY_RANGES};\n"
        f"  DELETE FROM {RANGE_DAYS};\n"
        f"  INSERT INTO {RANGE_DAYS} (from_day, to_day)\n"
        f"  SELECT this_day - r.days, this_day FROM unnest(ARRAY[{days}]) AS r (days);\n"
        f"  INSERT INTO {KEY_RANGES} (from_day, to_day, key_alias, spend, requests)\n"
        f"  SELECT s.from_day, s.to_day, {key_label('k')}, sum(s.spend), sum(s.requests)::bigint\n"
        "  FROM (\n"
        "    SELECT r.from_day, r.to_day, c.key_id, sum(c.spend) AS spend, sum(c.requests) AS requests\n"
        f"    FROM {RANGE_DAYS} r\n"
        f"    JOIN {BY_KEY} c ON c.day BETWEEN r.from_day AND r.to_day\n"
        "    GROUP BY 1, 2, 3\n"
        "  ) s\n"
        f"  LEFT JOIN {KEY_STATE} k ON k.key_id = s.key_id\n"
        "  GROUP BY 1, 2, 3;"
    )


# --- the chargeback grain: its own function, run after `refresh` ------------------------------

_SUM_SOURCE = (
    "sum(u.spend), sum(u.api_requests)::bigint, sum(u.failed_requests)::bigint,\n"
    "    sum(u.prompt_tokens)::bigint, sum(u.completion_tokens)::bigint"
)


def charge_refresh_function() -> str:
    """`reporting.refresh_charge(window_days, today)`: re-aggregates `daily_charge`.

    Every day when the table is empty (the first run, or the first after the upgrade that adds
    it), else the days from `least(today, its last day) - (window_days - 1)` on (its own window),
    and the late days `refresh` found just before it in the same job (`refresh_state.late_days`):
    a late row reaches the chargeback export as it reaches the dashboards. A row's team, key alias and masked name
    are its key's in LiteLLM's key table when its day is aggregated or, for a key deleted since
    (alone, or with its team), the key's last archived row (`"LiteLLM_DeletedVerificationToken"`,
    read only then, by its token index): a deleted team's spend stays under that team.
    """
    dims = ", ".join(CHARGE_DIMS)
    return (
        f"{_opening('refresh_charge', 'charge_rows')}"
        "  late date[];\n"
        "  n bigint;\n"
        f"{_BEGIN_CHECKED}"
        f"  LOCK TABLE {DAILY_CHARGE} IN SHARE ROW EXCLUSIVE MODE;\n"
        f"  SELECT max(c.day) INTO last FROM {DAILY_CHARGE} c;\n"
        "  first := CASE WHEN last IS NULL THEN '-infinity'::date\n"
        "                ELSE least(this_day, last) - (window_days - 1) END;\n"
        "  -- the late days refresh() just found (it runs first, in the same transaction)\n"
        f"  SELECT COALESCE(s.late_days, '{{}}') INTO late FROM {STATE} s;\n"
        "  late := COALESCE(late, '{}');\n"
        f"  DELETE FROM {DAILY_CHARGE} WHERE day >= first OR day = ANY(late);\n"
        f"  INSERT INTO {DAILY_CHARGE} (day, {dims}, {MEASURE_NAMES})\n"
        f"  SELECT u.date::date, COALESCE(k.team_id, d.team_id), {key_id('u.api_key')},\n"
        "    COALESCE(k.key_alias, d.key_alias), COALESCE(k.key_name, d.key_name), u.model_group, u.model,\n"
        f"    u.custom_llm_provider, {_SUM_SOURCE}\n"
        f"  FROM {SRC_DAILY} u\n"
        f"  LEFT JOIN {SRC_TOKENS} k ON k.token = u.api_key\n"
        "  LEFT JOIN LATERAL (\n"
        f"    SELECT a.team_id, a.key_alias, a.key_name FROM {SRC_DELETED_TOKENS} a\n"
        "    WHERE k.token IS NULL AND a.token = u.api_key ORDER BY a.deleted_at DESC LIMIT 1\n"
        "  ) d ON true\n"
        "  WHERE u.date >= CASE WHEN first = '-infinity' THEN '' ELSE to_char(first, 'YYYY-MM-DD') END\n"
        "    OR u.date = ANY(ARRAY(SELECT to_char(d, 'YYYY-MM-DD') FROM unnest(late) d))\n"
        "  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;\n"
        "  GET DIAGNOSTICS n = ROW_COUNT;\n"
        "  RETURN QUERY SELECT first, n;\n"
        "END;\n"
        "$fn$;"
    )
