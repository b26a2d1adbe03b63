"""The local-file backend: JSONL segments, a SQLite index, a single writer per directory."""

from __future__ import annotations

from pyevents.backends.file.store import FileEventStore

__all__ = ["FileEventStore"]
