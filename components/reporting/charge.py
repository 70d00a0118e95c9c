"""The chargeback grain of a refresh: `daily_charge` (per day, key, model group, model and provider),
`monthly_charge` (per month, team and declared key alias) and `chargeback_team_month` (the chargeback
table's rows), each kept by the run that refresh.py describes.
"""

from __future__ import annotations

from components.reporting.delta import apply_delta
from components.reporting.rebuild import rebuild_in_place
from components.reporting.relations import (
    CHARGE_DIMS,
    MEASURE_NAMES,
    SRC_DAILY,
    SUM_MEASURES,
    key_id,
    key_owner_join,
)
from components.reporting.working import CHANGED, CHARGED, SOURCE, WAS_CHARGE, notice
from dashboards.declared import TEAM_MONTH_COLUMNS, UNDECLARED, declared_key_join, team_month_totals
from dashboards.reporting_schema import CHARGE_TEAM_MONTH, DAILY_CHARGE, MEASURES, MONTH_CHARGE

SUM_SOURCE = (
    "sum(u.spend), sum(u.api_requests)::bigint, sum(u.failed_requests)::bigint,\n"
    "    sum(u.prompt_tokens)::bigint, sum(u.completion_tokens)::bigint"
)
"""The measures summed from LiteLLM's daily rows (alias `u`)."""
MEASURED = (
    "(u.spend <> 0 OR u.api_requests <> 0 OR u.failed_requests <> 0 OR u.prompt_tokens <> 0"
    " OR u.completion_tokens <> 0)"
)
"""A daily row (alias `u`) that measures something. One of zeros (LiteLLM counts an internal
sub-call as no request: a failed one writes zeros) makes no reporting row on any path, as a run
moving the tables by differences could not (a difference of zeros is none)."""


CHARGE_GROUPS = f"(SELECT DISTINCT date, day, api_key, key_id, model FROM {CHANGED})"
"""`daily_charge` sums over users: its changed groups are (day, key, model)."""
CHARGE_ROWS = f"(SELECT DISTINCT day, key_id, model FROM {CHANGED})"
"""The changed charge groups as the reporting tables name them: each once (a new day's group whose
LiteLLM rows are all gone is in `refresh_changed` without its key's hash, beside its live users)."""


def in_charge_group(row: str) -> str:
    """`row` (an alias with day, key_id and model) belongs to the charge group `c`; a NULL model is a
    group of its own."""
    return f"{row}.day = c.day AND {row}.key_id = c.key_id AND {row}.model IS NOT DISTINCT FROM c.model"


def keep_old_rows(table: str, was: str, dims: tuple[str, ...]) -> str:
    """Every row of `table` (day, `dims`, the measures) in a changed charge group, with its place, into
    `was`: what rebuild.py rewrites them against."""
    kept = ", ".join(f"d.{c}" for c in ("ctid", "day", *dims, *MEASURES))
    return (
        f"    INSERT INTO {was}\n"
        f"    SELECT {kept} FROM {table} d JOIN {CHARGE_ROWS} c ON {in_charge_group('d')};\n"
        f"    ANALYZE {was};"
    )


def charge_groups() -> str:
    """The changed (day, key, model) groups of daily_charge summed again and rewritten in place where
    they changed (rebuild.py); their differences land in `refresh_charged`."""
    rebuilt = rebuild_in_place(
        DAILY_CHARGE, CHARGE_DIMS, WAS_CHARGE, _charge_select(CHARGE_GROUPS), CHARGED, ("day", "team_id", "key_alias")
    )
    return (
        "    IF NOT whole_charge THEN\n"
        f"{keep_old_rows(DAILY_CHARGE, WAS_CHARGE, CHARGE_DIMS)}\n"
        f"{rebuilt}\n"
        f"    {notice(DAILY_CHARGE, rows='n')}\n"
        "    END IF;"
    )


def month_charge() -> str:
    """monthly_charge: summed from daily_charge when it is new, daily_charge was, or the declared keys
    changed (every row's resolution may have); else moved by this run's daily_charge differences."""
    declared = declared_key_join("c")
    charged = (
        f"(SELECT c.day, c.team_id, dk.key_alias, {', '.join(f'c.{m}' for m in MEASURES)} FROM {CHARGED} c {declared})"
    )
    return (
        "  IF whole_month_charge THEN\n"
        f"    DELETE FROM {MONTH_CHARGE};\n"
        f"    INSERT INTO {MONTH_CHARGE} (month, team_id, key_alias, {MEASURE_NAMES})\n"
        f"    SELECT date_trunc('month', c.day::timestamp)::date, c.team_id, dk.key_alias, {SUM_MEASURES}\n"
        f"    FROM {DAILY_CHARGE} c {declared}\n"
        "    GROUP BY 1, 2, 3;\n"
        f"  {notice(MONTH_CHARGE)}\n"
        "  ELSE\n"
        f"{apply_delta(MONTH_CHARGE, 'month', ('team_id', 'key_alias'), 'month', charged)}\n"
        "  END IF;"
    )


