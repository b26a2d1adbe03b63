"""The SQLite index is derived data: deleted, damaged or stale, it is rebuilt equal to the original."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pyevents import Query, QueryItem, QueryOptions, RecordedEvent
from pyevents.backends.file import FileEventStore
from pyevents.model import page_of

from .conftest import ROOT, event, everything


def _index_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("index-*"))


def _fill(store: FileEventStore) -> None:
    for number in range(40):
        store.append_batch(
            [
                event(
                    f"T{number % 4}",
                    tags=[f"a{number % 3}", f"b{number % 5}"],
                    actor_id=f"actor{number % 2}",
                    payload={"number": number},
                )
                for _ in range(number % 3 + 1)
            ]
        )


def _snapshot(store: FileEventStore) -> list[Any]:
    """Everything queries can tell about the store."""
    pages = [store.get_events(options) for options in OPTIONS]
    reads = [store.read(Query([QueryItem(types=["T1"], tags=["a1"]), QueryItem(tags=["b2"])]), after=5)]
    return [everything(store), pages, reads]


OPTIONS = [
    QueryOptions(limit=7, order_by="timestamp", order_direction="desc"),
    QueryOptions(event_types=["T1", "T2"], tags=["a1"], limit=5),
    QueryOptions(actor_id="actor1", order_by="event_id", offset=3, limit=4),
    QueryOptions(after_position=50, limit=10),
]


def _delete(directory: Path) -> None:
    for path in _index_files(directory):
        path.unlink()


def _garbage_header(directory: Path) -> None:
    (index,) = [p for p in _index_files(directory) if p.suffix == ".sqlite"]
    with open(index, "r+b") as handle:
        handle.write(b"this is not a SQLite database at all" * 3)


def _garbage_pages(directory: Path) -> None:
    (index,) = [p for p in _index_files(directory) if p.suffix == ".sqlite"]
    size = index.stat().st_size
    with open(index, "r+b") as handle:
        for offset in range(4096, size, 8192):
            handle.seek(offset + 100)
            handle.write(b"\xff" * 300)


@pytest.mark.parametrize("damage", [_delete, _garbage_header, _garbage_pages])
def test_a_lost_or_damaged_index_is_rebuilt_equal(
    directory: Path, open_file_store: Any, damage: Callable[[Path], None]
) -> None:
    with FileEventStore(directory, max_size=3000) as store:
        _fill(store)
        before = _snapshot(store)
    damage(directory)
    store = open_file_store()
    assert _snapshot(store) == before
    assert store.verify() == []


def test_a_stale_index_catches_up(directory: Path, tmp_path: Path, open_file_store: Any) -> None:
    with FileEventStore(directory, max_size=3000) as store:
        store.append(event())
    saved = tmp_path / "old-index"
    saved.mkdir()
    for path in _index_files(directory):
        shutil.copy(path, saved)
    with FileEventStore(directory, max_size=3000) as store:
        _fill(store)
        before = _snapshot(store)
    _delete(directory)
    for path in saved.iterdir():
        shutil.copy(path, directory)
    store = open_file_store()
    assert _snapshot(store) == before
    assert store.verify() == []


def test_the_index_of_another_store_is_replaced(directory: Path, tmp_path: Path, open_file_store: Any) -> None:
    with FileEventStore(tmp_path / "other") as other:
        _fill(other)
    with FileEventStore(directory) as store:
        store.append_batch([event() for _ in range(3)])
        before = _snapshot(store)
    _delete(directory)
    for path in _index_files(tmp_path / "other"):
        shutil.copy(path, directory)
    store = open_file_store()
    assert _snapshot(store) == before
    assert store.verify() == []


def test_rebuild_index_gives_the_same_answers(open_file_store: Any) -> None:
    store = open_file_store(max_size=3000)
    _fill(store)
    before = _snapshot(store)
    store.rebuild_index()
    assert _snapshot(store) == before
    assert store.verify() == []


def test_without_an_index_queries_scan_and_agree(directory: Path, open_file_store: Any) -> None:
    indexed = open_file_store(max_size=3000)
    _fill(indexed)
    scanning = open_file_store(indexing=False)
    assert _snapshot(scanning) == _snapshot(indexed)
    scanning.append(event("T1", tags=["a1"]))
    assert _snapshot(scanning) == _snapshot(indexed)
    assert scanning.verify() == []


def test_every_order_and_cursor_equals_the_reference(open_file_store: Any) -> None:
    store = open_file_store()
    _fill(store)
    stored: list[RecordedEvent] = everything(store)
    for order_by, direction in itertools.product(("position", "timestamp", "event_id"), ("asc", "desc")):
        options = QueryOptions(order_by=order_by, order_direction=direction, tags=["a0"], limit=4)  # type: ignore[arg-type]
        while True:
            page = store.get_events(options)
            assert page == page_of(stored, options)
            if not page.has_more:
                break
            options = QueryOptions(
                order_by=order_by,  # type: ignore[arg-type]
                order_direction=direction,  # type: ignore[arg-type]
                tags=["a0"],
                limit=4,
                cursor=page.next_cursor,
            )


def test_an_index_caught_up_past_a_rotation_opens_as_it_is(directory: Path) -> None:
    """A reader catching up after a rotation marks the new, empty segment: the next open
    accepts that mark instead of rebuilding."""
    with FileEventStore(directory) as store:
        store.append(event())
        store.rotate()
    for _ in range(2):
        with FileEventStore(directory) as store:
            assert len(everything(store)) == 1
    assert [p.name for p in directory.glob("index-*.sqlite")] == ["index-1.sqlite"]


def test_a_writers_staged_appends_meet_what_a_reader_indexed(directory: Path, open_file_store: Any) -> None:
    """Appends reach the index file in bulk; a reader that indexed some of them from the
    segments meanwhile leaves the writer only the rest to add."""
    writer, reader = open_file_store(), open_file_store()
    first = [event("T1", tags=["a"]) for _ in range(3)]
    writer.append_batch(first)
    assert [e.event_id for e in everything(reader)] == [e.event_id for e in first]
    second = [event("T2", tags=["b"]) for _ in range(2)]
    writer.append_batch(second)
    assert writer.append_batch(first) == [1, 2, 3]  # a retry, answered before the index file has them
    assert [e.event_id for e in everything(writer)] == [e.event_id for e in first + second]
    assert everything(reader) == everything(writer)
    assert writer.verify() == [] and reader.verify() == []


def test_appends_of_a_writer_that_never_closed_are_indexed_on_open(directory: Path) -> None:
    """A writer that dies after acknowledging leaves its last appends unindexed: the next
    open indexes them from the segments."""
    script = (
        "import os, sys\n"
        "from pyevents.backends.file import FileEventStore\n"
        "from tests.file.conftest import event\n"
        "store = FileEventStore(sys.argv[1])\n"
        "for number in range(5):\n"
        "    store.append_batch([event(f'T{number}') for _ in range(4)])\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(directory)], cwd=ROOT, check=True)
    with FileEventStore(directory) as store:
        assert [e.position for e in everything(store)] == list(range(1, 21))
        assert store.verify() == []
