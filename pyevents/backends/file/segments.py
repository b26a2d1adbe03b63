"""Segment files: naming, appending, scanning with crash recovery, and gzip compression.

A data directory holds `events-YYYY-MM-DD-HH-mm-ss-SSS.jsonl` segments (UTC creation time; names
sort in creation order, and a name that would not sort after its predecessor is moved forward by
a millisecond). Only the last segment is ever appended to. A closed segment may be replaced by
`<name>.gz`: a series of gzip members, each holding whole lines (about BLOCK_SIZE bytes), so one
record is read by decompressing one member (`blocks` map uncompressed to compressed offsets).
Any gzip tool reads it as one stream.

Compression steps: write `<name>.gz.tmp`, fsync, rename to `<name>.gz`, fsync the directory,
verify the gzip against the plain file, then remove the plain file. `resolve_leftovers` finishes
or undoes an interrupted compression; until then readers prefer the plain file, which stays the
source of truth.

Scanning separates three kinds of bad bytes: a torn tail of the last segment (a prefix of a line
or zero-filled space, or records of an append whose `batch_end` never came) is what a crash
leaves and is dropped; a bad line followed by a good record, or any damage in a closed segment,
is corruption and raises IntegrityError naming the segment and byte offset.

Retention (later) removes whole segments from the front: a segment holds a contiguous range of
positions, and the index records the segment of every event, so dropping a segment and its index
rows is enough.
"""

from __future__ import annotations

import logging
import os
import re
import zlib
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pyevents.backends.file import records
from pyevents.errors import IntegrityError

log = logging.getLogger(__name__)

PLAIN = ".jsonl"
GZIP = ".gz"
TEMP = ".tmp"
NAME_FORMAT = "events-%Y-%m-%d-%H-%M-%S"
NAME_PATTERN = re.compile(r"^events-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{3}\.jsonl$")
BLOCK_SIZE = 256 * 1024
READ_SIZE = 1024 * 1024
BATCH_END = b'"batch_end":true,'

Block = tuple[int, int]  # (uncompressed offset, compressed offset) of one gzip member


