"""Where events are: the SQLite index of a data directory, or a small in-memory catalog.

The index is derived data. It holds, per event, the fields every QueryOptions filter and order
needs, the event's location (segment, offset, length), its tags, the block maps of gzipped
segments, and a mark: how far into which segment it has indexed. Anything missing is re-read from
the segments; a damaged or inconsistent index is rebuilt from them.

Index files are `index-<generation>.sqlite`. A rebuild writes generation n+1 beside the old one
(secondary indexes created after the bulk load, which is several times faster) and links it into
place, so readers in other processes never see a half-built index; they notice the new
generation because their file is gone, and reconnect. SQLite's WAL mode lets readers and the
writer use the index at the same time.

The writer stages the entries of its own appends and writes them in one transaction per
STAGE_LIMIT entries, and before anything reads the index file or the writer lets go of it; until
then, other processes index those appends from the segments themselves, as after any crash.

Without an index (`indexing.enabled = false`) the MemoryCatalog keeps only event ids and
locations; queries then scan every event (`pyevents.model.page_of`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from pyevents.backends.file.records import micros, uuid_bytes
from pyevents.backends.file.segments import Block
from pyevents.errors import BackendUnavailable, IntegrityError, ValidationError
from pyevents.model import Event, EventPage, Query, QueryOptions, RecordedEvent, check_timestamp, page_of

log = logging.getLogger(__name__)

FORMAT = "1"
FILE_PATTERN = re.compile(r"^index-(\d+)\.sqlite$")
SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE segments (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE blocks (
    segment INTEGER NOT NULL, uncompressed INTEGER NOT NULL, compressed INTEGER NOT NULL,
    PRIMARY KEY (segment, uncompressed)
) WITHOUT ROWID;
CREATE TABLE events (
    position INTEGER PRIMARY KEY,
    event_id BLOB NOT NULL,
    ts INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    correlation_id BLOB NOT NULL,
    segment INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL
);
CREATE TABLE tags (tag TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (tag, position)) WITHOUT ROWID;
"""
SECONDARY_INDEXES = """
CREATE UNIQUE INDEX events_event_id ON events (event_id);
CREATE INDEX events_ts ON events (ts, position);
CREATE INDEX events_type ON events (event_type, position);
CREATE INDEX events_actor ON events (actor_id, position);
CREATE INDEX events_correlation ON events (correlation_id, position);
"""
CHECK_CACHE_KIB = 1024  # page cache while the index is checked on open
SCAN_BATCH = 1000  # events read per step of a scan without an index
# Entries of the writer's own appends held before they go into the index in one transaction: a
# transaction rewrites every page it touches, and the random event_id and correlation_id keys
# touch a page per row, so one per append costs several times the rows themselves.
STAGE_LIMIT = 50_000
# Below this much free space every append is indexed before it is acknowledged, as reads need the
# index complete: once the disk is full, staged entries could not be written and reads would fail.
STAGE_MIN_FREE_BYTES = 64 * 1024 * 1024
ORDER_COLUMNS = {"position": "position", "timestamp": "ts", "event_id": "event_id"}


class Entry(NamedTuple):
    """What the index keeps of one stored event (a tuple: built for every event indexed, and
    several times cheaper to build than a frozen dataclass)."""

    position: int
    event_id: bytes  # UUIDs as 16 bytes: half the size, and bytes order = canonical string order
    ts: int
    event_type: str
    actor_id: str
    correlation_id: bytes
    tags: Sequence[str]
    segment: str
    offset: int
    length: int

    @classmethod
    def of(cls, data: dict[str, Any], segment: str, offset: int, length: int) -> Entry:
        """From a decoded record line."""
        return cls(
            data["position"],
            uuid_bytes(data["event_id"]),
            micros(data["timestamp"]),
            data["event_type"],
            data["actor_id"],
            uuid_bytes(data["correlation_id"]),
            data["metadata"].get("tags", ()),
            segment,
            offset,
            length,
        )

    @classmethod
    def of_event(cls, event: Event, event_id: bytes, position: int, segment: str, offset: int, length: int) -> Entry:
        """From an event being appended; `event_id` is its id's bytes, which the caller has."""
        return cls(
            position,
            event_id,
            micros(event.timestamp),
            event.event_type,
            event.actor_id,
            event.correlation_id.bytes,
            event.tags,
            segment,
            offset,
            length,
        )


