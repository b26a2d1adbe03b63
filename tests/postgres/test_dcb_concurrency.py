"""Conditional appends under concurrency (READ COMMITTED): overlapping conditions serialise,
disjoint ones never wait, and no appended event ever violates its own condition."""

from __future__ import annotations

import multiprocessing
import random
import threading
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

import pyevents
from pyevents import AppendCondition, AppendConditionViolated, Event, Query, QueryItem, QueryOptions
from pyevents.backends.postgres import PostgresEventStore

CONDITIONAL_APPEND = (
    "SELECT pyevents.append_event(gen_random_uuid(), now(), %s, 'test', 'dcb', gen_random_uuid(), NULL, '1.0',"
    " '{}', %s, %s, %s)"
)


def conditional_append(conn: psycopg.Connection[Any], event_type: str, tags: list[str], query: dict[str, Any]) -> int:
    row = conn.execute(CONDITIONAL_APPEND, (event_type, Jsonb({"tags": tags}), Jsonb(query), None)).fetchone()
    assert row is not None
    return int(row[0])


def test_disjoint_conditions_do_not_wait_overlapping_ones_do(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as holder:
        # An open conditional append on tag a: its locks are held until it commits.
        conditional_append(holder, "Reserved", ["a"], {"items": [{"tags": ["a"]}]})
        with psycopg.connect(pg_dsn, autocommit=True) as other:
            other.execute("SET lock_timeout = '300ms'")
            conditional_append(other, "Reserved", ["b"], {"items": [{"tags": ["b"]}]})  # disjoint: no wait
            conditional_append(other, "Other", ["c"], {"items": [{"types": ["Other"]}]})
            with pytest.raises(psycopg.errors.LockNotAvailable):
                conditional_append(other, "Reserved", ["a"], {"items": [{"tags": ["a"]}]})
            with pytest.raises(psycopg.errors.LockNotAvailable):
                # A plain append of a matching event must wait too, or the check could miss it.
                other.execute(
                    "SELECT pyevents.append_event(gen_random_uuid(), now(), 'Any', 't', 'x', gen_random_uuid(),"
                    " NULL, '1.0', '{}', '{\"tags\": [\"a\", \"z\"]}')"
                )
            with pytest.raises(psycopg.errors.LockNotAvailable):
                conditional_append(other, "X", ["q"], {"all": True})
        holder.commit()


def _racer(dsn: str, rounds: int, barrier: Any, results: Any, worker: int) -> None:
    with pyevents.open_store(config={"backend": "postgresql", "postgresql": {"dsn": dsn, "pool_size": 1}}) as store:
        for round_number in range(rounds):
            query = Query([QueryItem(types=["Claimed"], tags=[f"seat:{round_number}"])])
            head = store.read(query).head
            barrier.wait()
            event = Event(
                event_type="Claimed",
                actor_type="test",
                actor_id=f"w{worker}",
                metadata={"tags": [f"seat:{round_number}"]},
            )
            try:
                store.append(event, AppendCondition(query, after=head))
                results.put((round_number, worker))
            except AppendConditionViolated:
                pass
            barrier.wait()


def test_racing_processes_exactly_one_wins_per_round(pg_dsn: str, pg_store: PostgresEventStore) -> None:
    context = multiprocessing.get_context("spawn")
    workers, rounds = 6, 15
    barrier = context.Barrier(workers)
    results = context.Queue()
    processes = [context.Process(target=_racer, args=(pg_dsn, rounds, barrier, results, w)) for w in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    winners: dict[int, list[int]] = {}
    while not results.empty():
        round_number, worker = results.get()
        winners.setdefault(round_number, []).append(worker)
    assert sorted(winners) == list(range(rounds))
    assert all(len(w) == 1 for w in winners.values()), winners
    assert len(pg_store.get_events(QueryOptions(limit=1000)).events) == rounds


TYPES = ["Opened", "Moved", "Closed"]
TAGS = [f"k{i}" for i in range(6)]


def _decider(dsn: str, seed: int, decisions: int, log: Any) -> None:
    """Reads a decision model, appends under its condition, and records what it did."""
    rng = random.Random(seed)
    with pyevents.open_store(config={"backend": "postgresql", "postgresql": {"dsn": dsn, "pool_size": 1}}) as store:
        for _ in range(decisions):
            item = QueryItem(types=rng.sample(TYPES, rng.randrange(0, 2)), tags=rng.sample(TAGS, rng.randrange(1, 3)))
            query = Query([item])
            head = store.read(query).head
            event = Event(
                event_type=rng.choice(TYPES),
                actor_type="test",
                actor_id=f"d{seed}",
                metadata={"tags": rng.sample(TAGS, 2)},
            )
            try:
                position = store.append(event, AppendCondition(query, after=head))
            except AppendConditionViolated:
                continue
            log.put((position, list(item.types), list(item.tags), head))


def test_concurrency_oracle_no_event_violates_its_condition(pg_dsn: str, pg_store: PostgresEventStore) -> None:
    context = multiprocessing.get_context("spawn")
    log = context.Queue()
    processes = [context.Process(target=_decider, args=(pg_dsn, seed, 60, log)) for seed in range(6)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=180)
        assert process.exitcode == 0
    appended = []
    while not log.empty():
        appended.append(log.get())
    events = pg_store.get_events(QueryOptions(limit=10_000)).events
    assert len(appended) == len(events) > 10
    by_position = {e.position: e for e in events}
    for position, types, tags, head in appended:
        item = QueryItem(types=types, tags=tags)
        for other in events:
            if (head is None or other.position > head) and other.position < position:
                assert not item.matches(other), (
                    f"event {position} was appended on the condition that nothing matching {item} follows {head}, "
                    f"but event {other.position} does"
                )
        assert by_position[position].actor_type == "test"


def test_a_read_waits_for_in_flight_matching_appends(pg_dsn: str, pg_store: PostgresEventStore) -> None:
    """Positions are drawn before commit: an append in flight can hold a lower position than
    a matching event already visible. A DCB read must not hand out a head above it, or a later
    condition "nothing after the head" would never see that event."""
    query = Query([QueryItem(tags=["seat:1"])])
    with psycopg.connect(pg_dsn) as slow:
        low = slow.execute(
            "SELECT pyevents.append_event(gen_random_uuid(), now(), 'Claimed', 't', 'slow', gen_random_uuid(),"
            " NULL, '1.0', '{}', '{\"tags\": [\"seat:1\"]}')"
        ).fetchone()
        high = pg_store.append(Event(event_type="Other", actor_type="t", actor_id="fast", metadata={"tags": ["x"]}))
        result: list[list[int]] = []
        reader = threading.Thread(target=lambda: result.append([e.position for e in pg_store.read(query).events]))
        reader.start()
        reader.join(timeout=0.5)
        assert reader.is_alive(), "the read must wait for the in-flight matching append"
        slow.commit()
    reader.join(timeout=10)
    assert low is not None and result == [[low[0]]] and high > low[0]
