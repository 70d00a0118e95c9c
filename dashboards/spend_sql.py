"""The spend queries' vocabulary: what a query is, and the SQL pieces every query is made of.

`Variable`, `PanelQuery` and `DashboardQueries` are what dashboards/spend_queries.py
writes and the spend panels, the tests and the benchmark read. The pieces below turn
Grafana's time range and template variables into SQL on the reporting schema
(dashboards/reporting_schema.py):

- Ranges are widened to whole UTC days (`day` is a date): the spend panels answer at
  day resolution (`in_days`). A 30-day range reads its full ISO weeks from the weekly
  twins (`in_full_weeks`) and only the edge days from the daily table
  (`in_edge_days`); the chargeback widens to whole calendar months (`in_months`).
- `rollup_rows` makes each spend panel a UNION ALL of two branches. With the selection
  "All" where the coarse rollup has no column for a filter, a coarse rollup (a few rows
  per day) answers; otherwise `daily_detail`, narrowed by its (team|key|model, day)
  indexes. The guards (`'__all__' IN ($var)`) are constants after Grafana's
  interpolation, so PostgreSQL folds them and plans only one branch.

Variables (Grafana PostgreSQL interpolation): a multi-value or include-All variable
is rendered as a comma-separated list of quoted literals, so filters read
`IN ($var)`; "All" renders the custom all value `'__all__'` (not quoted by Grafana,
hence the quotes in it), and each filter starts with `'__all__' IN ($var) OR`, which
PostgreSQL folds to TRUE, so "All" costs nothing and also keeps rows without a key
alias or team (`all_or`, `filter_on`). The team view's `team` is single-valued
without All: Grafana then doubles quotes and leaves the value bare, so queries write
`'${team}'`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dashboards import reporting_schema as rs
from dashboards.postgres_query import Format

ALL_VALUE = "'__all__'"
FILTERS = ("team", "key_alias", "model")
"""The spend overview's variables, each a filter on every panel."""


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    sql: str
    multi: bool
    include_all: bool
    refresh_on_time_range: bool = False

    @property
    def all_value(self) -> str | None:
        return ALL_VALUE if self.include_all else None


@dataclass(frozen=True)
class PanelQuery:
    key: str
    title: str
    sql: str
    format: Format
    time_bounded: bool = True
    """False only for a panel that shows current state (a budget gauge)."""
    description: str = ""
    """Shown on the panel (its info tooltip), e.g. why a list is cut at its top N."""

    @property
    def reads_spend_logs(self) -> bool:
        return rs.FAILURES in self.sql

    @property
    def relations(self) -> frozenset[str]:
        """Every relation the query reads (FROM / JOIN targets)."""
        return frozenset(re.findall(r"\b(?:FROM|JOIN)\s+([\w.]+|\"[^\"]+\")", self.sql))


@dataclass(frozen=True)
class DashboardQueries:
    variables: tuple[Variable, ...]
    panels: tuple[PanelQuery, ...]

    def panel(self, key: str) -> PanelQuery:
        for query in self.panels:
            if query.key == key:
                return query
        raise KeyError(key)


FROM_DAY = "($__timeFrom()::timestamptz AT TIME ZONE 'UTC')::date"
TO_DAY = "($__timeTo()::timestamptz AT TIME ZONE 'UTC')::date"
_FIRST_WEEK = f"date_trunc('week', ({FROM_DAY} + 6)::timestamp)::date"
"""The first Monday on or after the range's first day."""
_END_WEEKS = f"date_trunc('week', ({TO_DAY} + 1)::timestamp)::date"
"""The Monday after the range's last full week (days from here on are the tail)."""


def in_days(alias: str) -> str:
    """The range widened to whole UTC days, on the rollups' indexed `day` (date)."""
    return f"{alias}.day BETWEEN {FROM_DAY} AND {TO_DAY}"


def in_edge_days(alias: str) -> str:
    """The range's days outside its full ISO weeks (two index ranges; all days when no full week).

    The computed bounds are scalar subqueries: evaluated once (InitPlans), never per row.
    """
    return (
        f"(({alias}.day >= {FROM_DAY} AND {alias}.day < (SELECT LEAST({_FIRST_WEEK}, {TO_DAY} + 1)))\n"
        f"      OR ({alias}.day >= (SELECT GREATEST({_END_WEEKS}, {FROM_DAY})) AND {alias}.day <= {TO_DAY}))"
    )


def in_full_weeks(alias: str) -> str:
    return f"{alias}.week >= (SELECT {_FIRST_WEEK}) AND {alias}.week < (SELECT {_END_WEEKS})"


def is_all(var: str) -> str:
    return f"{ALL_VALUE} IN (${var})"


def all_or(var: str, condition: str) -> str:
    return f"({is_all(var)} OR {condition})"


def filter_on(var: str, alias: str) -> str:
    """One variable's filter on a rollup row."""
    if var == "team":
        return all_or("team", f"{alias}.team_id IN ($team)")
    if var == "key_alias":
        return all_or("key_alias", f"{alias}.key_id IN (SELECT key_id FROM {rs.KEYS} WHERE key_alias IN ($key_alias))")
    return all_or("model", f"{alias}.model IN ($model)")


_AND = "\n    AND "


def rollup_rows(columns: str, coarse: str, handles: tuple[str, ...], extra: str = "", weekly: str | None = None) -> str:
    """Rollup rows in range under the overview's filters, from the cheapest table that can answer.

    `coarse` can apply the filters in `handles`; the others must be "All" for it to answer,
    otherwise `daily_detail` does. Exactly one of the two survives constant folding. With
    `weekly` (the coarse table's per-week twin), the coarse answer reads the range's full
    weeks there and only the edge days from `coarse`.
    """
    unhandled = [v for v in FILTERS if v not in handles]
    coarse_where = [
        in_edge_days("c") if weekly else in_days("c"),
        *(filter_on(v, "c") for v in handles),
        *(is_all(v) for v in unhandled),
    ]
    weekly_branch = ""
    if weekly is not None:
        week_where = [in_full_weeks("w"), *(filter_on(v, "w") for v in handles), *(is_all(v) for v in unhandled)]
        weekly_branch = (
            f"  UNION ALL\n  SELECT {columns.format(a='w')} FROM {weekly} w\n  WHERE {_AND.join(week_where)}\n"
        )
    detail_where = [
        in_days("d"),
        *(filter_on(v, "d") for v in FILTERS),
        "NOT (" + " AND ".join(is_all(v) for v in unhandled) + ")" if unhandled else "false",
    ]
    if extra:
        coarse_where.append(extra.format(a="c"))
        detail_where.append(extra.format(a="d"))
    return (
        f"  SELECT {columns.format(a='c')} FROM {coarse} c\n  WHERE {_AND.join(coarse_where)}\n"
        f"{weekly_branch}"
        f"  UNION ALL\n"
        f"  SELECT {columns.format(a='d')} FROM {rs.DETAIL} d\n  WHERE {_AND.join(detail_where)}"
    )


def in_months(alias: str, column: str = "day") -> str:
    """The range widened to whole calendar months (UTC), on a rollup's `column` (a day, or a month's first)."""
    return (
        f"{alias}.{column} >= date_trunc('month', $__timeFrom()::timestamptz AT TIME ZONE 'UTC')::date"
        f" AND {alias}.{column} < (date_trunc('month', $__timeTo()::timestamptz AT TIME ZONE 'UTC')"
        " + interval '1 month')::date"
    )
