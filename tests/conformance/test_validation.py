"""Bad input gets a clear error naming the field, and nothing is written (DESIGN.md 4.8)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pyevents import Event, QueryOptions, ValidationError
from pyevents.store import EventStore

from .events import make_event

VALID: dict[str, Any] = {"event_type": "A", "actor_type": "svc", "actor_id": "me"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"event_type": ""}, "event_type"),
        ({"event_type": 5}, "event_type"),
        ({"event_type": "x" * 256}, "event_type"),
        ({"actor_type": "  "}, "actor_type"),
        ({"actor_id": None}, "actor_id"),
        ({"event_id": "nope"}, "event_id"),
        ({"correlation_id": "nope"}, "correlation_id"),
        ({"causation_id": 12}, "causation_id"),
        ({"timestamp": datetime(2026, 1, 1)}, "timestamp"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"payload": [1, 2]}, "payload"),
        ({"payload": {"x": float("nan")}}, "payload"),
        ({"payload": {"x": {1, 2}}}, "payload"),
        ({"payload": {"x": "a\x00b"}}, "payload"),
        ({"metadata": "tags"}, "metadata"),
        ({"metadata": {"tags": "vip"}}, "metadata.tags"),
        ({"metadata": {"tags": ["ok", ""]}}, "metadata.tags"),
        ({"metadata": {"tags": [1]}}, "metadata.tags"),
        ({"schema_version": ""}, "schema_version"),
    ],
)
def test_invalid_event_fields_are_named(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        Event(**{**VALID, **changes})
    named = error.value.field or ""
    assert named == field or named.startswith((f"{field}.", f"{field}[")), named  # nested: payload.x
    assert field.split(".")[0] in str(error.value)


def test_from_dict_names_missing_and_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="actor_id is required"):
        Event.from_dict({"event_type": "A", "actor_type": "svc"})
    with pytest.raises(ValidationError, match="unknown event field.*colour"):
        Event.from_dict({**VALID, "colour": "red"})
    event = Event.from_dict({**VALID, "timestamp": "2026-03-01T10:00:00Z", "event_id": str(uuid.UUID(int=5))})
    assert event.timestamp == datetime(2026, 3, 1, 10, tzinfo=UTC)


def test_tags_are_a_set() -> None:
    event = Event(**VALID, metadata={"tags": ["b", "a", "b"]})
    assert event.tags == ["a", "b"]


def test_oversized_payload_is_rejected_and_nothing_is_written(store: EventStore) -> None:
    limit = store.max_payload_size
    big = make_event(payload={"blob": "x" * limit})
    small = make_event()
    with pytest.raises(ValidationError, match="payload") as error:
        store.append_batch([small, big])
    assert error.value.field == "payload"
    assert store.get_events().events == []


def test_timestamps_far_in_the_future_are_rejected(store: EventStore) -> None:
    future = make_event(timestamp=datetime.now(UTC) + timedelta(days=400))
    with pytest.raises(ValidationError, match="future"):
        store.append(future)
    assert store.get_events().events == []


def test_non_events_are_rejected(store: EventStore) -> None:
    with pytest.raises(ValidationError, match="not an Event"):
        store.append_batch([{"event_type": "A"}])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
        ({"offset": -1}, "offset"),
        ({"order_by": "payload"}, "order_by"),
        ({"order_direction": "up"}, "order_direction"),
        ({"after_position": -3}, "after_position"),
        ({"since": datetime(2026, 1, 1)}, "since"),
        ({"tags": "vip"}, "tags"),
        ({"correlation_id": "x"}, "correlation_id"),
    ],
)
def test_invalid_query_options_are_named(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        QueryOptions(**kwargs)
    assert error.value.field == field
