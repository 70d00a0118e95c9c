"""The refresh's cost follows what changed: a run with nothing new writes nothing, and a run after
new rows, late rows, a renamed key and spend by a key LiteLLM does not know leaves every reporting
table exactly as a run from scratch builds it, while writing only the groups those changes touch.

The referee is the function's own first-run path (every table rebuilt from LiteLLM's rows), which
the equivalence tests in tests/dashboards hold to the raw spend log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from components.reporting import sql as reporting_sql
from components.reporting.rebuild import FILLFACTOR, SPEND_INDEXED
from components.reporting.relations import MONTHLY, WEEKLY
from dashboards import reporting_schema as rs
from tests.harness.pglab import spend_seed
from tests.harness.pglab.server import LiteLLMDatabase
from tests.support.reporting_db import REPORTING_PASSWORD, create_grafana_ro, database_copy

pytestmark = pytest.mark.needs("postgresql")

DBNAME = "refresh_incremental"
READER, READER_PASSWORD = "grafana_ro", "reader-pw"
TABLES = (
    *reporting_sql.ROLLUPS,
    *(t[0] for t in (*WEEKLY, *MONTHLY)),
    rs.DAILY_CHARGE,
    rs.MONTH_CHARGE,
    rs.CHARGE_TEAM_MONTH,
    rs.KEY_STATE,
    rs.KEY_RANGES,
    rs.TEAM_RANGES,
    rs.USER_RANGES,
    rs.RANGE_DAYS,
)
MOVER = spend_seed.Key("k8-mover", "mover", None, None, 0.0)
"""A key without a team, alone on its day, that joins a team before its next request that day."""
STRANGER = spend_seed.Key("k9-master", None, None, None, 0.0)
"""A key LiteLLM's key table does not hold (the master key's spend, a key deleted long ago)."""


def _day(days_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).date().isoformat()


@pytest.fixture(scope="module")
def db(litellm_database: LiteLLMDatabase) -> Iterator[tuple[LiteLLMDatabase, str]]:
    """SMALL plus this month's rows, refreshed in full today, then every row aged past the margin."""
    server, owner = litellm_database.server, (litellm_database.owner, litellm_database.owner_password)
    with database_copy(litellm_database, DBNAME, roles=(READER, reporting_sql.REPORTING_ROLE)):
        recent = tuple(
            spend_seed.Request(_day(ago), 10, key, user, model, spend, 100, 50)
            for ago, key, user, model, spend in (
                (0, "k1-alpha", "alice", "gpt-4o", 1.5),
                (1, "k2-alpha", "bob", "gpt-4o-mini", 0.25),
                (6, "k3-beta", "", "claude-3-5-sonnet", 2.0),
                (20, "k4-zz99", "carol", "gpt-4o", 0.5),
                (25, MOVER.name, "mia", "gpt-4o", 0.75),
            )
        )
        with server.connect_as(*owner, DBNAME) as conn:
            spend_seed.seed(conn)
            spend_seed.insert_entities(conn, spend_seed.DataSet((), (MOVER,), ()))
            keys = (*spend_seed.SMALL.keys, MOVER)
            spend_seed.insert_requests(conn, spend_seed.DataSet((), keys, recent), prefix="recent")
            spend_seed.add_daily_rows(conn, "recent")
        create_grafana_ro(litellm_database, DBNAME, READER_PASSWORD)
        spend_seed.install_reporting(server, DBNAME, REPORTING_PASSWORD, READER)
        _age(litellm_database)
        yield litellm_database, DBNAME


def _age(database: LiteLLMDatabase) -> None:
    with database.server.connect_as(database.owner, database.owner_password, DBNAME) as conn:
        conn.execute("UPDATE \"LiteLLM_DailyUserSpend\" SET updated_at = updated_at - interval '1 day'")


