"""Read replicas for real: a streaming standby built with pg_basebackup. Queries go to it,
appends and DCB reads to the primary, `consistency="primary"` reads your writes, and reads
fail over to the primary when the replica lags past its bound or stops. (Streams through the
replica, with commits out of order: test_streams.py.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg.types.json import Jsonb

import pyevents
from pyevents import Event, Query, QueryOptions, StreamOptions, ValidationError
from pyevents.backends.postgres import PostgresEventStore
from pyevents.backends.postgres.async_store import AsyncPostgresEventStore

from ..conftest import Cluster
from .test_streams import APPEND_ONE


def event(event_type: str = "Seen") -> Event:
    return Event(event_type=event_type, actor_type="test", actor_id="replica")


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def paused_replay(pg_replica_dsn: str) -> Iterator[Callable[[], None]]:
    """`pause()` stops the replica's WAL replay until the test ends: it then lags behind."""
    conn = psycopg.connect(pg_replica_dsn, autocommit=True)

    def pause() -> None:
        conn.execute("SELECT pg_wal_replay_pause()")

    yield pause
    conn.execute("SELECT pg_wal_replay_resume()")
    conn.close()


@pytest.fixture
def replicated(pg_dsn: str, pg_replica_dsn: str) -> Iterator[PostgresEventStore]:
    store = pyevents.open_store(
        config={"backend": "postgresql", "postgresql": {"dsn": pg_dsn, "read_dsns": [pg_replica_dsn]}}
    )
    assert isinstance(store, PostgresEventStore)
    yield store
    store.close()


def test_queries_go_to_the_replica_and_primary_consistency_reads_your_writes(
    replicated: PostgresEventStore, paused_replay: Callable[[], None]
) -> None:
    first = replicated.append(event("First"))
    wait_until(lambda: replicated.get_event(replicated.get_events().events[-1].event_id) is not None)
    wait_until(lambda: [e.position for e in replicated.get_events().events] == [first])
    paused_replay()
    second = replicated.append(event("Second"))
    # The replica has not replayed the second event (and is within its lag bound): queries do not see it.
    assert [e.position for e in replicated.get_events().events] == [first]
    assert [e.position for e in replicated.get_events(consistency="primary").events] == [first, second]
    stored = replicated.get_events(consistency="primary").events[-1]
    assert replicated.get_event(stored.event_id) is None
    assert replicated.get_event(stored.event_id, consistency="primary") == stored
    assert replicated.get_events_by_correlation(stored.correlation_id) == []
    assert replicated.get_events_by_correlation(stored.correlation_id, consistency="primary") == [stored]
    # A DCB read decides on the primary's head.
    assert replicated.read(Query.all()).head == second


def test_a_lagging_replica_is_left_for_the_primary(
    pg_dsn: str, pg_replica_dsn: str, paused_replay: Callable[[], None]
) -> None:
    store = PostgresEventStore(pg_dsn, read_dsns=[pg_replica_dsn], max_replica_lag=1)
    with store:
        first = store.append(event())
        wait_until(lambda: len(store.get_events().events) == 1)
        paused_replay()
        second = store.append(event())
        assert [e.position for e in store.get_events().events] == [first]
        # Once the replica has fallen more than a second behind, reads see the primary again.
        wait_until(lambda: [e.position for e in store.get_events().events] == [first, second], timeout=10)
        (status,) = store.replica_status()
        assert status["lag_seconds"] is not None and status["lag_seconds"] > 1
        assert store.health_check().details["replicas"] == store.replica_status()


