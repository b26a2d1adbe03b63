"""AsyncEventStore: the store's contract for asyncio, every operation a coroutine and streams
async iterators, so that services on an event loop never block it.

The checks, the instruments and the backends' own hooks are the blocking store's: a backend
with a native asyncio client (PostgreSQL, psycopg's async connections) implements the hooks as
coroutines; any other store is served by `ThreadedAsyncEventStore`, which runs its blocking
hooks on a small thread pool of its own. Streams (catch-up, then live, every event exactly
once in order) run the blocking stream's algorithm (pyevents.streams.StreamCore), awaiting
what it asks for: a native follower (PostgreSQL's async LISTEN) or a blocking one on a thread.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar, runtime_checkable

from pyevents.errors import PyEventsError
from pyevents.limits import DEFAULT_MAX_PAYLOAD_SIZE
from pyevents.metrics import EventStoreMetrics, Instruments, PoolMetrics, StorageMetrics
from pyevents.model import (
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
    check_timestamp,
    check_uuid,
)
from pyevents.retention import Progress, RetentionPolicy, RetentionReport
from pyevents.store import EventStore, check_append, check_read, check_snapshot
from pyevents.streams import (
    Connect,
    Disconnect,
    Follower,
    Frontier,
    LoadCheckpoint,
    Page,
    Request,
    Sleep,
    Steps,
    StreamCore,
    StreamLag,
    Wait,
)

T = TypeVar("T")


class AsyncFollower(Protocol):
    """Follower (pyevents.streams) for a stream on an event loop."""

    async def frontier(self, after: int) -> int | None: ...

    def settled(self) -> bool: ...

    async def wait(self, timeout: float) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class AsyncPageReader(Protocol):
    """A follower that is one too (a read replica's) serves its stream's pages from its own server."""

    async def get_events(self, options: QueryOptions | None = None) -> EventPage: ...


class AsyncPollingFollower:
    """For backends whose visible log never gains lower positions later (a single writer)."""

    async def frontier(self, after: int) -> int | None:
        return None

    def settled(self) -> bool:
        return True

    async def wait(self, timeout: float) -> None:
        await asyncio.sleep(timeout)

    async def close(self) -> None:
        pass


class ThreadedFollower:
    """A blocking Follower on a thread of its own: its waits never hold the loop."""

    def __init__(self, follower: Follower, thread: ThreadPoolExecutor) -> None:
        self._follower = follower
        self._thread = thread

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, work, *args)

    async def frontier(self, after: int) -> int | None:
        return await self._run(self._follower.frontier, after)

    def settled(self) -> bool:
        return self._follower.settled()

    async def wait(self, timeout: float) -> None:
        await self._run(self._follower.wait, timeout)

    async def close(self) -> None:
        try:
            await self._run(self._follower.close)
        finally:
            self._thread.shutdown(wait=False)


class AsyncEventStream:
    """An async iterator of recorded events and an async context manager; `await close()`
    stops it (from any task: the current wait ends within one poll interval). The stream's
    algorithm is the blocking stream's (StreamCore), answered by awaiting; a task cancelled
    while waiting for the next event loses nothing, the next `__anext__` reads on."""

    def __init__(
        self,
        store: AsyncEventStore,
        options: StreamOptions,
        *,
        subscription: str | None = None,
        open_follower: Callable[[], Awaitable[AsyncFollower]],
    ) -> None:
        self._store = store
        self._open_follower = open_follower
        self._follower: AsyncFollower | None = None
        self._core = StreamCore(options, subscription)
        self._started = False
        self._busy = False

    @property
    def position(self) -> int:
        """The position of the last event handed out (or where the stream started)."""
        return self._core.position

    @property
    def removed_positions(self) -> int:
        return self._core.removed_positions

    @property
    def reconnects(self) -> int:
        return self._core.reconnects

    async def lag(self) -> StreamLag:
        """The stream's lag now (two small reads)."""
        return await self._drive(self._core.lag())

    def __aiter__(self) -> AsyncEventStream:
        return self

    async def __anext__(self) -> RecordedEvent:
        if self._busy:
            raise RuntimeError("another task is already waiting for this stream's next event")
        self._busy = True
        try:
            if not self._started:
                await self._drive(self._core.start())
                self._started = True
            event = await self._drive(self._core.next_event())
        finally:
            self._busy = False
        if event is None:
            raise StopAsyncIteration
        return event

    async def _drive(self, steps: Steps[T]) -> T:
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
                answer = await self._answer(request)
            except Exception as exc:  # raised where the step asked, so that it may handle it
                error = exc

    async def _answer(self, request: Request) -> Any:
        if isinstance(request, Page):
            if isinstance(self._follower, AsyncPageReader):
                return await self._follower.get_events(request.options)
            return await self._store._stream_page(request.options)
        if isinstance(request, Frontier):
            follower = self._follower
            assert follower is not None
            return await follower.frontier(request.after), follower.settled()
        if isinstance(request, Wait):
            assert self._follower is not None
            return await self._follower.wait(request.timeout)
        if isinstance(request, Connect):
            self._follower = await self._open_follower()
            return None
        if isinstance(request, Disconnect):
            follower, self._follower = self._follower, None
            if follower is not None:
                await follower.close()
            return None
        if isinstance(request, Sleep):
            await asyncio.sleep(request.seconds)
            return None
        if isinstance(request, LoadCheckpoint):
            return await self._store._load_checkpoint(request.subscription)
        return await self._store._save_checkpoint(request.subscription, request.position)

    async def close(self) -> None:
        """Stop the stream; the checkpoint of the last event handed out is saved."""
        if self._core.closed:
            return
        await self._drive(self._core.closing())
        if not self._busy:
            await self._drive(self._core.disconnect())

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


class AsyncEventStore(ABC):
    """The contract of EventStore, as coroutines. Backends implement the abstract hooks; the
    public methods check their arguments first, with the same checks as the blocking store."""

    backend_name: str = "abstract"

    def __init__(self, *, max_payload_size: int = DEFAULT_MAX_PAYLOAD_SIZE) -> None:
        self.max_payload_size = max_payload_size
        self.instruments = Instruments()
        self.retention_policy = RetentionPolicy()

    # -- writing -----------------------------------------------------------------------------
    async def append(self, event: Event, condition: AppendCondition | None = None) -> int:
        """Append one event; returns its global position. Retrying with the same event is safe."""
        return (await self.append_batch([event], condition))[0]

    async def append_batch(self, events: Sequence[Event], condition: AppendCondition | None = None) -> list[int]:
        """Append events atomically (all or none); returns their positions in order."""
        started = time.perf_counter()
        events = list(events)
        try:
            check_append(events, condition, self.max_payload_size)
            positions = await self._append_batch(events, condition)
        except PyEventsError as exc:
            self.instruments.write_failed(exc)
            raise
        self.instruments.appended(events, time.perf_counter() - started)
        return positions

    @abstractmethod
    async def _append_batch(self, events: list[Event], condition: AppendCondition | None) -> list[int]: ...

    # -- reading -----------------------------------------------------------------------------
    async def get_events(self, options: QueryOptions | None = None) -> EventPage:
        """One page of events matching every filter, in the requested order."""
        started = time.perf_counter()
        try:
            page = await self._get_events(options or QueryOptions())
        except PyEventsError as exc:
            self.instruments.error(exc)
            raise
        self.instruments.queried("get_events", time.perf_counter() - started)
        return page

    @abstractmethod
    async def _get_events(self, options: QueryOptions) -> EventPage: ...

    @abstractmethod
    async def get_event(self, event_id: uuid.UUID | str) -> RecordedEvent | None:
        """The stored event with this id, or None."""

    async def get_events_by_correlation(self, correlation_id: uuid.UUID | str) -> list[RecordedEvent]:
        """Every event of a correlation, in position order."""
        correlation = check_uuid(correlation_id, "correlation_id")
        events: list[RecordedEvent] = []
        options = QueryOptions(correlation_id=correlation, limit=1000)
        while True:
            page = await self.get_events(options)
            events.extend(page.events)
            if not page.has_more:
                return events
            options = QueryOptions(correlation_id=correlation, limit=1000, cursor=page.next_cursor)

    async def read(self, query: Query, after: int | None = None, limit: int | None = None) -> SequencedEvents:
        """DCB read: events matching the query after a position, in order, with the head."""
        check_read(query, after, limit)
        started = time.perf_counter()
        try:
            events = await self._read(query, after, limit)
        except PyEventsError as exc:
            self.instruments.error(exc)
            raise
        self.instruments.queried("read", time.perf_counter() - started)
        return SequencedEvents(events, events[-1].position if events else after)

    @abstractmethod
    async def _read(self, query: Query, after: int | None, limit: int | None) -> list[RecordedEvent]: ...

    # -- live streams ------------------------------------------------------------------------
    def stream_events(
        self, options: StreamOptions | None = None, *, subscription: str | None = None
    ) -> AsyncEventStream:
        """Events in position order: catch-up, then (with `follow`) live; every event exactly
        once. With a subscription name, it resumes after that subscription's checkpoint."""
        if subscription is not None:
            check_name(subscription, "subscription")
        return AsyncEventStream(
            self, options or StreamOptions(), subscription=subscription, open_follower=self._open_follower
        )

    def stream_events_since(self, timestamp: datetime | str, *, follow: bool = True) -> AsyncEventStream:
        """Events whose timestamp is at or after `timestamp`, in position order, then live."""
        return self.stream_events(StreamOptions(since=check_timestamp(timestamp, "timestamp"), follow=follow))

    async def _stream_page(self, options: QueryOptions) -> EventPage:
        """A stream's page when its follower does not read them itself: from a server that
        holds everything up to the follower's frontier."""
        return await self.get_events(options)

    async def _open_follower(self) -> AsyncFollower:
        """How a stream learns the settled end of the log; a single-writer log needs no more."""
        return AsyncPollingFollower()

    # -- snapshots ---------------------------------------------------------------------------
    async def create_snapshot(
        self, correlation_id: uuid.UUID | str, state: dict[str, object], position: int | None = None
    ) -> Snapshot:
        """Save `state` as the snapshot of a correlation, taken at `position` (default: the head)."""
        correlation, encoded, checked_position = check_snapshot(correlation_id, state, position, self.max_payload_size)
        return await self._create_snapshot(correlation, encoded, checked_position)

    async def get_snapshot(self, correlation_id: uuid.UUID | str) -> Snapshot | None:
        """The newest snapshot of a correlation, or None."""
        return await self._get_snapshot(check_uuid(correlation_id, "correlation_id"))

    @abstractmethod
    async def _create_snapshot(self, correlation_id: uuid.UUID, encoded: str, position: int | None) -> Snapshot: ...

    @abstractmethod
    async def _get_snapshot(self, correlation_id: uuid.UUID) -> Snapshot | None: ...

    # -- checkpoints -------------------------------------------------------------------------
    async def load_checkpoint(self, subscription: str) -> int | None:
        """The saved position of a named subscription, or None for a new one."""
        return await self._load_checkpoint(check_name(subscription, "subscription"))

    async def save_checkpoint(self, subscription: str, position: int) -> None:
        """Record a subscription's position; a lower position than the saved one is ignored."""
        await self._save_checkpoint(check_name(subscription, "subscription"), position)

    @abstractmethod
    async def _load_checkpoint(self, subscription: str) -> int | None: ...

    @abstractmethod
    async def _save_checkpoint(self, subscription: str, position: int) -> None: ...

    # -- operations --------------------------------------------------------------------------
    async def apply_retention(
        self, dry_run: bool = False, *, policy: RetentionPolicy | None = None, progress: Progress | None = None
    ) -> RetentionReport:
        """Remove what the retention policy says must go (see EventStore.apply_retention)."""
        try:
            report = await self._apply_retention(policy or self.retention_policy, dry_run, progress)
        except PyEventsError:
            self.instruments.retention_ran("failed")
            raise
        self.instruments.retention_ran("dry_run" if dry_run else "ok")
        return report

    @abstractmethod
    async def _apply_retention(
        self, policy: RetentionPolicy, dry_run: bool, progress: Progress | None
    ) -> RetentionReport: ...

    @abstractmethod
    async def health_check(self) -> HealthStatus: ...

    async def get_metrics(self) -> EventStoreMetrics:
        """This process's counters and latencies, with the storage's figures when reachable."""
        try:
            storage: StorageMetrics | None = await self._storage_metrics()
            error = None
        except PyEventsError as exc:
            self.instruments.error(exc)
            storage, error = None, str(exc)
        return EventStoreMetrics.collect(self.backend_name, self.instruments, storage, self._pool_metrics(), error)

    @abstractmethod
    async def _storage_metrics(self) -> StorageMetrics: ...

    def _pool_metrics(self) -> PoolMetrics | None:
        return None

    @abstractmethod
    async def verify(self, progress: Callable[[int], None] | None = None) -> list[str]:
        """Check stored data for corruption and inconsistency; returns every problem found."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections, locks and files. Idempotent."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


class ThreadedAsyncEventStore(AsyncEventStore):
    """Any blocking store behind the async contract: its hooks run on a thread pool of this
    store's own (`threads` wide), never on the event loop."""

    def __init__(self, store: EventStore, *, threads: int = 4) -> None:
        super().__init__(max_payload_size=store.max_payload_size)
        self.store = store
        self.backend_name = store.backend_name
        self.retention_policy = store.retention_policy
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"pyevents-{store.backend_name}")

    def __repr__(self) -> str:
        return f"ThreadedAsyncEventStore({self.store!r})"

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, work, *args)

    async def _append_batch(self, events: list[Event], condition: AppendCondition | None) -> list[int]:
        return await self._run(self.store._append_batch, events, condition)

    async def _get_events(self, options: QueryOptions) -> EventPage:
        return await self._run(self.store._get_events, options)

    async def get_event(self, event_id: uuid.UUID | str) -> RecordedEvent | None:
        return await self._run(self.store.get_event, event_id)

    async def _read(self, query: Query, after: int | None, limit: int | None) -> list[RecordedEvent]:
        return await self._run(self.store._read, query, after, limit)

    async def _open_follower(self) -> AsyncFollower:
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyevents-follower")
        follower = await asyncio.get_running_loop().run_in_executor(thread, self.store._open_follower)
        return ThreadedFollower(follower, thread)

    async def _create_snapshot(self, correlation_id: uuid.UUID, encoded: str, position: int | None) -> Snapshot:
        return await self._run(self.store._create_snapshot, correlation_id, encoded, position)

    async def _get_snapshot(self, correlation_id: uuid.UUID) -> Snapshot | None:
        return await self._run(self.store._get_snapshot, correlation_id)

    async def _load_checkpoint(self, subscription: str) -> int | None:
        return await self._run(self.store._load_checkpoint, subscription)

    async def _save_checkpoint(self, subscription: str, position: int) -> None:
        await self._run(self.store._save_checkpoint, subscription, position)

    async def _apply_retention(
        self, policy: RetentionPolicy, dry_run: bool, progress: Progress | None
    ) -> RetentionReport:
        return await self._run(self.store._apply_retention, policy, dry_run, progress)

    async def health_check(self) -> HealthStatus:
        return await self._run(self.store.health_check)

    async def _storage_metrics(self) -> StorageMetrics:
        return await self._run(self.store._storage_metrics)

    def _pool_metrics(self) -> PoolMetrics | None:
        return self.store._pool_metrics()

    async def verify(self, progress: Callable[[int], None] | None = None) -> list[str]:
        return await self._run(self.store.verify, progress)

    async def close(self) -> None:
        await self._run(self.store.close)
        self._threads.shutdown(wait=False)
