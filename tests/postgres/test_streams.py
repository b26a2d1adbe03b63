"""Live streams on PostgreSQL: nothing skipped when transactions commit out of position order,
with many writer processes, rollbacks, a server restart and a killed listener; the
out-of-order cases also through a streaming replica."""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg.types.json import Jsonb

import pyevents
from pyevents import Event, RecordedEvent, StreamOptions
from pyevents.backends.postgres import PostgresEventStore
from pyevents.backends.postgres.replicas import ReplicaFollower
from pyevents.streams import EventStream, Follower

from ..conftest import Cluster

APPEND_ONE = (
    "SELECT pyevents.append_event(gen_random_uuid(), now(), %s, 'test', 'writer', gen_random_uuid(), NULL, '1.0',"
    " %s, '{}')"
)


class Collector:
    """Consumes a stream in a thread, recording positions as they arrive."""

    def __init__(self, stream: EventStream) -> None:
        self.stream = stream
        self.positions: list[int] = []
        self.events: list[RecordedEvent] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for event in self.stream:
            self.events.append(event)
            self.positions.append(event.position)

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.positions) < count and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self) -> list[int]:
        self.stream.close()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()
        return self.positions


@pytest.fixture(params=["primary", "replica"])
def follow_store(request: pytest.FixtureRequest, pg_dsn: str) -> Iterator[PostgresEventStore]:
    """The store a test appends to and follows: streams on the primary, or on a streaming
    replica, where the follower polls the standby and settles gaps against the primary."""
    replica = request.param == "replica"
    store = PostgresEventStore(pg_dsn, read_dsns=[request.getfixturevalue("pg_replica_dsn")] if replica else [])
    opened: list[Follower] = []
    open_follower = store._open_follower

    def recorded() -> Follower:
        opened.append(open_follower())
        return opened[-1]

    store._open_follower = recorded  # type: ignore[method-assign]
    yield store
    store.close()
    if replica:
        assert opened and all(isinstance(follower, ReplicaFollower) for follower in opened), opened


def test_a_late_commit_is_delivered_in_its_place(pg_dsn: str, follow_store: PostgresEventStore) -> None:
    pg_store = follow_store
    collector = Collector(pg_store.stream_events(StreamOptions(poll_interval=0.01)))
    with psycopg.connect(pg_dsn) as slow:
        low = slow.execute(APPEND_ONE, ("A", Jsonb({}))).fetchone()[0]  # type: ignore[index]
        high = pg_store.append(Event(event_type="B", actor_type="test", actor_id="fast"))
        assert high > low
        time.sleep(0.5)  # B is committed and visible; A is not
        assert collector.positions == []
        slow.commit()
    collector.wait_for(2)
    assert collector.stop() == [low, high]


def test_a_younger_transaction_with_a_lower_position_is_not_skipped(
    pg_dsn: str, follow_store: PostgresEventStore
) -> None:
    """M takes its xid, then waits (here on the gate lock, as a big batch does); T takes a
    younger xid, draws a lower position and stays open; M draws a higher position and commits.
    The horizon must cover T's xid, which is above every completed xid when M commits."""
    pg_store = follow_store
    collector = Collector(pg_store.stream_events(StreamOptions(poll_interval=0.01)))
    big_batch = [Event(event_type="M", actor_type="t", actor_id="m") for _ in range(20)]
    with psycopg.connect(pg_dsn) as gate, psycopg.connect(pg_dsn) as younger:
        gate.execute("LOCK TABLE pyevents.dcb_gate IN SHARE MODE")
        waiting = threading.Thread(target=lambda: pg_store.append_batch(big_batch))
        waiting.start()
        time.sleep(0.5)  # M has its xid and waits for the gate
        low = younger.execute(APPEND_ONE, ("T", Jsonb({}))).fetchone()[0]  # type: ignore[index]
        gate.commit()
        waiting.join(timeout=10)
        time.sleep(0.5)  # the follower sees M's positions above T's open one
        assert collector.positions == [], "nothing may be delivered past an open lower position"
        younger.commit()
    collector.wait_for(21)
    delivered = collector.stop()
    assert delivered[0] == low and len(delivered) == 21 and delivered == sorted(delivered)


def test_rolled_back_positions_do_not_stall_the_stream(pg_dsn: str, follow_store: PostgresEventStore) -> None:
    pg_store = follow_store
    collector = Collector(pg_store.stream_events(StreamOptions(poll_interval=0.01)))
    with psycopg.connect(pg_dsn) as conn:
        conn.execute(APPEND_ONE, ("Lost", Jsonb({})))
        conn.rollback()
    after = pg_store.append(Event(event_type="Kept", actor_type="test", actor_id="x"))
    collector.wait_for(1, timeout=10)
    assert collector.stop() == [after]