def _refresh(database: LiteLLMDatabase, statement: str = "SELECT * FROM reporting.refresh(3)") -> dict[str, int]:
    """One run; the rows each stage wrote, from its NOTICEs ('reporting.refresh: <table> N rows')."""
    written: dict[str, int] = {}

    def notice(diag: psycopg.errors.Diagnostic) -> None:
        words = (diag.message_primary or "").split()
        if len(words) >= 4 and words[3] == "rows" and words[1].startswith(f"{rs.SCHEMA}."):
            written[words[1]] = written.get(words[1], 0) + int(words[2])

    with database.server.connect_as(reporting_sql.REPORTING_ROLE, REPORTING_PASSWORD, DBNAME) as conn:
        conn.add_notice_handler(notice)
        conn.execute(statement.encode())
    return written


CHARGE_ROWS = f"SELECT day, team_id, key_id, model_group, model, provider, spend, requests FROM {rs.DAILY_CHARGE}"
"""daily_charge without the alias and masked name, which are the key's when the row's day was last
aggregated (a full run relabels every day)."""


def _select(table: str) -> str:
    return CHARGE_ROWS if table == rs.DAILY_CHARGE else f"SELECT * FROM {table}"


def _tables(database: LiteLLMDatabase) -> dict[str, list[tuple[object, ...]]]:
    with database.server.connect_as(reporting_sql.REPORTING_ROLE, REPORTING_PASSWORD, DBNAME) as conn:
        return {
            table: sorted(
                (
                    tuple(round(v, 9) if isinstance(v, float) else v for v in row)
                    for row in conn.execute(_select(table).encode()).fetchall()
                ),
                key=repr,
            )
            for table in TABLES
        }


def test_a_run_with_nothing_new_writes_nothing(db: tuple[LiteLLMDatabase, str]) -> None:
    database, _ = db
    written = _refresh(database)
    assert written and set(written.values()) == {0}, written


