"""KurrentEventStore: the EventStore interface on EventStoreDB / KurrentDB, through kurrentdbclient.

Stream layout: the whole store is one server stream (`[eventstore] stream`, default "pyevents").
One stream gives what the interface promises and the server's per-stream guarantees provide:
- atomic batches: a batch is one BatchAppend to that stream, stored whole or not at all;
- one order: stream revisions and commit positions grow together, and a reader never sees a
  lower position appear later, so live streams need no settling frontier;
- conditional appends (DCB) and idempotent retries on the server's optimistic concurrency: every
  append states the stream revision it checked against, and a concurrent append in between makes
  the server refuse it (wrong expected version); the store then checks again and retries.
The limit, said plainly: all appends to one store serialise on that revision, so concurrent
writers retry each other's conflicts (conditions that do not overlap never fail, but they do
contend), and the server cannot check a condition itself: the check is a read just before.

Reads: `$all` with a server-side filter: the event type (regex of the wanted types) when the
query names types, else the stream name; every other filter (actor, correlation, tags, time,
positions) is applied here while paging. Orders other than position read every match first.

Each store keeps, per process, a catalog of the stream: event id -> revision and the commit
position of every revision (about 100 bytes an event), caught up from the stream before each
operation. It finds an event by id (the server has no index by id) and gives `$all` reads a
start position that exists (a real server refuses positions that are not an event's).

Named subscriptions keep their checkpoint in a stream of their own, `<stream>-subscription-<name>`,
whose `$maxCount` lets the server scavenge all but the last few checkpoints.
"""

from __future__ import annotations

import bisect
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import unquote

import orjson

try:
    import kurrentdbclient  # noqa: F401  (only to say what is missing)
except ModuleNotFoundError as missing:
    raise ModuleNotFoundError(
        f"the eventstore backend needs kurrentdbclient ({missing}): pip install 'pyevents[eventstore]'",
        name=missing.name,
    ) from None
import grpc
from kurrentdbclient import KurrentDBClient, NewEvent, StreamState
from kurrentdbclient import RecordedEvent as ServerEvent
from kurrentdbclient.common import GrpcOptions
from kurrentdbclient.exceptions import (
    AccessDeniedError,
    DeadlineExceededError,
    DiscoveryFailedError,
    GrpcError,
    KurrentDBClientError,
    MaximumAppendSizeExceededError,
    NotFoundError,
    WrongCurrentVersionError,
)
from kurrentdbclient.gossip import NODE_STATE_LEADER

from pyevents.backends.eventstore import sealing as kurrent_sealing
from pyevents.backends.eventstore.mapping import exact_regex, from_server, literal_regex, to_server
from pyevents.config import Config, mask_dsn
from pyevents.errors import (
    AppendConditionViolated,
    BackendUnavailable,
    ConfigError,
    DuplicateEventError,
    IntegrityError,
    PyEventsError,
    ValidationError,
)
from pyevents.limits import DEFAULT_MAX_PAYLOAD_SIZE
from pyevents.logins import os_login
from pyevents.metrics import StorageMetrics
from pyevents.model import (
    AppendCondition,
    Event,
    EventPage,
    HealthCheck,
    HealthStatus,
    Query,
    QueryOptions,
    RecordedEvent,
    Snapshot,
    check_name,
    check_uuid,
    page_of,
    utc_now,
)
from pyevents.sealing import (
    DEFAULT_SEAL_EVENTS,
    SealedLeaf,
    StoredSeal,
    chain_problems,
    check_seal_size,
    field_checksum,
    next_seal,
)
from pyevents.seals import Seal
from pyevents.store import EventStore
from pyevents.streams import Follower

