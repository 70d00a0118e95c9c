"""`reporting.refresh(window_days, today)`: the PL/pgSQL function that keeps the rollups current.

A run's cost follows what changed, not the history nor a window:

- **What changed.** Every daily row LiteLLM inserted or updated since the last run began (its
  `updated_at`, less `LATE_MARGIN` for clocks and batches in flight), whatever its day: a late row
  for last week counts as today's does. `source_grants.sql` gives LiteLLM's daily table a BRIN
  index on `updated_at` (`UPDATED_INDEX`: a few kilobytes, and on PostgreSQL 16+ it leaves
  LiteLLM's updates HOT), so finding them reads only the pages written since.
- **Rebuilt.** The `daily_detail` rows of those rows' (day, key, user, model) groups, with the
  other users' groups of the same (day, key, model) (their detail rows name them), and the
  `daily_charge` rows of those (day, key, model) groups: summed again from these groups' rows of
  LiteLLM's table, each group found by the leading columns of LiteLLM's unique index
  (`refresh_source`), and rewritten in place where their values changed (rebuild.py). On a new
  day, the window's days are read whole instead.
- **Moved by difference.** Every coarse, weekly and monthly rollup, `monthly_charge` and, on the
  same day as the last run, the standard ranges are updated by the rewritten rows' differences
  (delta.py; charge.py for the chargeback tables).
- **Once a day** (the first run of a UTC day) the last `window_days` days are re-aggregated
  whole, a check on the change tracking (a writer's clock off by more than the margin, a daily row
  deleted by hand), and the standard ranges move to the new day.
- **The first run** (or a new rollup table, empty after an upgrade) aggregates everything, with a
  NOTICE per stage (rows, seconds): the progress of the first apply in the job's log.

`key_state` is compared with LiteLLM's key table every run and only differing rows written.
"""

from __future__ import annotations

from components.reporting.charge import (
    CHARGE_GROUPS,
    MEASURED,
    SUM_SOURCE,
    charge_groups,
    charge_insert,
    in_charge_group,
    keep_old_rows,
    month_charge,
    team_month,
)
from components.reporting.delta import apply_delta, key_ranges_delta, ranges_delta
from components.reporting.ranges import key_ranges, key_ranges_relabelled, key_state, ranges_refresh
from components.reporting.rebuild import rebuild_in_place
from components.reporting.relations import (
    COARSE,
    DAILY_MEASURED,
    MEASURE_NAMES,
    MONTHLY,
    ROLLUPS,
    SRC_DAILY,
    SUM_MEASURES,
    WEEKLY,
    key_id,
    key_owner_join,
)
from components.reporting.working import CHANGED, SOURCE, TOUCHED, WAS_DETAIL, empty_scratch, notice
from dashboards.reporting_schema import (
    DAILY_CHARGE,
    DECLARED_KEYS,
    DETAIL,
    MONTH_CHARGE,
    MONTH_TEAM,
    SCHEMA,
    STATE,
)

LATE_MARGIN = "2 minutes"
"""How far before the last run's start `updated_at` is still read as new. LiteLLM's batch writer
sets it to the database's `NOW() AT TIME ZONE 'UTC'` (litellm/proxy/db/daily_spend_bulk_upsert.py),
its transaction's start, and gives that transaction at most 60 s (db_spend_update_writer.py): a
batch that began before the last run and committed after it is the only row the run could not
see. Twice that bound; each run re-reads the rows of this margin, so it is kept short, and the
first run of a day re-reads the window whole anyway."""

WORK_MEM = "64MB"
"""Each sort or hash of a run may use this much of the server's memory before it spills to disk
(PostgreSQL's default is 4MB): the first run's and a new day's groups sort in memory."""

UPDATED_INDEX = '"LiteLLM_DailyUserSpend_reporting_updated_at_idx"'
"""The BRIN index on LiteLLM's daily table that finds the rows updated since the last run."""

_DETAIL_DIMS = ("team_id", "key_id", "user_id", "model")