def test_a_run_after_changes_equals_a_run_from_scratch_and_writes_only_what_they_touch(
    db: tuple[LiteLLMDatabase, str],
) -> None:
    database, _ = db
    owner = (database.owner, database.owner_password)
    changes = (
        spend_seed.Request(_day(0), 11, "k2-alpha", "bob", "gpt-4o", 0.75, 10, 5),  # today, a new group
        spend_seed.Request(_day(0), 12, "k1-alpha", "alice", "gpt-4o", 0.125, 10, 5),  # today, a group that grows
        spend_seed.Request(_day(45), 9, "k3-beta", "carol", "gpt-4o-mini", 4.0, 10, 5),  # late: weeks ago
        spend_seed.Request(_day(1), 9, STRANGER.name, "", "gpt-4o", 0.5, 10, 5),  # a key LiteLLM does not know
        spend_seed.Request(_day(20), 9, "k4-zz99", "carol", "gpt-4o", 0.25, 10, 5),  # no team: the NULL group grows
        spend_seed.Request(_day(25), 9, MOVER.name, "mia", "gpt-4o", 0.5, 10, 5),  # its day's no-team group empties
        # a second user of a (day, key, model) whose first user's row is not new: daily_charge sums both
        spend_seed.Request(_day(1), 9, "k2-alpha", "dave", "gpt-4o-mini", 0.5, 10, 5),
        # a NULL user_id (LiteLLM 1.108.7 stores '' for a request without a user; another writer may not)
        spend_seed.Request(_day(1), 10, "k1-alpha", "nobody", "gpt-4o", 0.375, 10, 5),
    )
    with database.server.connect_as(*owner, DBNAME) as conn:
        conn.execute(
            "UPDATE \"LiteLLM_VerificationToken\" SET team_id = 'team-b' WHERE token = %s",
            [spend_seed.token_of(MOVER.name)],
        )
        data = spend_seed.DataSet((), (*spend_seed.SMALL.keys, MOVER, STRANGER), changes)
        spend_seed.insert_requests(conn, data, prefix="changes")
        spend_seed.add_daily_rows(conn, "changes")
        conn.execute("UPDATE \"LiteLLM_DailyUserSpend\" SET user_id = NULL WHERE user_id = 'nobody'")
        conn.execute(
            "UPDATE \"LiteLLM_VerificationToken\" SET key_alias = 'alpha-production' WHERE token = %s",
            [spend_seed.token_of("k1-alpha")],
        )
        # `/key/delete`: LiteLLM archives the key, then deletes it
        conn.execute(
            'INSERT INTO "LiteLLM_DeletedVerificationToken" (id, token, key_name, key_alias, team_id, deleted_at)'
            " SELECT gen_random_uuid()::text, token, key_name, key_alias, team_id, now()"
            ' FROM "LiteLLM_VerificationToken" WHERE token = %s',
            [spend_seed.token_of("k3-beta")],
        )
        conn.execute('DELETE FROM "LiteLLM_VerificationToken" WHERE token = %s', [spend_seed.token_of("k3-beta")])
    written = _refresh(database)
    incremental = _tables(database)
    with database.server.connect_as(*owner, DBNAME) as conn:
        litellm_keys = {row[0] for row in conn.execute('SELECT md5(token) FROM "LiteLLM_VerificationToken"')}
    # the budget list and the key labels hold LiteLLM's keys, the deleted one gone
    assert {row[0] for row in incremental[rs.KEY_STATE]} == litellm_keys
    with database.server.connect_as(reporting_sql.REPORTING_ROLE, REPORTING_PASSWORD, DBNAME) as conn:
        conn.execute(f"UPDATE {rs.STATE} SET started_at = NULL".encode())  # the next run starts over
    everything = _refresh(database)
    assert incremental == _tables(database)
    # the eight changed groups hold one detail row each (three of them grew), and bob's beside dave's
    # is rebuilt too: their (day, key, model) is a changed charge group
    assert written[rs.DETAIL] == 9
    for table in (*reporting_sql.ROLLUPS, *(t[0] for t in (*WEEKLY, *MONTHLY)), rs.DAILY_CHARGE, rs.MONTH_CHARGE):
        assert written[table] < everything[table], (table, written[table], everything[table])
    assert "alpha-production" in {row[2] for row in incremental[rs.KEY_RANGES]}
    assert "alpha-prod" not in {row[2] for row in incremental[rs.KEY_RANGES]}


KEYS = (*spend_seed.SMALL.keys, MOVER, STRANGER)
DAILY = '"LiteLLM_DailyUserSpend"'


def _add(conn: psycopg.Connection[tuple[object, ...]], prefix: str, *requests: spend_seed.Request) -> None:
    """LiteLLM's raw-log rows for `requests` and its daily rows' upsert of them."""
    spend_seed.insert_requests(conn, spend_seed.DataSet((), KEYS, requests), prefix=prefix)
    spend_seed.add_daily_rows(conn, prefix)


def _as_from_scratch(database: LiteLLMDatabase, run: str = "SELECT * FROM reporting.refresh(3)") -> dict[str, int]:
    """One run, held to a run from scratch (the same `run`) table by table; the rows each stage of
    the run wrote."""
    written = _refresh(database, run)
    incremental = _tables(database)
    with database.server.connect_as(reporting_sql.REPORTING_ROLE, REPORTING_PASSWORD, DBNAME) as conn:
        conn.execute(f"UPDATE {rs.STATE} SET started_at = NULL".encode())
    _refresh(database, run)
    scratch = _tables(database)
    differ = {
        t: (
            sorted((Counter(rows) - Counter(scratch[t])).elements(), key=repr),
            sorted((Counter(scratch[t]) - Counter(rows)).elements(), key=repr),
        )
        for t, rows in incremental.items()
    }
    assert {t: d for t, d in differ.items() if d != ([], [])} == {}, "(incremental only, from scratch only)"
    return written


