"""How a refresh rewrites the changed groups of its two finest tables (`daily_detail`, `daily_charge`):
in place, and only the rows whose values changed.

A changed group's rows are summed again from LiteLLM's rows (`fresh`) and set beside the rows the
table held for those groups (`was`: each with its place, `ctid`, copied out by the statement that
found them). Matched on every dimension (a NULL is a value of its own, as GROUP BY matches), each
group is then:

- unchanged: not written at all (a changed charge group's other users, most rows of a new day's
  window);
- changed: updated at its place. No indexed column changes, so with the room the tables keep in
  each page (`FILLFACTOR`) PostgreSQL writes the new version beside the old one and no index entry
  (a HOT update): a deleted and re-inserted row wrote an entry in each of the table's indexes;
- new: inserted; gone (no measured row left, or its key moved team): deleted.

Each group whose values changed lands in the run's difference table (new minus old, zero for a
side that is missing): what every coarser table then moves by (delta.py, charge.py).

The places stay valid between the copy and the rewrite: the refresh is the only writer of these
tables, under its lock, and its transaction's lock on the table keeps VACUUM FULL and CLUSTER
(which move rows) out until it ends (docs/decisions.md).
"""

from __future__ import annotations

from dashboards.reporting_schema import BY_KEY, KEY_RANGES, MEASURES, USER_RANGES, WEEK_KEY

FILLFACTOR = 90
"""The share of each page the tables rewritten in place fill when rows are inserted: the rest is
room for a changed row's new version on its own page (a HOT update, no index entries)."""
SPEND_INDEXED = (BY_KEY, WEEK_KEY, KEY_RANGES, USER_RANGES)
"""Tables updated in place whose spend is in an index (the budget list's index-only lookups, the
top-N panels' order): every update of theirs writes each index again, room or not, so they keep
full pages."""


def with_room(create: str, table: str) -> str:
    """`create` (a CREATE TABLE IF NOT EXISTS of `table`, without its `;`) with `FILLFACTOR`, and the
    same for a table made before it (idempotent; such a table takes it from its next rows on)."""
    return (
        f"{create} WITH (fillfactor = {FILLFACTOR});\n"
        "DO $$ BEGIN\n"
        f"  IF NOT EXISTS (SELECT FROM pg_catalog.pg_class WHERE oid = '{table}'::regclass\n"
        f"    AND reloptions @> ARRAY['fillfactor={FILLFACTOR}']) THEN\n"
        f"    ALTER TABLE {table} SET (fillfactor = {FILLFACTOR});\n"
        "  END IF;\nEND $$;"
    )


def _sum(column: str, fresh: bool) -> str:
    cast = "" if column == "spend" else "::bigint"
    which = "" if fresh else "NOT "
    return f"sum(u.{column}) FILTER (WHERE {which}u.fresh){cast}"


def rebuild_in_place(table: str, dims: tuple[str, ...], was: str, fresh: str, into: str, noted: tuple[str, ...]) -> str:
    """One statement: `table`'s changed groups set to `fresh` (a query of `day`, `dims` and the
    measures, in that order), against `was` (the groups' rows as they were: `at`, `day`, `dims`,
    the measures). Writes each group's difference into `into` (its columns `noted` of day and dims,
    then the measures); `n` := the rows of `fresh` (the groups summed again, written or not)."""
    keys = ", ".join(("day", *dims))
    values = ", ".join(MEASURES)
    differ = f"({', '.join(f'g.{m}' for m in MEASURES)}) IS DISTINCT FROM ({', '.join(f'g.was_{m}' for m in MEASURES)})"
    both = "\n      UNION ALL\n".join(
        (
            "      SELECT true AS fresh, NULL::tid AS at, f.* FROM f",
            f"      SELECT false, w.at, {', '.join(f'w.{c}' for c in (*('day', *dims), *MEASURES))} FROM {was} w",
        )
    )
    grouped = (
        f"      SELECT {keys}, max(u.at) AS at, bool_or(u.fresh) AS kept,\n"
        f"        {', '.join(f'{_sum(m, True)} AS {m}' for m in MEASURES)},\n"
        f"        {', '.join(f'{_sum(m, False)} AS was_{m}' for m in MEASURES)}\n"
        f"      FROM (\n{both}\n      ) u\n"
        f"      GROUP BY {keys}"
    )
    parts = [
        f"f ({keys}, {values}) AS MATERIALIZED (\n{fresh}\n    )",
        f"g AS MATERIALIZED (\n{grouped}\n    )",
        f"gone AS (DELETE FROM {table} x USING g WHERE x.ctid = g.at AND NOT g.kept)",
        f"moved AS (\n      UPDATE {table} x SET ({values}) = ROW({', '.join(f'g.{m}' for m in MEASURES)})\n"
        f"      FROM g WHERE x.ctid = g.at AND g.kept AND {differ})",
        f"made AS (\n      INSERT INTO {table} ({keys}, {values})\n"
        f"      SELECT {keys}, {values} FROM g WHERE g.at IS NULL)",
        f"d AS (\n      INSERT INTO {into} ({', '.join(noted)}, {values})\n"
        f"      SELECT {', '.join(noted)}, {', '.join(f'COALESCE({m}, 0) - COALESCE(was_{m}, 0)' for m in MEASURES)}\n"
        f"      FROM g WHERE {differ})",
    ]
    ctes = ",\n    ".join(parts)
    return f"    WITH {ctes}\n    SELECT count(*) INTO n FROM f;"
