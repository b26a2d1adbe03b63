"""Rotation by size and gzip compression, including every way a compression can be interrupted."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pyevents import Query, QueryItem, QueryOptions
from pyevents.backends.file import FileEventStore
from pyevents.backends.file.segments import write_compressed

from .conftest import event, everything, segment_files


def _fill(store: FileEventStore, count: int) -> list[str]:
    types = []
    for number in range(count):
        store.append(event(f"T{number % 3}", tags=[f"k{number % 2}"], payload={"number": number, "pad": "p" * 300}))
        types.append(f"T{number % 3}")
    return types


def test_segments_rotate_by_size_and_closed_ones_are_gzipped(open_file_store: Any, directory: Path) -> None:
    store = open_file_store(max_size=2000)
    types = _fill(store, 30)
    names = segment_files(directory)
    assert len(names) > 3
    assert all(name.endswith(".jsonl.gz") for name in names[:-1]) and names[-1].endswith(".jsonl")
    assert names == sorted(names)
    plain = b"".join(gzip.decompress((directory / name).read_bytes()) for name in names[:-1])
    assert plain.count(b"\n") == len(everything(store)) - (directory / names[-1]).read_bytes().count(b"\n")
    assert [e.event_type for e in everything(store)] == types
    reopened = open_file_store()
    assert [e.event_type for e in everything(reopened)] == types
    page = reopened.get_events(QueryOptions(event_types=["T1"], order_direction="desc", limit=3))
    assert [e.position for e in page.events] == [29, 26, 23] and page.has_more
    assert [e.position for e in reopened.read(Query([QueryItem(tags=["k1"])]), after=20).events] == [22, 24, 26, 28, 30]
    assert reopened.verify() == []


def test_no_compression_keeps_plain_segments(open_file_store: Any, directory: Path) -> None:
    store = open_file_store(max_size=2000, compression="none")
    _fill(store, 12)
    assert all(name.endswith(".jsonl") for name in segment_files(directory))
    assert store.verify() == []


def _closed_plain_segment(directory: Path) -> tuple[list[str], Path]:
    """A store whose first segment is closed but still plain, as after a rotation that was
    interrupted before compressing; returns the stored event types and that segment."""
    with FileEventStore(directory, max_size=2000, compression="none") as store:
        types = _fill(store, 12)
    return types, directory / segment_files(directory)[0]


def _no_step(segment: Path) -> None:
    """Rotated, not yet compressed."""


def _partial_temp(segment: Path) -> None:
    temp = segment.with_name(segment.name + ".gz.tmp")
    write_compressed(segment, temp, durable=False)
    temp.write_bytes(temp.read_bytes()[: temp.stat().st_size // 2])


def _complete_temp(segment: Path) -> None:
    write_compressed(segment, segment.with_name(segment.name + ".gz.tmp"), durable=False)


def _renamed(segment: Path) -> None:
    write_compressed(segment, segment.with_name(segment.name + ".gz"), durable=False)


def _renamed_but_damaged(segment: Path) -> None:
    target = segment.with_name(segment.name + ".gz")
    write_compressed(segment, target, durable=False)
    target.write_bytes(target.read_bytes()[:-9])


def _compressed_without_block_map(segment: Path) -> None:
    _renamed(segment)
    segment.unlink()


@pytest.mark.parametrize(
    "step", [_no_step, _partial_temp, _complete_temp, _renamed, _renamed_but_damaged, _compressed_without_block_map]
)
def test_interrupted_compression_recovers_without_loss_or_duplication(
    directory: Path, open_file_store: Any, step: Callable[[Path], None]
) -> None:
    types, segment = _closed_plain_segment(directory)
    step(segment)
    reader = open_file_store(compression="gzip")
    assert [e.event_type for e in everything(reader)] == types  # before any writer cleaned up
    assert reader.verify() == []
    writer = open_file_store(compression="gzip")
    writer.append(event("Later"))
    names = segment_files(directory)
    assert not any(name.endswith(".tmp") for name in names)
    assert all(name.endswith(".jsonl.gz") for name in names[:-1])
    for store in (reader, writer, open_file_store()):
        assert [e.event_type for e in everything(store)] == [*types, "Later"]
        assert store.verify() == []


def test_a_removed_index_finds_records_in_compressed_segments(directory: Path, open_file_store: Any) -> None:
    store = open_file_store(max_size=2000)
    types = _fill(store, 20)
    store.close()
    for index_file in directory.glob("index-*"):
        index_file.unlink()
    reopened = open_file_store()
    assert [e.event_type for e in everything(reopened)] == types
    assert reopened.verify() == []


def test_a_copy_of_the_directory_is_a_store(directory: Path, tmp_path: Path) -> None:
    with FileEventStore(directory, max_size=2000) as store:
        types = _fill(store, 15)
    shutil.copytree(directory, tmp_path / "copy")
    with FileEventStore(tmp_path / "copy") as copy:
        assert [e.event_type for e in everything(copy)] == types
