"""Numbers in payloads and metadata: every accepted number reads back exactly (value and type),
every other is refused at append time with an error naming it, and reads never fail."""

from __future__ import annotations

from typing import Any

import pytest

from pyevents import Event, Query, QueryOptions, StreamOptions, ValidationError
from pyevents.limits import MAX_JSON_DEPTH
from pyevents.store import EventStore

from .events import make_event

KEPT: list[Any] = [
    0,
    -1,
    2**63 - 1,
    -(2**63),
    2**64 - 1,
    1e18,
    -1e16,
    1e300,
    1.7976931348623157e308,
    5e-324,
    1.5e-7,
    0.1,
    2.0,
    -0.0,
    123456789.123456789,
]
REFUSED: list[Any] = [2**64, 2**64 + 1, -(2**63) - 1, 10**400, 10**5000]


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def _same(left: Any, right: Any) -> bool:
    """Equal, and of the same JSON type all the way down (1e18 must not come back as an int)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, float):
        return bool(left == right)  # PostgreSQL's numeric has no negative zero: -0.0 reads back as 0.0, equal
    return bool(left == right)


def test_accepted_numbers_round_trip_exactly_through_every_read(store: EventStore) -> None:
    payload = {f"n{index}": value for index, value in enumerate(KEPT)}
    payload["list"] = list(KEPT)
    metadata = {"tags": ["numbers"], "big": 1e18}
    event = make_event("Numbers", payload=payload, metadata=metadata)
    position = store.append(event)
    batch = store.append_batch([make_event("Numbers", payload={"v": value}) for value in KEPT])

    read_back = [
        store.get_event(event.event_id),
        store.get_events(QueryOptions(event_type="Numbers", limit=1)).events[0],
        store.read(Query.all(), limit=1).events[0],
    ]
    with store.stream_events(StreamOptions(follow=False)) as stream:
        read_back.append(next(stream))
    for recorded in read_back:
        assert recorded is not None and recorded.position == position
        assert _same(recorded.payload, payload), recorded.payload
        assert _same(recorded.metadata["big"], 1e18)
    singles = store.get_events(QueryOptions(after_position=position, limit=100)).events
    assert [e.position for e in singles] == batch
    for value, recorded in zip(KEPT, singles, strict=True):
        assert _same(recorded.payload["v"], value), (value, recorded.payload["v"])
    assert store.append(event) == position  # the retry of an event read back is recognised
    assert store.verify() == []


def test_integers_beyond_64_bits_are_refused_before_anything_is_stored(store: EventStore) -> None:
    for value in REFUSED:
        with pytest.raises(ValidationError, match="beyond 64 bits") as error:
            store.append(make_event(payload={"order": {"total": value}}))
        assert error.value.field == "payload.order.total"
        with pytest.raises(ValidationError) as error:
            store.append_batch([make_event(), make_event(metadata={"count": [value]})])
        assert error.value.field == "metadata.count[0]"
    assert store.get_events().events == []


def test_nesting_is_bounded_with_a_clear_error(store: EventStore) -> None:
    deepest = make_event(payload=_nested(MAX_JSON_DEPTH))
    store.append(deepest)
    stored = store.get_event(deepest.event_id)
    assert stored is not None and stored.payload == deepest.payload
    for depth in (MAX_JSON_DEPTH + 1, 10_000):
        with pytest.raises(ValidationError, match=f"nested more than {MAX_JSON_DEPTH} levels deep") as error:
            Event(event_type="A", actor_type="svc", actor_id="me", payload=_nested(depth))
        assert (error.value.field or "").startswith("payload")