PAGE_SIZE = 500  # events per server read while paging
TIMEOUT = 30.0  # seconds a call may take: a connection that died mid-call must not hang the store
APPEND_ATTEMPTS = 50  # conflicts with concurrent appends before giving up
CHECKPOINT_TYPE = "pyevents.checkpoint"
CHECKPOINTS_KEPT = 10  # the server may scavenge older checkpoint events ($maxCount)
SNAPSHOT_TYPE = "pyevents.snapshot"
# Characters the client cannot carry in the connection string's user part (it does not unquote).
_CREDENTIAL_FORBIDDEN = frozenset("@:/?#,%")

T = TypeVar("T")
# gRPC backs off reconnecting for up to two minutes after failures, and channels to the same
# address share that state: a restarted server would stay unreachable that long. Retry within a
# second instead, on channels of their own.
RECONNECT_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.use_local_subchannel_pool", 1),
)


class _Client(KurrentDBClient):
    """The client, with channels that find a restarted server quickly."""

    def _construct_grpc_channel(self, grpc_target: str, grpc_options: GrpcOptions = ()) -> grpc.Channel:
        return super()._construct_grpc_channel(grpc_target, grpc_options + RECONNECT_OPTIONS)


def _connection_uri(connection_string: str, username: str | None, password: str | None) -> str:
    """The connection string with `default_credentials` put in, unless it names a user itself."""
    if username is None and password is None:
        return connection_string
    if not (username and password):
        raise ConfigError("eventstore.default_credentials needs both username and password")
    for key, value in (("username", username), ("password", password)):
        if _CREDENTIAL_FORBIDDEN & set(value):
            raise ConfigError(
                f"eventstore.default_credentials.{key} contains one of {' '.join(sorted(_CREDENTIAL_FORBIDDEN))}, "
                "which the client cannot pass"
            )
    scheme, separator, rest = connection_string.partition("://")
    if not separator or "@" in rest.split("?", 1)[0]:
        return connection_string
    return f"{scheme}://{username}:{password}@{rest}"


def _login(uri: str) -> str | None:
    """Who appends: the user in the connection string, else (a server without credentials) the
    OS login of this process."""
    userinfo, at, _host = uri.partition("://")[2].split("?", 1)[0].rpartition("@")
    return unquote(userinfo.partition(":")[0]) if at and userinfo else os_login()


class _Catalog:
    """The store's stream as this process knows it: revision -> commit position, id -> revision."""

    def __init__(self) -> None:
        self.positions: list[int] = []
        self.revisions: dict[uuid.UUID, int] = {}

    def add(self, stored: ServerEvent) -> None:
        if stored.stream_position != len(self.positions):
            # An append-only store never loses events: someone truncated or scavenged the stream.
            raise IntegrityError(
                f"stream {stored.stream_name!r} has revision {stored.stream_position} where {len(self.positions)} "
                "was expected: events were removed from it ($tb, $maxCount or deletion)"
            )
        self.revisions[stored.id] = stored.stream_position
        self.positions.append(stored.commit_position)

    def start_after(self, position: int) -> int | None:
        """The highest known event position at or below `position` (a valid place to read on from)."""
        index = bisect.bisect_right(self.positions, position)
        return self.positions[index - 1] if index else None

    def start_before(self, position: int) -> int | None:
        """The lowest known event position at or above `position`."""
        index = bisect.bisect_left(self.positions, position)
        return self.positions[index] if index < len(self.positions) else None


