"""Snapshots of the file backend: one SQLite table in `snapshots.sqlite` of the data directory.

Not in the index: the index is derived data that may be thrown away and rebuilt from the
segments, and snapshots cannot be. SQLite's journal makes each save atomic; with a durable store
(`file.fsync` other than "never") it is fsynced before it is acknowledged. Any process may save
one; they never take the writer lock. The newest save of a correlation replaces the older one.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

from pyevents.errors import IntegrityError
from pyevents.model import JSONObject, Snapshot

FILE_NAME = "snapshots.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    correlation_id BLOB PRIMARY KEY,
    position INTEGER NOT NULL CHECK (position >= 0),
    state TEXT NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID
"""


class DirectoryDatabase:
    """A file of the data directory that SQLite keeps (snapshots, seals), opened on first use so
    that a store that never uses it creates no file: in WAL mode, and with a durable store
    fsynced at each commit. `_lock` guards the one connection."""

    file_name = ""
    schema: tuple[str, ...] = ()
    busy_timeout = 30.0  # seconds to wait for another process's write

    def __init__(self, directory: Path, *, durable: bool) -> None:
        self.path = directory / self.file_name
        self.durable = durable
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=self.busy_timeout)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {'FULL' if self.durable else 'OFF'}")
            for statement in self.schema:
                conn.execute(statement)
            self._conn = conn
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class Snapshots(DirectoryDatabase):
    file_name = FILE_NAME
    schema = (SCHEMA,)

    def save(self, correlation_id: uuid.UUID, encoded_state: str, position: int) -> datetime:
        created_at = datetime.now(UTC)
        with self._lock:
            self._db().execute(
                "INSERT OR REPLACE INTO snapshots (correlation_id, position, state, created_at) VALUES (?, ?, ?, ?)",
                (correlation_id.bytes, position, encoded_state, created_at.isoformat()),
            )
        return created_at

    def load(self, correlation_id: uuid.UUID) -> Snapshot | None:
        if not self.path.exists():
            return None
        with self._lock:
            row = (
                self._db()
                .execute(
                    "SELECT position, state, created_at FROM snapshots WHERE correlation_id = ?",
                    (correlation_id.bytes,),
                )
                .fetchone()
            )
        if row is None:
            return None
        try:
            state: JSONObject = json.loads(row[1])
            return Snapshot(correlation_id, state, row[0], datetime.fromisoformat(row[2]))
        except ValueError:
            raise IntegrityError(f"the snapshot of correlation {correlation_id} in {self.path} is damaged") from None