def updated_index_sql() -> str:
    """Run by the daily table's owner (the job's init container): the index, made once.

    Checked first, so a run where it exists takes no lock on LiteLLM's table; its one-time build
    holds a SHARE lock (LiteLLM's batch writes wait) for the seconds a scan of the table takes.
    """
    return (
        "DO $$ BEGIN\n"
        f"  IF to_regclass('public.{UPDATED_INDEX}') IS NULL THEN\n"
        f"    CREATE INDEX {UPDATED_INDEX} ON {SRC_DAILY} USING brin (updated_at)\n"
        "      WITH (pages_per_range = 32, autosummarize = on);\n"
        "  END IF;\n"
        "END $$;"
    )


def refresh_function() -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {SCHEMA}.refresh(window_days integer, today date DEFAULT NULL)\n"
        "RETURNS TABLE (first_day date, detail_rows bigint)\n"
        "LANGUAGE plpgsql\n"
        "SET search_path = pg_catalog, pg_temp\n"
        f"SET work_mem = '{WORK_MEM}'\n"
        # set here so that the run's own switches (_by_index) end with it, whatever the session's
        "SET enable_hashjoin = on\n"
        "SET enable_mergejoin = on\n"
        "AS $fn$\n"
        "DECLARE\n"
        "  this_day date := COALESCE(today, (now() AT TIME ZONE 'UTC')::date);\n"
        "  last date;\n"
        "  first date;\n"
        "  mark timestamptz;\n"
        "  changed_days text[];\n"
        "  began timestamptz := clock_timestamp();\n"
        "  whole boolean;\n"
        "  new_day boolean;\n"
        "  whole_charge boolean;\n"
        "  declared text;\n"
        "  was_declared text;\n"
        "  whole_month_charge boolean;\n"
        "  whole_month boolean;\n"
        "  n bigint;\n"
        "  moved bigint;\n"
        "  detail bigint := 0;\n"
        "BEGIN\n"
        "  IF window_days IS NULL OR window_days < 1 THEN\n"
        "    RAISE EXCEPTION 'window_days must be at least 1, got %', window_days;\n"
        "  END IF;\n"
        "  -- one refresh at a time; readers keep reading the previous state until COMMIT\n"
        f"  LOCK TABLE {STATE} IN SHARE ROW EXCLUSIVE MODE;\n"
        f"  SELECT s.last_day, s.started_at, s.declared_hash INTO last, mark, was_declared FROM {STATE} s;\n"
        "  -- the declared keys monthly_charge resolves aliases against (declared.sql ran just before)\n"
        "  SELECT md5(COALESCE(string_agg(key_alias || E'\\x1f' || team_id, E'\\x1e' ORDER BY key_alias), ''))\n"
        f"  INTO declared FROM {DECLARED_KEYS};\n"
        "  whole := last IS NULL OR mark IS NULL;\n"
        "  new_day := whole OR this_day <> last;\n"
        "  -- empty after an upgrade that adds them: filled with every day once\n"
        f"  whole_charge := whole OR NOT EXISTS (SELECT FROM {DAILY_CHARGE});\n"
        f"  whole_month := whole OR NOT EXISTS (SELECT FROM {MONTH_TEAM});\n"
        "  whole_month_charge := whole_charge OR declared IS DISTINCT FROM was_declared\n"
        f"    OR NOT EXISTS (SELECT FROM {MONTH_CHARGE});\n"
        f"{empty_scratch()}\n"
        f"{_whole_run()}\n"
        "  IF NOT whole THEN\n"
        f"{_changed()}\n"
        f"{_detail_groups()}\n"
        f"{charge_groups()}\n"
        f"{_regroup_all()}\n"
        "  END IF;\n"
        f"{month_charge()}\n"
        f"{team_month()}\n"
        f"{key_state()}\n"
        "  IF new_day THEN\n"
        "    -- the standard ranges now end on this day: all of them again\n"
        f"{key_ranges()}\n"
        f"{ranges_refresh()}\n"
        "  ELSE\n"
        f"{key_ranges_delta()}\n"
        f"{key_ranges_relabelled()}\n"
        f"{ranges_delta()}\n"
        "  END IF;\n"
        f"  INSERT INTO {STATE} (id, last_day, window_days, refreshed_at, started_at, declared_hash)\n"
        "  VALUES (true, this_day, window_days, now(), began, declared)\n"
        "  ON CONFLICT (id) DO UPDATE SET last_day = EXCLUDED.last_day, window_days = EXCLUDED.window_days,\n"
        "    refreshed_at = EXCLUDED.refreshed_at, started_at = EXCLUDED.started_at,\n"
        "    declared_hash = EXCLUDED.declared_hash;\n"
        f"{empty_scratch()}\n"
        "  RAISE NOTICE 'reporting.refresh: done in % s',\n"
        "    round(extract(epoch FROM clock_timestamp() - began)::numeric, 1);\n"
        "  RETURN QUERY SELECT first, detail;\n"
        "END;\n"
        "$fn$;"
    )


