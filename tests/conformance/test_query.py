"""Queries are exact (DESIGN.md 4.5): every filter combination, order and page boundary returns
exactly what a plain scan of all events returns (`pyevents.model.page_of`)."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyevents import Event, QueryOptions, RecordedEvent, ValidationError
from pyevents.model import page_of
from pyevents.store import EventStore

from .events import at, make_event

TYPES = ["OrderPlaced", "OrderPaid", "OrderShipped", "UserRegistered"]
ACTORS = ["checkout", "billing", "warehouse"]
TAGS = ["order:1", "order:2", "user:7", "vip"]
CORRELATIONS = [uuid.UUID(int=i + 1) for i in range(3)]


def seeded_events(count: int = 80, seed: int = 7) -> list[Event]:
    rng = random.Random(seed)
    events = []
    for i in range(count):
        # Minutes spread over ~4 months, some repeated, so ties and several partitions occur.
        minute = rng.choice([0, 5, 5, 60 * 24 * 40, 60 * 24 * 95]) + rng.randrange(0, 30) * 60
        events.append(
            make_event(
                rng.choice(TYPES),
                tags=rng.sample(TAGS, rng.randrange(0, 4)),
                actor_id=rng.choice(ACTORS),
                correlation_id=rng.choice(CORRELATIONS),
                timestamp=at(minute),
                payload={"n": i},
            )
        )
    return events


@pytest.fixture
def filled(store: EventStore) -> tuple[EventStore, list[RecordedEvent]]:
    events = seeded_events()
    store.append_batch(events[:50])
    for event in events[50:]:
        store.append(event)
    stored = store.get_events(QueryOptions(limit=1000)).events
    assert len(stored) == len(events)
    return store, stored


options_strategy = st.builds(
    QueryOptions,
    since=st.none() | st.integers(0, 60 * 24 * 100).map(at),
    until=st.none() | st.integers(0, 60 * 24 * 100).map(at),
    event_types=st.none() | st.lists(st.sampled_from(TYPES), min_size=1, max_size=2),
    actor_id=st.none() | st.sampled_from([*ACTORS, "nobody"]),
    correlation_id=st.none() | st.sampled_from(CORRELATIONS),
    tags=st.none() | st.lists(st.sampled_from(TAGS), min_size=1, max_size=2),
    after_position=st.none() | st.integers(0, 90),
    limit=st.integers(1, 30),
    offset=st.integers(0, 5),
    order_by=st.sampled_from(["position", "timestamp", "event_id"]),
    order_direction=st.sampled_from(["asc", "desc"]),
)


def positions(events: list[RecordedEvent]) -> list[int]:
    return [e.position for e in events]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(options=options_strategy)
def test_every_filter_combination_equals_a_plain_scan(
    filled: tuple[EventStore, list[RecordedEvent]], options: QueryOptions
) -> None:
    store, stored = filled
    expected = page_of(stored, options)
    page = store.get_events(options)
    assert positions(page.events) == positions(expected.events)
    assert page.has_more == expected.has_more


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(options=options_strategy)
def test_pages_stitched_by_cursor_equal_the_whole(
    filled: tuple[EventStore, list[RecordedEvent]], options: QueryOptions
) -> None:
    store, stored = filled
    whole = page_of(stored, QueryOptions(**{**vars(options), "limit": 1000, "offset": 0}))
    collected: list[RecordedEvent] = []
    current = QueryOptions(**{**vars(options), "offset": 0})
    for _ in range(200):
        page = store.get_events(current)
        collected.extend(page.events)
        if not page.has_more:
            break
        assert page.next_cursor is not None
        current = QueryOptions(**{**vars(current), "cursor": page.next_cursor})
    assert positions(collected) == positions(whole.events)


def test_each_filter_alone(filled: tuple[EventStore, list[RecordedEvent]]) -> None:
    store, stored = filled
    cases = [
        QueryOptions(event_type="OrderPaid"),
        QueryOptions(event_types=["OrderPaid", "OrderShipped"]),
        QueryOptions(actor_id="billing"),
        QueryOptions(correlation_id=CORRELATIONS[1]),
        QueryOptions(tags=["vip"]),
        QueryOptions(tags=["vip", "order:1"]),
        QueryOptions(since=at(60 * 24 * 40)),
        QueryOptions(until=at(60 * 24 * 40)),
        QueryOptions(after_position=stored[40].position),
    ]
    for options in cases:
        got = store.get_events(QueryOptions(**{**vars(options), "limit": 1000}))
        want = [e for e in stored if options.matches(e)]
        assert positions(got.events) == positions(want), options
        assert want, f"the seeded data should exercise {options}"


def test_latest_first(filled: tuple[EventStore, list[RecordedEvent]]) -> None:
    store, stored = filled
    page = store.get_events(QueryOptions(order_direction="desc", limit=5))
    assert positions(page.events) == sorted(positions(stored), reverse=True)[:5]
    assert page.has_more


def test_timestamp_order_breaks_ties_by_position(filled: tuple[EventStore, list[RecordedEvent]]) -> None:
    store, stored = filled
    page = store.get_events(QueryOptions(order_by="timestamp", limit=1000))
    assert [(e.timestamp, e.position) for e in page.events] == sorted((e.timestamp, e.position) for e in stored)


def test_cursor_from_another_order_is_rejected(filled: tuple[EventStore, list[RecordedEvent]]) -> None:
    store, _ = filled
    page = store.get_events(QueryOptions(limit=2))
    with pytest.raises(ValidationError, match="cursor"):
        store.get_events(QueryOptions(limit=2, order_by="timestamp", cursor=page.next_cursor))
    with pytest.raises(ValidationError, match="cursor"):
        store.get_events(QueryOptions(cursor="garbage!"))


def test_empty_store_gives_an_empty_page(store: EventStore) -> None:
    page = store.get_events(QueryOptions())
    assert page.events == [] and not page.has_more and page.next_cursor is None


def test_back_dated_and_recent_events_are_both_found(store: EventStore) -> None:
    old = make_event("Imported", timestamp=at(0) - timedelta(days=3 * 365))
    new = make_event("Live")
    store.append_batch([old, new])
    found = store.get_events(QueryOptions(since=old.timestamp, until=old.timestamp + timedelta(seconds=1)))
    assert [e.event_id for e in found.events] == [old.event_id]
    assert [e.event_type for e in store.get_events().events] == ["Imported", "Live"]