def charge_insert(groups: str) -> str:
    """`daily_charge`'s rows from LiteLLM's, for every day or only `groups`' (day, key) groups."""
    columns = f"day, {', '.join(CHARGE_DIMS)}, {MEASURE_NAMES}"
    return f"      INSERT INTO {DAILY_CHARGE} ({columns})\n{_charge_select(groups)};"


def _charge_select(groups: str) -> str:
    """`daily_charge`'s rows (day, its dimensions, the measures) from LiteLLM's, for every day or only
    `groups`' (day, key) groups.

    A row's team, key alias and masked name are its key's in LiteLLM's key table when its day is
    aggregated or, for a key deleted since (alone, or with its team), the key's last archived row
    (`"LiteLLM_DeletedVerificationToken"`, read only then, by its token index): a deleted team's
    spend stays under that team.
    """
    join = (
        f"      JOIN {groups} c ON u.date = c.date AND u.api_key = c.api_key AND u.model IS NOT DISTINCT FROM c.model\n"
        if groups
        else ""
    )
    return (
        f"      SELECT u.date::date, COALESCE(k.team_id, d.team_id), {key_id('u.api_key')},\n"
        "        COALESCE(k.key_alias, d.key_alias), COALESCE(k.key_name, d.key_name), u.model_group, u.model,\n"
        f"        u.custom_llm_provider, {SUM_SOURCE}\n"
        f"      FROM {SOURCE if groups else SRC_DAILY} u\n"
        f"{join}"
        f"{key_owner_join('u.api_key')}"
        f"      WHERE {MEASURED}\n"
        "      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"
    )


_TEAM_MONTH_TYPES = {"month": "date NOT NULL", "spend": "double precision", "undeclared_keys_spend": "double precision"}
_COUNTS = ("requests", "prompt_tokens", "completion_tokens")


def team_month_order(alias: str) -> str:
    """The chargeback table's order within a month: declared cost centres first, then by spend."""
    return f"{alias}.cost_centre = '{UNDECLARED}', {alias}.cost_centre, {alias}.spend DESC, {alias}.team"


def team_month_ddl() -> str:
    """The chargeback table's rows (dashboards/declared.py `TEAM_MONTH_COLUMNS`) and each row's place
    in its month (`position`), so the panel sorts integers, not names (10,000 rows at 5,000 teams)."""
    columns = ",\n".join(
        f"  {c} {_TEAM_MONTH_TYPES.get(c, 'bigint' if c in _COUNTS else 'text')}" for c in TEAM_MONTH_COLUMNS
    )
    return (
        f"CREATE TABLE IF NOT EXISTS {CHARGE_TEAM_MONTH} (\n{columns},\n  position integer NOT NULL\n);\n"
        f"CREATE INDEX IF NOT EXISTS chargeback_team_month_position ON {CHARGE_TEAM_MONTH} (month, position);"
    )


def team_month() -> str:
    """chargeback_team_month: the months this run's chargeback differences touched, attributed again;
    every month on the first run of a day (a team renamed in LiteLLM) or when monthly_charge was
    summed whole."""
    touched = f"c.month IN (SELECT DISTINCT date_trunc('month', day::timestamp)::date FROM {CHARGED})"
    columns = ", ".join(TEAM_MONTH_COLUMNS)

    def insert(where: str) -> str:
        return (
            f"    INSERT INTO {CHARGE_TEAM_MONTH} ({columns}, position)\n"
            f"    SELECT t.*, row_number() OVER (PARTITION BY t.month ORDER BY {team_month_order('t')})\n"
            f"    FROM (\n{team_month_totals(where)}\n    ) t;\n"
        )

    return (
        "  IF whole_month_charge OR new_day THEN\n"
        f"    DELETE FROM {CHARGE_TEAM_MONTH};\n"
        f"{insert('true')}"
        "  ELSE\n"
        f"    DELETE FROM {CHARGE_TEAM_MONTH} c WHERE {touched};\n"
        f"{insert(touched)}"
        "  END IF;\n"
        f"{notice(CHARGE_TEAM_MONTH)}"
    )
