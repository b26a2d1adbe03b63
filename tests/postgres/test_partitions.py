"""Partitions: made on demand for back-dated events (also under concurrency), protected the
moment they appear however they were made, and never the default partition."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psycopg
import pytest

from pyevents import Event, QueryOptions, ValidationError
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


def test_the_accepted_range_of_timestamps_is_configurable(pg_dsn: str, pg_store: PostgresEventStore) -> None:
    old = Event(event_type="Census", actor_type="t", actor_id="archive", timestamp=datetime(1850, 6, 1, tzinfo=UTC))
    with pytest.raises(ValidationError, match="before 1900-01-01"):
        pg_store.append(old)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("UPDATE pyevents.timestamp_limits SET earliest = '1800-01-01 00:00+00'")
    pg_store.append(old)
    assert pg_store.verify() == []


def test_a_batch_over_many_months_makes_each_partition_once(pg_dsn: str, pg_store: PostgresEventStore) -> None:
    months = [datetime(1950 + i // 12, i % 12 + 1, 10, tzinfo=UTC) for i in range(30)]
    pg_store.append_batch([Event(event_type="Old", actor_type="t", actor_id="i", timestamp=m) for m in months])
    with psycopg.connect(pg_dsn) as conn:
        made = conn.execute(
            "SELECT count(*) FROM pyevents.partitions WHERE range_start >= '1950-01-01' AND range_start < '1960-01-01'"
        ).fetchone()
        assert made == (30,)
        assert conn.execute("SELECT * FROM pyevents.verify()").fetchall() == []


def test_making_a_partition_does_not_stop_appends_to_other_months(pg_dsn: str) -> None:
    append = (
        "SELECT pyevents.append_event(gen_random_uuid(), %s, 'A', 's', 'a', gen_random_uuid(), NULL, '1.0', '{}', '{}')"
    )
    with psycopg.connect(pg_dsn) as making:  # makes 1995-03 and has not committed yet
        making.execute(append, ("1995-03-03T00:00:00Z",))
        with psycopg.connect(pg_dsn, autocommit=True) as other:
            other.execute("SET lock_timeout = '3s'")
            other.execute(append, (datetime.now(UTC),))
        making.commit()
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM pyevents.events").fetchone() == (2,)