# --- the first run: every day ---------------------------------------------------------------


def _whole_run() -> str:
    """Everything from LiteLLM's daily table (the first run; the chargeback or monthly table alone
    when only it is new)."""
    coarse = "\n".join(
        f"    INSERT INTO {name} (day, {', '.join(dims)}, {MEASURE_NAMES})\n"
        f"    SELECT day, {', '.join(dims)}, {SUM_MEASURES} FROM {DETAIL} GROUP BY day, {', '.join(dims)};\n"
        f"  {notice(name)}"
        for name, dims in COARSE
    )
    periodic = "\n".join(
        f"    DELETE FROM {name};\n"
        f"    INSERT INTO {name} ({unit}, {', '.join(dims)}, {MEASURE_NAMES})\n"
        f"    SELECT date_trunc('{unit}', day::timestamp)::date, {', '.join(dims)}, {SUM_MEASURES}\n"
        f"    FROM {daily} GROUP BY 1, {', '.join(dims)};\n"
        f"  {notice(name)}"
        for name, daily, dims, unit in _PERIODIC
        if name != MONTH_TEAM
    )
    deletes = "\n".join(f"    DELETE FROM {name};" for name in ROLLUPS)
    return (
        "  IF whole THEN\n"
        "    first := '-infinity';\n"
        f"{deletes}\n"
        f"    INSERT INTO {DETAIL} (day, {', '.join(_DETAIL_DIMS)}, {MEASURE_NAMES})\n"
        f"    SELECT u.date::date, COALESCE(k.team_id, d.team_id), {key_id('u.api_key')}, u.user_id, u.model,\n"
        f"    {SUM_SOURCE}\n"
        f"    FROM {SRC_DAILY} u\n"
        f"{key_owner_join('u.api_key')}"
        f"    WHERE {MEASURED}\n"
        "    GROUP BY 1, 2, 3, 4, 5;\n"
        f"  {notice(DETAIL)}\n"
        "    detail := n;\n"
        f"{coarse}\n"
        f"{periodic}\n"
        "  END IF;\n"
        "  IF whole_month THEN\n"
        f"    DELETE FROM {MONTH_TEAM};\n"
        f"    INSERT INTO {MONTH_TEAM} (month, team_id, {MEASURE_NAMES})\n"
        f"    SELECT date_trunc('month', day::timestamp)::date, team_id, {SUM_MEASURES}\n"
        f"    FROM {_MONTH_SOURCE} GROUP BY 1, 2;\n"
        f"  {notice(MONTH_TEAM)}\n"
        "  END IF;\n"
        "  IF whole_charge THEN\n"
        f"    DELETE FROM {DAILY_CHARGE};\n"
        f"{charge_insert('')}\n"
        f"  {notice(DAILY_CHARGE)}\n"
        "  END IF;"
    )


# --- later runs: the groups that changed ------------------------------------------------------


_GROUP = ("date", "api_key", "user_id", "model")
"""LiteLLM's columns that make a `daily_detail` row (with the key's team): a changed group."""
_SAME = "u.user_id IS NOT DISTINCT FROM c.user_id AND u.model IS NOT DISTINCT FROM c.model"
_SOURCE_COLUMNS = ", ".join(f"u.{c}" for c in DAILY_MEASURED)
_UNIQUE_PROBE = "u.user_id = c.user_id AND u.date = c.date AND u.api_key = c.api_key AND u.model = c.model"
"""A changed group's rows by the leading columns of LiteLLM's unique index (user, date, key, model,
provider, tool, endpoint): a few rows each, whatever the table's size or its statistics."""


