"""Helpers for the file backend's own tests: events, stores and helper processes."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyevents import Event, QueryOptions, RecordedEvent
from pyevents.backends.file import FileEventStore

ROOT = Path(__file__).resolve().parents[2]


def event(event_type: str = "Happened", *, tags: list[str] | None = None, **fields: Any) -> Event:
    fields.setdefault("actor_type", "test")
    fields.setdefault("actor_id", "tester")
    fields.setdefault("payload", {"n": str(uuid.uuid4())})
    return Event(event_type=event_type, metadata={"tags": tags or []}, **fields)


def everything(store: FileEventStore) -> list[RecordedEvent]:
    return store.get_events(QueryOptions(limit=10_000)).events


def segment_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("events-"))


def helper(*args: str) -> subprocess.Popen[str]:
    """Start tests/file/processes.py with `args`; stdout is a text pipe."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.file.processes", *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "events"


@pytest.fixture
def open_file_store(directory: Path) -> Iterator[Any]:
    """Opens stores on `directory` and closes them all at the end of the test."""
    opened: list[FileEventStore] = []

    def opener(**options: Any) -> FileEventStore:
        store = FileEventStore(directory, **options)
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()