def test_the_other_users_of_a_changed_charge_group_without_a_model_are_read_with_it(
    db: tuple[LiteLLMDatabase, str],
) -> None:
    """A (day, key) whose rows name no model (NULL: an older LiteLLM's; '' is another group): a new
    user's row rebuilds the NULL model's charge group with its other users' rows (a NULL user among
    them), found by their detail rows, and leaves the '' group alone."""
    database, _ = db
    owner = (database.owner, database.owner_password)
    day = _day(2)
    _age(database)
    with database.server.connect_as(*owner, DBNAME) as conn:
        _add(
            conn,
            "nomodel",
            *(
                spend_seed.Request(day, 9, "k3-beta", u, "gpt-4o", s, 10, 5)
                for u, s in (("erin-nm", 0.5), ("ghost-nm", 0.25), ("gina-nm", 0.125))
            ),
        )
        conn.execute(f"UPDATE {DAILY} SET model = NULL WHERE user_id IN ('erin-nm', 'ghost-nm')")
        conn.execute(f"UPDATE {DAILY} SET user_id = NULL WHERE user_id = 'ghost-nm'")
        conn.execute(f"UPDATE {DAILY} SET model = '' WHERE user_id = 'gina-nm'")
    _refresh(database)
    _age(database)
    with database.server.connect_as(*owner, DBNAME) as conn:
        _add(conn, "nomodel-new", spend_seed.Request(day, 11, "k3-beta", "frank-nm", "gpt-4o", 1.0, 10, 5))
        conn.execute(f"UPDATE {DAILY} SET model = NULL WHERE user_id = 'frank-nm'")
    written = _as_from_scratch(database)
    # frank's group, and erin's and the ghost's beside it; not gina's ('' is a model of its own)
    assert written[rs.DETAIL] == 3


def test_a_batch_in_flight_during_a_run_is_counted_by_the_next(db: tuple[LiteLLMDatabase, str]) -> None:
    """LiteLLM's batch upsert stamps `updated_at` with its transaction's start: a batch that began
    before a run and commits after it is invisible to that run and older than its start."""
    database, _ = db
    _age(database)
    owner = (database.owner, database.owner_password)
    with database.server.connect_as(*owner, DBNAME) as writer, writer.transaction():
        _add(
            writer,
            "inflight",
            spend_seed.Request(_day(0), 13, "k1-alpha", "alice", "gpt-4o", 0.5, 10, 5),  # a group that grows
            spend_seed.Request(_day(0), 13, "k2-alpha", "hank", "gpt-4o", 0.5, 10, 5),  # a new group
        )
        assert set(_refresh(database).values()) == {0}
    written = _as_from_scratch(database)
    # alice's and hank's groups, and bob's beside hank's (the same day, key and model)
    assert written[rs.DETAIL] == 3


def test_the_runs_planner_switches_end_with_it(db: tuple[LiteLLMDatabase, str]) -> None:
    """The job runs the schema and the refresh in one transaction (psql --single-transaction): the
    joins a run of the same day switches off are the caller's again when it returns."""
    database, _ = db
    reporting = (reporting_sql.REPORTING_ROLE, REPORTING_PASSWORD)
    with database.server.connect_as(*reporting, DBNAME) as conn, conn.transaction():
        conn.execute("SET LOCAL enable_hashjoin = off")
        conn.execute("SET LOCAL work_mem = '5MB'")
        conn.execute("SELECT * FROM reporting.refresh(3)")
        after = conn.execute(
            "SELECT current_setting('enable_hashjoin'), current_setting('enable_mergejoin'),"
            " current_setting('work_mem')"
        ).fetchone()
    assert after == ("off", "on", "5MB")


def test_a_daily_row_that_measures_nothing_makes_no_row_on_either_path(db: tuple[LiteLLMDatabase, str]) -> None:
    """LiteLLM 1.108.7 counts an internal sub-call (the auto-router's classifier, a shadow eval) as
    no request: one that fails writes a daily row of zeros. A run of the same day adds nothing for
    it (no difference); a run from scratch made a row of zeros in every coarser table for it."""
    database, _ = db
    _age(database)
    with database.server.connect_as(database.owner, database.owner_password, DBNAME) as conn:
        _add(conn, "nothing", spend_seed.Request(_day(4), 9, "k7-obr", "zed", "gpt-4o", 0.0, 0, 0, "failure"))
        conn.execute(f"UPDATE {DAILY} SET api_requests = 0, failed_requests = 0 WHERE user_id = 'zed'")
    _as_from_scratch(database)


