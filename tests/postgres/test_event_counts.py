"""Events by type for monitoring: counted incrementally (a scrape reads only new events), and
exact at every call, also while a transaction holding a lower position is still open."""

from __future__ import annotations

import psycopg

from pyevents import Event
from pyevents.backends.postgres import PostgresEventStore
from pyevents.backends.postgres.store import APPEND_SQL, append_params


def event(event_type: str) -> Event:
    return Event(event_type=event_type, actor_type="svc", actor_id="count")


def counts(store: PostgresEventStore) -> dict[str, int]:
    storage = store.get_metrics().storage
    assert storage is not None
    return storage.events_by_type


def counted_through(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT counted FROM pyevents.event_counts_mark").fetchone()
    assert row is not None
    counted: int = row[0]
    return counted


def test_counts_are_kept_and_exact_around_an_open_transaction(pg_dsn: str, pg_store: PostgresEventStore) -> None:
    pg_store.append_batch([event("a"), event("a"), event("b")])
    assert counts(pg_store) == {"a": 2, "b": 1}
    assert counts(pg_store) == {"a": 2, "b": 1}
    assert counted_through(pg_dsn) == 3  # the second call found the first step final and kept it

    with psycopg.connect(pg_dsn) as open_writer:
        open_writer.execute(APPEND_SQL, append_params([event("late")]))  # position 4, not committed
        pg_store.append(event("b"))  # position 5, committed first
        for _ in range(3):
            assert counts(pg_store) == {"a": 2, "b": 2}
        assert counted_through(pg_dsn) == 3  # position 4 may still commit: nothing past it is final
        open_writer.commit()
    assert counts(pg_store) == {"a": 2, "b": 2, "late": 1}
    assert counts(pg_store) == {"a": 2, "b": 2, "late": 1}
    assert counted_through(pg_dsn) == 5
    with psycopg.connect(pg_dsn) as conn:
        kept: dict[str, int] = dict(
            conn.execute("SELECT event_type, sum(events)::int FROM pyevents.event_counts GROUP BY 1").fetchall()
        )
    assert kept == {"a": 2, "b": 2, "late": 1}


def test_a_scrape_does_not_read_the_events_of_the_day(pg_dsn: str, pg_store: PostgresEventStore) -> None:
    for _ in range(3):
        pg_store.append_batch([event("a") for _ in range(1000)])
    counts(pg_store)
    counts(pg_store)  # events by type now kept up to the head: a scrape reads no event for them
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("ANALYZE pyevents.events")  # as autovacuum would: unanalyzed partitions are scanned
        conn.commit()
        report = conn.execute("SELECT pyevents.storage_metrics()").fetchone()
        read = conn.execute(
            "SELECT sum(seq_tup_read + coalesce(idx_tup_fetch, 0)) FROM pg_stat_xact_user_tables"
            " WHERE schemaname = 'pyevents' AND relname LIKE 'events\\_%'"
        ).fetchone()
    assert report is not None and report[0]["events_last_day"] == 3000
    assert read is not None and read[0] < 100  # the day's first event and the head, not 3000 rows
