"""The Grafana PostgreSQL dataquery that grafana-foundation-sdk does not ship.

A raw-SQL target of the built-in `grafana-postgresql-datasource`: `rawSql`,
`format` (`time_series` or `table`), `rawQuery: true`, `editorMode: "code"`
(the SQL is code, never the visual builder's model). `Dataquery` plugs into
the SDK's panel builders (`.with_target(...)`) like the SDK's own queries.
"""

from __future__ import annotations

import enum
import typing

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard

DATASOURCE_TYPE = "grafana-postgresql-datasource"
"""Grafana's built-in PostgreSQL datasource plugin id (alias `postgres`)."""


class Format(enum.StrEnum):
    TIME_SERIES = "time_series"
    TABLE = "table"


class PostgresDataquery(cogvariants.Dataquery):
    """The query model Grafana's PostgreSQL datasource reads."""

    def __init__(
        self,
        raw_sql: str = "",
        format_val: Format = Format.TABLE,
        ref_id: str = "",
        datasource: dashboard.DataSourceRef | None = None,
        hide: bool | None = None,
    ) -> None:
        self.raw_sql = raw_sql
        self.format_val = format_val
        self.ref_id = ref_id
        self.datasource = datasource
        self.hide = hide

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "refId": self.ref_id,
            "rawSql": self.raw_sql,
            "format": self.format_val.value,
            "rawQuery": True,
            "editorMode": "code",
        }
        if self.datasource is not None:
            payload["datasource"] = self.datasource
        if self.hide is not None:
            payload["hide"] = self.hide
        return payload


class Dataquery(cogbuilder.Builder[PostgresDataquery]):
    """Builder in the SDK's style: `Dataquery().ref_id("A").raw_sql(...).format(Format.TABLE)`."""

    _internal: PostgresDataquery

    def __init__(self) -> None:
        self._internal = PostgresDataquery()

    def build(self) -> PostgresDataquery:
        return self._internal

    def raw_sql(self, raw_sql: str) -> typing.Self:
        self._internal.raw_sql = raw_sql
        return self

    def format(self, format_val: Format) -> typing.Self:
        self._internal.format_val = format_val
        return self

    def ref_id(self, ref_id: str) -> typing.Self:
        self._internal.ref_id = ref_id
        return self

    def datasource(self, datasource: dashboard.DataSourceRef) -> typing.Self:
        self._internal.datasource = datasource
        return self

    def hide(self, hide: bool) -> typing.Self:
        self._internal.hide = hide
        return self
