"""Through Debian's PgBouncer in transaction mode, where one client's consecutive statements
may run on different server connections: concurrent clients append, decide with conditional
appends and read, and a live stream (which polls: LISTEN needs session mode) delivers every
event once, in order. The conformance suite runs through it as well (postgresql-pgbouncer)."""

from __future__ import annotations

import threading
from typing import Any

import psycopg

import pyevents
from pyevents import AppendCondition, AppendConditionViolated, Query, QueryItem, StreamOptions

from ..conformance.events import make_event

WORKERS = 4
DECISIONS = 25


def through(dsn: str) -> dict[str, Any]:
    settings = {"dsn": dsn, "pool_size": WORKERS, "pooler": "pgbouncer-transaction"}
    return {"backend": "postgresql", "postgresql": settings}


def test_concurrent_decisions_and_a_live_stream_through_transaction_pooling(pg_bouncer_dsn: str, pg_dsn: str) -> None:
    total = WORKERS * DECISIONS * 2
    received: list[int] = []
    refused: list[int] = []
    with pyevents.open_store(config=through(pg_bouncer_dsn)) as store:
        stream = store.stream_events(StreamOptions(follow=True, poll_interval=0.02))

        def follow() -> None:
            for event in stream:
                received.append(event.position)
                if len(received) == total:
                    return

        def decide(worker: int) -> None:
            query = Query([QueryItem(tags=[f"account:{worker}"])])
            for _ in range(DECISIONS):
                store.append(make_event("Deposited", tags=[f"account:{worker}"]))
                head = store.read(query).head
                store.append(make_event("Checked", tags=[f"account:{worker}"]), AppendCondition(query, head))
                try:  # the same decision again, on a head that is now stale
                    store.append(make_event("Checked", tags=[f"account:{worker}"]), AppendCondition(query, head))
                except AppendConditionViolated:
                    refused.append(worker)

        follower = threading.Thread(target=follow)
        follower.start()
        workers = [threading.Thread(target=decide, args=(n,)) for n in range(WORKERS)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        follower.join(timeout=60)
        stream.close()
        assert store.health_check().healthy
    assert len(refused) == WORKERS * DECISIONS
    assert received == sorted(set(received)) and len(received) == total
    with psycopg.connect(pg_dsn) as conn:
        row = conn.execute("SELECT count(*) FROM pyevents.events").fetchone()
    assert row is not None and row[0] == total
