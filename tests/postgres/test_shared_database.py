"""A database shared with other roles, cron jobs and DBAs: the event triggers never fail other
roles' DDL, protect every partition however it was made (pg_partman maintenance, ATTACH by
hand), and refuse DROP or DETACH of what holds events, except on retention's path."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from pyevents import Event
from pyevents.backends.postgres import PostgresEventStore

from .conftest import RoleMaker
from .test_partitions import triggers_of

EMPTY_PARTITION = (
    "CREATE TABLE pyevents.events_empty PARTITION OF pyevents.events FOR VALUES FROM ('1990-01-01') TO ('1990-02-01')"
)
PROTECTED = {"events_forbid_change": "A", "events_forbid_truncate": "A"}


def connect(dsn: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(dsn, autocommit=True)


def append_at(dsn: str, timestamp: str) -> int:
    with connect(dsn) as conn:
        row = conn.execute(
            "SELECT pyevents.append_event(gen_random_uuid(), %s, 'Happened', 'svc', 'a', gen_random_uuid(),"
            " NULL, '1.0', '{}', '{}')",
            (timestamp,),
        ).fetchone()
    assert row is not None
    return int(str(row[0]))


def partitions_of_the_log(conn: psycopg.Connection[tuple[object, ...]]) -> set[str]:
    rows = conn.execute(
        "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'pyevents.events'::regclass"
    )
    return {str(name) for (name,) in rows}


def owner_of(conn: psycopg.Connection[tuple[object, ...]], table: str) -> str:
    row = conn.execute("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = %s::regclass", (table,)).fetchone()
    assert row is not None
    return str(row[0])


def test_other_roles_ddl_is_never_refused(pg_dsn: str, make_role: RoleMaker) -> None:
    """Another application's login, without any right on schema pyevents."""
    other = make_role(pg_dsn)
    with connect(pg_dsn) as conn:
        conn.execute(f"GRANT CREATE ON SCHEMA public TO {psycopg.conninfo.conninfo_to_dict(other)['user']}")
    with connect(other) as conn:
        conn.execute("CREATE TEMP TABLE scratch (x int)")
        conn.execute("CREATE TABLE public.theirs (x int)")
        conn.execute("ALTER TABLE public.theirs ADD COLUMN y int")
        conn.execute("CREATE TABLE public.their_log (t timestamptz) PARTITION BY RANGE (t)")
        conn.execute("CREATE TABLE public.their_part (t timestamptz)")
        conn.execute(
            "ALTER TABLE public.their_log ATTACH PARTITION public.their_part"
            " FOR VALUES FROM ('2020-01-01') TO ('2020-02-01')"
        )
        conn.execute("ALTER TABLE public.their_log DETACH PARTITION public.their_part")
        conn.execute("DROP TABLE public.theirs, public.their_part, public.their_log")


def test_partitions_made_by_pg_partman_maintenance_are_protected(pg_partman_dsn: str, make_role: RoleMaker) -> None:
    """Maintenance makes the current month and those ahead (its premade ones dropped first,
    empty), and appends then land in its partitions."""
    with connect(pg_partman_dsn) as conn:
        conn.execute(
            "UPDATE partman.part_config SET infinite_time_partitions = true WHERE parent_table = 'pyevents.events'"
        )
        ahead = conn.execute(
            "SELECT partition::text FROM pyevents.partitions WHERE range_end > now() ORDER BY range_start"
        ).fetchall()
        for (partition,) in ahead:
            conn.execute(f"DROP TABLE {partition}")
        before = partitions_of_the_log(conn)
        conn.execute("SELECT partman.run_maintenance()")
        made = sorted(partitions_of_the_log(conn) - before)
        assert len(made) >= len(ahead), "run_maintenance did not make the partitions again"
        for partition in made:
            assert triggers_of(conn, partition) == PROTECTED
            assert owner_of(conn, partition) == "pyevents_owner"
            with pytest.raises(psycopg.Error, match="TRUNCATE on pyevents"):
                conn.execute(f"TRUNCATE {partition}")
        assert conn.execute("SELECT * FROM pyevents.verify()").fetchall() == []
        current = conn.execute(
            "SELECT partition::text FROM pyevents.partitions WHERE range_start <= now() AND range_end > now()"
        ).fetchone()
    assert current is not None and str(current[0]) in made
    writer = make_role(pg_partman_dsn, "pyevents_writer")
    position = append_at(writer, datetime.now(UTC).isoformat())
    with connect(pg_partman_dsn) as conn:
        assert conn.execute(f"SELECT position FROM {current[0]}").fetchall() == [(position,)]


