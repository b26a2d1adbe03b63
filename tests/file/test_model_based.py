"""A stateful hypothesis test: the file store against a list in memory, through appends
(with retries and conditions), rotations, compressions, crashes with torn tails, index loss
and rebuilds, and queries of every shape."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pyevents import (
    AppendCondition,
    AppendConditionViolated,
    DuplicateEventError,
    Event,
    Query,
    QueryItem,
    QueryOptions,
    RecordedEvent,
)
from pyevents.backends.file import FileEventStore
from pyevents.model import EVENT_FIELDS, page_of

from .conftest import segment_files

BASE = datetime(2026, 1, 1, tzinfo=UTC)
TYPES = ["A", "B", "C"]
TAGS = ["x", "y", "z"]

events = st.builds(
    lambda event_type, tags, actor, minutes: Event(
        event_type=event_type,
        actor_type="test",
        actor_id=actor,
        metadata={"tags": tags},
        payload={"pad": "p" * (minutes * 7)},
        timestamp=BASE + timedelta(minutes=minutes),
    ),
    st.sampled_from(TYPES),
    st.lists(st.sampled_from(TAGS), max_size=2, unique=True),
    st.sampled_from(["u1", "u2"]),
    st.integers(0, 30),
)
items = st.builds(
    QueryItem,
    types=st.lists(st.sampled_from(TYPES), max_size=2, unique=True),
    tags=st.lists(st.sampled_from(TAGS), min_size=1, max_size=2, unique=True),
)
queries = st.one_of(st.just(Query.all()), st.builds(Query, st.lists(items, min_size=1, max_size=2)))
options = st.builds(
    QueryOptions,
    event_types=st.none() | st.lists(st.sampled_from(TYPES), min_size=1, max_size=2),
    tags=st.none() | st.lists(st.sampled_from(TAGS), min_size=1, max_size=2),
    actor_id=st.none() | st.sampled_from(["u1", "u2"]),
    since=st.none() | st.integers(0, 30).map(lambda m: BASE + timedelta(minutes=m)),
    after_position=st.none() | st.integers(0, 20),
    limit=st.integers(1, 8),
    offset=st.integers(0, 3),
    order_by=st.sampled_from(["position", "timestamp", "event_id"]),
    order_direction=st.sampled_from(["asc", "desc"]),
)


class FileStoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="pyevents-model-"))
        self.compression = "gzip"
        self.store = self._open()
        self.model: list[RecordedEvent] = []

    def _open(self) -> FileEventStore:
        return FileEventStore(self.directory, max_size=1500, compression=self.compression, fsync="never")

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.directory)

    def _recorded(self, event: Event, position: int) -> RecordedEvent:
        return RecordedEvent(**{k: getattr(event, k) for k in EVENT_FIELDS}, position=position, recorded_at=BASE)

    @rule(batch=st.lists(events, min_size=1, max_size=4), retries=st.integers(0, 2))
    def append(self, batch: list[Event], retries: int) -> None:
        again = self.model[-retries:] if retries else []
        sent = again + batch
        positions = self.store.append_batch(sent)
        assert positions[: len(again)] == [e.position for e in again]
        next_position = (self.model[-1].position if self.model else 0) + 1
        assert positions[len(again) :] == list(range(next_position, next_position + len(batch)))
        self.model.extend(self._recorded(e, p) for e, p in zip(batch, positions[len(again) :], strict=True))

    @rule(event=events, query=queries, after=st.none() | st.integers(0, 20))
    def conditional_append(self, event: Event, query: Query, after: int | None) -> None:
        violated = any(query.matches(e) and (after is None or e.position > after) for e in self.model)
        try:
            position = self.store.append(event, AppendCondition(query, after))
        except AppendConditionViolated:
            assert violated
            return
        assert not violated
        self.model.append(self._recorded(event, position))

    @rule()
    def retry_with_other_content_fails(self) -> None:
        if self.model:
            original = self.model[0]
            changed = replace(Event(**{k: getattr(original, k) for k in EVENT_FIELDS}), payload={"x": 1})
            with pytest.raises(DuplicateEventError, match=str(original.event_id)):
                self.store.append(changed)

    @rule()
    def rotate(self) -> None:
        self.store.rotate()

    @rule()
    def toggle_compression(self) -> None:
        self.compression = "none" if self.compression == "gzip" else "gzip"
        self.store.close()
        self.store = self._open()

    @rule(torn=st.binary(min_size=1, max_size=40).filter(lambda b: b"\n" not in b), lose_index=st.booleans())
    def crash_and_reopen(self, torn: bytes, lose_index: bool) -> None:
        self.store.close()
        names = [n for n in segment_files(self.directory) if n.endswith(".jsonl")]
        if names:
            with open(self.directory / names[-1], "ab") as handle:
                handle.write(torn)  # an append cut short by the crash
        if lose_index:
            for path in self.directory.glob("index-*"):
                path.unlink()
        self.store = self._open()

    @rule()
    def rebuild_index(self) -> None:
        self.store.rebuild_index()

    @rule(options=options)
    def query(self, options: QueryOptions) -> None:
        page = self.store.get_events(options)
        expected = page_of(self.model, options)
        assert [e.position for e in page.events] == [e.position for e in expected.events]
        assert (page.has_more, page.next_cursor) == (expected.has_more, expected.next_cursor)
        for got, want in zip(page.events, expected.events, strict=True):
            assert got.same_content(want)

    @rule(query=queries, after=st.none() | st.integers(0, 20), limit=st.none() | st.integers(1, 5))
    def read(self, query: Query, after: int | None, limit: int | None) -> None:
        expected = [e.position for e in self.model if query.matches(e) and (after is None or e.position > after)]
        got = self.store.read(query, after, limit)
        assert [e.position for e in got.events] == expected[:limit]

    @precondition(lambda self: len(self.model) > 0)
    @rule(data=st.data())
    def get_event(self, data: st.DataObject) -> None:
        wanted = data.draw(st.sampled_from(self.model))
        got = self.store.get_event(wanted.event_id)
        assert got is not None and got.position == wanted.position and got.same_content(wanted)
        assert self.store.get_event(uuid.uuid4()) is None

    @invariant()
    def verified(self) -> None:
        if len(self.model) % 5 == 0:
            assert self.store.verify() == []


FileStoreMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_file_store_matches_the_model = FileStoreMachine.TestCase
