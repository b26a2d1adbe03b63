"""Live streams on every backend: catch-up then follow, filters, clean stop, subscriptions."""

from __future__ import annotations

import threading
import time

import pytest

from pyevents import StreamOptions, ValidationError
from pyevents.store import EventStore

from .conftest import Opener
from .events import at, make_event


def test_catch_up_only(store: EventStore) -> None:
    positions = store.append_batch([make_event(f"T{i}") for i in range(7)])
    assert [e.position for e in store.stream_events(StreamOptions(follow=False))] == positions
    later = store.stream_events(StreamOptions(after_position=positions[3], follow=False, batch_size=2))
    assert [e.position for e in later] == positions[4:]


def test_catch_up_then_live(open_store: Opener) -> None:
    reader, writer = open_store(), open_store()
    first = writer.append_batch([make_event() for _ in range(3)])
    stream = reader.stream_events(StreamOptions(poll_interval=0.01))
    received: list[int] = []

    def consume() -> None:
        for event in stream:
            received.append(event.position)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    live = [writer.append(make_event("Live")) for _ in range(5)]
    deadline = time.monotonic() + 20
    while len(received) < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    stream.close()
    thread.join(timeout=10)
    assert not thread.is_alive(), "close() must end the stream"
    assert received == first + live


def test_filters_apply_to_streams(store: EventStore) -> None:
    store.append_batch(
        [
            make_event("A", tags=["k"], actor_id="x"),
            make_event("B", tags=["k"], actor_id="y"),
            make_event("A", actor_id="y", timestamp=at(0)),
        ]
    )
    types = [e.event_type for e in store.stream_events(StreamOptions(event_types=["A"], follow=False))]
    assert types == ["A", "A"]
    actors = [e.actor_id for e in store.stream_events(StreamOptions(tags=["k"], actor_id="y", follow=False))]
    assert actors == ["y"]
    since = [e.event_type for e in store.stream_events_since(at(60), follow=False)]
    assert since == ["A", "B"]


def test_subscription_resumes_after_its_checkpoint(open_store: Opener) -> None:
    store = open_store()
    positions = store.append_batch([make_event() for _ in range(6)])
    with store.stream_events(StreamOptions(follow=False), subscription="projector") as stream:
        taken = [next(stream).position for _ in range(4)]
    assert taken == positions[:4]
    again = open_store()
    resumed = [e.position for e in again.stream_events(StreamOptions(follow=False), subscription="projector")]
    assert resumed == positions[4:]
    assert [e.position for e in again.stream_events(StreamOptions(follow=False), subscription="other")] == positions


def test_stream_options_are_validated() -> None:
    with pytest.raises(ValidationError, match="batch_size"):
        StreamOptions(batch_size=0)
    with pytest.raises(ValidationError, match="poll_interval"):
        StreamOptions(poll_interval=0)
    with pytest.raises(ValidationError, match="tags"):
        StreamOptions(tags="k")


def test_lag_counts_what_the_stream_has_not_handed_out(store: EventStore) -> None:
    positions = store.append_batch([make_event() for _ in range(5)])
    stream = store.stream_events(StreamOptions(follow=False))
    assert stream.lag().positions == positions[-1]
    next(stream)
    lag = stream.lag()
    assert lag.positions == positions[-1] - positions[0]
    assert lag.seconds >= 0
    rest = list(stream)
    assert len(rest) == 4 and stream.lag().positions == 0
