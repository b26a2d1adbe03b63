"""The client through server outages: PostgreSQL crashed (immediate stop) and restarted, and
restarted cleanly, under appending and reading threads and a subscription stream. Every
acknowledged event is stored once; every call succeeds or raises BackendUnavailable within its
deadline; the breaker opens and closes; no call after recovery fails on a dead connection."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from pyevents import BackendUnavailable, Event, Query, QueryOptions, RecordedEvent, StreamOptions
from pyevents.backends.postgres import PostgresEventStore, schema
from pyevents.backends.postgres.connections import CircuitBreaker

from ..conftest import PGCLUSTER, TEMPLATE, Cluster

DEADLINE = 3.0
# A connection refused is immediate, but libpq's connect_timeout has a floor of 2 s; the
# margin covers a connect begun just before the server stopped listening.
DEADLINE_MARGIN = 1.0


@dataclass
class Calls:
    """What the client threads saw: call durations, by outcome."""

    succeeded: list[float] = field(default_factory=list)
    unavailable: list[float] = field(default_factory=list)
    failed_fast: list[float] = field(default_factory=list)  # BackendUnavailable while the breaker was open
    unexpected: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, call: object) -> object:
        assert callable(call)
        started = time.monotonic()
        try:
            result = call()
        except BackendUnavailable as exc:
            with self.lock:
                (self.failed_fast if "circuit breaker open" in str(exc) else self.unavailable).append(
                    time.monotonic() - started
                )
            return exc
        except Exception as exc:
            with self.lock:
                self.unexpected.append(exc)
            return exc
        with self.lock:
            self.succeeded.append(time.monotonic() - started)
        return result

    def longest(self) -> float:
        return max(self.succeeded + self.unavailable + self.failed_fast)


class Clients:
    """Appending and reading threads, and a subscription stream, until stopped."""

    def __init__(self, store: PostgresEventStore, *, writers: int = 3, readers: int = 2) -> None:
        self.store = store
        self.calls = Calls()
        self.acknowledged: dict[uuid.UUID, int] = {}
        self.sent: set[uuid.UUID] = set()
        self.append_errors: list[str] = []
        self.streamed: list[RecordedEvent] = []
        self.stream_error: BaseException | None = None
        self.stopping = threading.Event()
        self.stream = store.stream_events(StreamOptions(poll_interval=0.02), subscription="outage")
        self.threads = [threading.Thread(target=self._write, args=(n,)) for n in range(writers)]
        self.threads += [threading.Thread(target=self._read) for _ in range(readers)]
        self.stream_thread = threading.Thread(target=self._consume)
        for thread in [*self.threads, self.stream_thread]:
            thread.start()

    def _write(self, writer: int) -> None:
        sequence = 0
        event: Event | None = None
        while not self.stopping.is_set():
            # After BackendUnavailable the outcome is unknown: the same event is sent again.
            if event is None:
                event = Event(event_type="Tick", actor_type="writer", actor_id=str(writer), payload={"n": sequence})
            self.sent.add(event.event_id)
            result = self.calls.timed(lambda event=event: self.store.append(event))
            if isinstance(result, int):
                self.acknowledged[event.event_id] = result
                event, sequence = None, sequence + 1
            elif isinstance(result, BackendUnavailable):
                self.append_errors.append(str(result))
                time.sleep(0.02)
        if event is not None:  # settle the last unknown outcome now that the server is back
            self.acknowledged[event.event_id] = self.store.append(event)

    def _read(self) -> None:
        while not self.stopping.is_set():
            self.calls.timed(lambda: self.store.get_events(QueryOptions(order_direction="desc", limit=20)))
            result = self.calls.timed(lambda: self.store.read(Query.all(), limit=20))
            time.sleep(0.05 if isinstance(result, BackendUnavailable) else 0.005)

    def _consume(self) -> None:
        try:
            for event in self.stream:
                self.streamed.append(event)
        except BaseException as exc:
            self.stream_error = exc

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)
        last = max(self.acknowledged.values())
        wait_until = time.monotonic() + 30
        while (not self.streamed or self.streamed[-1].position < last) and time.monotonic() < wait_until:
            time.sleep(0.02)
        self.stream.close()
        self.stream_thread.join(timeout=30)


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[Cluster]:
    """A cluster of these tests' own: crashing the shared one would make every later test wait
    for its recovery (which fsyncs every file of every database the suite created)."""
    if os.environ.get("PYEVENTS_TEST_DSN"):
        pytest.skip("the cluster is external (PYEVENTS_TEST_DSN); it cannot be crashed here")
    directory = Path(tempfile.mkdtemp(prefix="pyevents-pg-"))  # not under pytest's 0700 tree: postgres runs it
    dsn = subprocess.run([str(PGCLUSTER), "start", str(directory)], check=True, capture_output=True, text=True)
    cluster = Cluster(directory, dsn.stdout.strip())
    try:
        with psycopg.connect(cluster.dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        schema.upgrade(cluster.dsn_for(TEMPLATE))
        yield cluster
    finally:
        subprocess.run([str(PGCLUSTER), "destroy", str(directory)], check=False, capture_output=True)


@pytest.fixture
def outage_dsn(own_cluster: Cluster) -> Iterator[str]:
    dsn = own_cluster.create_database()
    yield dsn
    with psycopg.connect(own_cluster.dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {psycopg.conninfo.conninfo_to_dict(dsn)['dbname']} WITH (FORCE)")


@pytest.fixture
def store(outage_dsn: str) -> Iterator[PostgresEventStore]:
    store = PostgresEventStore(
        outage_dsn,
        pool_size=4,
        connect_timeout=2,
        deadline=DEADLINE,
        breaker=CircuitBreaker(threshold=3, cooldown=0.3, max_cooldown=1.0),
    )
    yield store
    store.close()


def _crash(cluster: Cluster) -> None:
    """Stop the server as a crash would (after a checkpoint, which keeps recovery short)."""
    with psycopg.connect(cluster.dsn, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    cluster.run("crash")


def _stored(dsn: str) -> dict[uuid.UUID, int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT event_id, position FROM pyevents.events").fetchall()
    assert len(rows) == len({event_id for event_id, _ in rows}), "an event is stored twice"
    return dict(rows)


@pytest.mark.slow
def test_crash_and_restarts_under_load(
    own_cluster: Cluster, outage_dsn: str, store: PostgresEventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    clients = Clients(store)
    time.sleep(0.5)
    outage_started = time.monotonic()
    _crash(own_cluster)
    time.sleep(1.5)
    own_cluster.run("start")
    crash_outage = time.monotonic() - outage_started
    time.sleep(1.0)
    own_cluster.run("restart")  # fast shutdown: sessions are terminated, then a new server
    time.sleep(1.0)
    clients.stop()

    stored = _stored(outage_dsn)
    lost = [event_id for event_id, position in clients.acknowledged.items() if stored.get(event_id) != position]
    assert lost == [], f"{len(lost)} acknowledged events are not stored where acknowledged"
    assert set(stored) == clients.sent  # unknown outcomes were settled by retrying: nothing extra
    assert clients.calls.unexpected == []
    assert clients.calls.longest() <= DEADLINE + DEADLINE_MARGIN
    assert clients.calls.unavailable or clients.calls.failed_fast, "the outage was not noticed"
    assert store.breaker.times_opened >= 1 and store.breaker.state == "closed"
    assert all(
        "outcome of this append is unknown" in message or "nothing was appended" in message
        for message in clients.append_errors
    )

    assert clients.stream_error is None
    streamed = [event.position for event in clients.streamed]
    assert streamed == sorted(stored.values()), "the stream skipped, repeated or reordered events"
    assert store._load_checkpoint("outage") == streamed[-1]

    calls = clients.calls
    fast = sorted(calls.failed_fast) or [0.0]
    with capsys.disabled():
        print(
            f"\noutage run: {len(clients.acknowledged)} acknowledged, 0 lost; crash outage {crash_outage:.1f}s; "
            f"calls ok {len(calls.succeeded)}, unavailable {len(calls.unavailable)}, failed fast {len(fast)}; "
            f"longest wait {calls.longest():.2f}s; failing fast took median {fast[len(fast) // 2] * 1000:.2f}ms, "
            f"max {fast[-1] * 1000:.1f}ms; breaker opened {store.breaker.times_opened}x"
        )


def test_no_call_after_a_restart_fails_on_a_dead_pooled_connection(own_cluster: Cluster, outage_dsn: str) -> None:
    store = PostgresEventStore(outage_dsn, pool_size=8)
    try:
        barrier = threading.Barrier(8)

        def hold_a_connection() -> None:
            store._call(lambda conn: (barrier.wait(), conn.execute("SELECT 1")))

        threads = [threading.Thread(target=hold_a_connection) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        own_cluster.run("restart")
        for number in range(10):
            store.append(Event(event_type="AfterRestart", actor_type="t", actor_id=str(number)))
        assert len(store.get_events().events) == 10
    finally:
        store.close()


def test_connection_errors_carry_their_cause(own_cluster: Cluster, outage_dsn: str) -> None:
    missing_database = psycopg.conninfo.make_conninfo(outage_dsn, dbname="no_such_database")
    unknown_role = psycopg.conninfo.make_conninfo(outage_dsn, user="no_such_role")
    refused = psycopg.conninfo.make_conninfo(outage_dsn, port=1)
    for dsn, cause in (
        (missing_database, 'database "no_such_database" does not exist'),
        (unknown_role, 'role "no_such_role" does not exist'),
        (refused, "Connection refused"),
    ):
        with PostgresEventStore(dsn, deadline=1.0) as store:
            started = time.monotonic()
            with pytest.raises(BackendUnavailable, match=cause):
                store.get_events()
            assert time.monotonic() - started < 1.0 + DEADLINE_MARGIN
            assert cause in str(store.health_check().details["error"])


def test_breaker_opens_fails_fast_and_closes_after_a_probe(own_cluster: Cluster, outage_dsn: str) -> None:
    breaker = CircuitBreaker(threshold=2, cooldown=0.2, max_cooldown=0.5)
    with PostgresEventStore(outage_dsn, deadline=1.0, breaker=breaker) as store:
        store.get_events()
        _crash(own_cluster)
        try:
            with pytest.raises(BackendUnavailable, match="outcome of this append is unknown|nothing was appended"):
                store.append(Event(event_type="A", actor_type="t", actor_id="x"))
            assert breaker.state == "open"
            started = time.monotonic()
            with pytest.raises(BackendUnavailable, match="circuit breaker open.*Connection refused"):
                store.get_events()
            assert time.monotonic() - started < 0.1
        finally:
            own_cluster.run("start")
        time.sleep(0.6)  # past the cool-down: the next call is the probe
        assert store.get_events().events == []
        assert breaker.state == "closed"


def test_deadlocks_of_idempotent_calls_are_retried(outage_dsn: str) -> None:
    """A deadlock victim (40P01) is retried within the deadline instead of surfacing."""
    with PostgresEventStore(outage_dsn) as store:
        attempts = []

        def deadlock_once(conn: psycopg.Connection[tuple[object, ...]]) -> str:
            attempts.append(1)
            if len(attempts) == 1:
                conn.execute("DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END $$")
            return "done"

        assert store._call(deadlock_once) == "done"
        assert len(attempts) == 2


def test_events_stored_before_numbers_were_bounded_stay_readable(outage_dsn: str) -> None:
    """The first release let integers of any size into jsonb: reading them must never fail."""
    huge = {"n": 10**400, "big": 2**64 + 1, "tiny": 1}
    with psycopg.connect(outage_dsn, autocommit=True) as conn:
        event_id = uuid.uuid4()
        conn.execute(
            "SELECT pyevents.append_event(%s, now(), 'Legacy', 'svc', 'old', gen_random_uuid(), NULL, '1.0', %s, '{}')",
            (event_id, Jsonb(huge)),
        )
    with PostgresEventStore(outage_dsn) as store:
        stored = store.get_event(event_id)
        assert stored is not None and stored.payload == huge
        assert store.get_events().events[0].payload["n"] == 10**400
        assert store.read(Query.all()).events[0].event_id == event_id
        with store.stream_events(StreamOptions(follow=False)) as stream:
            assert [event.event_id for event in stream] == [event_id]
        assert store.verify() == []


def test_a_subscription_keeps_delivering_while_its_checkpoint_cannot_be_saved(
    own_cluster: Cluster, outage_dsn: str
) -> None:
    with PostgresEventStore(outage_dsn, deadline=1.0) as store:
        positions = store.append_batch([Event(event_type="A", actor_type="t", actor_id=str(n)) for n in range(3)])
        stream = store.stream_events(StreamOptions(batch_size=10, poll_interval=0.02), subscription="mailer")
        assert next(stream).position == positions[0]
        _crash(own_cluster)
        try:
            time.sleep(1.1)  # a checkpoint is due: saving it fails while the server is down
            assert next(stream).position == positions[1]
            assert next(stream).position == positions[2]
        finally:
            own_cluster.run("start")
        # The breaker may still be cooling down from the outage: a caller retries the same event.
        event = Event(event_type="B", actor_type="t", actor_id="x")
        give_up = time.monotonic() + 10
        while True:
            try:
                later = store.append(event)
                break
            except BackendUnavailable:
                if time.monotonic() > give_up:
                    raise
                time.sleep(0.1)
        assert next(stream).position == later
        stream.close()
        assert store._load_checkpoint("mailer") == later
