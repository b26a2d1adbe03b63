"""Recovery of a data directory: what a crash left (a torn tail, an index ahead of the segments)
and, with `repair`, what damage left (records that fail their checksum, gzip members that no
longer decompress).

A torn tail is dropped by the next writer; an index that lost its footing is rebuilt by the
store; a damaged segment is rewritten with its intact, complete appends, its original set aside
as `<file>.corrupt`. Positions lost to repair stay missing, and `verify` reports them.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

from pyevents.backends.file import records
from pyevents.backends.file.index import Catalog, IndexDamaged, Mark
from pyevents.backends.file.segments import TEMP, Scan, Segment, SegmentDirectory, SegmentReader, ends_batch
from pyevents.errors import IntegrityError

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b\x08"
SALVAGE_STEP = 4096


class Recovery:
    """Recovery steps over one directory's segments, index and reader."""

    def __init__(self, segments: SegmentDirectory, index: Catalog, reader: SegmentReader) -> None:
        self.segments = segments
        self.index = index
        self.reader = reader

    def warn_about_torn_tail(self, segments: list[Segment]) -> None:
        """Readers ignore an incomplete last append; say so, since only a writer removes it."""
        if not segments:
            return
        scan = Scan(self.segments, segments[-1], last=True)
        for _batch in scan.batches():
            pass
        if scan.torn:
            log.warning(
                "segment %s ends in %d bytes of an append that did not complete (byte %d on); "
                "they are ignored and the next writer removes them",
                segments[-1].name,
                scan.torn,
                scan.end,
            )

    def check_mark(self, segments: list[Segment]) -> None:
        """The index must end exactly at a stored record; if the segments lost the tail it
        indexed (a machine crash before fsync), forget that tail; otherwise IndexDamaged."""
        mark = self.index.mark()
        if mark.segment is None:
            return
        names = [segment.name for segment in segments]
        if mark.segment not in names:
            raise IndexDamaged(f"the index points into {mark.segment}, which is not in {self.segments.path}")
        location = self.index.locate([mark.position]).get(mark.position)
        # Catching up through a segment that holds no record yet (one just rotated in) leaves the
        # mark at its start, after the segment of the last record.
        at_start = location is not None and mark.offset == 0 and location[0] < mark.segment
        if location is not None and (
            at_start or (location[0] == mark.segment and location[1] + location[2] == mark.offset)
        ):
            try:
                data = records.decode(self.reader.read(*location), mark.segment)
                if data["position"] == mark.position:
                    return
            except IntegrityError:
                pass
        if mark.segment == names[-1]:
            last = self._last_committed(segments[-1], before=mark.offset)
            if last is not None and last.position < mark.position:
                log.warning("the index is ahead of %s (its last appends were lost); forgetting them", mark.segment)
                with self.index.writing():
                    self.index.truncate_after(last)
                return
        raise IndexDamaged(f"the index mark (position {mark.position}) does not match the segments")

    def _last_committed(self, segment: Segment, *, before: int) -> Mark | None:
        scan = Scan(self.segments, segment, last=True)
        found: Mark | None = None
        for batch in scan.batches():
            offset, line = batch[-1]
            if offset + len(line) > before:
                break
            found = Mark(segment.name, offset + len(line), records.decode(line, segment.name)["position"])
        return found

    def recover(self, *, repair: bool) -> bool:
        """What the previous writer may have left: interrupted compressions and a torn tail;
        with `repair`, damaged segments. True when a segment was repaired (the index must then
        be rebuilt)."""
        self.segments.resolve_leftovers()
        segments = self.segments.ordered()
        repaired = False
        for number, segment in enumerate(segments):
            last = number == len(segments) - 1
            if not (repair or last):
                continue
            scan = Scan(self.segments, segment, last=last)
            try:
                for _batch in scan.batches():
                    pass
            except IntegrityError as exc:
                if not repair:
                    raise
                log.error("%s", exc)
                repair_segment(self.segments, segment)
                repaired = True
                continue
            if scan.torn:
                log.warning(
                    "truncating %s at byte %d: %d bytes of an incomplete append", segment.name, scan.end, scan.torn
                )
                self.segments.truncate(segment, scan.end)
        return repaired


def repair_segment(directory: SegmentDirectory, segment: Segment) -> None:
    """Keep the intact, complete appends of a damaged segment; the original is kept aside as
    `<file>.corrupt` for inspection. In a gzipped segment every member that still decompresses
    is kept, not just those before the damage (members hold whole lines, so each is read on
    its own)."""
    kept: list[bytes] = []
    dropped = 0
    batch: list[bytes] = []
    path = directory.file(segment)
    chunks = salvage_members(path) if segment.compressed else iter([path.read_bytes()])
    for chunk in chunks:
        for line in chunk.splitlines(keepends=True):
            if not records.is_intact(line):
                dropped += len(line)
                batch = []  # an append is kept whole or not at all
                continue
            batch.append(line)
            if ends_batch(line):
                kept.extend(batch)
                batch = []
    os.replace(path, path.with_name(path.name + ".corrupt"))
    temp = directory.path / (segment.name + TEMP)
    with open(temp, "wb") as handle:
        handle.write(b"".join(kept))
        handle.flush()
        directory.sync_file(handle.fileno())
    os.replace(temp, directory.path / segment.name)
    directory.sync_directory()
    log.error(
        "repaired %s: kept %d records, dropped %d damaged bytes; the original is %s.corrupt",
        segment.name,
        len(kept),
        dropped,
        path.name,
    )


def salvage_members(path: Path) -> Iterator[bytes]:
    """The data of every gzip member of a damaged file that still decompresses, and whatever a
    damaged member yields before its damage. A member is found by its header, so damage in one
    does not hide the ones after it."""
    raw = path.read_bytes()
    start = raw.find(GZIP_MAGIC)
    while start != -1:
        decompressor = zlib.decompressobj(31)
        parts: list[bytes] = []
        consumed = start
        try:
            while not decompressor.eof and consumed < len(raw):
                piece = raw[consumed : consumed + SALVAGE_STEP]
                parts.append(decompressor.decompress(piece))
                consumed += len(piece) - len(decompressor.unused_data)
        except zlib.error:
            pass  # keep what came out before the damage; its lines are checked one by one
        if parts:
            yield b"".join(parts)
        following = consumed if decompressor.eof else start + 1
        start = raw.find(GZIP_MAGIC, following)