@dataclass(frozen=True)
class Mark:
    """Indexed through `position`: everything up to `offset` of `segment` (None: nothing yet)."""

    segment: str | None = None
    offset: int = 0
    position: int = 0


Location = tuple[str, int, int]  # segment, offset, length


Loader = Callable[[list[int]], list[RecordedEvent]]  # the events at these positions, read from the segments


class Catalog(Protocol):
    """What the store needs from an index, with or without SQLite."""

    persistent: bool  # kept on disk between opens (else rebuilt from the segments on every open)

    def open(self) -> None:
        """Connect to the stored index; IndexDamaged if it must be (re)built."""

    def refresh(self) -> bool:
        """Follow a rebuild by another process; True when the index was replaced."""

    def rebuild(self, fill: Callable[[], None]) -> None:
        """Start empty and `fill()` (which adds every entry) into a fresh index."""

    def page(self, options: QueryOptions, load: Loader) -> EventPage: ...
    def matching(self, query: Query, after: int | None, limit: int | None, load: Loader) -> list[RecordedEvent]: ...
    def verification_rows(self) -> Iterator[tuple[Any, ...]] | None:
        """Every row with its sorted tags, in position order, to compare with the segments
        (None: nothing kept that the segments do not already say)."""

    def orphan_tags(self) -> int: ...
    def mark(self) -> Mark:
        """How far the index reaches, staged entries included."""

    def add(self, entries: Sequence[Entry], mark: Mark) -> None: ...
    def stage(self, entries: Sequence[Entry], mark: Mark) -> None:
        """Add the entries of an append just made, now or with later ones (before any read)."""

    def flush(self) -> None:
        """Write staged entries to the index."""

    def writing(self) -> contextlib.AbstractContextManager[None]: ...
    def positions_of(self, event_ids: Sequence[bytes]) -> dict[bytes, int]: ...
    def locate(self, positions: Sequence[int]) -> dict[int, Location]: ...
    def truncate_after(self, mark: Mark) -> None: ...
    def blocks_of(self, segment: str) -> list[Block] | None: ...
    def save_blocks(self, segment: str, blocks: list[Block]) -> None: ...
    def count(self) -> int: ...
    def type_counts(self, since: datetime, load: Loader) -> tuple[dict[str, int], int]:
        """Events by type, and how many positions the log grew by since its first event with a
        timestamp at or after `since` (for metrics: the growth, not a count of those events)."""

    def close(self) -> None: ...


