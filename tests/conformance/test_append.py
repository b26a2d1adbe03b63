"""Appending: positions, atomic batches, idempotent retries, append-only (DESIGN.md 4.1-4.3)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from pyevents import (
    DuplicateEventError,
    QueryOptions,
    RecordedEvent,
    ValidationError,
)
from pyevents.store import EventStore

from .conftest import Opener
from .events import at, make_event


def all_events(store: EventStore) -> list[RecordedEvent]:
    return list(store.get_events(QueryOptions(limit=10_000)).events)


def test_positions_strictly_increase_and_events_round_trip(store: EventStore) -> None:
    sent = [make_event(f"Type{i}", tags=[f"t{i}"], timestamp=at(i)) for i in range(5)]
    positions = [store.append(event) for event in sent]
    assert positions == sorted(positions) and len(set(positions)) == 5 and positions[0] >= 1
    stored = store.get_events(QueryOptions(limit=100)).events
    assert [e.position for e in stored] == positions
    for original, recorded in zip(sent, stored, strict=True):
        assert recorded.same_content(original)
        assert recorded.recorded_at.tzinfo is not None


def test_batch_returns_positions_in_input_order(store: EventStore) -> None:
    batch = [make_event(timestamp=at(10 - i)) for i in range(10)]
    positions = store.append_batch(batch)
    assert positions == sorted(positions) and len(set(positions)) == 10
    for event, position in zip(batch, positions, strict=True):
        got = store.get_event(event.event_id)
        assert got is not None and got.position == position


def test_batch_with_one_bad_event_stores_nothing(store: EventStore) -> None:
    good = make_event()
    stored = make_event("Existing")
    store.append(stored)
    conflicting = replace(stored, payload={"changed": True})
    with pytest.raises(DuplicateEventError):
        store.append_batch([good, conflicting])
    assert store.get_event(good.event_id) is None
    assert [e.event_id for e in all_events(store)] == [stored.event_id]


def test_batch_rejects_duplicate_ids_within_itself(store: EventStore) -> None:
    event = make_event()
    with pytest.raises(ValidationError, match="twice"):
        store.append_batch([event, event])
    assert all_events(store) == []


def test_empty_batch_is_rejected(store: EventStore) -> None:
    with pytest.raises(ValidationError, match="at least one"):
        store.append_batch([])


def test_retry_of_the_same_event_is_idempotent(store: EventStore) -> None:
    event = make_event(tags=["order:1"])
    first = store.append(event)
    assert store.append(event) == first
    assert store.append_batch([event]) == [first]
    assert len(all_events(store)) == 1


def test_retry_of_a_whole_batch_returns_the_same_positions(store: EventStore) -> None:
    batch = [make_event() for _ in range(3)]
    positions = store.append_batch(batch)
    assert store.append_batch(batch) == positions
    assert len(all_events(store)) == 3


def test_batch_mixing_stored_and_new_events_stores_only_the_new(store: EventStore) -> None:
    old = make_event("Old")
    old_position = store.append(old)
    new = make_event("New")
    positions = store.append_batch([old, new])
    assert positions[0] == old_position and positions[1] > old_position
    assert [e.event_type for e in all_events(store)] == ["Old", "New"]


def test_same_id_with_different_content_is_an_error(store: EventStore) -> None:
    event = make_event()
    store.append(event)
    with pytest.raises(DuplicateEventError, match=str(event.event_id)):
        store.append(replace(event, payload={"other": 1}))
    with pytest.raises(DuplicateEventError):
        store.append(replace(event, timestamp=at(99)))


def test_concurrent_retries_of_one_event_store_one_copy(open_store: Opener) -> None:
    stores = [open_store() for _ in range(4)]
    event = make_event()
    with ThreadPoolExecutor(4) as pool:
        try:
            positions = list(pool.map(lambda s: s.append(event), stores))
        except Exception as exc:  # the file backend has a single writer: others are refused
            pytest.skip(f"backend allows one writer at a time: {exc}")
    assert len(set(positions)) == 1
    assert len(all_events(stores[0])) == 1


def test_events_survive_reopening(open_store: Opener) -> None:
    first = open_store()
    events = [make_event(tags=["keep"]) for _ in range(3)]
    positions = first.append_batch(events)
    first.close()
    second = open_store()
    assert [e.position for e in all_events(second)] == positions
    assert second.get_event(events[1].event_id) is not None


def test_no_public_method_changes_or_removes_an_event(store: EventStore) -> None:
    mutators = {name for name in dir(store) if name.split("_")[0] in {"update", "delete", "remove", "truncate"}}
    assert mutators == set()


def test_get_event_unknown_returns_none(store: EventStore) -> None:
    store.append(make_event())
    assert store.get_event(uuid.uuid4()) is None
    assert store.get_event(str(uuid.uuid4())) is None


def test_get_event_with_invalid_id_names_the_field(store: EventStore) -> None:
    with pytest.raises(ValidationError, match="event_id"):
        store.get_event("not-a-uuid")


def test_events_by_correlation_in_order(store: EventStore) -> None:
    correlation = uuid.uuid4()
    other = make_event()
    mine = [make_event(f"Step{i}", correlation_id=correlation, timestamp=at(-i)) for i in range(3)]
    store.append_batch([mine[0], other, mine[1]])
    store.append(mine[2])
    found = store.get_events_by_correlation(correlation)
    assert [e.event_type for e in found] == ["Step0", "Step1", "Step2"]
    assert store.get_events_by_correlation(str(correlation)) == found


def test_verify_finds_nothing_wrong_after_normal_use(store: EventStore) -> None:
    store.append_batch([make_event(tags=["a", "b"]) for _ in range(5)])
    assert store.verify() == []


def test_health_check_reports_healthy(store: EventStore) -> None:
    status = store.health_check()
    assert status.healthy, status.details
    assert status.backend == store.backend_name