def test_internal_sub_calls_that_cost_nothing_keep_their_tokens(db: tuple[LiteLLMDatabase, str]) -> None:
    """An internal sub-call on a model without a price: tokens, no request, no spend. A user who made
    only such calls keeps a row of each standard range with its tokens ("Top users"), as a run from
    scratch keeps it; the key's and the team's ranges, which count only spend and requests, have
    nothing to show for it: no row on either path."""
    database, _ = db
    _age(database)
    with database.server.connect_as(database.owner, database.owner_password, DBNAME) as conn:
        _add(conn, "subcall", spend_seed.Request(_day(0), 9, "k7-obr", "yuri", "llama-guard", 0.0, 30, 2))
        conn.execute(f"UPDATE {DAILY} SET api_requests = 0, successful_requests = 0 WHERE user_id = 'yuri'")
    _as_from_scratch(database)


def _arrive(database: LiteLLMDatabase, prefix: str, *requests: spend_seed.Request) -> None:
    """Every row so far aged past the margin, then `requests` arrive (raw log and daily rows)."""
    _age(database)
    with database.server.connect_as(database.owner, database.owner_password, DBNAME) as conn:
        _add(conn, prefix, *requests)


def _xact_writes(database: LiteLLMDatabase) -> dict[str, tuple[int, ...]]:
    """One run, and the rows it wrote to daily_detail and daily_charge as (inserted, updated, of them
    HOT, deleted), read in its own transaction (exact, no waiting for the server's counters)."""
    with (
        database.server.connect_as(reporting_sql.REPORTING_ROLE, REPORTING_PASSWORD, DBNAME) as conn,
        conn.transaction(),
    ):
        conn.execute(reporting_sql.refresh_sql(3).encode())
        rows = conn.execute(
            "SELECT schemaname || '.' || relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del"
            " FROM pg_stat_xact_user_tables WHERE schemaname || '.' || relname = ANY(%s)",
            [[rs.DETAIL, rs.DAILY_CHARGE]],
        ).fetchall()
    return {str(r[0]): tuple(int(str(v)) for v in r[1:]) for r in rows}


def test_a_changed_group_is_updated_where_it_is_and_a_new_user_inserted(db: tuple[LiteLLMDatabase, str]) -> None:
    """A same-day run after alice's group grew and zed joined her (day, key, model): alice's detail row
    and the group's charge row are updated in place, without an entry in any index (HOT: no indexed
    column changes), zed's detail row inserted, nothing deleted; the tables equal a run from scratch."""
    database, _ = db
    _arrive(
        database,
        "inplace",
        spend_seed.Request(_day(0), 11, "k1-alpha", "alice", "gpt-4o", 0.5, 10, 5),
        spend_seed.Request(_day(0), 11, "k1-alpha", "zed", "gpt-4o", 0.25, 10, 5),
    )
    # the charge row sums both users
    assert _xact_writes(database) == {rs.DETAIL: (1, 1, 1, 0), rs.DAILY_CHARGE: (0, 1, 1, 0)}
    _as_from_scratch(database)


