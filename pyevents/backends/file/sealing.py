"""Seals on the file backend (pyevents.sealing): the tree and chained seals of PostgreSQL's
seal_events(), kept in `seals.sqlite` of the data directory. Not in the segments: retention
removes segments whole, and a seal outlives the events it covers (their leaves stay in it).

An event's checksum is sealing.field_checksum, over the record's fields, not its bytes: a
segment that retention rewrote or that was compressed keeps its checksums, and an edit made with
the record's CRC-32 recomputed still changes it.

Every event the index holds is final (one writer, and an append is visible only when whole), so
a seal covers every event up to the newest. Positions of its range that hold no event (retention
removed them before a seal covered them) are its gaps. Checks read the segments, not the index,
which is rebuilt from whatever the segments hold.
"""

from __future__ import annotations

import bisect
import json
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from pyevents.backends.file.snapshots import DirectoryDatabase
from pyevents.errors import IntegrityError
from pyevents.model import RecordedEvent
from pyevents.retention import APPLIED_EVENT_TYPE, unlisted_removals
from pyevents.sealing import SealedLeaf, StoredSeal, field_checksum, next_seal
from pyevents.seals import Seal

FILE_NAME = "seals.sqlite"
SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS seals (
        seal INTEGER PRIMARY KEY CHECK (seal >= 1),
        first_position INTEGER NOT NULL CHECK (first_position >= 1),
        last_position INTEGER NOT NULL CHECK (last_position >= first_position),
        gaps TEXT NOT NULL,      -- JSON: the [first, last] runs of the range that held no event
        tree_size INTEGER NOT NULL,
        leaves BLOB NOT NULL,    -- the seal's leaf hashes in position order, 32 bytes each
        frontier BLOB NOT NULL,  -- the tree's perfect subtree roots after it, largest first
        root BLOB NOT NULL,
        previous_hash BLOB,
        sealed_at TEXT NOT NULL,
        seal_hash BLOB NOT NULL
    )
    """,
    "CREATE TRIGGER IF NOT EXISTS seals_forbid_update BEFORE UPDATE ON seals"
    " BEGIN SELECT RAISE(ABORT, 'seals are append-only: a seal is never changed'); END",
    "CREATE TRIGGER IF NOT EXISTS seals_forbid_delete BEFORE DELETE ON seals"
    " BEGIN SELECT RAISE(ABORT, 'seals are append-only: a seal is never removed'); END",
)
SEAL_COLUMNS = "seal, first_position, last_position, gaps, tree_size, root, previous_hash, sealed_at, seal_hash"

# (position, checksum) of the events after a position, at most `limit` of them, in order
ChecksumsAfter = Callable[[int, int], list[tuple[int, bytes]]]


def covered_positions(seal: Seal) -> list[int]:
    """The positions of the seal's range outside its gaps, in order."""
    positions: list[int] = []
    start = seal.first_position
    for first, last in (*seal.gaps, (seal.last_position + 1, seal.last_position + 1)):
        positions.extend(range(start, min(first, seal.last_position + 1)))
        start = max(start, last + 1)
    return positions


def _to_stored(row: Sequence[Any]) -> StoredSeal:
    seal = _to_seal(row[:9])
    return StoredSeal(seal, bytes(row[9]), bytes(row[10]), covered_positions(seal))