def _writer(dsn: str, count: int, seed: int, acknowledged: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """A writer process: single appends, small batches, and rolled-back appends that leave gaps."""
    rng = random.Random(seed)
    store = pyevents.open_store(config={"backend": "postgresql", "postgresql": {"dsn": dsn, "pool_size": 1}})
    with store, psycopg.connect(dsn) as conn:
        done = 0
        while done < count:
            roll = rng.random()
            if roll < 0.1:
                conn.execute(APPEND_ONE, ("RolledBack", Jsonb({"seed": seed})))
                time.sleep(rng.random() * 0.005)
                conn.rollback()
            elif roll < 0.3:
                batch = [Event(event_type="Batch", actor_type="test", actor_id=f"w{seed}") for _ in range(3)]
                for position in store.append_batch(batch):
                    acknowledged.put(position)
                done += 3
            else:
                acknowledged.put(store.append(Event(event_type="Single", actor_type="test", actor_id=f"w{seed}")))
                done += 1
    acknowledged.put(None)


@pytest.mark.parametrize("follower_starts", ["before", "during", "after"])
def test_many_writer_processes_and_a_follower(
    pg_dsn: str, follow_store: PostgresEventStore, follower_starts: str
) -> None:
    pg_store = follow_store
    writers, per_writer = 4, 150
    context = multiprocessing.get_context("spawn")
    acknowledged: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    collector = None
    if follower_starts == "before":
        collector = Collector(pg_store.stream_events(StreamOptions(poll_interval=0.01, batch_size=50)))
    processes = [
        context.Process(target=_writer, args=(pg_dsn, per_writer, seed, acknowledged)) for seed in range(writers)
    ]
    for process in processes:
        process.start()
    if follower_starts == "during":
        time.sleep(0.3)
        collector = Collector(pg_store.stream_events(StreamOptions(poll_interval=0.01, batch_size=50)))
    acked: set[int] = set()
    finished = 0
    while finished < writers:
        item = acknowledged.get(timeout=120)
        if item is None:
            finished += 1
        else:
            acked.add(item)
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    if collector is None:
        collector = Collector(pg_store.stream_events(StreamOptions(poll_interval=0.01, batch_size=50)))
    collector.wait_for(len(acked))
    delivered = collector.stop()
    assert delivered == sorted(delivered), "delivered out of position order"
    assert len(delivered) == len(set(delivered)), "an event was delivered twice"
    assert set(delivered) == acked


def test_server_restart_and_killed_listener(pg_cluster: Cluster, pg_dsn: str, pg_store: PostgresEventStore) -> None:
    stream = pg_store.stream_events(StreamOptions(poll_interval=0.01))
    collector = Collector(stream)
    expected = pg_store.append_batch([Event(event_type="Before", actor_type="t", actor_id="x") for _ in range(5)])
    collector.wait_for(5)

    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'pyevents-follower'"
        ).fetchone()
    assert killed is not None and killed[0] >= 1
    expected += pg_store.append_batch([Event(event_type="AfterKill", actor_type="t", actor_id="x") for _ in range(5)])
    collector.wait_for(10)

    pg_cluster.run("restart")
    for _ in range(50):  # the store's pooled connections died with the server: retry as a client would
        try:
            expected += pg_store.append_batch([Event(event_type="AfterRestart", actor_type="t", actor_id="x")])
            break
        except pyevents.BackendUnavailable:
            time.sleep(0.1)
    collector.wait_for(11)
    delivered = collector.stop()
    assert delivered == expected
    assert stream.reconnects == 0  # reset after the successful reconnect


def test_filters_and_since(pg_store: PostgresEventStore) -> None:
    pg_store.append_batch(
        [
            Event(event_type="Old", actor_type="t", actor_id="a", timestamp=datetime(2021, 1, 1, tzinfo=UTC)),
            Event(event_type="A", actor_type="t", actor_id="a", metadata={"tags": ["k"]}),
            Event(event_type="B", actor_type="t", actor_id="b"),
        ]
    )
    tagged = [e.event_type for e in pg_store.stream_events(StreamOptions(tags=["k"], follow=False))]
    assert tagged == ["A"]
    recent = [e.event_type for e in pg_store.stream_events_since("2022-01-01T00:00:00Z", follow=False)]
    assert recent == ["A", "B"]