def test_an_unchanged_user_of_a_changed_charge_group_is_not_written(db: tuple[LiteLLMDatabase, str]) -> None:
    """nina and otto share a (day, key, model); only nina's group grows: otto's detail row is summed
    again (the charge row needs his rows) but not written."""
    database, _ = db
    _arrive(
        database,
        "neighbours",
        spend_seed.Request(_day(2), 10, "k6-blk", "nina", "gpt-4o", 0.5, 10, 5),
        spend_seed.Request(_day(2), 10, "k6-blk", "otto", "gpt-4o", 0.25, 10, 5),
    )
    _refresh(database)
    _arrive(database, "nina-again", spend_seed.Request(_day(2), 11, "k6-blk", "nina", "gpt-4o", 0.5, 10, 5))
    assert _xact_writes(database) == {rs.DETAIL: (0, 1, 1, 0), rs.DAILY_CHARGE: (0, 1, 1, 0)}
    _as_from_scratch(database)


def test_the_schema_apply_gives_a_table_made_before_it_room_for_in_place_updates(
    db: tuple[LiteLLMDatabase, str],
) -> None:
    """An install whose rollups were made without room in their pages (before in-place updates):
    the next job's schema apply sets it on every table whose rows a refresh can update HOT, and no other."""
    database, _ = db
    room = f"fillfactor={FILLFACTOR}"
    # not the tables whose spend is indexed (no update of theirs can be HOT), nor those rebuilt whole
    in_place = {t for t in TABLES if t not in (*SPEND_INDEXED, rs.CHARGE_TEAM_MONTH, rs.KEY_STATE, rs.RANGE_DAYS)}
    with database.server.connect_as(reporting_sql.REPORTING_ROLE, REPORTING_PASSWORD, DBNAME) as conn:
        for table in in_place:
            conn.execute(f"ALTER TABLE {table} RESET (fillfactor)".encode())
        conn.execute(reporting_sql.schema_sql().encode())
        options = {
            row[0]: row[1]
            for row in conn.execute(
                "SELECT c.relnamespace::regnamespace::text || '.' || c.relname, c.reloptions FROM pg_class c"
                " WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'r'",
                [rs.SCHEMA],
            ).fetchall()
        }
    assert {t for t, o in options.items() if isinstance(o, list) and room in o} == in_place


def test_a_new_day_drops_a_group_whose_rows_were_deleted(db: tuple[LiteLLMDatabase, str]) -> None:
    """The first run of a day rebuilds the window whole, "a check on the change tracking (a daily
    row deleted by hand)": a detail group whose every LiteLLM row is gone goes too. (Last: the
    refresh state's day is tomorrow after it.)"""
    database, _ = db
    _age(database)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    with database.server.connect_as(database.owner, database.owner_password, DBNAME) as conn:
        conn.execute(f"DELETE FROM {DAILY} WHERE user_id = 'hank'")
    # hank's group (today, k2-alpha, gpt-4o) is gone; bob's beside it stays (the job's statement on
    # a given day, as the benchmark runs it)
    _as_from_scratch(database, reporting_sql.refresh_sql(3, tomorrow))


def test_a_late_row_before_a_new_days_window_keeps_the_other_users_of_its_group(
    db: tuple[LiteLLMDatabase, str],
) -> None:
    """The first run of a day reads a late row for a day before its window like any other changed
    row: its (day, key, model) is rebuilt with every user of it, so the other users' detail rows
    stay. (After the test above: the refresh state's day moves on to the day after tomorrow, then
    the day after.)"""
    database, _ = db
    in_two, in_three = ((datetime.now(UTC) + timedelta(days=n)).date().isoformat() for n in (2, 3))
    owner = (database.owner, database.owner_password)
    _age(database)
    with database.server.connect_as(*owner, DBNAME) as conn:
        _add(conn, "ursula", spend_seed.Request(_day(10), 9, "k2-alpha", "ursula", "gpt-4o", 0.5, 10, 5))
    _as_from_scratch(database, f"SELECT * FROM reporting.refresh(3, '{in_two}')")
    _age(database)
    with database.server.connect_as(*owner, DBNAME) as conn:
        _add(conn, "victor", spend_seed.Request(_day(10), 9, "k2-alpha", "victor", "gpt-4o", 0.25, 10, 5))
    _as_from_scratch(database, f"SELECT * FROM reporting.refresh(3, '{in_three}')")
