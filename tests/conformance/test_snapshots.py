"""Snapshots: saved beside the log, never part of it; the newest of a correlation wins; each
records the position it was taken at (DESIGN.md 3, create_snapshot / get_snapshot)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from pyevents import Query, QueryOptions, StreamOptions, ValidationError
from pyevents.store import EventStore

from .conftest import Opener
from .events import make_event


def test_a_correlation_without_a_snapshot_has_none(store: EventStore) -> None:
    assert store.get_snapshot(uuid.uuid4()) is None


def test_snapshot_round_trips_and_defaults_to_the_head(store: EventStore) -> None:
    correlation = uuid.uuid4()
    empty = store.create_snapshot(uuid.uuid4(), {"n": 0})
    assert empty.position == 0
    positions = store.append_batch([make_event(correlation_id=correlation) for _ in range(3)])
    before = datetime.now(UTC)
    state = {"total": 42.5, "lines": [{"sku": "A-1", "qty": 2}], "note": "ünïcode", "none": None}
    made = store.create_snapshot(str(correlation), state)
    assert made.position == positions[-1]
    assert made.state == state and made.correlation_id == correlation
    loaded = store.get_snapshot(correlation)
    assert loaded is not None
    assert (loaded.correlation_id, loaded.state, loaded.position) == (correlation, state, positions[-1])
    assert loaded.created_at.tzinfo is not None and loaded.created_at >= before.replace(microsecond=0)
    assert loaded.created_at == made.created_at


def test_a_snapshot_is_not_an_event(store: EventStore) -> None:
    correlation = uuid.uuid4()
    store.append_batch([make_event(correlation_id=correlation, tags=["k"]) for _ in range(2)])
    before = store.get_events(QueryOptions(limit=100)).events
    store.create_snapshot(correlation, {"seen": 2})
    assert store.get_events(QueryOptions(limit=100)).events == before
    assert store.get_events_by_correlation(correlation) == before
    assert store.read(Query.all()).events == before
    assert list(store.stream_events(StreamOptions(follow=False))) == before
    later = store.append(make_event(correlation_id=correlation))
    assert [e.position for e in store.get_events(QueryOptions(limit=100)).events][-1] == later


def test_the_newest_snapshot_wins_whatever_its_position(store: EventStore) -> None:
    correlation, other = uuid.uuid4(), uuid.uuid4()
    first, second = store.append_batch([make_event(), make_event()])
    store.create_snapshot(correlation, {"v": 1}, position=second)
    store.create_snapshot(other, {"v": "other"})
    store.create_snapshot(correlation, {"v": 2}, position=first)
    loaded = store.get_snapshot(correlation)
    assert loaded is not None and (loaded.state, loaded.position) == ({"v": 2}, first)
    kept = store.get_snapshot(other)
    assert kept is not None and kept.state == {"v": "other"}


def test_snapshots_survive_reopening(open_store: Opener) -> None:
    writer = open_store()
    correlation = uuid.uuid4()
    position = writer.append(make_event(correlation_id=correlation))
    writer.create_snapshot(correlation, {"balance": 10})
    writer.close()
    loaded = open_store().get_snapshot(correlation)
    assert loaded is not None and (loaded.state, loaded.position) == ({"balance": 10}, position)


def test_bad_snapshots_are_refused_and_store_nothing(store: EventStore) -> None:
    correlation = uuid.uuid4()
    head = store.append(make_event())
    cases: list[tuple[dict[str, object], str]] = [
        ({"correlation_id": "not-a-uuid", "state": {}}, "correlation_id"),
        ({"correlation_id": correlation, "state": ["a", "list"]}, "state"),
        ({"correlation_id": correlation, "state": {"x": float("nan")}}, "state"),
        ({"correlation_id": correlation, "state": {"x": object()}}, "state"),
        ({"correlation_id": correlation, "state": {"blob": "x" * (store.max_payload_size + 1)}}, "state"),
        ({"correlation_id": correlation, "state": {}, "position": -1}, "position"),
        ({"correlation_id": correlation, "state": {}, "position": head + 1}, "position"),
        ({"correlation_id": correlation, "state": {}, "position": True}, "position"),
    ]
    for arguments, field in cases:
        with pytest.raises(ValidationError) as raised:
            store.create_snapshot(**arguments)  # type: ignore[arg-type]
        assert (raised.value.field or "").startswith(field), arguments
    assert store.get_snapshot(correlation) is None
    with pytest.raises(ValidationError, match="correlation_id"):
        store.get_snapshot("nope")
