"""Partitions: made on demand for back-dated events (also under concurrency), protected the
moment they appear however they were made, and never the default partition."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psycopg

from pyevents import Event, QueryOptions
from pyevents.backends.postgres import PostgresEventStore


def triggers_of(conn: psycopg.Connection[tuple[object, ...]], table: str) -> dict[str, str]:
    rows = conn.execute("SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = %s::regclass", (table,)).fetchall()
    return {str(name): str(enabled) for name, enabled in rows}


def test_a_partition_made_by_hand_is_protected_and_used(pg_dsn: str, pg_store: PostgresEventStore) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE pyevents.events_by_hand PARTITION OF pyevents.events"
            " FOR VALUES FROM ('1999-01-01 00:00+00') TO ('1999-02-01 00:00+00')"
        )
        assert triggers_of(conn, "pyevents.events_by_hand") == {
            "events_forbid_change": "A",
            "events_forbid_truncate": "A",
        }
        registered = conn.execute(
            "SELECT range_start FROM pyevents.partitions WHERE partition = 'pyevents.events_by_hand'::regclass"
        ).fetchone()
        assert registered == (datetime(1999, 1, 1, tzinfo=UTC),)
    event = Event(event_type="Imported", actor_type="t", actor_id="dba", timestamp=datetime(1999, 1, 15, tzinfo=UTC))
    pg_store.append(event)
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM pyevents.events_by_hand").fetchone() == (1,)
    assert pg_store.verify() == []


def test_concurrent_back_dated_appends_share_one_new_partition(pg_dsn: str, pg_store: PostgresEventStore) -> None:
    events = [
        Event(event_type="Imported", actor_type="t", actor_id=f"w{i}", timestamp=datetime(2003, 3, i + 1, tzinfo=UTC))
        for i in range(8)
    ]
    with ThreadPoolExecutor(8) as pool:
        positions = list(pool.map(pg_store.append, events))
    assert len(set(positions)) == 8
    with psycopg.connect(pg_dsn) as conn:
        made = conn.execute(
            "SELECT partition::text FROM pyevents.partitions WHERE range_start = '2003-03-01 00:00+00'"
        ).fetchall()
        assert made == [("pyevents.events_p20030301",)]
        assert conn.execute("SELECT count(*) FROM pyevents.events_default").fetchone() == (0,)
    assert len(pg_store.get_events(QueryOptions(until=datetime(2004, 1, 1, tzinfo=UTC))).events) == 8


def test_upcoming_months_are_premade(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pyevents.partitions"
            " WHERE range_end > now() AND range_start < now() + interval '3 months'"
        ).fetchone()
    assert row is not None and row[0] >= 3
