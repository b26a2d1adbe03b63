"""EventStore: the interface every backend implements, and the checks they all share."""

from __future__ import annotations

import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

from pyevents.errors import PyEventsError, ValidationError
from pyevents.limits import DEFAULT_MAX_PAYLOAD_SIZE, MAX_BATCH_SIZE, MAX_FUTURE_SKEW, interval_text
from pyevents.metrics import EventStoreMetrics, Instruments, PoolMetrics, StorageMetrics
from pyevents.model import (
    MAX_POSITION,
    AppendCondition,
    Event,
    EventPage,
    HealthStatus,
    Query,
    QueryOptions,
    RecordedEvent,
    SequencedEvents,
    Snapshot,
    StreamOptions,
    check_name,
    check_position,
    check_snapshot_state,
    check_timestamp,
    check_uuid,
    utc_now,
)
from pyevents.retention import Progress, RetentionPolicy, RetentionReport
from pyevents.streams import EventStream, Follower, PageReader, PollingFollower


class EventStore(ABC):
    """An append-only log of events with a global, strictly increasing position.

    Backends implement the abstract methods; the public methods validate first, so a backend
    never sees an argument the contract forbids.
    """

    backend_name: str = "abstract"

    def __init__(self, *, max_payload_size: int = DEFAULT_MAX_PAYLOAD_SIZE) -> None:
        self.max_payload_size = max_payload_size
        self.instruments = Instruments()
        self.retention_policy = RetentionPolicy()  # infinite; from_config sets `[retention]`

    # -- writing -----------------------------------------------------------------------------
    def append(self, event: Event, condition: AppendCondition | None = None) -> int:
        """Append one event; returns its global position. Retrying with the same event is safe."""
        return self.append_batch([event], condition)[0]

    def append_batch(self, events: Sequence[Event], condition: AppendCondition | None = None) -> list[int]:
        """Append events atomically (all or none); returns their positions in order."""
        started = time.perf_counter()
        events = list(events)
        try:
            check_append(events, condition, self.max_payload_size)
            positions = self._append_batch(events, condition)
        except PyEventsError as exc:
            self.instruments.write_failed(exc)
            raise
        self.instruments.appended(events, time.perf_counter() - started)
        return positions

    @abstractmethod
    def _append_batch(self, events: list[Event], condition: AppendCondition | None) -> list[int]: ...

    # -- reading -----------------------------------------------------------------------------
    def get_events(self, options: QueryOptions | None = None) -> EventPage:
        """One page of events matching every filter, in the requested order."""
        started = time.perf_counter()
        try:
            page = self._get_events(options or QueryOptions())
        except PyEventsError as exc:
            self.instruments.error(exc)
            raise
        self.instruments.queried("get_events", time.perf_counter() - started)
        return page

    @abstractmethod
    def _get_events(self, options: QueryOptions) -> EventPage: ...

    @abstractmethod
    def get_event(self, event_id: uuid.UUID | str) -> RecordedEvent | None:
        """The stored event with this id, or None."""

    def get_events_by_correlation(self, correlation_id: uuid.UUID | str) -> list[RecordedEvent]:
        """Every event of a correlation, in position order."""
        correlation = check_uuid(correlation_id, "correlation_id")
        events: list[RecordedEvent] = []
        options = QueryOptions(correlation_id=correlation, limit=1000)
        while True:
            page = self.get_events(options)
            events.extend(page.events)
            if not page.has_more:
                return events
            options = QueryOptions(correlation_id=correlation, limit=1000, cursor=page.next_cursor)

    def read(self, query: Query, after: int | None = None, limit: int | None = None) -> SequencedEvents:
        """DCB read: events matching the query after a position, in order, with the head."""
        check_read(query, after, limit)
        started = time.perf_counter()
        try:
            events = self._read(query, after, limit)
        except PyEventsError as exc:
            self.instruments.error(exc)
            raise
        self.instruments.queried("read", time.perf_counter() - started)
        return SequencedEvents(events, events[-1].position if events else after)

    @abstractmethod
    def _read(self, query: Query, after: int | None, limit: int | None) -> list[RecordedEvent]: ...

    # -- live streams ------------------------------------------------------------------------
    def stream_events(self, options: StreamOptions | None = None, *, subscription: str | None = None) -> EventStream:
        """Events in position order: catch-up, then (with `follow`) live. Every event exactly
        once, none skipped even when transactions commit out of position order. With a
        subscription name, it resumes after that subscription's checkpoint."""
        options = options or StreamOptions()
        if subscription is not None:
            check_name(subscription, "subscription")
        checkpoints = None if subscription is None else _SubscriptionCheckpoints(self)
        return EventStream(
            self._stream_pages(),
            options,
            subscription=subscription,
            checkpoints=checkpoints,
            open_follower=self._open_follower,
        )

    def stream_events_since(self, timestamp: datetime | str, *, follow: bool = True) -> EventStream:
        """Events whose timestamp is at or after `timestamp`, in position order, then live."""
        return self.stream_events(StreamOptions(since=check_timestamp(timestamp, "timestamp"), follow=follow))

    def _stream_pages(self) -> PageReader:
        """Where a stream reads its pages when its follower does not read them itself: from a
        server that holds everything up to the follower's frontier."""
        return self

    def _open_follower(self) -> Follower:
        """How a stream learns the settled end of the log; a single-writer log needs no more."""
        return PollingFollower()

    @abstractmethod
    def _load_checkpoint(self, subscription: str) -> int | None:
        """The saved position of a named subscription, or None for a new one."""

    @abstractmethod
    def _save_checkpoint(self, subscription: str, position: int) -> None:
        """Record a subscription's position; a lower position than the saved one is ignored."""

    # -- snapshots ---------------------------------------------------------------------------
    def create_snapshot(
        self, correlation_id: uuid.UUID | str, state: dict[str, object], position: int | None = None
    ) -> Snapshot:
        """Save `state` (a JSON object) as the snapshot of a correlation, taken at `position`
        (default: the current head of the log); it replaces any earlier one. A snapshot is not
        an event: it never appears in reads or streams."""
        correlation, encoded, position = check_snapshot(correlation_id, state, position, self.max_payload_size)
        return self._create_snapshot(correlation, encoded, position)

    def get_snapshot(self, correlation_id: uuid.UUID | str) -> Snapshot | None:
        """The newest snapshot of a correlation, or None."""
        return self._get_snapshot(check_uuid(correlation_id, "correlation_id"))

    @abstractmethod
    def _create_snapshot(self, correlation_id: uuid.UUID, encoded: str, position: int | None) -> Snapshot:
        """Store a snapshot durably and return it. `encoded` is the state in the storage encoding;
        `position` None means the head of the log at this moment; a position beyond the head
        is a ValidationError naming `position`. Replaces the correlation's earlier snapshot."""

    @abstractmethod
    def _get_snapshot(self, correlation_id: uuid.UUID) -> Snapshot | None:
        """The correlation's latest stored snapshot, or None."""

    # -- operations --------------------------------------------------------------------------
    def apply_retention(
        self, dry_run: bool = False, *, policy: RetentionPolicy | None = None, progress: Progress | None = None
    ) -> RetentionReport:
        """Remove what the retention policy (`[retention]`, or `policy`) says must go, and record
        the run as a `pyevents.retention.applied` event. With `dry_run`, only the plan: nothing
        changes and nothing is recorded. `progress(done, total)` is called as units complete."""
        try:
            report = self._apply_retention(policy or self.retention_policy, dry_run, progress)
        except PyEventsError:
            self.instruments.retention_ran("failed")
            raise
        self.instruments.retention_ran("dry_run" if dry_run else "ok")
        return report

    def _apply_retention(self, policy: RetentionPolicy, dry_run: bool, progress: Progress | None) -> RetentionReport:
        """Backends that can remove events override this; the others refuse clearly."""
        raise PyEventsError(f"the {self.backend_name} backend does not support retention")

    @abstractmethod
    def health_check(self) -> HealthStatus:
        """Liveness and readiness: whether the backend is reachable and each readiness check
        (schema, partitions, disk space, horizon, pool...) passes."""

    def get_metrics(self) -> EventStoreMetrics:
        """This process's counters and latencies, with the storage's figures when reachable."""
        try:
            storage: StorageMetrics | None = self._storage_metrics()
            error = None
        except PyEventsError as exc:
            self.instruments.error(exc)
            storage, error = None, str(exc)
        return EventStoreMetrics.collect(self.backend_name, self.instruments, storage, self._pool_metrics(), error)

    @abstractmethod
    def _storage_metrics(self) -> StorageMetrics:
        """What the storage holds: events by type, bytes, partitions or segments, lag."""

    def _pool_metrics(self) -> PoolMetrics | None:
        """The client connection pool, for backends that keep one."""
        return None

    @abstractmethod
    def verify(self, progress: Callable[[int], None] | None = None) -> list[str]:
        """Check stored data for corruption and inconsistency; returns every problem found.
        `progress(position)` is called as the check passes through the log, by backends that
        check it here (not those whose server checks it in one request)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections, locks and files. Idempotent."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


# The checks of the public methods, shared by EventStore and AsyncEventStore: a backend never
# sees an argument the contract forbids, whichever client called it.


def check_append(events: list[Event], condition: AppendCondition | None, max_payload_size: int) -> None:
    if not events:
        raise ValidationError("a batch needs at least one event", field="events")
    if len(events) > MAX_BATCH_SIZE:
        raise ValidationError(f"a batch holds at most {MAX_BATCH_SIZE} events", field="events")
    seen: set[uuid.UUID] = set()
    latest_allowed = utc_now() + MAX_FUTURE_SKEW
    for index, event in enumerate(events):
        if not isinstance(event, Event):
            raise ValidationError(f"events[{index}] is not an Event", field="events")
        if event.event_id in seen:
            raise ValidationError(f"event_id {event.event_id} appears twice in the batch", field="event_id")
        seen.add(event.event_id)
        if event.timestamp > latest_allowed:
            raise ValidationError(
                f"timestamp {event.timestamp.isoformat()} of event {event.event_id} is more than "
                f"{interval_text(MAX_FUTURE_SKEW)} in the future",
                field="timestamp",
            )
        size = len(event.payload_json.encode())
        if size > max_payload_size:
            raise ValidationError(
                f"payload of event {event.event_id} is {size} bytes, over the limit of {max_payload_size}",
                field="payload",
            )
    if condition is not None and not isinstance(condition, AppendCondition):
        raise ValidationError("condition must be an AppendCondition", field="condition")


def check_read(query: Query, after: int | None, limit: int | None) -> None:
    if not isinstance(query, Query):
        raise ValidationError("query must be a Query", field="query")
    check_position(after, "after")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_POSITION):
        raise ValidationError(f"limit must be an integer from 1 to {MAX_POSITION}", field="limit")


def check_snapshot(
    correlation_id: uuid.UUID | str, state: dict[str, object], position: int | None, max_payload_size: int
) -> tuple[uuid.UUID, str, int | None]:
    """The correlation, the state in the storage encoding, and the position of a snapshot."""
    correlation = check_uuid(correlation_id, "correlation_id")
    encoded = check_snapshot_state(state)
    size = len(encoded.encode())
    if size > max_payload_size:
        raise ValidationError(f"snapshot state is {size} bytes, over the limit of {max_payload_size}", field="state")
    return correlation, encoded, check_position(position, "position")


class _SubscriptionCheckpoints:
    """A store's subscription checkpoints, as the Checkpoints a stream saves to."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    def load(self, subscription: str) -> int | None:
        return self._store._load_checkpoint(subscription)

    def save(self, subscription: str, position: int) -> None:
        self._store._save_checkpoint(subscription, position)
