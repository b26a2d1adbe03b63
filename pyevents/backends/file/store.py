"""FileEventStore: the local-file backend (JSONL segments, SQLite index, one writer).

Durability (`file.fsync`):
- "always" (default): each append is fsynced before anyone else may append or read it, and
  before it is acknowledged.
- "batch": group commit. The append is written under the writer lock, and fsynced after the lock
  is released, so one fsync covers every append written before it; it is still acknowledged only
  once durable, but readers may see it a moment before it is.
- "never": no fsync of segments or the directory. A crash of the process loses nothing (the page
  cache survives it), but a crash of the machine or a power cut can lose acknowledged events,
  and readers may have seen events that are then gone. For throwaway data only.

Reads never take the writer lock: before answering, a store indexes whatever complete appends
the segments hold beyond its index mark, so it sees appends of other processes and stores.
"""

from __future__ import annotations

import errno
import itertools
import json
import logging
import os
import shutil
import sqlite3
import stat
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import update_wrapper
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from pyevents.backends.file import records
from pyevents.backends.file import retention as file_retention
from pyevents.backends.file.checkpoints import Checkpoints
from pyevents.backends.file.index import (
    Catalog,
    Entry,
    IndexDamaged,
    IndexMissing,
    Location,
    Mark,
    MemoryCatalog,
    SqliteIndex,
    is_damage,
)
from pyevents.backends.file.lock import WriterLock
from pyevents.backends.file.recovery import Recovery
from pyevents.backends.file.sealing import SealBook, sealed_leaves
from pyevents.backends.file.segments import (
    ActiveSegment,
    Scan,
    Segment,
    SegmentDirectory,
    SegmentReader,
    scan_records,
    sync_data,
)
from pyevents.backends.file.settings import COMPRESSIONS, FSYNC_MODES
from pyevents.backends.file.snapshots import Snapshots
from pyevents.backends.file.verification import verify_directory
from pyevents.config import Config
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
)
from pyevents.retention import Progress, RetentionPolicy, RetentionReport
from pyevents.sealing import (
    DEFAULT_SEAL_EVENTS,
    SealedLeaf,
    StoredSeal,
    chain_problems,
    check_seal_size,
    field_checksum,
)
from pyevents.seals import Seal
from pyevents.store import EventStore

log = logging.getLogger(__name__)

FLUSH_ENTRIES = 5000  # index rows written per statement batch while catching up
MIN_FREE_BYTES = 256 * 1024 * 1024  # readiness: room for several full segments and an index rebuild
SEAL_PAGE = 1000  # events read per hold of the store's lock while sealing

P = ParamSpec("P")
R = TypeVar("R")