def test_reads_fail_over_when_the_replica_stops(
    pg_replica: Cluster, replicated: PostgresEventStore, pg_replica_dsn: str
) -> None:
    positions = replicated.append_batch([event() for _ in range(3)])
    wait_until(lambda: len(replicated.get_events().events) == 3)
    stream = replicated.stream_events(StreamOptions(poll_interval=0.01))
    assert [next(stream).position for _ in range(3)] == positions
    pg_replica.run("stop")
    try:
        later = replicated.append(event("WhileDown"))
        # The pooled replica connections are dead: the read fails over within the same call.
        assert [e.position for e in replicated.get_events().events] == [*positions, later]
        (status,) = replicated.replica_status()
        assert status["problem"], status
        # The stream loses the replica, reconnects to the primary and misses nothing.
        assert next(stream).position == later
    finally:
        pg_replica.run("start")
        stream.close()
    # The replica serves again once it is back (a read measures it again).
    with psycopg.connect(pg_replica_dsn, autocommit=True) as conn:
        wait_until(lambda: conn.execute("SELECT count(*) FROM pyevents.events").fetchone() == (4,))
    wait_until(lambda: len(replicated.get_events().events) == 4 and not replicated.replica_status()[0]["problem"])


def test_a_stream_catches_up_and_follows_on_the_replica(pg_replica_dsn: str, replicated: PostgresEventStore) -> None:
    before = replicated.append_batch([event("Before") for _ in range(250)])
    with replicated.stream_events(StreamOptions(poll_interval=0.01, batch_size=100)) as stream:
        delivered = [next(stream).position for _ in range(250)]
        after = [replicated.append(event("After")) for _ in range(20)]
        delivered += [next(stream).position for _ in range(20)]
        with psycopg.connect(pg_replica_dsn, autocommit=True) as replica:
            followers = replica.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name = 'pyevents-follower'"
            ).fetchone()
    assert delivered == before + after
    assert followers == (1,), "the stream follows on the replica"


def test_the_asyncio_client_reads_and_follows_on_the_replica(
    pg_dsn: str, pg_replica_dsn: str, paused_replay: Callable[[], None]
) -> None:
    """The same rules through AsyncPostgresEventStore: a late commit below a visible position
    is delivered in its place by a stream on the replica; queries go to the replica."""

    async def scenario() -> tuple[list[int], list[int], list[int], int, list[int], list[int]]:
        config = {"backend": "postgresql", "postgresql": {"dsn": pg_dsn, "read_dsns": [pg_replica_dsn]}}
        async with await pyevents.open_async_store(config=config) as store:
            assert isinstance(store, AsyncPostgresEventStore)
            stream = store.stream_events(StreamOptions(poll_interval=0.01))
            delivered: list[int] = []

            async def consume() -> None:
                async for event in stream:
                    delivered.append(event.position)

            consumer = asyncio.create_task(consume())
            async with await psycopg.AsyncConnection.connect(pg_dsn) as slow:
                low = (await (await slow.execute(APPEND_ONE, ("A", Jsonb({})))).fetchone())[0]  # type: ignore[index]
                high = await store.append(event("B"))
                await asyncio.sleep(0.5)  # B is committed and replayed; A is not committed
                early = list(delivered)
                followers = await replica_followers(pg_replica_dsn)
                await slow.commit()
            for _ in range(500):
                if len(delivered) == 2:
                    break
                await asyncio.sleep(0.02)
            await stream.close()
            await consumer
            paused_replay()
            unseen = await store.append(event("Unseen"))
            on_replica = [e.position for e in (await store.get_events()).events]
            on_primary = [e.position for e in (await store.get_events(consistency="primary")).events]
            assert unseen == on_primary[-1]
            return early, delivered, [low, high], followers, on_replica, on_primary

    early, delivered, expected, followers, on_replica, on_primary = asyncio.run(scenario())
    assert early == [], "nothing may be delivered past an open lower position"
    assert delivered == expected
    assert followers == 1, "the stream follows on the replica"
    assert on_replica == on_primary[:-1]


async def replica_followers(dsn: str) -> int:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        row = await (
            await conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name = 'pyevents-follower'"
            )
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_replica_settings_are_checked(pg_dsn: str) -> None:
    with pytest.raises(pyevents.ConfigError, match="read_dsns"):
        pyevents.open_store(config={"backend": "postgresql", "postgresql": {"dsn": pg_dsn, "read_dsns": "x"}})
    with (
        PostgresEventStore(pg_dsn) as store,
        pytest.raises(ValidationError, match="consistency must be one of any, primary"),
    ):
        store.get_events(QueryOptions(), consistency="replica")