def _gaps(first: int, positions: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """The runs from `first` to positions[-1] that `positions` (ascending) skip."""
    gaps = []
    expected = first
    for position in positions:
        if position > expected:
            gaps.append((expected, position - 1))
        expected = position + 1
    return tuple(gaps)


def _to_seal(row: Sequence[Any]) -> Seal:
    number, first, last, gaps, size, root, previous, sealed_at, seal_hash = row
    try:
        return Seal(
            seal=number,
            first_position=first,
            last_position=last,
            gaps=tuple((int(gap[0]), int(gap[1])) for gap in json.loads(gaps)),
            tree_size=size,
            root=bytes(root),
            previous_hash=None if previous is None else bytes(previous),
            sealed_at=datetime.fromisoformat(sealed_at),
            seal_hash=bytes(seal_hash),
        )
    except (TypeError, ValueError, IndexError) as exc:
        raise IntegrityError(f"seal {number} in {FILE_NAME} is damaged ({exc})") from None


class SealBook(DirectoryDatabase):
    """`seals.sqlite`: opened on first use, so a store that never seals creates no file. Any
    process may seal (it takes no writer lock); SQLite's write lock makes sealers take turns."""

    file_name = FILE_NAME
    schema = SCHEMA
    busy_timeout = 60.0  # a sealer may wait for another one's seal of up to a million events

    def seals(self) -> list[Seal]:
        if not self.path.exists():
            return []
        with self._lock:
            rows = self._db().execute(f"SELECT {SEAL_COLUMNS} FROM seals ORDER BY seal").fetchall()
        return [_to_seal(row) for row in rows]

    def stored(self, up_to: int | None = None) -> list[StoredSeal]:
        """The seals up to seal `up_to` (None: all) with their leaves, oldest first."""
        if not self.path.exists():
            return []
        with self._lock:
            rows = (
                self._db()
                .execute(
                    f"SELECT {SEAL_COLUMNS}, leaves, frontier FROM seals WHERE ? IS NULL OR seal <= ? ORDER BY seal",
                    (up_to, up_to),
                )
                .fetchall()
            )
        return [_to_stored(row) for row in rows]

    def seal(self, checksums_after: ChecksumsAfter, max_events: int) -> list[Seal]:
        """Seal every event after the newest seal, in seals of at most `max_events`; the new ones.
        Each seal commits on its own; the events are read while no lock of the log is held."""
        sealed: list[Seal] = []
        while True:
            with self._lock:
                conn = self._db()
                conn.execute("BEGIN IMMEDIATE")  # one sealer at a time, across processes
                try:
                    new = self._seal_next(conn, checksums_after, max_events)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            if new is None:
                return sealed
            sealed.append(new)

    def _seal_next(self, conn: sqlite3.Connection, checksums_after: ChecksumsAfter, max_events: int) -> Seal | None:
        # the newest seal and its frontier, not its leaves: those are another seal's megabytes
        row = conn.execute(f"SELECT {SEAL_COLUMNS}, frontier FROM seals ORDER BY seal DESC LIMIT 1").fetchone()
        previous = None if row is None else _to_seal(row[:9])
        after = previous.last_position if previous else 0
        events = checksums_after(after, max_events)
        if not events:
            return None
        gaps = _gaps(after + 1, [position for position, _checksum in events])
        new = next_seal(previous, b"" if row is None else bytes(row[9]), events, gaps)
        seal = new.seal
        conn.execute(
            "INSERT INTO seals (seal, first_position, last_position, gaps, tree_size, leaves, frontier, root,"
            " previous_hash, sealed_at, seal_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                seal.seal,
                seal.first_position,
                seal.last_position,
                json.dumps([list(gap) for gap in seal.gaps]),
                seal.tree_size,
                new.leaves,
                new.frontier,
                seal.root,
                seal.previous_hash,
                seal.sealed_at.isoformat(),
                seal.seal_hash,
            ),
        )
        return seal


class _Removals:
    """The positions retention runs recorded removing: the runs they list, and for a run that
    listed only its first runs, the region where the others lie."""

    def __init__(self) -> None:
        self._runs: list[tuple[int, int]] = []

    def record(self, event: RecordedEvent) -> None:
        for first, last, _count in event.payload.get("removed_ranges", []):
            self._runs.append((int(first), int(last)))
        unlisted = unlisted_removals(event.payload, event.position)
        if unlisted is not None:
            self._runs.append((unlisted[0], unlisted[1]))

    def __contains__(self, position: int) -> bool:
        return any(first <= position <= last for first, last in self._runs)


def sealed_leaves(stored: Sequence[StoredSeal], events: Iterable[RecordedEvent]) -> list[SealedLeaf]:
    """Every position the seals `stored` cover, as sealed and as `events` (the log, in position
    order, read from the segments) hold it now; the rows of PostgreSQL's sealed_leaves()."""
    if not stored:
        return []
    sealed: dict[int, bytes] = {}
    for item in stored:
        sealed.update(zip(item.positions, item.leaf_hashes(), strict=False))
    end = stored[-1].seal.last_position
    firsts = [item.seal.first_position for item in stored]
    # Ids and checksums only: a million events kept whole would be gigabytes, and the collector's work.
    now: dict[int, tuple[uuid.UUID, bytes]] = {}
    removals = _Removals()
    for event in events:
        if event.event_type == APPLIED_EVENT_TYPE:
            removals.record(event)
        if event.position <= end and event.position not in now:
            now[event.position] = (event.event_id, field_checksum(event))
    rows = []
    for position in sorted(sealed.keys() | now.keys()):
        seal = stored[bisect.bisect_right(firsts, position) - 1].seal.seal
        found = now.get(position)
        rows.append(
            SealedLeaf(
                seal=seal,
                position=position,
                event_id=None if found is None else found[0],
                checksum=None if found is None else found[1],
                sealed_leaf=sealed.get(position),
                removed=found is None and position in removals,
            )
        )
    return rows
