"""Live streams: catch up from a position, then follow, delivering every event exactly once
in position order, across reconnects.

A stream needs three small things from a backend: a `PageReader` (pages of events), a
`Follower` (up to which position the log is settled: no lower position can still appear; and
waiting for news) and, for a named subscription, `Checkpoints`. The stream reads pages below
the frontier, so an event whose transaction commits late is delivered in its place, never
skipped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

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


class PageReader(Protocol):
    """Where a stream reads its events: one page at a time (an EventStore is one)."""

    def get_events(self, options: QueryOptions | None = None) -> EventPage: ...


def removed_between(reader: PageReader, after: int, before: int) -> int:
    """How many positions strictly between `after` and `before` retention removed, from the
    records of its runs: the runs of positions each lists, and past those (a run lists at most
    1000) as many of the gap's positions as it removed without listing them."""
    if before - after <= 1:
        return 0
    options = QueryOptions(event_type=APPLIED_EVENT_TYPE, after_position=after, limit=1000)
    listed = unlisted = 0
    while True:
        page = reader.get_events(options)
        for event in page.events:
            listed += removed_in(event.payload, after, before)
            unlisted += unlisted_in(event.payload, event.position, after, before)
        if not page.has_more:
            return listed + min(unlisted, before - after - 1 - listed)
        options = QueryOptions(event_type=APPLIED_EVENT_TYPE, after_position=after, limit=1000, cursor=page.next_cursor)


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


class EventStream(Iterator[RecordedEvent]):
    """An iterator of recorded events; a context manager; `close()` stops it (thread-safe).

    With a subscription name, the checkpoint of the last event handed out *and processed* (the
    consumer asked for the next one) is saved at most every second and on close: delivery is
    at least once across crashes, exactly once otherwise.
    """

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
        self._options = options
        self._subscription = subscription
        self._checkpoints = checkpoints
        self._open_follower = open_follower
        self._follower: Follower | None = None
        self._position = options.after_position or 0
        if subscription is not None and checkpoints is not None:
            self._position = max(self._position, checkpoints.load(subscription) or 0)
        self._started = self._position  # _position runs ahead, to the end of the page read
        self._pending: list[RecordedEvent] = []
        self._handed_out: int | None = None
        self._saved = self._position
        self._saved_at = time.monotonic()
        self._closed = False
        self._busy = False  # inside _fill: close() from another thread leaves the follower to it
        self.reconnects = 0
        # Positions retention removed that this stream skipped (counted for unfiltered streams,
        # where any gap in positions may be a removal).
        self.removed_positions = 0
        self._unfiltered = options.query_options(0) == QueryOptions(after_position=0, limit=options.batch_size)

    @property
    def position(self) -> int:
        """The position of the last event handed out (or where the stream started)."""
        return self._handed_out if self._handed_out is not None else self._started

    def lag(self) -> StreamLag:
        """The stream's lag now (two small reads; safe to call from another thread)."""
        latest = self._store.get_events(QueryOptions(order_direction="desc", limit=1)).events
        if not latest or latest[0].position <= self.position:
            return StreamLag(0, 0.0)
        oldest = self._store.get_events(QueryOptions(after_position=self.position, limit=1)).events
        waited = (utc_now() - oldest[0].recorded_at).total_seconds() if oldest else 0.0
        return StreamLag(latest[0].position - self.position, max(0.0, waited))

    def __iter__(self) -> EventStream:
        return self

    def __next__(self) -> RecordedEvent:
        if self._handed_out is not None:
            self._checkpoint(self._handed_out, force=False)
        while not self._pending:
            if self._closed:
                break
            self._busy = True
            try:
                found = self._fill()
            finally:
                self._busy = False
            if not found:
                break
        if self._closed or not self._pending:
            self._disconnect()
            raise StopIteration
        event = self._pending.pop(0)
        if self._unfiltered and event.position > self.position + 1:
            self.removed_positions += removed_between(self._store, self.position, event.position)
        self._handed_out = event.position
        return event

    def _fill(self) -> bool:
        """Read the next page below the frontier. False only when not following and at the
        settled end of the log."""
        try:
            follower = self._follower or self._connect()
            frontier = follower.frontier(self._position)
            if frontier is None or frontier > self._position:
                page = self._store.get_events(self._options.query_options(self._position))
                events = [e for e in page.events if frontier is None or e.position <= frontier]
                if events and (frontier is None or (page.has_more and len(events) == len(page.events))):
                    self._position = events[-1].position
                elif frontier is not None:
                    self._position = frontier  # every match below the frontier is in this page
                self._pending = events
                if events:
                    return True
            at_end = follower.settled()
            if self._options.follow or not at_end:
                follower.wait(self._options.poll_interval)
        except BackendUnavailable as exc:
            self._disconnect()
            delay = RECONNECT_DELAYS[min(self.reconnects, len(RECONNECT_DELAYS) - 1)]
            log.warning("stream lost its connection (%s); reconnecting in %.2fs", exc, delay)
            self.reconnects += 1
            time.sleep(delay)
            return True
        self.reconnects = 0
        return self._options.follow or not at_end

    def _connect(self) -> Follower:
        self._follower = self._open_follower()
        return self._follower

    def _disconnect(self) -> None:
        if self._follower is not None:
            try:
                self._follower.close()
            finally:
                self._follower = None

    def _checkpoint(self, position: int, *, force: bool) -> None:
        if self._subscription is None or self._checkpoints is None or position <= self._saved:
            return
        due = position - self._saved >= CHECKPOINT_EVERY_EVENTS or (
            time.monotonic() - self._saved_at >= CHECKPOINT_EVERY_SECONDS
        )
        if force or due:
            try:
                self._checkpoints.save(self._subscription, position)
            except BackendUnavailable as exc:
                # Delivery goes on; the checkpoint is saved once the backend is back (until
                # then a crash would deliver these events again: at least once).
                log.warning(
                    "stream could not save checkpoint %s of %r (%s); retrying later", position, self._subscription, exc
                )
                self._saved_at = time.monotonic()
                return
            self._saved, self._saved_at = position, time.monotonic()

    def close(self) -> None:
        """Stop the stream: the current wait ends within one poll interval. The checkpoint of
        the last event handed out is saved."""
        if self._closed:
            return
        self._closed = True
        if self._handed_out is not None:
            self._checkpoint(self._handed_out, force=True)
        if not self._busy:
            self._disconnect()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