class KurrentEventStore(EventStore):
    """An event store in one stream of an EventStoreDB / KurrentDB server (or cluster)."""

    backend_name = "eventstore"

    def __init__(
        self,
        connection_string: str,
        *,
        stream: str = "pyevents",
        username: str | None = None,
        password: str | None = None,
        max_payload_size: int = DEFAULT_MAX_PAYLOAD_SIZE,
        page_size: int = PAGE_SIZE,
        timeout: float = TIMEOUT,
    ) -> None:
        super().__init__(max_payload_size=max_payload_size)
        if page_size < 2:  # a page goes on from the last event of the one before, which it repeats
            raise ConfigError("page_size must be at least 2")
        self.page_size = page_size
        self.timeout = timeout
        self.stream = check_name(stream, "eventstore.stream")
        uri = _connection_uri(connection_string, username, password)
        self.target = mask_dsn(uri)
        self.login = _login(uri)
        self._stream_regex = literal_regex(self.stream)
        self._catalog = _Catalog()
        self._lock = threading.RLock()
        self._closed = False
        try:
            self._client = _Client(uri)
        except ValueError as exc:
            raise ConfigError(f"eventstore.connection_string is not usable: {mask_dsn(str(exc))}") from None
        except KurrentDBClientError as exc:
            raise BackendUnavailable(f"cannot reach EventStoreDB/KurrentDB at {self.target}: {exc}") from None

    @classmethod
    def from_config(cls, config: Config) -> KurrentEventStore:
        section = config.section("eventstore")
        credentials = section["default_credentials"]
        return cls(
            section["connection_string"],
            stream=section["stream"],
            username=credentials["username"],
            password=credentials["password"],
            max_payload_size=config.section("limits")["max_payload_size"],
        )

    def __repr__(self) -> str:
        return f"KurrentEventStore({self.target!r}, stream={self.stream!r})"

    # -- the boundary: client errors become pyevents errors ------------------------------------
    def _call(self, work: Callable[[], T]) -> T:
        if self._closed:
            raise BackendUnavailable(f"the store on {self.target} is closed")
        try:
            return work()
        except PyEventsError:
            raise
        except MaximumAppendSizeExceededError as exc:
            raise ValidationError(
                f"the batch is over the server's maximum append size ({exc}); append it in smaller batches",
                field="events",
            ) from None
        except AccessDeniedError:
            raise PyEventsError(
                f"access denied by {self.target} (check eventstore.default_credentials and the stream's ACL)"
            ) from None
        except (GrpcError, DeadlineExceededError, DiscoveryFailedError) as exc:
            raise BackendUnavailable(f"EventStoreDB/KurrentDB at {self.target} is unavailable: {exc}") from None
        except (KurrentDBClientError, ValueError) as exc:
            raise PyEventsError(f"EventStoreDB/KurrentDB at {self.target}: {type(exc).__name__}: {exc}") from None

    def _catch_up(self) -> _Catalog:
        """Read whatever the stream holds beyond the catalog."""
        with self._lock:
            catalog = self._catalog
            for stored in self._revisions(self.stream, len(catalog.positions)):
                catalog.add(stored)
            return catalog

    def _revisions(self, stream: str, start: int, count: int | None = None) -> Iterator[ServerEvent]:
        """The events of `stream` from revision `start` (`count` of them; None: to its end)."""
        revision = start
        while count is None or revision < start + count:
            wanted = self.page_size if count is None else min(self.page_size, start + count - revision)
            try:
                page = self._client.get_stream(stream, stream_position=revision, limit=wanted, timeout=self.timeout)
            except NotFoundError:
                return
            yield from page
            if len(page) < wanted:
                return
            revision = page[-1].stream_position + 1

    # -- writing -------------------------------------------------------------------------------
    def _append_batch(self, events: list[Event], condition: AppendCondition | None) -> list[int]:
        return self._call(lambda: self._append(events, condition))

    def _append(self, events: list[Event], condition: AppendCondition | None) -> list[int]:
        for _attempt in range(APPEND_ATTEMPTS):
            with self._lock:
                catalog = self._catch_up()
                revision = len(catalog.positions) - 1
                stored = {
                    event.event_id: catalog.revisions[event.event_id]
                    for event in events
                    if event.event_id in catalog.revisions
                }
            if stored:
                self._check_retries(events, stored)
                if len(stored) == len(events):
                    return [catalog.positions[stored[event.event_id]] for event in events]
            if condition is not None:
                query = condition.fail_if_events_match
                for match in self._scan(self._types_of(query), after=condition.after, wanted=1):
                    if condition.fail_if_events_match.matches(match):
                        after = "none" if condition.after is None else condition.after
                        raise AppendConditionViolated(
                            f"append condition violated: event at position {match.position} matches the "
                            f"condition (after {after})"
                        )
            new = [to_server(event, self.login) for event in events if event.event_id not in stored]
            try:
                self._client.append_to_stream(
                    self.stream,
                    events=new,
                    current_version=StreamState.NO_STREAM if revision < 0 else revision,
                    timeout=self.timeout,
                )
            except WrongCurrentVersionError:
                continue  # another append came first: check again against what it wrote
            catalog = self._catch_up()
            return [catalog.positions[catalog.revisions[event.event_id]] for event in events]
        raise BackendUnavailable(
            f"stream {self.stream!r} changed under {APPEND_ATTEMPTS} attempts in a row to append; try again"
        )

    def _check_retries(self, events: list[Event], stored: dict[uuid.UUID, int]) -> None:
        for event in events:
            if event.event_id in stored:
                twin = self._event_at(stored[event.event_id])
                if not twin.same_content(event):
                    raise DuplicateEventError(
                        f"event {event.event_id} is already stored with different content (position "
                        f"{twin.position}); an event_id identifies one event forever"
                    )

    def _event_at(self, revision: int) -> RecordedEvent:
        stored = self._client.get_stream(self.stream, stream_position=revision, limit=1, timeout=self.timeout)
        return from_server(stored[0])

    # -- reading -------------------------------------------------------------------------------
    @staticmethod
    def _types_of(query: Query) -> tuple[str, ...] | None:
        """The event types a DCB query can match, when every item names some (else any type)."""
        if query.match_all or any(not item.types for item in query.items):
            return None
        return tuple(sorted({name for item in query.items for name in item.types}))

    def _read_all(
        self, types: tuple[str, ...] | None, start: int | None, backwards: bool, limit: int
    ) -> list[ServerEvent]:
        """One page of `$all`, filtered on the server by type (when given) or by stream name."""
        if types:
            return list(
                self._client.read_all(
                    commit_position=start,
                    backwards=backwards,
                    filter_include=[exact_regex(types)],
                    limit=limit,
                    timeout=self.timeout,
                )
            )
        return list(
            self._client.read_all(
                commit_position=start,
                backwards=backwards,
                filter_include=[self._stream_regex],
                filter_by_stream_name=True,
                limit=limit,
                timeout=self.timeout,
            )
        )

    def _page_limit(self, wanted: int | None) -> int:
        """Events per server read: no more than the caller may need (plus the repeated first)."""
        return self.page_size if wanted is None else max(2, min(self.page_size, wanted + 1))

    def _scan(
        self, types: tuple[str, ...] | None, *, after: int | None = None, wanted: int | None = None
    ) -> Iterator[RecordedEvent]:
        """The store's events after a position, forwards, of the given types (None: any).
        `wanted`: how many the caller expects to take, to size the first reads."""
        catalog = self._catch_up()
        start = None if after is None else catalog.start_after(after)
        floor = after or 0
        limit = self._page_limit(wanted)
        while True:
            page = self._read_all(types, start, False, limit)
            for stored in page:
                if stored.stream_name == self.stream and stored.commit_position > floor:
                    yield from_server(stored)
            if len(page) < limit:
                return
            limit = self.page_size
            start = floor = page[-1].commit_position

    def _scan_backwards(
        self, types: tuple[str, ...] | None, *, before: int | None, wanted: int | None = None
    ) -> Iterator[RecordedEvent]:
        """The store's events before a position (None: from the end), backwards."""
        catalog = self._catch_up()
        start = None if before is None else catalog.start_before(before)
        ceiling = before
        limit = self._page_limit(wanted)
        while True:
            page = self._read_all(types, start, True, limit)
            for stored in page:
                if stored.stream_name == self.stream and (ceiling is None or stored.commit_position < ceiling):
                    yield from_server(stored)
            if len(page) < limit:
                return
            limit = self.page_size
            start = ceiling = page[-1].commit_position

    def _get_events(self, options: QueryOptions) -> EventPage:
        return self._call(lambda: self._page(options))

    def _page(self, options: QueryOptions) -> EventPage:
        types = tuple(options.event_types) if options.event_types else None
        cursor = options.decoded_cursor()
        if options.order_by != "position":
            return page_of(self._scan(types, after=options.after_position), options)
        wanted = options.offset + options.limit + 1  # one more than the page: tells whether another exists
        if options.order_direction == "asc":
            after = max(options.after_position or 0, cursor.position if cursor else 0)
            events = self._scan(types, after=after or None, wanted=wanted)
        else:
            events = self._scan_backwards(types, before=cursor.position if cursor else None, wanted=wanted)
        matches: list[RecordedEvent] = []
        for event in events:
            if options.after_position is not None and event.position <= options.after_position:
                break  # backwards: everything further is at or below after_position
            if options.matches(event):
                matches.append(event)
                if len(matches) >= wanted:
                    break
        return page_of(matches, options)

    def get_event(self, event_id: uuid.UUID | str) -> RecordedEvent | None:
        wanted = check_uuid(event_id, "event_id")

        def lookup() -> RecordedEvent | None:
            revision = self._catch_up().revisions.get(wanted)
            return None if revision is None else self._event_at(revision)

        return self._call(lookup)

    def _read(self, query: Query, after: int | None, limit: int | None) -> list[RecordedEvent]:
        def matching() -> list[RecordedEvent]:
            found: list[RecordedEvent] = []
            for event in self._scan(self._types_of(query), after=after, wanted=limit):
                if query.matches(event):
                    found.append(event)
                    if limit is not None and len(found) >= limit:
                        break
            return found

        return self._call(matching)

    # -- live streams --------------------------------------------------------------------------
    def _open_follower(self) -> Follower:
        def subscribe() -> Follower:
            positions = self._catch_up().positions
            return _SubscriptionFollower(self._client, self._stream_regex, positions[-1] if positions else None)

        return self._call(subscribe)

    def _checkpoint_stream(self, subscription: str) -> str:
        return f"{self.stream}-subscription-{subscription}"

    def _newest(self, stream: str) -> ServerEvent | None:
        """The newest record of a stream of the store's own (checkpoints, snapshots); None when
        there is none."""
        try:
            last = self._client.get_stream(stream, backwards=True, limit=1, timeout=self.timeout)
        except NotFoundError:
            return None
        return last[0] if last else None

    def _load_checkpoint(self, subscription: str) -> int | None:
        def load() -> int | None:
            last = self._newest(self._checkpoint_stream(subscription))
            if last is None:
                return None
            position: int = orjson.loads(last.data)["position"]
            return position

        return self._call(load)

    def _save_checkpoint(self, subscription: str, position: int) -> None:
        def save() -> None:
            saved = self._load_checkpoint(subscription)
            if saved is not None and saved >= position:
                return
            stream = self._checkpoint_stream(subscription)
            if saved is None:
                self._client.set_stream_metadata(stream, metadata={"$maxCount": CHECKPOINTS_KEPT}, timeout=self.timeout)
            record = orjson.dumps({"position": position})
            self._client.append_to_stream(
                stream,
                events=[NewEvent(type=CHECKPOINT_TYPE, data=record)],
                current_version=StreamState.ANY,
                timeout=self.timeout,
            )

        self._call(save)

    # -- snapshots -----------------------------------------------------------------------------
    def _snapshot_stream(self, correlation_id: uuid.UUID) -> str:
        return f"{self.stream}-snapshot-{correlation_id}"

    def _create_snapshot(self, correlation_id: uuid.UUID, encoded: str, position: int | None) -> Snapshot:
        """A snapshot is one event of a stream of its own (outside the store's stream, so never
        read as an event); the newest one wins and the server may scavenge the older ones."""

        def create() -> Snapshot:
            catalog = self._catch_up()
            head = catalog.positions[-1] if catalog.positions else 0
            if position is not None and position > head:
                raise ValidationError(f"position {position} is beyond the head of the log ({head})", field="position")
            snapshot = Snapshot(
                correlation_id, orjson.loads(encoded), head if position is None else position, utc_now()
            )
            stream = self._snapshot_stream(correlation_id)
            record = {"position": snapshot.position, "created_at": snapshot.created_at.isoformat()}
            new = NewEvent(type=SNAPSHOT_TYPE, data=encoded.encode(), metadata=orjson.dumps(record))
            self._client.append_to_stream(stream, events=[new], current_version=StreamState.ANY, timeout=self.timeout)
            self._client.set_stream_metadata(stream, metadata={"$maxCount": CHECKPOINTS_KEPT}, timeout=self.timeout)
            return snapshot

        return self._call(create)

    def _get_snapshot(self, correlation_id: uuid.UUID) -> Snapshot | None:
        def load() -> Snapshot | None:
            last = self._newest(self._snapshot_stream(correlation_id))
            if last is None:
                return None
            record = orjson.loads(last.metadata)
            state = json.loads(last.data)
            return Snapshot(correlation_id, state, record["position"], datetime.fromisoformat(record["created_at"]))

        return self._call(load)

    # -- seals (sealing.py) ------------------------------------------------------------------
    def _stored_seals(self, up_to: int | None = None) -> list[StoredSeal]:
        stream = kurrent_sealing.seal_stream(self.stream)
        stored = []
        for record in self._revisions(stream, 0):
            item = kurrent_sealing.from_record(record.data, f"stream {stream!r} revision {record.stream_position}")
            if up_to is not None and item.seal.seal > up_to:
                break
            stored.append(item)
        return stored

    def seal(self, max_events: int = DEFAULT_SEAL_EVENTS) -> list[Seal]:
        """Seal every event of the stream, in seals of at most `max_events` (and at most
        sealing.MAX_EVENTS, what one seal event holds); the new seals."""
        check_seal_size(max_events)
        per_seal = min(max_events, kurrent_sealing.MAX_EVENTS)

        def seal_all() -> list[Seal]:
            stream = kurrent_sealing.seal_stream(self.stream)
            sealed: list[Seal] = []
            for _attempt in range(APPEND_ATTEMPTS):
                newest = self._newest(stream)
                previous = None
                if newest is not None:
                    where = f"stream {stream!r} revision {newest.stream_position}"
                    previous = kurrent_sealing.from_record(newest.data, where)
                done = previous.seal.tree_size if previous else 0
                events: list[tuple[int, bytes]] = []
                for stored in self._revisions(self.stream, done, per_seal):
                    if stored.stream_position != done + len(events):
                        raise IntegrityError(
                            f"stream {self.stream!r} has no revision {done + len(events)}: events were removed"
                            " from it ($tb, $maxCount or deletion), so it cannot be sealed; run pyevents verify"
                        )
                    event = from_server(stored)
                    events.append((event.position, field_checksum(event)))
                if not events:
                    return sealed
                if previous is None:
                    new = next_seal(None, b"", events)
                else:
                    new = next_seal(previous.seal, previous.frontier, events)
                try:
                    self._client.append_to_stream(
                        stream,
                        events=[NewEvent(type=kurrent_sealing.SEAL_TYPE, data=kurrent_sealing.to_record(new))],
                        current_version=StreamState.NO_STREAM if newest is None else newest.stream_position,
                        timeout=self.timeout,
                    )
                except WrongCurrentVersionError:
                    continue  # another sealer came first: seal on from its seal
                sealed.append(new.seal)
            raise BackendUnavailable(f"the seals of {self.stream!r} changed under {APPEND_ATTEMPTS} attempts to seal")

        return self._call(seal_all)

    def seals(self) -> list[Seal]:
        """Every seal, oldest first."""
        return self._call(lambda: [item.seal for item in self._stored_seals()])

    def sealed_leaves(self, seal: int | None = None) -> list[SealedLeaf]:
        """Every event the seals up to `seal` (None: all) cover, as sealed and as it is now."""
        return self._call(lambda: self._sealed_leaves(self._stored_seals(seal)))

    def _sealed_leaves(self, stored: list[StoredSeal]) -> list[SealedLeaf]:
        count = stored[-1].seal.tree_size if stored else 0
        events = ((record.stream_position, from_server(record)) for record in self._revisions(self.stream, 0, count))
        return kurrent_sealing.sealed_leaves(stored, events)

    def _seal_problems(self) -> list[str]:
        try:
            stored = self._stored_seals()
            problems = chain_problems(stored)
            leaves = self._sealed_leaves(stored)
        except IntegrityError as exc:
            return [f"the seals were not checked: {exc}"]
        return problems + [problem for leaf in leaves if (problem := leaf.problem()) is not None]

    # -- operations ----------------------------------------------------------------------------
    def _storage_metrics(self) -> StorageMetrics:
        """From one pass over the store's stream (the server keeps no counts by type); the
        store is one stream, counted as one partition. A subscription's lag counts the events
        after its checkpoint (commit positions are not consecutive)."""

        def measure() -> StorageMetrics:
            by_type: dict[str, int] = {}
            stored = last_day_bytes = 0
            since = utc_now() - timedelta(days=1)
            revision = 0
            while True:
                try:
                    page = self._client.get_stream(
                        self.stream, stream_position=revision, limit=self.page_size, timeout=self.timeout
                    )
                except NotFoundError:
                    page = ()
                for event in page:
                    size = len(event.data) + len(event.metadata)
                    by_type[event.type] = by_type.get(event.type, 0) + 1
                    stored += size
                    if event.recorded_at is not None and event.recorded_at >= since:
                        last_day_bytes += size
                revision += len(page)
                if len(page) < self.page_size:
                    break
            positions = self._catch_up().positions
            lag = {
                name: len(positions) - bisect.bisect_right(positions, checkpoint)
                for name, checkpoint in self._checkpoints().items()
            }
            head = positions[-1] if positions else 0
            return StorageMetrics(head, by_type, stored, float(last_day_bytes), 1 if revision else 0, lag)

        return self._call(measure)

    def _checkpoints(self) -> dict[str, int]:
        """Every subscription's latest checkpoint, from the checkpoint events in `$all`."""
        prefix = f"{self.stream}-subscription-"
        found: dict[str, int] = {}
        start = None
        floor = -1  # reading from a position includes the event there: skip what was seen
        while True:
            page = list(
                self._client.read_all(
                    commit_position=start,
                    filter_include=[literal_regex(prefix) + ".*"],  # the client anchors patterns
                    filter_by_stream_name=True,
                    limit=self.page_size,
                    timeout=self.timeout,
                )
            )
            for event in page:
                fresh = event.commit_position > floor and event.stream_name.startswith(prefix)
                if fresh and event.type == CHECKPOINT_TYPE:
                    found[event.stream_name.removeprefix(prefix)] = orjson.loads(event.data)["position"]
            if len(page) < self.page_size:
                return found
            start = floor = page[-1].commit_position

    def health_check(self) -> HealthStatus:
        """Ready when the server answers gossip with exactly one leader and the stream reads."""
        details: dict[str, Any] = {"connection": self.target, "stream": self.stream}
        try:
            members = self._call(lambda: self._client.read_gossip(timeout=self.timeout))
        except PyEventsError as exc:
            details["error"] = str(exc)
            check = HealthCheck("reachable", False, str(exc))
            return HealthStatus(False, self.backend_name, details, (check,), reachable=False)
        checks = [HealthCheck("reachable", True, f"{len(members)} cluster member(s) answer gossip")]
        details["members"] = ", ".join(
            f"{member.address}:{member.port} {member.state.removeprefix('NODE_STATE_').lower()}" for member in members
        )
        leaders = [f"{member.address}:{member.port}" for member in members if member.state == NODE_STATE_LEADER]
        details["leader"] = leaders[0] if len(leaders) == 1 else None
        if details["leader"] is None:
            details["error"] = f"no single leader among {len(members)} cluster member(s)"
        checks.append(
            HealthCheck("leader", details["leader"] is not None, details.get("error", f"leader {details['leader']}"))
        )
        try:
            catalog = self._call(self._catch_up)
            details.update(
                events=len(catalog.positions), last_position=catalog.positions[-1] if catalog.positions else 0
            )
            checks.append(
                HealthCheck("stream", True, f"stream {self.stream!r} reads ({len(catalog.positions)} events)")
            )
        except PyEventsError as exc:
            details["error"] = str(exc)
            checks.append(HealthCheck("stream", False, str(exc)))
        return HealthStatus(all(check.ok for check in checks), self.backend_name, details, tuple(checks))

    def verify(self, progress: Callable[[int], None] | None = None) -> list[str]:
        """Every event of the stream decodes as a pyevents event, ids are unique, positions grow,
        and the seals hold (sealing.py)."""

        def check() -> list[str]:
            problems: list[str] = []
            seen: dict[uuid.UUID, int] = {}
            last = 0
            revision = 0
            while True:
                try:
                    page = self._client.get_stream(
                        self.stream, stream_position=revision, limit=self.page_size, timeout=self.timeout
                    )
                except NotFoundError:
                    return problems + self._seal_problems()
                for stored in page:
                    where = f"stream {self.stream!r} revision {stored.stream_position}"
                    try:
                        from_server(stored)
                    except PyEventsError as exc:
                        problems.append(str(exc))
                    if stored.commit_position <= last:
                        problems.append(f"{where}: position {stored.commit_position} does not follow {last}")
                    last = stored.commit_position
                    if stored.id in seen:
                        problems.append(f"{where}: event {stored.id} also at revision {seen[stored.id]}")
                    seen[stored.id] = stored.stream_position
                revision += len(page)
                if progress is not None:
                    progress(last)  # the commit position, which is the event's position here
                if len(page) < self.page_size:
                    return problems + self._seal_problems()

        return self._call(check)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._client.close()