class MemoryCatalog:
    """Ids and locations only, rebuilt from the segments on every open; queries scan every
    event (`pyevents.model.page_of`)."""

    persistent = False

    def __init__(self) -> None:
        self._mark = Mark()
        self._ids: dict[bytes, int] = {}
        self._locations: dict[int, Location] = {}
        self._blocks: dict[str, list[Block]] = {}
        self._lock = threading.RLock()

    def open(self) -> None:
        pass

    def refresh(self) -> bool:
        return False

    def rebuild(self, fill: Callable[[], None]) -> None:
        self.truncate_after(Mark())
        fill()

    def _scan(self, load: Loader) -> Iterator[RecordedEvent]:
        positions = sorted(self._locations)
        for start in range(0, len(positions), SCAN_BATCH):
            yield from load(positions[start : start + SCAN_BATCH])

    def page(self, options: QueryOptions, load: Loader) -> EventPage:
        return page_of(self._scan(load), options)

    def matching(self, query: Query, after: int | None, limit: int | None, load: Loader) -> list[RecordedEvent]:
        found: list[RecordedEvent] = []
        for event in self._scan(load):
            if (after is None or event.position > after) and query.matches(event):
                found.append(event)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def verification_rows(self) -> None:
        return None

    def orphan_tags(self) -> int:
        return 0

    def mark(self) -> Mark:
        return self._mark

    def add(self, entries: Sequence[Entry], mark: Mark) -> None:
        for entry in entries:
            if entry.event_id in self._ids:
                first = self._ids[entry.event_id]
                raise IntegrityError(
                    f"event {uuid.UUID(bytes=entry.event_id)} is stored twice (positions {first} and {entry.position})"
                )
            self._ids[entry.event_id] = entry.position
            self._locations[entry.position] = (entry.segment, entry.offset, entry.length)
        self._mark = mark

    def stage(self, entries: Sequence[Entry], mark: Mark) -> None:
        self.add(entries, mark)

    def flush(self) -> None:
        pass

    def writing(self) -> contextlib.AbstractContextManager[None]:
        return self._lock_context()

    @contextlib.contextmanager
    def _lock_context(self) -> Iterator[None]:
        with self._lock:
            yield

    def positions_of(self, event_ids: Sequence[bytes]) -> dict[bytes, int]:
        return {event_id: self._ids[event_id] for event_id in event_ids if event_id in self._ids}

    def locate(self, positions: Sequence[int]) -> dict[int, Location]:
        return {position: self._locations[position] for position in positions if position in self._locations}

    def truncate_after(self, mark: Mark) -> None:
        for position in [p for p in self._locations if p > mark.position]:
            del self._locations[position]
        self._ids = {event_id: p for event_id, p in self._ids.items() if p <= mark.position}
        self._mark = mark

    def blocks_of(self, segment: str) -> list[Block] | None:
        return self._blocks.get(segment)

    def save_blocks(self, segment: str, blocks: list[Block]) -> None:
        self._blocks[segment] = blocks

    def count(self) -> int:
        return len(self._locations)

    def type_counts(self, since: datetime, load: Loader) -> tuple[dict[str, int], int]:
        by_type: dict[str, int] = {}
        first: tuple[datetime, int] | None = None  # (timestamp, position) of the day's first event
        head = 0
        for event in self._scan(load):
            by_type[event.event_type] = by_type.get(event.event_type, 0) + 1
            head = event.position
            if event.timestamp >= since and (first is None or (event.timestamp, event.position) < first):
                first = (event.timestamp, event.position)
        return by_type, head - first[1] + 1 if first is not None else 0

    def close(self) -> None:
        self._locations.clear()
        self._ids.clear()


# SQLite result codes that mean the index file itself is unusable (rebuild it). Other errors come
# from its surroundings (a full disk, permissions, I/O), which a rebuild would not cure.
DAMAGE_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_ERROR})


