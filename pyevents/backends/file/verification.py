"""Verification of a data directory: every segment's records (checksums, gzip, position order,
missing positions, unique ids) and the index against them, in one pass over each."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

from pyevents.backends.file import records
from pyevents.backends.file.index import Catalog, Entry
from pyevents.backends.file.segments import Scan, Segment, SegmentDirectory
from pyevents.errors import IntegrityError
from pyevents.retention import APPLIED_EVENT_TYPE


def _covered(first: int, last: int, runs: list[tuple[int, int]]) -> bool:
    """Whether every position from `first` to `last` lies in one of `runs`."""
    wanted = first
    for start, end in sorted(runs):
        if start > wanted:
            break
        wanted = max(wanted, end + 1)
        if wanted > last:
            return True
    return False


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
    removed: list[tuple[int, int]] = []  # runs of positions that retention runs recorded removing
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
                        removed.extend((first, last) for first, last, _count in event.payload.get("removed_ranges", []))
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
    # Positions are dense from 1: a gap that no retention run recorded is events lost (e.g. set
    # aside by repair).
    problems.extend(
        f"{where}: positions {first}-{last} are missing before position {last + 1}"
        for where, first, last in gaps
        if not _covered(first, last, removed)
    )
    if walk is not None:
        problems.extend(walk.finish())
        if index.orphan_tags():
            problems.append("the index holds tags of events it does not have")
    return problems


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
