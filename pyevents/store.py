"""EventStore: the interface every backend implements, and the checks they all share."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

from pyevents.errors import PyEventsError, ValidationError
from pyevents.limits import DEFAULT_MAX_PAYLOAD_SIZE, MAX_BATCH_SIZE, MAX_FUTURE_SKEW, interval_text
from pyevents.model import (
    AppendCondition,
    Event,
    EventPage,
    HealthStatus,
    Query,
    QueryOptions,
    RecordedEvent,
    SequencedEvents,
    StreamOptions,
    check_name,
    check_timestamp,
    check_uuid,
    utc_now,
)
from pyevents.retention import Progress, RetentionPolicy, RetentionReport
from pyevents.streams import EventStream, Follower, PollingFollower


class EventStore(ABC):
    """An append-only log of events with a global, strictly increasing position.

    Backends implement the abstract methods; the public methods validate first, so a backend
    never sees an argument the contract forbids.
    """

    backend_name: str = "abstract"

    def __init__(self, *, max_payload_size: int = DEFAULT_MAX_PAYLOAD_SIZE) -> None:
        self.max_payload_size = max_payload_size
        self.retention_policy = RetentionPolicy()  # infinite; from_config sets `[retention]`

    # -- writing -----------------------------------------------------------------------------
    def append(self, event: Event, condition: AppendCondition | None = None) -> int:
        """Append one event; returns its global position. Retrying with the same event is safe."""
        return self.append_batch([event], condition)[0]

    def append_batch(self, events: Sequence[Event], condition: AppendCondition | None = None) -> list[int]:
        """Append events atomically (all or none); returns their positions in order."""
        events = list(events)
        self._check_batch(events)
        if condition is not None and not isinstance(condition, AppendCondition):
            raise ValidationError("condition must be an AppendCondition", field="condition")
        return self._append_batch(events, condition)

    def _check_batch(self, events: list[Event]) -> None:
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
            if size > self.max_payload_size:
                raise ValidationError(
                    f"payload of event {event.event_id} is {size} bytes, over the limit of {self.max_payload_size}",
                    field="payload",
                )

    @abstractmethod
    def _append_batch(self, events: list[Event], condition: AppendCondition | None) -> list[int]: ...

    # -- reading -----------------------------------------------------------------------------
    def get_events(self, options: QueryOptions | None = None) -> EventPage:
        """One page of events matching every filter, in the requested order."""
        return self._get_events(options or QueryOptions())

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
        if not isinstance(query, Query):
            raise ValidationError("query must be a Query", field="query")
        if after is not None and (isinstance(after, bool) or not isinstance(after, int) or after < 0):
            raise ValidationError("after must be a non-negative integer", field="after")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValidationError("limit must be a positive integer", field="limit")
        events = self._read(query, after, limit)
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
            self, options, subscription=subscription, checkpoints=checkpoints, open_follower=self._open_follower
        )

    def stream_events_since(self, timestamp: datetime | str, *, follow: bool = True) -> EventStream:
        """Events whose timestamp is at or after `timestamp`, in position order, then live."""
        return self.stream_events(StreamOptions(since=check_timestamp(timestamp, "timestamp"), follow=follow))

    def _open_follower(self) -> Follower:
        """How a stream learns the settled end of the log; a single-writer log needs no more."""
        return PollingFollower()

    @abstractmethod
    def _load_checkpoint(self, subscription: str) -> int | None:
        """The saved position of a named subscription, or None for a new one."""

    @abstractmethod
    def _save_checkpoint(self, subscription: str, position: int) -> None:
        """Record a subscription's position; a lower position than the saved one is ignored."""

    # -- operations --------------------------------------------------------------------------
    def apply_retention(
        self, dry_run: bool = False, *, policy: RetentionPolicy | None = None, progress: Progress | None = None
    ) -> RetentionReport:
        """Remove what the retention policy (`[retention]`, or `policy`) says must go, and record
        the run as a `pyevents.retention.applied` event. With `dry_run`, only the plan: nothing
        changes and nothing is recorded. `progress(done, total)` is called as units complete."""
        return self._apply_retention(policy or self.retention_policy, dry_run, progress)

    def _apply_retention(self, policy: RetentionPolicy, dry_run: bool, progress: Progress | None) -> RetentionReport:
        """Backends that can remove events override this; the others refuse clearly."""
        raise PyEventsError(f"the {self.backend_name} backend does not support retention")

    @abstractmethod
    def health_check(self) -> HealthStatus:
        """Whether the backend is reachable and its storage is in a usable state."""

    @abstractmethod
    def verify(self) -> list[str]:
        """Check stored data for corruption and inconsistency; returns every problem found."""

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


class _SubscriptionCheckpoints:
    """A store's subscription checkpoints, as the Checkpoints a stream saves to."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    def load(self, subscription: str) -> int | None:
        return self._store._load_checkpoint(subscription)

    def save(self, subscription: str, position: int) -> None:
        self._store._save_checkpoint(subscription, position)