def test_a_partition_attached_by_hand_is_protected_and_used(pg_dsn: str, pg_store: PostgresEventStore) -> None:
    with connect(pg_dsn) as conn:
        conn.execute(
            "CREATE TABLE pyevents.events_hand (LIKE pyevents.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        conn.execute(
            "ALTER TABLE pyevents.events ATTACH PARTITION pyevents.events_hand"
            " FOR VALUES FROM ('1998-01-01 00:00+00') TO ('1998-02-01 00:00+00')"
        )
        assert triggers_of(conn, "pyevents.events_hand") == PROTECTED
        assert owner_of(conn, "pyevents.events_hand") == "pyevents_owner"
        registered = conn.execute(
            "SELECT range_start FROM pyevents.partitions WHERE partition = 'pyevents.events_hand'::regclass"
        ).fetchone()
        assert registered == (datetime(1998, 1, 1, tzinfo=UTC),)
    pg_store.append(
        Event(event_type="Imported", actor_type="t", actor_id="dba", timestamp=datetime(1998, 1, 15, tzinfo=UTC))
    )
    with connect(pg_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM pyevents.events_hand").fetchone() == (1,)
        with pytest.raises(psycopg.Error, match="TRUNCATE on pyevents"):
            conn.execute("TRUNCATE pyevents.events_hand")
    assert pg_store.verify() == []


def test_drop_and_detach_of_partitions_holding_events_are_refused(pg_dsn: str) -> None:
    append_at(pg_dsn, "2001-05-05T00:00:00Z")
    append_at(pg_dsn, "2001-07-05T00:00:00Z")
    with connect(pg_dsn) as conn:
        with pytest.raises(psycopg.Error, match="dropping partition pyevents.events_p20010501 is not allowed") as error:
            conn.execute("DROP TABLE pyevents.events_p20010501")
        assert error.value.sqlstate == "PE004"
        with pytest.raises(psycopg.Error, match="detaching partition pyevents.events_p20010701 is not allowed"):
            conn.execute("ALTER TABLE pyevents.events DETACH PARTITION pyevents.events_p20010701")
        for log_table in ("pyevents.events", "pyevents.event_ids"):
            with pytest.raises(psycopg.Error, match="part of the pyevents event log"):
                conn.execute(f"DROP TABLE {log_table} CASCADE")
        assert conn.execute("SELECT count(*) FROM pyevents.events").fetchone() == (2,)
        # Partitions without events may go: a premade month, a detached then dropped one.
        conn.execute(EMPTY_PARTITION)
        conn.execute("ALTER TABLE pyevents.events DETACH PARTITION pyevents.events_empty")
        conn.execute("DROP TABLE pyevents.events_empty")
        conn.execute(EMPTY_PARTITION)
        conn.execute("DROP TABLE pyevents.events_empty")
        registered = conn.execute("SELECT count(*) FROM pyevents.partitions WHERE range_start = '1990-01-01'")
        assert registered.fetchone() == (0,)
        assert conn.execute("SELECT * FROM pyevents.verify()").fetchall() == []


def test_retention_path_may_remove_events(pg_dsn: str) -> None:
    """A SECURITY DEFINER function owned by pyevents_owner that marks the transaction while it
    removes, as apply_retention does, passes every guard; the same statements outside it, or in
    it without the mark, are refused. All in one transaction, rolled back."""
    append_at(pg_dsn, "2001-05-05T00:00:00Z")
    append_at(pg_dsn, "2001-06-05T00:00:00Z")
    append_at(pg_dsn, "2001-07-05T00:00:00Z")
    append_at(pg_dsn, "2001-08-05T00:00:00Z")
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("GRANT DELETE, TRUNCATE ON pyevents.events_p20010601, pyevents.events_p20010701 TO pyevents_owner")
        conn.execute(
            "CREATE FUNCTION pyevents.remove_for_test(p_mark boolean) RETURNS void LANGUAGE plpgsql SECURITY DEFINER"
            " SET search_path = pg_catalog AS $$ BEGIN"
            "  IF p_mark THEN PERFORM set_config('pyevents.applying_retention', 'on', true); END IF;"
            "  DROP TABLE pyevents.events_p20010501;"
            "  DELETE FROM pyevents.events_p20010601;"
            "  TRUNCATE pyevents.events_p20010701;"
            "  ALTER TABLE pyevents.events DETACH PARTITION pyevents.events_p20010801;"
            " END $$"
        )
        conn.execute("ALTER FUNCTION pyevents.remove_for_test(boolean) OWNER TO pyevents_owner")
        refused_statements = {
            "DELETE FROM pyevents.events_p20010601": "on",  # the mark alone, outside: nothing passes
            "TRUNCATE pyevents.events_p20010701": "on",
            "SELECT pyevents.remove_for_test(false)": "",  # the owner without the mark
        }
        for refused, mark in refused_statements.items():
            conn.execute("SAVEPOINT refused")
            conn.execute("SELECT set_config('pyevents.applying_retention', %s, true)", (mark,))
            with pytest.raises(psycopg.Error, match="not allowed"):
                conn.execute(refused)
            conn.execute("ROLLBACK TO SAVEPOINT refused")
        conn.execute("SELECT pyevents.remove_for_test(true)")
        assert conn.execute("SELECT count(*) FROM pyevents.events").fetchone() == (0,)
        assert conn.execute("SELECT to_regclass('pyevents.events_p20010501')").fetchone() == (None,)
        gone = conn.execute(
            "SELECT count(*) FROM pyevents.partitions WHERE range_start IN ('2001-05-01', '2001-08-01')"
        )
        assert gone.fetchone() == (0,)
        conn.rollback()
    with connect(pg_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM pyevents.events").fetchone() == (4,)
        assert conn.execute("SELECT to_regprocedure('pyevents.remove_for_test(boolean)') IS NULL").fetchone() == (True,)


@pytest.mark.parametrize("partitioner", ["pyevents", "pg_partman"])
def test_months_are_utc_whatever_the_session_time_zone(request: pytest.FixtureRequest, partitioner: str) -> None:
    dsn = request.getfixturevalue("pg_dsn" if partitioner == "pyevents" else "pg_partman_dsn")
    with connect(dsn) as conn:
        conn.execute("SET TimeZone = 'America/New_York'")
        conn.execute(
            "SELECT pyevents.append_event(gen_random_uuid(), '2011-06-15 12:00+00', 'A', 's', 'a',"
            " gen_random_uuid(), NULL, '1.0', '{}', '{}')"
        )
        conn.execute("SET TimeZone = 'UTC'")
        made = conn.execute(
            "SELECT range_start, range_end FROM pyevents.partitions"
            " WHERE range_start <= '2011-06-15 12:00+00' AND range_end > '2011-06-15 12:00+00'"
        ).fetchone()
    assert made == (datetime(2011, 6, 1, tzinfo=UTC), datetime(2011, 7, 1, tzinfo=UTC))
    append_at(dsn, "2011-06-01T02:00:00Z")  # in New York's May: a partition from 04:00 UTC would miss it
    append_at(dsn, "2011-07-01T02:00:00Z")