def _changed() -> str:
    """`refresh_changed`: the detail groups (day, key, user, model) of the daily rows updated since the
    last run began, with every other user's group of their (day, key, model) charge groups (both
    grains rebuild from the same rows); on a new day every group of the last `window_days` days too.
    Every detail row of those charge groups is copied here with its place (`refresh_was_detail`): those
    rows name the other users, on either path. `refresh_source`: the groups' rows of LiteLLM's
    table."""
    cols = ", ".join(_GROUP)
    picked = ", ".join(f"x.{c}" for c in _GROUP)
    return (
        f"    INSERT INTO {CHANGED} ({cols}, day, key_id)\n"
        f"    SELECT {picked}, x.date::date, {key_id('x.api_key')} FROM (\n"
        f"      SELECT DISTINCT {cols} FROM {SRC_DAILY} u\n"
        f"      WHERE u.updated_at > (mark - interval '{LATE_MARGIN}') AT TIME ZONE 'UTC'\n"
        "    ) x;\n"
        "    IF new_day THEN\n"
        "      -- once a day: the window again, whole (a check on the change tracking)\n"
        "      first := least(this_day, last) - (window_days - 1);\n"
        f"      INSERT INTO {CHANGED} ({cols}, day, key_id)\n"
        f"      SELECT {picked}, x.date::date, {key_id('x.api_key')} FROM (\n"
        f"        SELECT DISTINCT {cols} FROM {SRC_DAILY} u WHERE u.date >= to_char(first, 'YYYY-MM-DD')\n"
        f"        EXCEPT SELECT {cols} FROM {CHANGED}\n"
        "      ) x;\n"
        "      -- and the window's detail groups whose rows are all gone (deleted by hand): rebuilt from none\n"
        f"      INSERT INTO {CHANGED} ({cols}, day, key_id)\n"
        "      SELECT to_char(x.day, 'YYYY-MM-DD'), NULL, x.user_id, x.model, x.day, x.key_id FROM (\n"
        f"        SELECT day, key_id, user_id, model FROM {DETAIL} WHERE day >= first\n"
        f"        EXCEPT SELECT day, key_id, user_id, model FROM {CHANGED}\n"
        "      ) x;\n"
        "    END IF;\n"
        f"    ANALYZE {CHANGED};\n"
        "    -- every detail row of the changed (day, key, model) groups, whoever the user, with its place:\n"
        "    -- rewritten below where it changed\n"
        f"{keep_old_rows(DETAIL, WAS_DETAIL, _DETAIL_DIMS)}\n"
        "    -- their other users, named by those rows (on a new day those of a late row before the\n"
        "    -- window: the window's groups are all there)\n"
        f"    INSERT INTO {CHANGED} ({cols}, day, key_id)\n"
        "    SELECT c.date, c.api_key, t.user_id, t.model, t.day, t.key_id\n"
        f"    FROM {CHARGE_GROUPS} c\n"
        f"    JOIN {WAS_DETAIL} t ON {in_charge_group('t')}\n"
        "    WHERE c.api_key IS NOT NULL AND (NOT new_day OR (c.day < first AND t.day < first)) AND NOT EXISTS (\n"
        f"      SELECT FROM {CHANGED} x WHERE x.day = t.day AND x.key_id = t.key_id\n"
        "        AND x.user_id IS NOT DISTINCT FROM t.user_id AND x.model IS NOT DISTINCT FROM t.model);\n"
        f"    ANALYZE {CHANGED};\n"
        "    IF new_day THEN\n"
        "      changed_days := ARRAY(SELECT DISTINCT date FROM " + CHANGED + ");\n"
        "      -- whole days: read once (the date index), kept for the changed keys (a hash join)\n"
        "      WITH day_rows AS MATERIALIZED (\n"
        f"        SELECT {_SOURCE_COLUMNS} FROM {SRC_DAILY} u WHERE u.date = ANY(changed_days)\n"
        f"      ) INSERT INTO {SOURCE} SELECT r.* FROM day_rows r\n"
        f"        WHERE (r.date, r.api_key) IN (SELECT date, api_key FROM {CHANGED});\n"
        "    ELSE\n"
        "      -- each group's rows by LiteLLM's unique index (OFFSET 0: probed per group, never a scan of\n"
        "      -- the table); a NULL user or model by the key's index\n"
        f"      INSERT INTO {SOURCE} SELECT r.* FROM {CHANGED} c CROSS JOIN LATERAL (\n"
        f"        SELECT {_SOURCE_COLUMNS} FROM {SRC_DAILY} u WHERE {_UNIQUE_PROBE} OFFSET 0\n"
        "      ) r WHERE c.user_id IS NOT NULL AND c.model IS NOT NULL;\n"
        f"      INSERT INTO {SOURCE} SELECT r.* FROM {CHANGED} c CROSS JOIN LATERAL (\n"
        f"        SELECT {_SOURCE_COLUMNS} FROM {SRC_DAILY} u WHERE u.api_key = c.api_key AND u.date = c.date\n"
        f"        AND {_SAME} OFFSET 0\n"
        "      ) r WHERE c.user_id IS NULL OR c.model IS NULL;\n"
        "    END IF;\n"
        f"    ANALYZE {SOURCE};\n"
        f"    first := least(first, (SELECT min(day) FROM {CHANGED}));\n"
        f"    SELECT count(*) INTO n FROM {CHANGED};\n"
        "    RAISE NOTICE 'reporting.refresh: % detail group(s) changed, from %', n, first;"
    )