class _SubscriptionFollower:
    """Wakes a live stream when the server's catch-up subscription to `$all` (filtered on the
    store's stream) delivers an event. It starts at the store's last known event (an event
    appended since is delivered, even before the subscription is confirmed), or at the end of
    `$all` for an empty store. Positions in one stream never fill in later, so every visible
    event is settled: no frontier is needed."""

    def __init__(self, client: KurrentDBClient, stream_regex: str, last_position: int | None) -> None:
        self._news = threading.Event()
        self._failure: Exception | None = None
        self._subscription = client.subscribe_to_all(
            commit_position=last_position,
            from_end=last_position is None,
            filter_include=[stream_regex],
            filter_by_stream_name=True,
        )
        self._thread = threading.Thread(target=self._listen, name="pyevents-eventstore-follower", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        try:
            for _event in self._subscription:
                self._news.set()
        except Exception as exc:  # the stream reconnects through BackendUnavailable from wait()
            self._failure = exc
        self._news.set()

    def frontier(self, after: int) -> int | None:
        return None

    def settled(self) -> bool:
        return True

    def wait(self, timeout: float) -> None:
        self._news.wait(timeout)
        self._news.clear()
        if self._failure is not None or not self._thread.is_alive():
            raise BackendUnavailable(f"the subscription to $all ended: {self._failure or 'closed by the server'}")

    def close(self) -> None:
        self._subscription.stop()
        self._thread.join(timeout=5)