def segment_name(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{moment.strftime(NAME_FORMAT)}-{moment.microsecond // 1000:03d}{PLAIN}"


def next_segment_name(previous: str | None, now: datetime) -> str:
    """A name for a segment created `now` that sorts after `previous`."""
    name = segment_name(now)
    if previous is not None and name <= previous:
        stamp = datetime.strptime(previous[: -len(PLAIN)][:-4], NAME_FORMAT).replace(tzinfo=UTC)
        last = stamp + timedelta(milliseconds=int(previous[-len(PLAIN) - 3 : -len(PLAIN)]))
        name = segment_name(last + timedelta(milliseconds=1))
    return name


@dataclass(frozen=True)
class Segment:
    name: str  # always the plain name; `compressed` says which file holds it
    compressed: bool


# A segment needs its bytes and its new size durable, not its times: fdatasync where the system
# has it.
sync_data: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)


def fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SegmentDirectory:
    """The segment files of one data directory. `durable` = fsync files and the directory."""

    def __init__(self, path: Path, *, durable: bool) -> None:
        self.path = path
        self.durable = durable

    def ordered(self) -> list[Segment]:
        """Segments in order. A plain file wins over its gzip twin: it exists until the twin is verified."""
        plain: set[str] = set()
        gzipped: set[str] = set()
        with os.scandir(self.path) as entries:
            for entry in entries:
                if NAME_PATTERN.match(entry.name):
                    plain.add(entry.name)
                elif entry.name.endswith(PLAIN + GZIP) and NAME_PATTERN.match(entry.name[: -len(GZIP)]):
                    gzipped.add(entry.name[: -len(GZIP)])
        return [Segment(name, name not in plain) for name in sorted(plain | gzipped)]

    def file(self, segment: Segment) -> Path:
        return self.path / (segment.name + GZIP if segment.compressed else segment.name)

    def sync_directory(self) -> None:
        if self.durable:
            fsync_directory(self.path)

    def sync_file(self, fd: int) -> None:
        if self.durable:
            sync_data(fd)

    # -- recovery (see recovery.py for damage) -------------------------------------------------
    def resolve_leftovers(self) -> None:
        """Finish or undo an interrupted compression. Only the writer calls this."""
        names = set(os.listdir(self.path))
        for name in sorted(names):
            if name.endswith(PLAIN + GZIP + TEMP):
                log.warning("removing %s left by an interrupted compression", name)
                (self.path / name).unlink()
            elif NAME_PATTERN.match(name) and name + GZIP in names:
                if self.same_content(self.path / name, self.path / (name + GZIP)):
                    log.warning("finishing the interrupted compression of %s", name)
                    (self.path / name).unlink()
                else:
                    log.warning("removing an unverified compressed copy of %s", name)
                    (self.path / (name + GZIP)).unlink()
        self.sync_directory()

    def truncate(self, segment: Segment, size: int) -> None:
        with open(self.file(segment), "r+b") as handle:
            handle.truncate(size)
            self.sync_file(handle.fileno())

    # -- compression ---------------------------------------------------------------------------
    def compress(self, segment: Segment) -> list[Block]:
        """Replace a closed plain segment by its gzip form; returns its block map."""
        plain = self.path / segment.name
        final = self.path / (segment.name + GZIP)
        temp = self.path / (segment.name + GZIP + TEMP)
        blocks = write_compressed(plain, temp, durable=self.durable)
        os.replace(temp, final)
        self.sync_directory()
        if not self.same_content(plain, final):
            final.unlink()
            raise IntegrityError(f"compressed copy of {segment.name} does not match it; the plain file is kept")
        plain.unlink()
        self.sync_directory()
        return blocks

    @staticmethod
    def same_content(plain: Path, compressed: Path) -> bool:
        try:
            expected = plain.read_bytes()
            actual = b"".join(data for _u, _c, data in iter_members(compressed))
        except IntegrityError:
            return False
        return actual == expected


def write_compressed(source: Path, target: Path, *, durable: bool) -> list[Block]:
    """Write `source` gzipped to `target` as members of whole lines; returns the block map."""
    blocks: list[Block] = []
    with open(source, "rb") as src, open(target, "wb") as dst:
        uncompressed = 0
        while lines := src.readlines(BLOCK_SIZE):
            data = b"".join(lines)
            blocks.append((uncompressed, dst.tell()))
            compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
            dst.write(compressor.compress(data) + compressor.flush())
            uncompressed += len(data)
        dst.flush()
        if durable:
            os.fsync(dst.fileno())
    return blocks


def iter_members(path: Path) -> Iterator[tuple[int, int, bytes]]:
    """(uncompressed offset, compressed offset, data) of each gzip member of `path`."""
    uncompressed = 0
    consumed = 0
    with open(path, "rb") as handle:
        pending = b""
        while True:
            if not pending:
                pending = handle.read(READ_SIZE)
                if not pending:
                    return
            member_start = consumed
            decompressor = zlib.decompressobj(31)
            parts: list[bytes] = []
            try:
                while not decompressor.eof:
                    if not pending:
                        pending = handle.read(READ_SIZE)
                        if not pending:
                            raise IntegrityError(f"{path.name} is corrupt: gzip data ends early (byte {consumed})")
                    parts.append(decompressor.decompress(pending))
                    used = len(pending) - len(decompressor.unused_data)
                    consumed += used
                    pending = pending[used:]
            except zlib.error as exc:
                raise IntegrityError(
                    f"{path.name} is corrupt: gzip member at compressed byte {member_start}: {exc}"
                ) from None
            data = b"".join(parts)
            yield uncompressed, member_start, data
            uncompressed += len(data)


def iter_lines(path: Path, compressed: bool, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """(offset, line) from uncompressed offset `start`; the last line may lack its newline."""
    if compressed:
        chunks: Iterator[tuple[int, bytes]] = ((u, data) for u, _c, data in iter_members(path))
    else:
        chunks = _plain_chunks(path, start)
    offset = start
    carry = b""
    for chunk_offset, chunk in chunks:
        if chunk_offset + len(chunk) <= start:
            continue
        data = carry + (chunk[start - chunk_offset :] if chunk_offset < start else chunk)
        begin = 0
        while (newline := data.find(b"\n", begin)) != -1:
            yield offset, data[begin : newline + 1]
            offset += newline + 1 - begin
            begin = newline + 1
        carry = data[begin:]
    if carry:
        yield offset, carry


def _plain_chunks(path: Path, start: int) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as handle:
        handle.seek(start)
        offset = start
        while chunk := handle.read(READ_SIZE):
            yield offset, chunk
            offset += len(chunk)


def ends_batch(line: bytes) -> bool:
    return line.endswith(BATCH_END, 0, len(line) - records.SUFFIX_LENGTH)


@dataclass
class Scan:
    """The committed appends of one segment from `start`. After iterating `batches()`: `end` is
    the offset after the last committed append and `torn` the number of bytes after it that a
    crash left behind (only possible in the last segment; elsewhere they are corruption)."""

    directory: SegmentDirectory
    segment: Segment
    start: int = 0
    last: bool = True
    end: int = 0
    torn: int = 0

    def batches(self) -> Iterator[list[tuple[int, bytes]]]:
        path = self.directory.file(self.segment)
        self.end = self.start
        pending: list[tuple[int, bytes]] = []
        bad_at: int | None = None
        tail_is_torn = False
        size = self.start
        for offset, line in iter_lines(path, self.segment.compressed, self.start):
            size = offset + len(line)
            if bad_at is not None:
                if records.is_intact(line):
                    raise self._corruption(bad_at)
                tail_is_torn = tail_is_torn or b"\0" in line or not line.endswith(b"\n")
                continue
            if not records.is_intact(line):
                bad_at = offset
                tail_is_torn = b"\0" in line or not line.endswith(b"\n")
                continue
            pending.append((offset, line))
            if ends_batch(line):
                yield pending
                pending = []
                self.end = size
        self.torn = size - self.end
        if self.torn and (not self.last or (bad_at is not None and not tail_is_torn)):
            raise self._corruption(bad_at if bad_at is not None else self.end)

    def _corruption(self, offset: int) -> IntegrityError:
        return IntegrityError(
            f"segment {self.directory.file(self.segment).name} is corrupt at byte {offset}"
            f"{' (uncompressed)' if self.segment.compressed else ''}: a damaged record; "
            "run `pyevents verify --repair` (or open the store with repair=True) to keep the intact records "
            "and set the damaged ones aside"
        )


def scan_records(
    directory: SegmentDirectory, segments: list[Segment]
) -> Iterator[tuple[Segment, int, bytes, dict[str, Any]]]:
    """Every committed record of `segments` (in order; the last may end in a torn append) as
    (segment, offset, line, decoded line), read from the files, not the index."""
    for number, segment in enumerate(segments):
        for batch in Scan(directory, segment, last=number == len(segments) - 1).batches():
            for offset, line in batch:
                yield segment, offset, line, records.decode(line, f"segment {segment.name} byte {offset}")


class ActiveSegment:
    """The last segment, open for appending by the writer."""

    def __init__(self, directory: SegmentDirectory, segment: Segment, size: int) -> None:
        self.directory = directory
        self.segment = segment
        self.size = size
        self.fd = os.open(directory.path / segment.name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    @classmethod
    def create(cls, directory: SegmentDirectory, previous: str | None) -> ActiveSegment:
        name = next_segment_name(previous, datetime.now(UTC))
        active = cls(directory, Segment(name, False), 0)
        directory.sync_directory()
        return active

    def write(self, data: bytes) -> None:
        """Append `data` whole, or leave the file as it was and raise the OSError."""
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view) :]
        except OSError:
            os.ftruncate(self.fd, self.size)
            raise
        self.size += len(data)

    def sync(self) -> None:
        self.directory.sync_file(self.fd)

    def undo(self, size: int) -> None:
        """Cut the segment back to `size`: an append that could not be completed is removed."""
        os.ftruncate(self.fd, size)
        self.size = size
        self.sync()

    def close(self) -> None:
        os.close(self.fd)


class SegmentReader:
    """Reads records by location, from plain files or one gzip member at a time.

    Open descriptors stay valid when the writer replaces a plain file by its gzip twin (the
    bytes are the same), so they are cached; so are a few decompressed members."""

    def __init__(
        self,
        directory: SegmentDirectory,
        blocks_of: Callable[[str], list[Block] | None],
        save_blocks: Callable[[str, list[Block]], None],
        *,
        cache_bytes: int,
    ) -> None:
        self.directory = directory
        self.blocks_of = blocks_of
        self.save_blocks = save_blocks
        self.cache_bytes = cache_bytes
        self.fds: OrderedDict[str, int] = OrderedDict()
        self.members: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self.member_bytes = 0
        self.block_maps: dict[str, list[Block]] = {}
        # Segments found compressed: their plain file is not looked for again, a failed open per
        # record otherwise (it comes back only when a repair rewrites the segment plain).
        self.compressed: set[str] = set()

    def read(self, name: str, offset: int, length: int) -> bytes:
        """The intact line at (`name`, `offset`); damage raises IntegrityError naming both."""
        line = self.read_range(name, offset, length)
        if len(line) != length or not records.is_intact(line):
            raise IntegrityError(f"segment {name} is corrupt at byte {offset}: the record there is damaged")
        return line

    def read_range(self, name: str, offset: int, length: int) -> bytes:
        """`length` bytes of segment `name` from uncompressed `offset`; fewer where it ends."""
        data = None
        if name in self.compressed:
            try:
                data = self._compressed(name, offset, length)
            except FileNotFoundError:
                self.compressed.discard(name)
        if data is None:
            data = self._plain(name, offset, length)
        if data is None:
            data = self._compressed(name, offset, length)
            self.compressed.add(name)
        return data

    def _plain(self, name: str, offset: int, length: int) -> bytes | None:
        fd = self.fds.get(name)
        if fd is None:
            try:
                fd = os.open(self.directory.path / name, os.O_RDONLY)
            except FileNotFoundError:
                return None
            self.fds[name] = fd
            if len(self.fds) > 32:
                os.close(self.fds.popitem(last=False)[1])
        else:
            self.fds.move_to_end(name)
        return os.pread(fd, length, offset)

    def _compressed(self, name: str, offset: int, length: int) -> bytes:
        blocks = self.block_maps.get(name) or self._blocks(name)
        index = max(0, bisect_right(blocks, (offset, 1 << 62)) - 1)
        end = offset + length
        parts: list[bytes] = []
        while offset < end and index < len(blocks):  # a range may span members
            start = blocks[index][0]
            piece = self._member(name, blocks, index)[offset - start : end - start]
            if not piece:
                break
            parts.append(piece)
            offset += len(piece)
            index += 1
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _member(self, name: str, blocks: list[Block], index: int) -> bytes:
        """The decompressed data of gzip member `index` of segment `name`, cached."""
        start, member_offset = blocks[index]
        data = self.members.get((name, start))
        if data is None:
            path = self.directory.path / (name + GZIP)  # only here: a Path costs more than a cached read
            end = blocks[index + 1][1] if index + 1 < len(blocks) else None
            with open(path, "rb") as handle:
                handle.seek(member_offset)
                raw = handle.read() if end is None else handle.read(end - member_offset)
            try:
                data = zlib.decompressobj(31).decompress(raw)
            except zlib.error as exc:
                raise IntegrityError(
                    f"{path.name} is corrupt: gzip member at compressed byte {member_offset}: {exc}"
                ) from None
            self.members[(name, start)] = data
            self.member_bytes += len(data)
            while self.member_bytes > self.cache_bytes and len(self.members) > 1:
                self.member_bytes -= len(self.members.popitem(last=False)[1])
        return data

    def _blocks(self, name: str) -> list[Block]:
        blocks = self.blocks_of(name)
        if blocks is None:
            path = self.directory.path / (name + GZIP)
            try:
                blocks = [(u, c) for u, c, _data in iter_members(path)]
            except FileNotFoundError:
                raise IntegrityError(f"segment {name} is missing from {self.directory.path}") from None
            self.save_blocks(name, blocks)
        self.block_maps[name] = blocks
        return blocks

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()
        self.compressed.clear()
        self.members.clear()
        self.member_bytes = 0
