"""Verification of a data directory: every segment's records (checksums, gzip, position order,
missing positions, unique ids) and the index against them, in one pass over each."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pyevents.backends.file import records
from pyevents.backends.file.index import Catalog, Entry
from pyevents.backends.file.segments import Scan, Segment, SegmentDirectory
from pyevents.errors import IntegrityError
from pyevents.retention import APPLIED_EVENT_TYPE, unlisted_removals


@dataclass
class _Region:
    """Positions from `first` to `last`. For positions retention runs removed without listing
    them (a run lists its first 1000 runs of positions; the rest lie after them, before its
    record): `count` of them went, and `missing` are missing."""

    first: int
    last: int
    count: int = 0
    missing: int = 0
    where: str = ""


def _joined(regions: list[_Region]) -> list[_Region]:
    """Sorted, disjoint regions; overlapping ones become one whose count is the sum."""
    joined: list[_Region] = []
    for region in sorted(regions, key=lambda r: (r.first, r.last)):
        if joined and region.first <= joined[-1].last + 1:
            joined[-1].last = max(joined[-1].last, region.last)
            joined[-1].count += region.count
        else:
            joined.append(region)
    return joined


def _pieces(
    parts: Iterable[tuple[str, int, int]], regions: list[_Region]
) -> Iterator[tuple[str, int, int, _Region | None]]:
    """`parts` (in position order) cut where `regions` (sorted, disjoint) begin and end, each
    piece with the region it lies in, if any."""
    number = 0
    for where, first, last in parts:
        while number < len(regions) and regions[number].last < first:
            number += 1
        at = number
        while first <= last:
            if at == len(regions) or regions[at].first > last:
                yield where, first, last, None
                break
            region = regions[at]
            if region.first > first:
                yield where, first, region.first - 1, None
                first = region.first
            end = min(last, region.last)
            yield where, first, end, region
            first = end + 1
            at += 1


def _gap_problems(gaps: list[tuple[str, int, int]], listed: list[_Region], unlisted: list[_Region]) -> list[str]:
    """Positions are dense from 1: a gap is sound only where retention runs removed events,
    either listing the positions or, past the runs they list, no more positions are missing
    than they removed. Any other gap is events lost (e.g. set aside by repair)."""
    problems: list[str] = []
    ordered = sorted(gaps, key=lambda gap: gap[1])
    unlisted_parts = (
        (where, first, last) for where, first, last, region in _pieces(ordered, _joined(listed)) if region is None
    )
    regions = _joined(unlisted)
    for where, first, last, region in _pieces(unlisted_parts, regions):
        if region is None:
            problems.append(f"{where}: positions {first}-{last} are missing before position {last + 1}")
        else:
            region.missing += last - first + 1
            region.where = region.where or where
    problems.extend(
        f"{r.where}: {r.missing} positions between {r.first} and {r.last} are missing, "
        f"but retention runs removed only {r.count} of them"
        for r in regions
        if r.missing > r.count
    )
    return problems


def verify_directory(
    directory: SegmentDirectory,
    segments: list[Segment],
    index: Catalog,
    progress: Callable[[int], None] | None = None,
) -> list[str]:
    """Every problem found, in segment order; an empty list for a sound store. `progress` is
    given the last position checked after every batch."""
    problems: list[str] = []
    rows = index.verification_rows()
    walk = _IndexWalk(rows) if rows is not None else None
    seen: dict[uuid.UUID, int] = {}
    position = 0
    after_damage = False
    gaps: list[tuple[str, int, int]] = []  # where, first and last missing position
    listed: list[_Region] = []  # runs of positions that retention runs recorded removing
    unlisted: list[_Region] = []  # where runs removed more positions than they listed
    for number, segment in enumerate(segments):
        scan = Scan(directory, segment, last=number == len(segments) - 1)
        try:
            for batch in scan.batches():
                for offset, line in batch:
                    where = f"segment {segment.name} byte {offset}"
                    data = records.decode(line, where)
                    event = records.to_event(data, where)
                    if event.position <= position:
                        problems.append(f"{where}: position {event.position} does not follow {position}")
                    elif event.position > position + 1 and not after_damage:
                        gaps.append((where, position + 1, event.position - 1))
                    position, after_damage = event.position, False
                    if event.event_type == APPLIED_EVENT_TYPE:
                        _recorded(event.position, event.payload, listed, unlisted)
                    if event.event_id in seen:
                        problems.append(f"{where}: event {event.event_id} also at position {seen[event.event_id]}")
                    seen[event.event_id] = event.position
                    if walk is not None:
                        walk.check(Entry.of(data, segment.name, offset, len(line)))
                if progress is not None:
                    progress(position)
        except IntegrityError as exc:
            problems.append(str(exc))
            after_damage = True  # the positions the damaged segment held are not news
            if walk is not None:
                walk.damaged.add(segment.name)
    problems.extend(_gap_problems(gaps, listed, unlisted))
    if walk is not None:
        problems.extend(walk.finish())
        if index.orphan_tags():
            problems.append("the index holds tags of events it does not have")
    return problems


def _recorded(position: int, payload: dict[str, Any], listed: list[_Region], unlisted: list[_Region]) -> None:
    """What the record of a retention run at `position` says it removed."""
    listed.extend(_Region(first, last) for first, last, _count in payload.get("removed_ranges", []))
    region = unlisted_removals(payload, position)
    if region is not None:
        unlisted.append(_Region(*region))


class _IndexWalk:
    """Compares index rows with the segments' records, both taken in position order."""

    def __init__(self, rows: Iterator[tuple[Any, ...]]) -> None:
        self.rows = rows
        self.row = next(rows, None)
        self.damaged: set[str] = set()  # segments already reported: their index rows are not news
        self.problems: list[str] = []
        self.extra: list[int] = []

    def _skip_to(self, position: float) -> None:
        while self.row is not None and self.row[0] < position:
            if self.row[6] not in self.damaged:
                self.extra.append(self.row[0])
            self.row = next(self.rows, None)

    def check(self, entry: Entry) -> None:
        self._skip_to(entry.position)
        where = f"segment {entry.segment} byte {entry.offset}"
        if self.row is None or self.row[0] != entry.position:
            self.problems.append(f"{where}: position {entry.position} is missing from the index")
            return
        expected = (
            entry.position,
            entry.event_id,
            entry.ts,
            entry.event_type,
            entry.actor_id,
            entry.correlation_id,
            entry.segment,
            entry.offset,
            entry.length,
            "\x1f".join(sorted(set(entry.tags))) or None,
        )
        if tuple(self.row) != expected:
            self.problems.append(f"{where}: the index row of position {entry.position} differs from the record")
        self.row = next(self.rows, None)

    def finish(self) -> list[str]:
        self._skip_to(float("inf"))
        if self.extra:
            self.problems.append(
                f"the index holds {len(self.extra)} events that no segment has (positions {self.extra[0]} on)"
            )
        return self.problems
