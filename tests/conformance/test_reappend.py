"""An event read back from a store is an Event like any other: appending it again, alone or in
a batch, is recognised as the same event (its original position, nothing stored twice)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest

import pyevents
from pyevents import DuplicateEventError, Query, QueryItem, QueryOptions, RecordedEvent, StreamOptions
from pyevents.store import EventStore

from .events import at, make_event


def _stored(store: EventStore) -> list[RecordedEvent]:
    return list(store.get_events(QueryOptions(limit=1000)).events)


def _append_some(store: EventStore) -> list[int]:
    events = [
        make_event(
            "OrderPlaced",
            tags=["order:1", "customer:7"],
            timestamp=at(i),
            causation_id=uuid.uuid4() if i else None,
            payload={"total": 42.5 + i, "count": 10**15 + i, "lines": [{"sku": "A-1", "qty": i}], "note": "é"},
            metadata={"source": "import"},
        )
        for i in range(3)
    ]
    return store.append_batch(events)


def _read_back(store: EventStore) -> dict[str, list[RecordedEvent]]:
    """The same events through every read path."""
    by_id = [store.get_event(event.event_id) for event in _stored(store)]
    with store.stream_events(StreamOptions(follow=False)) as stream:
        streamed = list(stream)
    return {
        "get_events": _stored(store),
        "get_event": [event for event in by_id if event is not None],
        "read": list(store.read(Query([QueryItem(tags=["order:1"])])).events),
        "stream_events": streamed,
    }


def test_read_back_events_append_again_one_by_one(store: EventStore) -> None:
    positions = _append_some(store)
    for path, events in _read_back(store).items():
        assert [store.append(event) for event in events] == positions, path
    assert [event.position for event in _stored(store)] == positions


def test_read_back_events_append_again_as_a_batch(store: EventStore) -> None:
    positions = _append_some(store)
    for path, events in _read_back(store).items():
        assert store.append_batch(events) == positions, path
    new = make_event("OrderShipped", tags=["order:1"])
    mixed = store.append_batch([*_stored(store), new])
    assert mixed[:-1] == positions and mixed[-1] > positions[-1]
    assert len(_stored(store)) == len(positions) + 1


def test_a_read_back_event_with_other_content_is_refused(store: EventStore) -> None:
    _append_some(store)
    recorded = _stored(store)[0]
    with pytest.raises(DuplicateEventError):
        store.append(replace(recorded, payload={"total": 0}))
    with pytest.raises(DuplicateEventError):
        store.append_batch([make_event(), replace(recorded, metadata={"tags": ["other"]})])
    assert len(_stored(store)) == 3


def test_read_back_events_copy_into_another_store(store: EventStore, tmp_path: Path) -> None:
    _append_some(store)
    originals = _stored(store)
    config = {"backend": "file", "file": {"data_directory": str(tmp_path / "copy")}}
    with pyevents.open_store(config=config) as copy:
        positions = copy.append_batch(originals)
        assert copy.append_batch(originals) == positions
        copied = _stored(copy)
    assert [event.event_id for event in copied] == [event.event_id for event in originals]
    assert all(a.same_content(b) for a, b in zip(copied, originals, strict=True))