def _detail_groups() -> str:
    """The changed groups' detail rows summed again and rewritten in place where they changed
    (rebuild.py); their differences land in `refresh_touched`."""
    fresh = (
        "      SELECT c.day, COALESCE(k.team_id, d.team_id), c.key_id, c.user_id, c.model,\n"
        f"      {SUM_SOURCE}\n"
        f"      FROM {CHANGED} c\n"
        f"      JOIN {SOURCE} u ON u.date = c.date AND u.api_key = c.api_key AND {_SAME}\n"
        f"{key_owner_join('c.api_key')}"
        f"      WHERE {MEASURED}\n"
        "      GROUP BY 1, 2, 3, 4, 5"
    )
    return (
        f"{rebuild_in_place(DETAIL, _DETAIL_DIMS, WAS_DETAIL, fresh, TOUCHED, ('day', *_DETAIL_DIMS))}\n"
        f"  {notice(DETAIL, rows='n')}\n"
        "    detail := n;\n"
        f"    ANALYZE {TOUCHED};"
    )


_MONTH_SOURCE = MONTHLY[0][1]
_PERIODIC = (
    *((name, daily, dims, "week") for name, daily, dims in WEEKLY),
    *((name, daily, dims, "month") for name, daily, dims in MONTHLY),
)
"""(table, the daily table it sums, its dimensions, its period)."""


def _by_index(on: bool) -> str:
    """Joins by index only (`on`, except on a new day), or as the planner likes. A run's differences
    touch a few thousand groups of tables of hundreds of thousands of rows; the planner, seeing a few
    thousand rows, prefers hashing the whole rollup (a scan of it per statement) to probing its index
    per group. A new day's differences span the window: there hashing is right."""
    value, indent = ("off", "      ") if on else ("on", "    ")
    joins = ("hashjoin", "mergejoin")
    switches = "\n".join(f"{indent}PERFORM set_config('enable_{j}', '{value}', true);" for j in joins)
    return f"    IF NOT new_day THEN\n{switches}\n    END IF;" if on else switches


def _regroup_all() -> str:
    """Every coarse rollup and its weekly and monthly twins, moved by the detail rows' differences
    (monthly_team too when whole_month just filled it: from daily_team as it was before this run)."""
    daily = "\n".join(apply_delta(name, "day", dims, None) for name, dims in COARSE)
    periodic = "\n".join(apply_delta(name, unit, dims, unit) for name, _src, dims, unit in _PERIODIC)
    return f"{_by_index(True)}\n{daily}\n{periodic}\n{_by_index(False)}"
