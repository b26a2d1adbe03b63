"""Crash leftovers and damage in segments: torn tails are dropped, corruption is named."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from pyevents import IntegrityError
from pyevents.backends.file import FileEventStore

from .conftest import event, everything, segment_files


def _three_appends(directory: Path) -> tuple[Path, bytes, list[int]]:
    """A store with three appends (the last one a batch of two); returns its segment, bytes and
    the offset where each record starts."""
    with FileEventStore(directory) as store:
        store.append(event("First"))
        store.append(event("Second", payload={"a": 1}))
        store.append_batch([event("Third"), event("Fourth", tags=["x"])])
    (name,) = segment_files(directory)
    data = (directory / name).read_bytes()
    starts = [0, *[i + 1 for i, byte in enumerate(data) if byte == ord("\n")][:-1]]
    return directory / name, data, starts


def test_a_tail_cut_at_any_byte_keeps_every_complete_append(directory: Path, tmp_path: Path) -> None:
    segment, data, starts = _three_appends(directory)
    saved = tmp_path / "saved"
    shutil.copytree(directory, saved)
    for cut in range(starts[2], len(data)):  # anywhere inside the last append (two records)
        shutil.rmtree(directory)
        shutil.copytree(saved, directory)  # the index still knows the lost append
        segment.write_bytes(data[:cut])
        with FileEventStore(directory, fsync="never") as store:
            assert [e.event_type for e in everything(store)] == ["First", "Second"], cut
            assert store.verify() == []
            if cut % 5 == 0:
                store.append(event("After"))  # the writer truncates the torn bytes first
                assert [e.event_type for e in everything(store)] == ["First", "Second", "After"]
                assert store.verify() == []


def test_a_zero_filled_tail_is_dropped(directory: Path, caplog: pytest.LogCaptureFixture) -> None:
    segment, data, _starts = _three_appends(directory)
    segment.write_bytes(data + b"\0" * 4096)
    with caplog.at_level(logging.WARNING), FileEventStore(directory) as store:
        assert len(everything(store)) == 4
        store.append(event())
        assert segment.stat().st_size > len(data)
        assert store.verify() == []
    assert "incomplete append" in caplog.text or "did not complete" in caplog.text
    assert (directory / segment.name).read_bytes().count(b"\0") == 0


@pytest.mark.parametrize("record", [0, 1, 2])
def test_a_flipped_bit_before_good_records_refuses_to_open(directory: Path, record: int) -> None:
    segment, data, starts = _three_appends(directory)
    end = starts[record + 1]
    for offset in range(starts[record], end, 7):
        damaged = bytearray(data)
        damaged[offset] ^= 0x04
        segment.write_bytes(bytes(damaged))
        with pytest.raises(IntegrityError, match=rf"{segment.name} is corrupt at byte {starts[record]}\b"):
            FileEventStore(directory)


def test_a_damaged_last_record_is_not_returned(directory: Path) -> None:
    segment, data, starts = _three_appends(directory)
    damaged = bytearray(data)
    damaged[starts[3] + 20] ^= 0x10  # a whole line with a wrong checksum is damage, not a torn write
    segment.write_bytes(bytes(damaged))
    with pytest.raises(IntegrityError, match=rf"{segment.name} is corrupt at byte {starts[3]}"):
        FileEventStore(directory)


def test_repair_keeps_the_intact_appends(directory: Path, open_file_store: Any) -> None:
    segment, data, starts = _three_appends(directory)
    damaged = bytearray(data)
    damaged[starts[1] + 30] ^= 0x01
    segment.write_bytes(bytes(damaged))
    store = open_file_store(repair=True)
    assert [e.event_type for e in everything(store)] == ["First", "Third", "Fourth"]
    (problem,) = store.verify()  # what repair set aside is reported, not hidden
    assert "positions 2-2 are missing" in problem
    assert (directory / (segment.name + ".corrupt")).read_bytes() == bytes(damaged)
    store.append(event("Fifth"))
    assert everything(store)[-1].position == 5  # positions are never reused


def test_damage_in_a_compressed_segment_is_named_when_read(directory: Path, open_file_store: Any) -> None:
    store = open_file_store(max_size=1)  # every append in its own segment, closed ones gzipped
    for number in range(3):
        store.append(event(f"E{number}", payload={"blob": "y" * 3000}))
    store.close()
    compressed = sorted(directory.glob("*.jsonl.gz"))[0]
    raw = bytearray(compressed.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    compressed.write_bytes(bytes(raw))
    reopened = open_file_store()
    with pytest.raises(IntegrityError, match=compressed.name):
        everything(reopened)
    problems = reopened.verify()
    assert len(problems) == 1 and compressed.name in problems[0]


def test_a_first_append_torn_by_a_crash_leaves_an_empty_store(directory: Path, open_file_store: Any) -> None:
    directory.mkdir()
    (directory / "events-2026-01-15-12-00-00-000.jsonl").write_bytes(b'{"position":1,"event_id":"0a')
    store = open_file_store()
    assert everything(store) == []
    generations = sorted(directory.glob("index-*.sqlite"))
    assert everything(store) == [] and sorted(directory.glob("index-*.sqlite")) == generations
    store.append(event("First"))
    assert [e.position for e in everything(store)] == [1]
    assert store.verify() == []
