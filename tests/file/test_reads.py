"""Reads take the records of a page from the segments as byte ranges and decode them together:
what they return equals the records one by one, and damage is still named by segment and byte."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Any

import pytest

from pyevents import IntegrityError, QueryOptions, RecordedEvent
from pyevents.backends.file import FileEventStore, records
from pyevents.backends.file.segments import BLOCK_SIZE

from .conftest import event, segment_files


def _stored(directory: Path) -> list[dict[str, Any]]:
    """Every record of the segments, decoded by the standard library."""
    found: list[dict[str, Any]] = []
    for name in segment_files(directory):
        path = directory / name
        data = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
        found.extend(json.loads(line) for line in data.splitlines())
    return found


def _as_stored(found: RecordedEvent) -> dict[str, Any]:
    return {**found.to_dict(), "position": found.position}


def _pages(store: FileEventStore, limit: int) -> list[RecordedEvent]:
    read: list[RecordedEvent] = []
    while page := store.get_events(QueryOptions(after_position=read[-1].position if read else 0, limit=limit)).events:
        read.extend(page)
    return read


def test_pages_across_segments_and_gzip_members_equal_the_records(directory: Path, open_file_store: Any) -> None:
    store = open_file_store(max_size=BLOCK_SIZE * 3)  # a closed segment spans several gzip members
    for number in range(12):
        store.append_batch(
            [
                event(f"T{n % 3}", tags=[f"t{n % 4}"], payload={"n": n, "pad": "p" * 900})
                for n in range(number * 60, number * 60 + 60)
            ]
        )
    store.rotate()
    assert len(list(directory.glob("*.jsonl.gz"))) >= 2
    stored = _stored(directory)
    for key in ("batch_end", "crc32"):
        for record in stored:
            del record[key]
    for limit in (1, 97, 1000):  # runs that start and end anywhere in a member
        assert [_as_stored(found) for found in _pages(store, limit)] == stored
    assert [
        _as_stored(found) for found in store.get_events(QueryOptions(order_direction="desc", limit=300)).events
    ] == (stored[::-1][:300])


def test_integers_beyond_what_orjson_keeps_read_back_exactly(open_file_store: Any) -> None:
    big = 2**64 - 1  # 20 digits: decoded by the standard library, the rest of its page too
    store = open_file_store()
    store.append_batch([event(payload={"n": n}) for n in range(5)] + [event(payload={"big": big, "also": -(2**63)})])
    read = _pages(store, 1000)
    assert [e.payload for e in read] == [{"n": n} for n in range(5)] + [{"big": big, "also": -(2**63)}]


def _rewrite_record(path: Path, number: int, change: Any) -> None:
    """Replace record `number` of a plain segment by `change(record)`, with a valid checksum."""
    lines = path.read_bytes().splitlines(keepends=True)
    record = json.loads(lines[number])
    del record["crc32"]
    prefix = json.dumps(change(record), separators=(",", ":")).encode()[:-1] + b","
    lines[number] = prefix + b'"crc32":"%08x"}\n' % zlib.crc32(prefix)
    path.write_bytes(b"".join(lines))


def test_a_damaged_record_inside_a_page_is_named(directory: Path) -> None:
    with FileEventStore(directory, max_size=4000, compression="none") as store:
        store.append_batch([event(payload={"n": n}) for n in range(5)])
        store.append_batch([event(payload={"n": n, "pad": "p" * 4000}) for n in range(2)])  # a second segment
    first = directory / segment_files(directory)[0]
    data = bytearray(first.read_bytes())
    offset = data.index(b"\n", data.index(b"\n") + 1) + 1  # the third record
    data[offset + 20] ^= 0x01
    first.write_bytes(bytes(data))
    with FileEventStore(directory) as store:  # only the last segment is scanned on open
        with pytest.raises(IntegrityError, match=f"segment {first.name} is corrupt at byte {offset}:"):
            store.get_events(QueryOptions())
        assert len(store.get_events(QueryOptions(limit=1)).events) == 1  # a page that ends before it reads


def test_a_record_that_is_not_an_event_is_named(directory: Path) -> None:
    with FileEventStore(directory, compression="none") as store:
        store.append_batch([event(payload={"n": n}) for n in range(3)])
    (name,) = segment_files(directory)
    _rewrite_record(
        directory / name, 1, lambda record: {**record, "event_id": "z" * 36}
    )  # as long: the index still fits
    offset = (directory / name).read_bytes().index(b"\n") + 1
    with (
        FileEventStore(directory) as store,
        pytest.raises(IntegrityError, match=f"segment {name} byte {offset}: record is not a valid event"),
    ):
        store.get_events(QueryOptions())


def test_records_with_keys_of_other_versions_read(directory: Path) -> None:
    """Lines written before `appended_by` was recorded lack it; keys unknown to this version are
    left out of the event."""
    with FileEventStore(directory, compression="none") as store:
        store.append_batch([event(payload={"n": n}) for n in range(3)])
    (name,) = segment_files(directory)
    _rewrite_record(directory / name, 0, lambda record: {k: v for k, v in record.items() if k != "appended_by"})
    _rewrite_record(directory / name, 2, lambda record: {"added_later": 1, **record})
    for index in directory.glob("index-*"):
        index.unlink()  # the records moved
    with FileEventStore(directory) as store:
        read = store.get_events(QueryOptions()).events
        assert [e.appended_by is None for e in read] == [True, False, False]
        assert [e.payload for e in read] == [{"n": n} for n in range(3)]
        assert not hasattr(read[2], "added_later")
    assert records.parse_uuid(str(read[0].event_id)) == read[0].event_id


@pytest.mark.parametrize(
    "text",
    [
        "+" + "a" * 7 + "-aaaa-aaaa-aaaa-" + "a" * 12,  # a sign
        "a" * 8 + "-aa_a-aaaa-aaaa-" + "a" * 12,  # an underscore
        "a" * 32 + "----",  # dashes out of place
        "a" * 8 + "-aaaa-aaaa-aaaa-" + "a" * 11 + "g",  # not hexadecimal
        "a" * 8 + "-aaaa-aaaa-aaaa-" + "a" * 11 + "\u0663",  # a digit beyond ASCII
    ],
)
def test_an_id_that_is_not_a_canonical_uuid_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a UUID"):
        records.parse_uuid(text)
