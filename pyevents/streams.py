"""Live streams: catch up from a position, then follow, delivering every event exactly once
in position order, across reconnects.

A stream needs three small things from a backend: a `PageReader` (pages of events), a
`Follower` (up to which position the log is settled: no lower position can still appear; and
waiting for news) and, for a named subscription, `Checkpoints`. The stream reads pages below
the frontier, so an event whose transaction commits late is delivered in its place, never
skipped.

The algorithm is written once, without IO (`StreamCore`: generators that yield the requests
below and receive their answers); `EventStream` answers them by blocking, and
pyevents.aio.AsyncEventStream by awaiting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, TypeAlias, TypeVar, runtime_checkable

from pyevents.errors import BackendUnavailable
from pyevents.model import EventPage, QueryOptions, RecordedEvent, StreamOptions, utc_now
from pyevents.retention import APPLIED_EVENT_TYPE, removed_in, unlisted_in

log = logging.getLogger("pyevents.streams")

RECONNECT_DELAYS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)
CHECKPOINT_EVERY_EVENTS = 1000
CHECKPOINT_EVERY_SECONDS = 1.0


@dataclass(frozen=True)
class StreamLag:
    """How far a stream is behind the log: positions after the last event handed out (of any
    type), and how long the oldest of those events has been waiting, in seconds."""

    positions: int
    seconds: float


@runtime_checkable
class PageReader(Protocol):
    """Where a stream reads its events: one page at a time (an EventStore is one). A follower
    that is one too (a read replica's) serves its stream's pages from its own server."""

    def get_events(self, options: QueryOptions | None = None) -> EventPage: ...


class Checkpoints(Protocol):
    """The saved positions of named subscriptions."""

    def load(self, subscription: str) -> int | None:
        """The saved position of a subscription, or None for a new one."""

    def save(self, subscription: str, position: int) -> None:
        """Record a subscription's position; a lower position than the saved one is ignored."""


class Follower(Protocol):
    """A backend's view of the log's settled end, for one stream."""

    def frontier(self, after: int) -> int | None:
        """Highest position up to which the log is final (None: everything visible is)."""

    def settled(self) -> bool:
        """Whether the last frontier reached the end of the visible log."""

    def wait(self, timeout: float) -> None:
        """Return when new events may exist, or after `timeout` seconds."""

    def close(self) -> None: ...


class PollingFollower:
    """For backends whose visible log never gains lower positions later (a single writer)."""

    def frontier(self, after: int) -> int | None:
        return None

    def settled(self) -> bool:
        return True

    def wait(self, timeout: float) -> None:
        time.sleep(timeout)

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Connect:
    """Open the stream's follower."""


@dataclass(frozen=True)
class Disconnect:
    """Close the follower, if one is open."""


@dataclass(frozen=True)
class Frontier:
    """The follower's frontier after `after`, and whether it reached the visible end: a pair."""

    after: int


@dataclass(frozen=True)
class Page:
    """One page of events (an EventPage)."""

    options: QueryOptions


@dataclass(frozen=True)
class Wait:
    """Wait for news (the follower's wait), at most `timeout` seconds."""

    timeout: float


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class LoadCheckpoint:
    subscription: str


@dataclass(frozen=True)
class SaveCheckpoint:
    subscription: str
    position: int


Request: TypeAlias = Connect | Disconnect | Frontier | Page | Wait | Sleep | LoadCheckpoint | SaveCheckpoint
T = TypeVar("T")
Steps: TypeAlias = Generator[Request, Any, T]


def removed_steps(after: int, before: int) -> Steps[int]:
    """How many positions strictly between `after` and `before` retention removed, from the
    records of its runs: the runs of positions each lists, and past those (a run lists at most
    1000) as many of the gap's positions as it removed without listing them."""
    if before - after <= 1:
        return 0
    options = QueryOptions(event_type=APPLIED_EVENT_TYPE, after_position=after, limit=1000)
    listed = unlisted = 0
    while True:
        page: EventPage = yield Page(options)
        for event in page.events:
            listed += removed_in(event.payload, after, before)
            unlisted += unlisted_in(event.payload, event.position, after, before)
        if not page.has_more:
            return listed + min(unlisted, before - after - 1 - listed)
        options = QueryOptions(event_type=APPLIED_EVENT_TYPE, after_position=after, limit=1000, cursor=page.next_cursor)


class StreamCore:
    """A stream's state and algorithm. Each step (`start`, `next_event`, `lag`, `closing`) is a
    generator of requests; the driver sends each request's answer back, or throws the error
    the request raised into it, and the step's return value is its result.

    With a subscription name, the checkpoint of the last event handed out *and processed* (the
    consumer asked for the next one) is saved at most every second and on close: delivery is
    at least once across crashes, exactly once otherwise.
    """

    def __init__(self, options: StreamOptions, subscription: str | None = None) -> None:
        self.options = options
        self.subscription = subscription
        self.position_read = options.after_position or 0  # runs ahead, to the end of the page read
        self.started = self.position_read
        self.pending: list[RecordedEvent] = []
        self.handed_out: int | None = None
        self.saved = self.position_read
        self.saved_at = time.monotonic()
        self.closed = False
        self.connected = False
        self.reconnects = 0
        # Positions retention removed that this stream skipped (counted for unfiltered streams,
        # where any gap in positions may be a removal).
        self.removed_positions = 0
        self.unfiltered = options.query_options(0) == QueryOptions(after_position=0, limit=options.batch_size)

    @property
    def position(self) -> int:
        """The position of the last event handed out (or where the stream started)."""
        return self.handed_out if self.handed_out is not None else self.started

    def start(self) -> Steps[None]:
        """Resume after the subscription's checkpoint."""
        if self.subscription is not None:
            loaded: int | None = yield LoadCheckpoint(self.subscription)
            self.position_read = self.started = self.saved = max(self.position_read, loaded or 0)

    def next_event(self) -> Steps[RecordedEvent | None]:
        """The next event, or None when the stream is closed or, not following, at the end."""
        if self.handed_out is not None:
            yield from self.checkpoint(self.handed_out, force=False)
        while not self.pending:
            if self.closed:
                break
            found = yield from self.fill()
            if not found:
                break
        if self.closed or not self.pending:
            yield from self.disconnect()
            return None
        following = self.pending[0].position  # counted before it is taken: nothing is lost mid-step
        if self.unfiltered and following > self.position + 1:
            self.removed_positions += yield from removed_steps(self.position, following)
        event = self.pending.pop(0)
        self.handed_out = event.position
        return event

    def fill(self) -> Steps[bool]:
        """Read the next page below the frontier. False only when not following and at the
        settled end of the log."""
        try:
            if not self.connected:
                yield Connect()
                self.connected = True
            frontier: int | None
            frontier, at_end = yield Frontier(self.position_read)
            if frontier is None or frontier > self.position_read:
                page: EventPage = yield Page(self.options.query_options(self.position_read))
                events = [e for e in page.events if frontier is None or e.position <= frontier]
                if events and (frontier is None or (page.has_more and len(events) == len(page.events))):
                    self.position_read = events[-1].position
                elif frontier is not None:
                    self.position_read = frontier  # every match below the frontier is in this page
                self.pending = events
                if events:
                    return True
            if self.options.follow or not at_end:
                yield Wait(self.options.poll_interval)
        except BackendUnavailable as exc:
            yield from self.disconnect()
            delay = RECONNECT_DELAYS[min(self.reconnects, len(RECONNECT_DELAYS) - 1)]
            log.warning("stream lost its connection (%s); reconnecting in %.2fs", exc, delay)
            self.reconnects += 1
            yield Sleep(delay)
            return True
        self.reconnects = 0
        return self.options.follow or not at_end

    def disconnect(self) -> Steps[None]:
        if self.connected:
            self.connected = False
            yield Disconnect()

    def checkpoint(self, position: int, *, force: bool) -> Steps[None]:
        if self.subscription is None or position <= self.saved:
            return
        due = position - self.saved >= CHECKPOINT_EVERY_EVENTS or (
            time.monotonic() - self.saved_at >= CHECKPOINT_EVERY_SECONDS
        )
        if not (force or due):
            return
        try:
            yield SaveCheckpoint(self.subscription, position)
        except BackendUnavailable as exc:
            # Delivery goes on; the checkpoint is saved once the backend is back (until then a
            # crash would deliver these events again: at least once).
            log.warning(
                "stream could not save checkpoint %s of %r (%s); retrying later", position, self.subscription, exc
            )
            self.saved_at = time.monotonic()
            return
        self.saved, self.saved_at = position, time.monotonic()

    def lag(self) -> Steps[StreamLag]:
        """The stream's lag now (two small reads)."""
        position = self.position
        latest: EventPage = yield Page(QueryOptions(order_direction="desc", limit=1))
        if not latest.events or latest.events[0].position <= position:
            return StreamLag(0, 0.0)
        oldest: EventPage = yield Page(QueryOptions(after_position=position, limit=1))
        waited = (utc_now() - oldest.events[0].recorded_at).total_seconds() if oldest.events else 0.0
        return StreamLag(latest.events[0].position - position, max(0.0, waited))

    def closing(self) -> Steps[None]:
        """Mark the stream closed and save the checkpoint of the last event handed out."""
        self.closed = True
        if self.handed_out is not None:
            yield from self.checkpoint(self.handed_out, force=True)


class EventStream(Iterator[RecordedEvent]):
    """An iterator of recorded events; a context manager; `close()` stops it (thread-safe):
    the stream's algorithm (StreamCore), answered by blocking calls."""

    def __init__(
        self,
        store: PageReader,
        options: StreamOptions,
        *,
        subscription: str | None = None,
        checkpoints: Checkpoints | None = None,
        open_follower: Callable[[], Follower],
    ) -> None:
        if (subscription is None) != (checkpoints is None):
            raise ValueError("a subscription needs checkpoints, and checkpoints a subscription")
        self._store = store
        self._checkpoints = checkpoints
        self._open_follower = open_follower
        self._follower: Follower | None = None
        self._core = StreamCore(options, subscription)
        self._busy = threading.Lock()  # held inside a step: close() from another thread leaves the follower to it
        self._drive(self._core.start())

    @property
    def position(self) -> int:
        """The position of the last event handed out (or where the stream started)."""
        return self._core.position

    @property
    def reconnects(self) -> int:
        return self._core.reconnects

    @property
    def removed_positions(self) -> int:
        return self._core.removed_positions

    def lag(self) -> StreamLag:
        """The stream's lag now (two small reads; safe to call from another thread)."""
        return self._drive(self._core.lag())

    def __iter__(self) -> EventStream:
        return self

    def __next__(self) -> RecordedEvent:
        with self._busy:
            event = self._drive(self._core.next_event())
        if event is None:
            raise StopIteration
        return event

    def _drive(self, steps: Steps[T]) -> T:
        answer: Any = None
        error: Exception | None = None
        while True:
            try:
                request = steps.send(answer) if error is None else steps.throw(error)
            except StopIteration as done:
                result: T = done.value
                return result
            answer, error = None, None
            try:
                answer = self._answer(request)
            except Exception as exc:  # raised where the step asked, so that it may handle it
                error = exc

    def _answer(self, request: Request) -> Any:
        if isinstance(request, Page):
            reader = self._follower if isinstance(self._follower, PageReader) else self._store
            return reader.get_events(request.options)
        if isinstance(request, Frontier):
            follower = self._follower
            assert follower is not None
            return follower.frontier(request.after), follower.settled()
        if isinstance(request, Wait):
            assert self._follower is not None
            return self._follower.wait(request.timeout)
        if isinstance(request, Connect):
            self._follower = self._open_follower()
            return None
        if isinstance(request, Disconnect):
            follower, self._follower = self._follower, None
            if follower is not None:
                follower.close()
            return None
        if isinstance(request, Sleep):
            time.sleep(request.seconds)
            return None
        assert self._checkpoints is not None
        if isinstance(request, LoadCheckpoint):
            return self._checkpoints.load(request.subscription)
        return self._checkpoints.save(request.subscription, request.position)

    def close(self) -> None:
        """Stop the stream: the current wait ends within one poll interval. The checkpoint of
        the last event handed out is saved."""
        if self._core.closed:
            return
        self._drive(self._core.closing())
        if self._busy.acquire(blocking=False):
            try:
                self._drive(self._core.disconnect())
            finally:
                self._busy.release()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