def is_damage(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is None or code & 0xFF in DAMAGE_CODES


class IndexDamaged(Exception):
    """The index file cannot be used as it is; it must be rebuilt."""


class IndexMissing(IndexDamaged):
    """There is no index file (a new store, or it was deleted); it must be built."""


class SqliteIndex:
    """The SQLite index. Not thread-safe by itself: the store serialises access."""

    persistent = True

    def __init__(self, directory: Path, *, cache_bytes: int) -> None:
        self.directory = directory
        self.cache_bytes = cache_bytes
        self.path: Path | None = None
        self.inode = 0
        self.conn: sqlite3.Connection | None = None
        self._segment_ids: dict[str, int] = {}
        self._tags_table = "tags"  # where add() puts tags: a rebuild collects them elsewhere first
        # The writer's appends not yet in the index (see STAGE_LIMIT). They are in the segments
        # already: if they are lost (a crash, a failed write), catching up indexes them again.
        self._staged: list[Entry] = []
        self._staged_ids: dict[bytes, int] = {}
        self._staged_mark: Mark | None = None

    # -- files and connections -----------------------------------------------------------------
    def _generations(self) -> list[int]:
        return sorted(int(m.group(1)) for name in os.listdir(self.directory) if (m := FILE_PATTERN.match(name)))

    def open(self) -> None:
        """Connect to the newest generation; IndexDamaged if there is none or it is unusable."""
        self.close()
        generations = self._generations()
        if not generations:
            raise IndexMissing("there is no index yet")
        path = self.directory / f"index-{generations[-1]}.sqlite"
        try:
            self.inode = path.stat().st_ino
            self.conn = self._connect(path)
            self.path = path
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if row is None or row[0] != FORMAT:
                raise IndexDamaged(f"{path.name} has format {row and row[0]}, expected {FORMAT}")
            # quick_check reads every page: through a small cache, or opening would hold pages of
            # the whole index in memory (up to cache_bytes) that a query seldom needs again.
            self.conn.execute(f"PRAGMA cache_size = {-CHECK_CACHE_KIB}")
            problems = [r[0] for r in self.conn.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise IndexDamaged(f"{path.name}: {'; '.join(problems[:3])}")
            self.conn.execute(f"PRAGMA cache_size = {-max(1, self.cache_bytes // 1024)}")
        except sqlite3.Error as exc:
            self.close()
            if not is_damage(exc):
                raise
            raise IndexDamaged(f"{path.name}: {exc}") from None
        except FileNotFoundError as exc:
            self.close()
            raise IndexDamaged(f"{path.name}: {exc}") from None
        except IndexDamaged:
            self.close()
            raise

    def refresh(self) -> bool:
        """Reconnect if another process replaced the index; True when it did."""
        if self.path is not None:
            try:
                if self.path.stat().st_ino == self.inode:
                    return False
            except FileNotFoundError:
                pass
        self.open()
        return True

    def _connect(self, path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA cache_size = {-max(1, self.cache_bytes // 1024)}")
        self._segment_ids = {}
        return conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.path = None

    @property
    def db(self) -> sqlite3.Connection:
        if self.conn is None:
            raise BackendUnavailable("the index is closed")
        return self.conn

    def rebuild(self, fill: Callable[[], None]) -> None:
        """Build a new generation: create it empty, `fill()` it through this object, then index it."""
        self._discard_staged()  # the segments hold them; `fill()` reads them again
        generations = self._generations()
        generation = (generations[-1] if generations else 0) + 1
        final = self.directory / f"index-{generation}.sqlite"
        temp = self.directory / f"index-{generation}.sqlite.{os.getpid()}.tmp"
        temp.unlink(missing_ok=True)
        self.close()
        try:
            self._build(temp, fill)
        except BaseException:
            temp.unlink(missing_ok=True)  # a failed rebuild (a full disk, say) leaves nothing behind
            raise
        try:
            os.link(temp, final)
        except FileExistsError:
            log.info("another process rebuilt the index at the same time; using its %s", final.name)
        temp.unlink()
        for old in generations:
            for suffix in ("", "-wal", "-shm"):
                (self.directory / f"index-{old}.sqlite{suffix}").unlink(missing_ok=True)
        self.open()

    def _build(self, temp: Path, fill: Callable[[], None]) -> None:
        self.conn = sqlite3.connect(temp, isolation_level=None, check_same_thread=False)
        self._segment_ids = {}
        try:
            self.db.execute("PRAGMA journal_mode = OFF")
            self.db.execute("PRAGMA synchronous = OFF")
            self.db.execute(f"PRAGMA cache_size = {-max(1, self.cache_bytes // 1024)}")
            self.db.executescript(SCHEMA)
            self.db.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
            # Tags arrive in position order; the tags table is keyed by tag, so they are collected
            # unordered and inserted sorted, a sequential write instead of one at random per tag.
            self.db.execute("CREATE TEMPORARY TABLE loaded_tags (tag TEXT NOT NULL, position INTEGER NOT NULL)")
            self._tags_table = "temp.loaded_tags"
            self.db.execute("BEGIN")
            self._write_mark(Mark())
            fill()
            self.db.execute("INSERT INTO tags SELECT tag, position FROM temp.loaded_tags ORDER BY tag, position")
            self.db.execute("COMMIT")
            self.db.executescript(SECONDARY_INDEXES)
            self.db.execute("PRAGMA journal_mode = WAL")
        finally:
            self._tags_table = "tags"
            self.close()

    # -- writing -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """One write transaction; taken before reading the mark so two catch-ups never overlap."""
        db = self.db
        if db.in_transaction:  # the bulk load of a rebuild: no other process sees this file
            yield
            return
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise BackendUnavailable(f"the index is busy: {exc}") from None
        try:
            self._write_staged()  # first: whatever follows reads or moves the mark
            yield
        except BaseException:
            if db.in_transaction:  # SQLite rolls back by itself after some errors (a full disk)
                db.execute("ROLLBACK")
            self._segment_ids = {}  # ids handed out in this transaction are gone
            raise
        db.execute("COMMIT")

    def mark(self) -> Mark:
        return self._staged_mark or self._stored_mark()

    def _stored_mark(self) -> Mark:
        values = dict(self.db.execute("SELECT key, value FROM meta WHERE key LIKE 'mark_%'").fetchall())
        segment = values.get("mark_segment") or None
        return Mark(segment, int(values.get("mark_offset", 0)), int(values.get("mark_position", 0)))

    def _write_mark(self, mark: Mark) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [
                ("mark_segment", mark.segment or ""),
                ("mark_offset", str(mark.offset)),
                ("mark_position", str(mark.position)),
            ],
        )

    def _segment_id(self, name: str) -> int:
        found = self._segment_ids.get(name)
        if found is None:
            self.db.execute("INSERT OR IGNORE INTO segments (name) VALUES (?)", (name,))
            found = self.db.execute("SELECT id FROM segments WHERE name = ?", (name,)).fetchone()[0]
            self._segment_ids[name] = found
        return found

    def add(self, entries: Sequence[Entry], mark: Mark) -> None:
        segment_ids = {name: self._segment_id(name) for name in {e.segment for e in entries}}
        try:
            self.db.executemany(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        e.position,
                        e.event_id,
                        e.ts,
                        e.event_type,
                        e.actor_id,
                        e.correlation_id,
                        segment_ids[e.segment],
                        e.offset,
                        e.length,
                    )
                    for e in entries
                ],
            )
        except sqlite3.IntegrityError:
            raise self._duplicate(entries) from None
        self.db.executemany(
            f"INSERT INTO {self._tags_table} VALUES (?, ?)", [(tag, e.position) for e in entries for tag in set(e.tags)]
        )
        self._write_mark(mark)

    def stage(self, entries: Sequence[Entry], mark: Mark) -> None:
        self._staged.extend(entries)
        self._staged_ids.update((entry.event_id, entry.position) for entry in entries)
        self._staged_mark = mark
        if len(self._staged) >= STAGE_LIMIT or shutil.disk_usage(self.directory).free < STAGE_MIN_FREE_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._staged:
            with self.writing():
                pass

    def _write_staged(self) -> None:
        """Add the staged entries the index lacks: another store (of this process or a reader
        of another) may have indexed some of them from the segments meanwhile."""
        entries, mark = self._staged, self._staged_mark
        self._discard_staged()
        if mark is None:
            return
        indexed = self._stored_mark().position
        fresh = [entry for entry in entries if entry.position > indexed]
        # Only an index that ends right before them can take them; any other is caught up
        # from the segments instead.
        if fresh and fresh[0].position == indexed + 1:
            self.add(fresh, mark)

    def _discard_staged(self) -> None:
        self._staged, self._staged_ids, self._staged_mark = [], {}, None

    def _duplicate(self, entries: Sequence[Entry]) -> IntegrityError:
        stored = self.positions_of([e.event_id for e in entries])
        for entry in entries:
            first = stored.get(entry.event_id, entry.position)
            if first != entry.position:
                event_id = uuid.UUID(bytes=entry.event_id)
                return IntegrityError(f"event {event_id} is stored twice (positions {first} and {entry.position})")
        return IntegrityError("the index already holds some of these positions; it is inconsistent")

    def truncate_after(self, mark: Mark) -> None:
        """Forget events after `mark.position`: the segments lost them (a crash before fsync)."""
        self.db.execute("DELETE FROM events WHERE position > ?", (mark.position,))
        self.db.execute("DELETE FROM tags WHERE position > ?", (mark.position,))
        self._write_mark(mark)

    def save_blocks(self, segment: str, blocks: list[Block]) -> None:
        segment_id = self._segment_id(segment)
        with self.writing():
            self.db.execute("DELETE FROM blocks WHERE segment = ?", (segment_id,))
            self.db.executemany("INSERT INTO blocks VALUES (?, ?, ?)", [(segment_id, u, c) for u, c in blocks])

    # -- reading -------------------------------------------------------------------------------
    def blocks_of(self, segment: str) -> list[Block] | None:
        rows = self.db.execute(
            "SELECT b.uncompressed, b.compressed FROM blocks b JOIN segments s ON s.id = b.segment"
            " WHERE s.name = ? ORDER BY b.uncompressed",
            (segment,),
        ).fetchall()
        return [(u, c) for u, c in rows] or None

    def count(self) -> int:
        self.flush()
        count: int = self.db.execute("SELECT count(*) FROM events").fetchone()[0]
        return count

    def type_counts(self, since: datetime, load: Loader) -> tuple[dict[str, int], int]:
        self.flush()
        by_type = dict(self.db.execute("SELECT event_type, count(*) FROM events GROUP BY event_type").fetchall())
        # Index probes, not a count of the day's events: every scrape asks.
        first = self.db.execute(
            "SELECT position FROM events WHERE ts >= ? ORDER BY ts, position LIMIT 1", (micros(since),)
        ).fetchone()
        if first is None:
            return by_type, 0
        head: int = self.db.execute("SELECT max(position) FROM events").fetchone()[0]
        return by_type, head - first[0] + 1

    def positions_of(self, event_ids: Sequence[bytes]) -> dict[bytes, int]:
        marks = ",".join("?" * len(event_ids))
        rows = self.db.execute(f"SELECT event_id, position FROM events WHERE event_id IN ({marks})", list(event_ids))
        found: dict[bytes, int] = dict(rows.fetchall())
        if self._staged_ids:
            staged = self._staged_ids
            found.update((event_id, staged[event_id]) for event_id in event_ids if event_id in staged)
        return found

    def locate(self, positions: Sequence[int]) -> dict[int, Location]:
        self.flush()
        if not positions:
            return {}
        select = "SELECT e.position, s.name, e.offset, e.length FROM events e JOIN segments s ON s.id = e.segment"
        low, high = min(positions), max(positions)
        if high - low < 2 * len(positions):  # a page in position order: one range, not a value per row
            rows = self.db.execute(f"{select} WHERE e.position BETWEEN ? AND ?", (low, high))
            if high - low + 1 > len(positions):
                wanted = set(positions)
                return {row[0]: row[1:] for row in rows if row[0] in wanted}
        else:
            rows = self.db.execute(f"{select} WHERE e.position IN ({','.join('?' * len(positions))})", list(positions))
        return {row[0]: row[1:] for row in rows}

    def verification_rows(self) -> Iterator[tuple[Any, ...]]:
        """Every row with its sorted tags, in position order: for verify. Tags are read in one
        ordered pass beside the events (no per-row lookup: the tags table is keyed by tag)."""
        self.flush()
        rows = self.db.execute(
            "SELECT e.position, e.event_id, e.ts, e.event_type, e.actor_id, e.correlation_id, s.name,"
            " e.offset, e.length FROM events e JOIN segments s ON s.id = e.segment ORDER BY e.position"
        )
        tags = self.db.cursor().execute("SELECT position, tag FROM tags ORDER BY position, tag")
        pending = next(tags, None)
        for row in rows:
            position = row[0]
            while pending is not None and pending[0] < position:
                pending = next(tags, None)
            found: list[str] = []
            while pending is not None and pending[0] == position:
                found.append(pending[1])
                pending = next(tags, None)
            yield (*row, "\x1f".join(found) or None)

    def orphan_tags(self) -> int:
        self.flush()
        found: int = self.db.execute(
            "SELECT count(*) FROM tags t WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.position = t.position)"
        ).fetchone()[0]
        return found

    def page(self, options: QueryOptions, load: Loader) -> EventPage:
        self.flush()
        events = load(self._page_positions(options))
        has_more = len(events) > options.limit
        window = events[: options.limit]
        next_cursor = options.cursor_after(window[-1]) if has_more and window else None
        return EventPage(window, next_cursor, has_more)

    def _page_positions(self, options: QueryOptions) -> list[int]:
        """Positions of one page plus one more row (to tell has_more), as page_of would order them."""
        where, params = _filters(options)
        key = ORDER_COLUMNS[options.order_by]
        direction = "DESC" if options.order_direction == "desc" else "ASC"
        cursor = options.decoded_cursor()
        if cursor is not None:
            comparison = ">" if options.order_direction == "asc" else "<"
            if options.order_by == "position":
                where.append(f"position {comparison} ?")
                params.append(cursor.position)
            else:
                try:
                    value = (
                        micros(check_timestamp(cursor.value, "cursor"))
                        if options.order_by == "timestamp"
                        else uuid_bytes(cursor.value)
                    )
                except ValueError:
                    raise ValidationError("cursor is not a cursor returned by get_events", field="cursor") from None
                where.append(f"({key}, position) {comparison} (?, ?)")
                params.extend([value, cursor.position])
        order = f"{key} {direction}" + ("" if key == "position" else f", position {direction}")
        sql = f"SELECT position FROM events WHERE {' AND '.join(where) or 'true'} ORDER BY {order} LIMIT ? OFFSET ?"
        return [row[0] for row in self.db.execute(sql, [*params, options.limit + 1, options.offset])]

    def matching(self, query: Query, after: int | None, limit: int | None, load: Loader) -> list[RecordedEvent]:
        """Events matching a DCB query after `after`, in order."""
        self.flush()
        where: list[str] = []
        params: list[object] = []
        if after is not None:
            where.append("position > ?")
            params.append(after)
        if not query.match_all:
            alternatives = []
            for item in query.items:
                parts = [_tag_clause(tag, params) for tag in item.tags]
                if item.types:
                    parts.append(f"event_type IN ({','.join('?' * len(item.types))})")
                    params.extend(item.types)
                alternatives.append(" AND ".join(parts))
            where.append("(" + " OR ".join(f"({a})" for a in alternatives) + ")")
        sql = f"SELECT position FROM events WHERE {' AND '.join(where) or 'true'} ORDER BY position LIMIT ?"
        return load([row[0] for row in self.db.execute(sql, [*params, -1 if limit is None else limit])])


def _tag_clause(tag: str, params: list[object]) -> str:
    params.append(tag)
    return "position IN (SELECT position FROM tags WHERE tag = ?)"


def _filters(options: QueryOptions) -> tuple[list[str], list[object]]:
    where: list[str] = []
    params: list[object] = []

    def add(clause: str, *values: object) -> None:
        where.append(clause)
        params.extend(values)

    if options.since is not None:
        add("ts >= ?", micros(options.since))
    if options.until is not None:
        add("ts < ?", micros(options.until))
    if options.event_types:
        add(f"event_type IN ({','.join('?' * len(options.event_types))})", *options.event_types)
    if options.actor_id is not None:
        add("actor_id = ?", options.actor_id)
    if options.correlation_id is not None:
        add("correlation_id = ?", uuid_bytes(str(options.correlation_id)))
    for tag in options.tags or ():
        where.append(_tag_clause(tag, params))
    if options.after_position is not None:
        add("position > ?", options.after_position)
    return where, params