def _translated(method: Callable[Concatenate[FileEventStore, P], R]) -> Callable[Concatenate[FileEventStore, P], R]:
    """Only pyevents errors leave the store: file system and SQLite errors are translated."""

    def wrapper(self: FileEventStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if self._closed:
            raise BackendUnavailable(f"the store on {self.path} is closed")
        try:
            return method(self, *args, **kwargs)
        except PyEventsError:
            raise
        except (OSError, sqlite3.Error) as exc:
            raise translate(exc, self.path) from None

    update_wrapper(wrapper, method)
    return wrapper


def _check_data_directory(path: Path) -> None:
    """Whoever controls the data directory controls the events: refuse one this user does not
    own, one every user may write, and symbolic links that lead out of it."""
    info = path.stat()
    if info.st_uid != os.geteuid():
        raise ConfigError(
            f"data directory {path} belongs to uid {info.st_uid}, not to this user (uid {os.geteuid()}); "
            f"refusing a directory another user controls"
        )
    if info.st_mode & stat.S_IWOTH:
        raise ConfigError(f"data directory {path} is writable by every user (mode {stat.S_IMODE(info.st_mode):o})")
    root = path.resolve()
    for directory in (path, path / "checkpoints"):
        if not directory.is_dir():
            continue
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_symlink():
                    target = Path(entry.path).resolve()
                    if not target.is_relative_to(root):
                        raise ConfigError(f"{entry.path} is a symbolic link to {target}, outside the data directory")


def translate(exc: OSError | sqlite3.Error, path: Path) -> PyEventsError:
    """A damaged index is an IntegrityError; a full disk, missing permissions or failing I/O
    make the store unavailable, and the message names the cause."""
    if isinstance(exc, sqlite3.Error):
        if is_damage(exc):
            return IntegrityError(f"the index in {path} is damaged ({exc}); the next open rebuilds it")
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL:
            return BackendUnavailable(f"no space left on the device holding {path} (the index: {exc})")
        if not os.access(path, os.W_OK):
            return BackendUnavailable(f"{path} is not writable (the index: {exc})")
        return BackendUnavailable(f"the index in {path} cannot be used: {exc}")
    if exc.errno == errno.ENOSPC:
        return BackendUnavailable(f"no space left on the device holding {path}")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return BackendUnavailable(f"{path} is not writable: {exc.strerror} ({exc.filename or path})")
    return BackendUnavailable(f"{path}: {exc}")


class FileEventStore(EventStore):
    """An event store in a local directory. One process appends at a time; any number read."""

    backend_name = "file"

    def __init__(
        self,
        data_directory: str | os.PathLike[str],
        *,
        fsync: str = "always",
        max_size: int = 67_108_864,
        compression: str = "gzip",
        indexing: bool = True,
        max_memory_size: int = 67_108_864,
        max_payload_size: int = DEFAULT_MAX_PAYLOAD_SIZE,
        repair: bool = False,
        max_files: int = 0,
    ) -> None:
        """Open (creating if needed) the store in `data_directory`. `repair=True` sets damaged
        records aside instead of refusing to open; it takes the writer lock to do so."""
        super().__init__(max_payload_size=max_payload_size)
        if fsync not in FSYNC_MODES:
            raise ConfigError(f"file.fsync must be one of {', '.join(FSYNC_MODES)}, got {fsync!r}")
        if compression not in COMPRESSIONS:
            choices = ", ".join(COMPRESSIONS)
            raise ConfigError(f"file.rotation.compression must be one of {choices}, got {compression!r}")
        if not str(data_directory).strip():
            # Path("") is the current directory: events would land wherever the process runs.
            raise ConfigError("file.data_directory must not be empty")
        self.path = Path(data_directory)
        self.fsync = fsync
        self.max_size = max_size
        self.compression = compression
        self.max_files = max_files  # a retention rule: at most this many segments (0: no limit)
        self._closed = False
        self._lock = threading.RLock()  # this store's index connection, reader and active file
        self._writer: WriterLock | None = None
        self._active: ActiveSegment | None = None
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendUnavailable(f"cannot create the data directory {self.path}: {exc.strerror}") from None
        _check_data_directory(self.path)
        self.segments = SegmentDirectory(self.path, durable=fsync != "never")
        self.checkpoints = Checkpoints(self.path, durable=fsync != "never")
        self.snapshots = Snapshots(self.path, durable=fsync != "never")
        self.seal_book = SealBook(self.path, durable=fsync != "never")
        self.index: Catalog = SqliteIndex(self.path, cache_bytes=max_memory_size) if indexing else MemoryCatalog()
        self.reader = SegmentReader(
            self.segments, self.index.blocks_of, self.index.save_blocks, cache_bytes=max(1, max_memory_size // 4)
        )
        self.recovery = Recovery(self.segments, self.index, self.reader)
        try:
            self._open(repair)
        except BaseException:
            self.close()
            raise

    @classmethod
    def from_config(cls, config: Config, *, repair: bool = False) -> FileEventStore:
        section = config.section("file")
        store = cls(
            section["data_directory"],
            fsync=section["fsync"],
            max_size=section["rotation"]["max_size"],
            compression=section["rotation"]["compression"],
            indexing=section["indexing"]["enabled"],
            max_memory_size=section["indexing"]["max_memory_size"],
            max_payload_size=config.section("limits")["max_payload_size"],
            repair=repair,
            max_files=section["rotation"]["max_files"],
        )
        store.retention_policy = config.retention
        return store

    # -- opening and recovery ------------------------------------------------------------------
    @_translated
    def _open(self, repair: bool) -> None:
        if repair:
            self._become_writer(repair=True)
        segments = self.segments.ordered()
        self.recovery.warn_about_torn_tail(segments)
        try:
            self.index.open()
            self.recovery.check_mark(segments)
        except IndexDamaged as exc:
            self._rebuild(exc)
        self._catch_up()
        if file_retention.interrupted(self.path):
            try:
                self._become_writer()  # finishes the interrupted retention run
            except BackendUnavailable:
                log.info("a retention run in %s is in progress in another process", self.path)

    def _become_writer(self, *, repair: bool = False) -> WriterLock:
        """Take the directory's writer lock (lazily, on the first append) and recover."""
        if self._writer is None:
            self._writer = WriterLock.acquire(self.path)
        with self._writer.mutex:
            if not self._writer.recovered:
                self._recover(repair)
                self._writer.recovered = True
                file_retention.finish_interrupted(self)
        return self._writer

    def _release_writer(self) -> None:
        """Give up the directory's writer lock; the next append of this store takes it again."""
        with self._lock:
            if self._writer is None:
                return
            if self._active is not None:
                self._active.close()  # another process may append to it meanwhile
                self._active = None
            self._flush_index()
            self._writer.release()
            self._writer = None

    def _recover(self, repair: bool) -> None:
        """What the previous writer may have left (see recovery.py); then closed segments not
        yet compressed are compressed."""
        if self.recovery.recover(repair=repair):
            self._rebuild()
        if self.compression == "gzip":
            for segment in self.segments.ordered()[:-1]:
                if not segment.compressed:
                    self._compress(segment)

    def _compress(self, segment: Segment) -> None:
        blocks = self.segments.compress(segment)
        with self._lock:
            self.index.save_blocks(segment.name, blocks)

    # -- the index -----------------------------------------------------------------------------
    def _rebuild(self, reason: IndexDamaged | None = None, progress: Callable[[int], None] | None = None) -> None:
        if reason is not None:
            level = logging.INFO if isinstance(reason, IndexMissing) else logging.WARNING
            log.log(level, "rebuilding the index of %s: %s", self.path, reason)
        self.reader.close()
        self.index.rebuild(lambda: self._index_from(self.segments.ordered(), Mark(), progress))

    def _catch_up(self) -> list[Segment]:
        """Index every complete append the segments hold beyond the mark; returns the segments.
        Retried once: a writer may compress or truncate a segment while it is read."""
        with self._lock:
            try:
                return self._catch_up_once()
            except (FileNotFoundError, IntegrityError):
                return self._catch_up_once()

    def _catch_up_once(self) -> list[Segment]:
        try:
            self.index.refresh()
        except IndexDamaged as exc:
            self._rebuild(exc)
        segments = self.segments.ordered()
        mark = self.index.mark()
        if not segments or self._indexed_through_end(segments[-1], mark):
            return segments
        if mark.segment is None:
            self._rebuild()  # an empty index fills several times faster in bulk
            return segments
        with self.index.writing():
            self._index_from(segments, self.index.mark())
        return segments

    def _indexed_through_end(self, segment: Segment, mark: Mark) -> bool:
        if segment.name != mark.segment or segment.compressed:
            return False
        return (self.path / segment.name).stat().st_size == mark.offset

    def _index_from(self, segments: list[Segment], mark: Mark, progress: Callable[[int], None] | None = None) -> None:
        names = [segment.name for segment in segments]
        if mark.segment is not None and mark.segment not in names:
            raise IntegrityError(f"segment {mark.segment} is missing from {self.path}, but events in it were indexed")
        first = names.index(mark.segment) if mark.segment is not None else 0
        position = mark.position
        pending: list[Entry] = []
        for number in range(first, len(segments)):
            segment = segments[number]
            start = mark.offset if number == first and mark.segment is not None else 0
            scan = Scan(self.segments, segment, start, last=number == len(segments) - 1)
            for batch in scan.batches():
                for offset, line in batch:
                    where = f"segment {segment.name} byte {offset}"
                    data = records.decode(line, where)
                    if data["position"] <= position:
                        raise IntegrityError(f"{where}: position {data['position']} does not follow {position}")
                    position = data["position"]
                    try:
                        pending.append(Entry.of(data, segment.name, offset, len(line)))
                    except (KeyError, TypeError, ValueError, AttributeError) as exc:
                        raise IntegrityError(f"{where}: record is not a valid event ({exc})") from None
                if len(pending) >= FLUSH_ENTRIES:
                    self.index.add(pending, Mark(segment.name, scan.end, position))
                    pending = []
                if progress is not None:
                    progress(position)
            self.index.add(pending, Mark(segment.name, scan.end, position))
            pending = []

    def rebuild_index(self, progress: Callable[[int], None] | None = None) -> None:
        """Rebuild the index from the segments (it is derived data; nothing is lost).
        `progress(position)` is called as the segments are read."""
        with self._lock:
            self._rebuild(progress=progress)

    def _flush_index(self) -> None:
        """Write the staged index entries when letting go: a failure loses nothing, since the
        segments hold them and the next catch-up indexes them, so it is logged, not raised."""
        try:
            self.index.flush()
        except (PyEventsError, sqlite3.Error) as exc:
            log.warning("the index of %s was left behind its segments (%s); the next open catches up", self.path, exc)

    # -- reading -------------------------------------------------------------------------------
    def _load(self, positions: list[int]) -> list[RecordedEvent]:
        """The events at `positions`, in that order. They are read in file order: records stored
        one after another (a catch-up, most pages in any order) are read as one byte range and
        decoded together."""
        located = self.index.locate(positions)
        locations: list[Location] = []
        for position in positions:
            location = located.get(position)
            if location is None:
                raise IntegrityError(f"the index lost position {position}; run verify")
            locations.append(location)

        def where(number: int) -> str:
            return f"segment {locations[number][0]} byte {locations[number][1]}"

        in_file_order = sorted(range(len(locations)), key=locations.__getitem__)
        decoded: list[dict[str, Any]] = []
        run = 0
        while run < len(in_file_order):
            name, offset, length = locations[in_file_order[run]]
            stop = offset + length
            end = run + 1
            while end < len(in_file_order):
                following = locations[in_file_order[end]]
                if following[0] != name or following[1] != stop:
                    break
                stop += following[2]
                end += 1
            numbers = in_file_order[run:end]
            decoded.extend(self._decode_run(name, offset, [locations[n][2] for n in numbers], numbers, where))
            run = end
        if in_file_order != list(range(len(locations))):
            decoded = [
                data for _number, data in sorted(zip(in_file_order, decoded, strict=True), key=lambda pair: pair[0])
            ]
        return records.to_read_events(decoded, positions, where)

    def _decode_run(
        self, name: str, offset: int, lengths: list[int], numbers: list[int], where: Callable[[int], str]
    ) -> list[dict[str, Any]]:
        """The records of `lengths` stored one after another from `offset` of segment `name`;
        `numbers` name them for `where` in errors."""
        data = self.reader.read_range(name, offset, sum(lengths))
        damaged = records.first_damaged(data, lengths)
        if damaged is not None:
            raise IntegrityError(f"segment {name} is corrupt at byte {offset + damaged}: the record there is damaged")
        decoded = records.decode_lines(data, len(lengths))
        if decoded is None:
            decoded = []
            start = 0
            for number, length in zip(numbers, lengths, strict=True):
                decoded.append(records.decode(data[start : start + length], where(number)))
                start += length
        return decoded

    @_translated
    def _get_events(self, options: QueryOptions) -> EventPage:
        with self._lock:
            self._catch_up()
            return self.index.page(options, self._load)

    @_translated
    def get_event(self, event_id: uuid.UUID | str) -> RecordedEvent | None:
        try:
            wanted = (event_id if isinstance(event_id, uuid.UUID) else uuid.UUID(event_id)).bytes
        except (ValueError, TypeError, AttributeError):
            raise ValidationError(f"event_id is not a valid UUID: {event_id!r}", field="event_id") from None
        with self._lock:
            self._catch_up()
            position = self.index.positions_of([wanted]).get(wanted)
            return None if position is None else self._load([position])[0]

    @_translated
    def _read(self, query: Query, after: int | None, limit: int | None) -> list[RecordedEvent]:
        with self._lock:
            self._catch_up()
            return self.index.matching(query, after, limit, self._load)

    # -- writing -------------------------------------------------------------------------------
    @_translated
    def _append_batch(self, events: list[Event], condition: AppendCondition | None) -> list[int]:
        writer = self._become_writer()
        with writer.mutex, self._lock:
            segments = self._catch_up()
            ids = [event.event_id.bytes for event in events]
            stored = self.index.positions_of(ids)
            if stored:
                self._check_retries(events, stored)
                if len(stored) == len(events):
                    return [stored[event_id] for event_id in ids]
            if condition is not None:
                matches = self.index.matching(condition.fail_if_events_match, condition.after, 1, self._load)
                if matches:
                    raise AppendConditionViolated(
                        f"append condition violated: event at position {matches[0].position} matches the "
                        f"condition (after {'none' if condition.after is None else condition.after})"
                    )
            # UUID.bytes is computed on every access: each id is taken once
            new = [(event, event_id) for event, event_id in zip(events, ids, strict=True) if event_id not in stored]
            first = self.index.mark().position + 1
            recorded_at = datetime.now(UTC).isoformat()
            login = os_login()
            lines = [
                records.encode(event, first + number, recorded_at, appended_by=login, batch_end=number == len(new) - 1)
                for number, (event, _event_id) in enumerate(new)
            ]
            data = b"".join(lines)
            active = self._active_segment(segments, len(data))
            start = active.size
            try:
                active.write(data)
                if self.fsync == "always":
                    active.sync()
                segment = active.segment.name
                offset = start
                entries = []
                for position, (event, event_id), line in zip(itertools.count(first), new, lines):
                    entries.append(Entry.of_event(event, event_id, position, segment, offset, len(line)))
                    stored[event_id] = position
                    offset += len(line)
                if self.index.mark().position == first - 1:  # else a reader indexed it already
                    self.index.stage(entries, Mark(active.segment.name, active.size, first + len(new) - 1))
            except (OSError, sqlite3.Error) as exc:
                # Not acknowledged, so not kept: the caller can trust that nothing was appended.
                active.undo(start)
                error = translate(exc, self.path)
                raise type(error)(f"{error}; nothing was appended") from None
            deferred_sync = os.dup(active.fd) if self.fsync == "batch" else None
        if deferred_sync is not None:
            try:
                sync_data(deferred_sync)  # outside the lock: one sync covers all appends written so far
            finally:
                os.close(deferred_sync)
        return [stored[event_id] for event_id in ids]

    def _check_retries(self, events: list[Event], stored: dict[bytes, int]) -> None:
        existing = {event.event_id: event for event in self._load(sorted(stored.values()))}
        for event in events:
            twin = existing.get(event.event_id)
            if twin is not None and not twin.same_content(event):
                raise DuplicateEventError(
                    f"event {event.event_id} is already stored with different content (position {twin.position}); "
                    "an event_id identifies one event forever"
                )

    def _active_segment(self, segments: list[Segment], incoming: int) -> ActiveSegment:
        """The segment to append `incoming` bytes to, rotating when the last one is full."""
        last = segments[-1] if segments else None
        if self._active is not None and (last is None or self._active.segment.name != last.name):
            self._active.close()  # another store of this process rotated
            self._active = None
        if self._active is None:
            if last is None or last.compressed:
                self._active = ActiveSegment.create(self.segments, last.name if last else None)
            else:
                self._active = ActiveSegment(self.segments, last, (self.path / last.name).stat().st_size)
        active = self._active
        if self.max_size and active.size and active.size + incoming > self.max_size:
            self._rotate()
        assert self._active is not None
        return self._active

    def _rotate(self) -> None:
        assert self._active is not None
        closing = self._active
        closing.sync()
        self._active = ActiveSegment.create(self.segments, closing.segment.name)
        closing.close()
        if self.compression == "gzip":
            self._compress(closing.segment)

    @_translated
    def rotate(self) -> None:
        """Close the current segment (compressing it if configured) and start a new one."""
        writer = self._become_writer()
        with writer.mutex, self._lock:
            segments = self._catch_up()
            if segments and not segments[-1].compressed and (self.path / segments[-1].name).stat().st_size:
                self._active_segment(segments, 0)
                self._rotate()

    @_translated
    def _apply_retention(self, policy: RetentionPolicy, dry_run: bool, progress: Progress | None) -> RetentionReport:
        return file_retention.apply(self, policy, dry_run=dry_run, max_files=self.max_files, progress=progress)

    @_translated
    def _load_checkpoint(self, subscription: str) -> int | None:
        return self.checkpoints.load(subscription)

    @_translated
    def _save_checkpoint(self, subscription: str, position: int) -> None:
        self.checkpoints.save(subscription, position)

    # -- snapshots -----------------------------------------------------------------------------
    @_translated
    def _create_snapshot(self, correlation_id: uuid.UUID, encoded: str, position: int | None) -> Snapshot:
        with self._lock:
            self._catch_up()
            head = self.index.mark().position
        if position is None:
            position = head
        elif position > head:
            raise ValidationError(f"position {position} is beyond the head of the log ({head})", field="position")
        created_at = self.snapshots.save(correlation_id, encoded, position)
        return Snapshot(correlation_id, json.loads(encoded), position, created_at)

    @_translated
    def _get_snapshot(self, correlation_id: uuid.UUID) -> Snapshot | None:
        return self.snapshots.load(correlation_id)

    # -- operations ----------------------------------------------------------------------------
    @_translated
    def health_check(self, *, min_free_bytes: int = MIN_FREE_BYTES) -> HealthStatus:
        """Ready when the directory is readable and writable, the segments and index agree
        up to their end, and the file system has `min_free_bytes` free."""
        details: dict[str, Any] = {"data_directory": str(self.path), "fsync": self.fsync}
        checks: list[HealthCheck] = []
        try:
            with self._lock:
                segments = self._catch_up()
                details.update(
                    segments=len(segments),
                    events=self.index.count(),
                    last_position=self.index.mark().position,
                    indexed=self.index.persistent,
                    writer=self._writer is not None,
                )
            checks.append(HealthCheck("storage", True, f"{len(segments)} segments readable and indexed"))
        except (PyEventsError, OSError, sqlite3.Error) as exc:
            error = str(exc if isinstance(exc, PyEventsError) else translate(exc, self.path))
            details["error"] = error
            checks.append(HealthCheck("storage", False, error))
        writable = os.access(self.path, os.W_OK)
        details["writable"] = writable
        checks.append(HealthCheck("writable", writable, f"{self.path} is {'' if writable else 'not '}writable"))
        free = shutil.disk_usage(self.path).free
        details["free_bytes"] = free
        checks.append(
            HealthCheck("disk_space", free >= min_free_bytes, f"{free} bytes free (at least {min_free_bytes} wanted)")
        )
        return HealthStatus(all(check.ok for check in checks), self.backend_name, details, tuple(checks))

    @_translated
    def _storage_metrics(self) -> StorageMetrics:
        with self._lock:
            segments = self._catch_up()
            head = self.index.mark().position
            since = datetime.now(UTC) - timedelta(days=1)
            by_type, last_day = self.index.type_counts(since, self._load)
        stored = sum(self.segments.file(segment).stat().st_size for segment in segments)
        total = sum(by_type.values())
        lag = {name: head - position for name, position in self.checkpoints.all().items()}
        return StorageMetrics(
            head=head,
            events_by_type=by_type,
            storage_bytes=stored + sum(path.stat().st_size for path in self.path.glob("*.sqlite*")),
            growth_bytes_per_day=stored / total * last_day if total else 0.0,
            partitions=len(segments),
            subscription_lag=lag,
        )

    @_translated
    def verify(self, progress: Callable[[int], None] | None = None) -> list[str]:
        """Check every segment (checksums, gzip, order, unique ids, missing positions), the
        index against them, and the seals against the segments."""
        with self._lock:
            segments = self._catch_up()
            problems = verify_directory(self.segments, segments, self.index, progress)
        # Outside the store's lock, as a seal takes the seal book's lock before the store's.
        stored = self.seal_book.stored()
        if stored:
            problems += self._seal_problems(stored, segments)
        return problems

    # -- seals (sealing.py) ------------------------------------------------------------------
    @_translated
    def seal(self, max_events: int = DEFAULT_SEAL_EVENTS) -> list[Seal]:
        """Seal every stored event, in seals of at most `max_events`; the new seals. Appends
        wait only while a page of the events is read."""
        check_seal_size(max_events)
        return self.seal_book.seal(self._checksums_after, max_events)

    def _checksums_after(self, after: int, limit: int) -> list[tuple[int, bytes]]:
        found: list[tuple[int, bytes]] = []
        while len(found) < limit:
            page = self._read(Query.all(), after, min(SEAL_PAGE, limit - len(found)))
            if not page:
                break
            found.extend((event.position, field_checksum(event)) for event in page)
            after = page[-1].position
        return found

    @_translated
    def seals(self) -> list[Seal]:
        """Every seal, oldest first."""
        return self.seal_book.seals()

    @_translated
    def sealed_leaves(self, seal: int | None = None) -> list[SealedLeaf]:
        """Every position the seals up to `seal` (None: all) cover, as sealed and as the
        segments hold it now."""
        with self._lock:
            segments = self._catch_up()
        return sealed_leaves(self.seal_book.stored(seal), self._stored_events(segments))

    def _stored_events(self, segments: list[Segment]) -> Iterator[RecordedEvent]:
        """Every event of `segments`, read from the files (built as reads build them: each
        record passed its checksum, and was validated when appended)."""
        for segment, offset, _line, data in scan_records(self.segments, segments):

            def where(_number: int, name: str = f"segment {segment.name} byte {offset}") -> str:
                return name

            yield records.to_read_events([data], [data["position"]], where)[0]

    def _seal_problems(self, stored: list[StoredSeal], segments: list[Segment]) -> list[str]:
        problems = chain_problems(stored)
        try:
            leaves = sealed_leaves(stored, self._stored_events(segments))
        except IntegrityError as exc:
            return [*problems, f"the events were not checked against the seals: {exc}"]
        return problems + [problem for leaf in leaves if (problem := leaf.problem()) is not None]

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._active is not None:
                self._active.close()
                self._active = None
            self._flush_index()
            self.reader.close()
            self.index.close()
            self.snapshots.close()
            self.seal_book.close()
            if self._writer is not None:
                self._writer.release()
                self._writer = None
