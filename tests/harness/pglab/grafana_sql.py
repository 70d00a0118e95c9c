"""What Grafana does to a PostgreSQL panel query before PostgreSQL sees it.

Two steps, in Grafana's order:

1. Template variables (frontend, `SqlDatasource.interpolateVariable` +
   `TemplateSrv`): `$name` / `${name}` are replaced. "All" with a custom all value
   inserts that value unformatted; a multi-value or include-All variable becomes
   quoted literals (`'` doubled) joined by `,`; a plain single-value variable is
   inserted bare with `'` doubled.
2. Macros (backend, pkg/tsdb/grafana-postgresql-datasource/macros.go): every
   `$__name(args)` matched by `\\$([_a-zA-Z0-9]+)\\(([^\\)]*)\\)`, args split on `,`
   and trimmed; times in UTC RFC3339Nano; `$__timeGroup` followed directly by `,`
   becomes `$__timeGroupAlias`; an unknown macro is an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from dashboards.spend_queries import Variable

ALL = object()
"""Selection meaning the variable's "All" option."""

Selection = object | str | Sequence[str]

_MACRO = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")
_INTERVAL = re.compile(r"^([0-9]+)(ms|s|m|h|d|w|y)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("time range bounds must be timezone-aware")


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _variable_value(variable: Variable, selection: Selection) -> str:
    if selection is ALL:
        if not variable.include_all or variable.all_value is None:
            raise ValueError(f"variable {variable.name} has no All option with a custom value")
        return variable.all_value
    if isinstance(selection, str):
        if variable.multi or variable.include_all:
            return quote_literal(selection)
        return selection.replace("'", "''")
    values = list(selection)  # type: ignore[call-overload]
    if not variable.multi:
        raise ValueError(f"variable {variable.name} is single-valued, got {values!r}")
    if not values:
        raise ValueError(f"variable {variable.name}: empty selection")
    return ",".join(quote_literal(str(v)) for v in values)


def interpolate_variables(sql: str, variables: Sequence[Variable], selection: Mapping[str, Selection]) -> str:
    for variable in sorted(variables, key=lambda v: -len(v.name)):
        if variable.name not in selection:
            if re.search(rf"\$(\{{{variable.name}\}}|{variable.name}\b)", sql):
                raise KeyError(f"no selection for variable {variable.name}")
            continue
        value = _variable_value(variable, selection[variable.name])
        sql = sql.replace("${" + variable.name + "}", value)
        sql = re.sub(rf"\${variable.name}\b", lambda _m, v=value: v, sql)  # type: ignore[misc]
    if leftover := re.search(r"\$\{?[a-zA-Z][a-zA-Z0-9_]*", sql):
        raise ValueError(f"uninterpolated variable {leftover.group(0)!r}")
    return sql


def rfc3339nano(moment: datetime) -> str:
    """Go's time.RFC3339Nano of a UTC time: fraction without trailing zeros, `Z`."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def _seconds(interval: str) -> str:
    match = _INTERVAL.match(interval.strip("'"))
    if not match:
        raise ValueError(f"error parsing interval {interval}")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return f"{seconds:g}"


def expand_macros(sql: str, time_range: TimeRange) -> str:
    start, end = rfc3339nano(time_range.start), rfc3339nano(time_range.end)

    def evaluate(name: str, args: list[str]) -> str:
        if name == "__time":
            return f'{args[0]} AS "time"'
        if name == "__timeEpoch":
            return f'extract(epoch from {args[0]}) as "time"'
        if name == "__timeFilter":
            return f"{args[0]} BETWEEN '{start}' AND '{end}'"
        if name == "__timeFrom":
            return f"'{start}'"
        if name == "__timeTo":
            return f"'{end}'"
        if name in ("__timeGroup", "__timeGroupAlias"):
            if len(args) < 2:
                raise ValueError(f"macro {name} needs time column and interval")
            seconds = _seconds(args[1])
            group = f"floor(extract(epoch from {args[0]})/{seconds})*{seconds}"
            return group + ' AS "time"' if name == "__timeGroupAlias" else group
        if name == "__unixEpochFilter":
            lo, hi = int(time_range.start.timestamp()), int(time_range.end.timestamp())
            return f"{args[0]} >= {lo} AND {args[0]} <= {hi}"
        raise ValueError(f"unknown macro {name!r}")

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "__timeGroup":
            after = match.end()
            if after < len(sql) and sql[after] == ",":
                name = "__timeGroupAlias"
        args = [arg.strip(" ") for arg in match.group(2).split(",")]
        return evaluate(name, args)

    return _MACRO.sub(replace, sql)


def render(sql: str, variables: Sequence[Variable], selection: Mapping[str, Selection], time_range: TimeRange) -> str:
    """The SQL text Grafana sends to PostgreSQL for this selection and time range."""
    return expand_macros(interpolate_variables(sql, variables, selection), time_range)
