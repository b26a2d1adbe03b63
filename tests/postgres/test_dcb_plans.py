"""A DCB read costs what it matches, not what the log holds: the matching events are fetched
by position, never by scanning the log. Planned for the default thousand matches, the fetch was
a hash join over every event, which spilled to disk: 130 ms for 489 events on a store of 35,000."""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

from pyevents import Event
from pyevents.backends.postgres import PostgresEventStore


def test_a_dcb_read_fetches_its_matches_by_position_without_scanning_the_log(
    pg_dsn: str, pg_store: PostgresEventStore
) -> None:
    def events(event_type: str, tag: str, count: int) -> list[Event]:
        return [
            Event(event_type=event_type, actor_type="svc", actor_id="app", metadata={"tags": [tag]})
            for _ in range(count)
        ]

    for batch in range(20):
        pg_store.append_batch(events("Noise", f"n:{batch}", 1000))
    pg_store.append_batch(events("Reserved", "account:7", 50))
    plans: list[str] = []
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("ANALYZE pyevents.events")
        conn.add_notice_handler(lambda diagnostic: plans.append(diagnostic.message_primary or ""))
        conn.execute("LOAD 'auto_explain'")
        conn.execute("SET auto_explain.log_min_duration = 0")
        conn.execute("SET auto_explain.log_nested_statements = on")
        conn.execute("SET client_min_messages = log")
        query = Jsonb({"items": [{"tags": ["account:7"]}]})
        rows = conn.execute("SELECT position FROM pyevents.read_events(%s)", (query,)).fetchall()
    assert len(rows) == 50
    fetch = [plan for plan in plans if "JOIN pyevents.events" in plan]
    assert len(fetch) == 1, plans
    # A nested loop looking each match up by (timestamp, position); the empty partitions' scans
    # inside it cost nothing.
    assert "Hash Join" not in fetch[0] and "Nested Loop" in fetch[0], fetch[0]
    assert "Index Scan using events_" in fetch[0], fetch[0]
