"""Retention for the file backend: whole segments removed; a partly expired segment rewritten
without its expired events only when `retention.rewrite_segments` is set (else it stays until
every event in it has expired). `file.rotation.max_files` is a rule on segments, applied here
too: the oldest segments beyond it go, their held events excepted.

One run at a time (an flock on `retention.lock`, held for the whole run). Steps 1-4 hold the
writer lock; the run is crash-safe through a journal:
1. rotate when the active segment holds an expired event, so only closed segments change;
2. write every rewritten segment to `<file>.retention` and fsync it;
3. write the journal (`retention.journal`: segments to remove and to replace, and the record of
   the run), atomically;
4. append the `pyevents.retention.applied` event (its id is in the journal: appending it again
   stores nothing), so the index mark leaves every segment about to change;
5. one segment at a time, oldest first: the index forgets it and its file goes, or its file is
   replaced and indexed anew. Appends only touch the active segment, so they go on between
   these steps (and in another process, when this store became the writer only for the run);
6. delete the journal.
A crash before 3 leaves only temporary files, which the next writer deletes. After 3, the next
writer (opening the store tries to become it) finishes steps 4-6, all of which can be repeated;
while the run's process lives it holds `retention.lock`, and finishes the run itself.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyevents.backends.file import records
from pyevents.backends.file.index import Entry, MemoryCatalog, SqliteIndex
from pyevents.backends.file.lock import WriterLock
from pyevents.backends.file.records import EPOCH
from pyevents.backends.file.segments import (
    GZIP,
    Segment,
    fsync_directory,
    iter_members,
    scan_records,
    write_compressed,
)
from pyevents.errors import IntegrityError
from pyevents.model import Event, utc_now
from pyevents.retention import (
    ACTOR_ID,
    ACTOR_TYPE,
    APPLIED_EVENT_TYPE,
    EventFacts,
    Progress,
    RetentionPolicy,
    RetentionReport,
    UnitAction,
    removed_ranges,
    units_of,
)

if TYPE_CHECKING:
    from pyevents.backends.file.store import FileEventStore

log = logging.getLogger(__name__)

JOURNAL = "retention.journal"
RUN_LOCK = "retention.lock"
SLICE = 1000  # index rows changed per step while appends wait
TEMP = ".retention"


@dataclass(frozen=True)
class _Record:
    facts: EventFacts
    segment: str


def _facts(data: dict[str, Any]) -> EventFacts:
    return EventFacts(
        position=data["position"],
        timestamp=datetime.fromisoformat(data["timestamp"]),
        event_type=data["event_type"],
        actor_type=data["actor_type"],
        tags=frozenset(data["metadata"].get("tags", ())),
    )


def _stored_facts(store: FileEventStore, policy: RetentionPolicy, segments: list[Segment], head: int) -> list[_Record]:
    """The facts of every event stored up to position `head`: from the SQLite index (through a
    connection of its own, so no lock is needed) when the policy needs nothing it lacks (it has
    no actor types), else from the segments themselves."""
    index = store.index
    if not isinstance(index, SqliteIndex) or index.path is None or any(rule.actor_types for rule in policy.rules):
        return [
            _Record(_facts(data), segment.name)
            for segment, _offset, _line, data in scan_records(store.segments, segments)
            if data["position"] <= head
        ]
    db = sqlite3.connect(f"{index.path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        tags: dict[int, set[str]] = {}
        if any(rule.tags for rule in policy.rules):
            for position, tag in db.execute("SELECT position, tag FROM tags WHERE position <= ?", (head,)):
                tags.setdefault(position, set()).add(tag)
        rows = db.execute(
            "SELECT e.position, e.ts, e.event_type, s.name FROM events AS e JOIN segments AS s ON s.id = e.segment"
            " WHERE e.position <= ? ORDER BY e.position",
            (head,),
        )
        return [
            _Record(
                EventFacts(
                    position, EPOCH + timedelta(microseconds=ts), event_type, "", frozenset(tags.get(position, ()))
                ),
                name,
            )
            for position, ts, event_type, name in rows
        ]
    finally:
        db.close()


@dataclass
class _Plan:
    report: RetentionReport
    actions: dict[str, UnitAction]  # by segment name
    doomed: set[int]
    spans: dict[str, list[int]]  # first and last position of each segment in `actions`


def _plan(
    store: FileEventStore,
    policy: RetentionPolicy,
    started: datetime,
    segments: list[Segment],
    head: int,
    *,
    dry_run: bool,
    max_files: int,
) -> _Plan:
    """What a run does to the events stored up to `head`."""
    stored = _stored_facts(store, policy, segments, head)
    doomed = {facts.position for facts in policy.select((r.facts for r in stored), started)}
    if max_files and len(segments) > max_files:
        beyond = {segment.name for segment in segments[: len(segments) - max_files]}
        doomed |= {
            r.facts.position
            for r in stored
            if r.segment in beyond and not any(rule.matches(r.facts) for rule in policy.holds)
        }
    per_segment: dict[str, int] = {}
    for record in stored:
        per_segment[record.segment] = per_segment.get(record.segment, 0) + 1
    removed = [(r.segment, r.facts) for r in stored if r.facts.position in doomed]
    doomed_per_segment: dict[str, int] = {}
    for name, _facts_of in removed:
        doomed_per_segment[name] = doomed_per_segment.get(name, 0) + 1
    actions: dict[str, UnitAction] = {
        name: "drop" if count == per_segment[name] else "rewrite" if policy.rewrite_segments else "deferred"
        for name, count in doomed_per_segment.items()
    }
    policy_json = policy.to_json() | {"max_files": max_files}
    report = RetentionReport(policy_json, started, policy.cutoff(started), dry_run, units_of(removed, actions))
    report.removed_ranges = removed_ranges([facts.position for name, facts in removed if actions[name] != "deferred"])
    spans: dict[str, list[int]] = {}
    for record in stored:
        if record.segment in actions:
            spans.setdefault(record.segment, [record.facts.position, record.facts.position])[1] = record.facts.position
    return _Plan(report, actions, doomed, spans)


def apply(
    store: FileEventStore, policy: RetentionPolicy, *, dry_run: bool, max_files: int, progress: Progress | None
) -> RetentionReport:
    started = utc_now()
    was_writer = store._writer is not None
    writer = store._become_writer()
    run_lock = _take_run_lock(store.path, wait=True)
    assert run_lock is not None
    try:
        journal_path = store.path / JOURNAL
        if journal_path.exists():  # left by a run that crashed after this process became the writer
            with writer.mutex, store._lock:
                _record(store, _read_journal(journal_path))
            _remove(store, _read_journal(journal_path), None)
        report, journal = _plan_and_record(store, writer, policy, started, dry_run=dry_run, max_files=max_files)
        if journal is None:
            return report
        if not was_writer:
            store._release_writer()  # removing closed segments needs no writer: appends may go on elsewhere
        _remove(store, journal, progress)
        return report
    finally:
        os.close(run_lock)


def _plan_and_record(
    store: FileEventStore,
    writer: WriterLock,
    policy: RetentionPolicy,
    started: datetime,
    *,
    dry_run: bool,
    max_files: int,
) -> tuple[RetentionReport, dict[str, Any] | None]:
    """The plan, made without the writer lock (appends meanwhile only add later positions to the
    last segment); then, under it, steps 1-4: the rewritten segments, the journal and the
    record of the run. Returns the report and (unless a dry run) the journal."""
    with writer.mutex, store._lock:
        segments = store._catch_up()
        store.index.flush()  # the plan reads the index file through a connection of its own
        head = store.index.mark()
    try:
        plan = _plan(store, policy, started, segments, head.position, dry_run=dry_run, max_files=max_files)
    except (OSError, sqlite3.Error, IntegrityError):
        plan = None  # a segment rotated or an index rebuilt under the plan: plan again, holding the lock
    if dry_run and plan is not None:
        return plan.report, None
    with writer.mutex, store._lock:
        segments = store._catch_up()
        store.index.flush()
        mark = store.index.mark()
        if plan is None or (head.segment in plan.actions and mark.position != head.position):
            # events joined a segment the plan changes: plan again, holding the lock
            plan = _plan(store, policy, started, segments, mark.position, dry_run=dry_run, max_files=max_files)
        report, actions = plan.report, plan.actions
        if dry_run:
            return report, None
        if segments and segments[-1].name in actions and actions[segments[-1].name] != "deferred":
            store.rotate()
        closed = {segment.name: segment for segment in store.segments.ordered()}
        rewrites = [name for name, action in actions.items() if action == "rewrite"]
        for name in rewrites:
            _write_rewritten(store, closed[name], plan.doomed)
        event = Event(
            event_type=APPLIED_EVENT_TYPE,
            actor_type=ACTOR_TYPE,
            actor_id=ACTOR_ID,
            correlation_id=uuid.uuid4(),
            payload=report.applied_payload(),
        )
        journal = {
            "remove": [name for name, action in actions.items() if action == "drop"],
            "rewrite": rewrites,
            "spans": plan.spans,
            "event": event.to_dict(),
        }
        _write_journal(store.path, journal)
        report.applied_position = _record(store, journal)
        return report, journal


def _write_rewritten(store: FileEventStore, segment: Segment, doomed: set[int]) -> None:
    """The segment without its doomed events, beside it as `<file>.retention`. Every kept
    record ends a batch of its own: the batch it was written in may have lost its last line."""
    plain = store.path / (segment.name + TEMP)
    with open(plain, "wb") as handle:
        for _segment, _offset, _line, data in scan_records(store.segments, [segment]):
            if data["position"] in doomed:
                continue
            event = records.to_event(data, segment.name)
            handle.write(
                records.encode(
                    event, event.position, event.recorded_at.isoformat(), appended_by=event.appended_by, batch_end=True
                )
            )
        handle.flush()
        os.fsync(handle.fileno())
    if segment.compressed:
        write_compressed(plain, store.path / (segment.name + GZIP + TEMP), durable=True)
        plain.unlink()


def _write_journal(directory: Path, journal: dict[str, Any]) -> None:
    temp = directory / (JOURNAL + ".tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(journal, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, directory / JOURNAL)
    fsync_directory(directory)


def _record(store: FileEventStore, journal: dict[str, Any]) -> int:
    """Step 4: the record of the run (idempotent: the same event id stores nothing new); its
    position. Needs the writer lock."""
    return store.append(Event.from_dict(journal["event"]))


def _remove(store: FileEventStore, journal: dict[str, Any], progress: Progress | None) -> None:
    """Steps 5-6, one segment at a time, oldest first, in steps short enough that appends
    (which touch only the active segment, never one of these) go on between them: the store's
    lock is held for one step's index change only. The index forgets a removed segment, a
    slice of positions at a time, before its file goes; a replaced one is indexed anew as its
    file is swapped: readers never find a row without its record. Every step can be repeated
    after a crash."""
    names = sorted(journal["remove"] + journal["rewrite"])
    for done, name in enumerate(names, start=1):
        if name in journal["rewrite"]:
            with store._lock:
                store.reader.close()  # it may hold blocks and handles of the file replaced
                for suffix in ("", GZIP):
                    temp = store.path / (name + suffix + TEMP)
                    if temp.exists():
                        os.replace(temp, store.path / (name + suffix))
                fsync_directory(store.path)
                with store.index.writing():
                    _forget_segments(store, [name])
                    _index_segment(store, name)
        else:
            span = journal.get("spans", {}).get(name)
            if span is not None and isinstance(store.index, SqliteIndex):
                _forget_slices(store, name, span[0], span[1])
            else:
                with store._lock, store.index.writing():
                    _forget_segments(store, [name])
            with store._lock:
                store.reader.close()  # it may hold a handle of the file going
            for suffix in ("", GZIP):
                (store.path / (name + suffix)).unlink(missing_ok=True)
        if progress is not None:
            progress(done, len(names))
    if isinstance(store.index, SqliteIndex) and journal["remove"]:
        _forget_orphan_tags(store)
    fsync_directory(store.path)
    (store.path / JOURNAL).unlink()
    fsync_directory(store.path)


def _forget_slices(store: FileEventStore, name: str, first: int, last: int) -> None:
    """Drop the index rows of a segment's events, `SLICE` positions per step (a segment's
    positions are contiguous: every one from `first` to `last` that is indexed is in it), then
    its blocks. Their tags stay until `_forget_orphan_tags`: tags are keyed by tag first."""
    segment = "(SELECT id FROM segments WHERE name = ?)"
    for start in range(first, last + 1, SLICE):
        with store._lock, store.index.writing():
            assert isinstance(store.index, SqliteIndex)
            store.index.db.execute(
                f"DELETE FROM events WHERE position BETWEEN ? AND ? AND segment = {segment}",
                (start, min(start + SLICE - 1, last), name),
            )
        time.sleep(0)  # let a waiting append take the lock before the next slice
    with store._lock, store.index.writing():
        assert isinstance(store.index, SqliteIndex)
        store.index.db.execute(f"DELETE FROM blocks WHERE segment = {segment}", (name,))


def _forget_orphan_tags(store: FileEventStore) -> None:
    """Drop the tags whose events the index no longer has, walking the tags in key order,
    `SLICE` of them per step."""
    after: tuple[str, int] = ("", 0)  # before every tag: tags are never empty
    while True:
        with store._lock, store.index.writing():
            assert isinstance(store.index, SqliteIndex)
            db = store.index.db
            bound = db.execute(
                "SELECT tag, position FROM tags WHERE (tag, position) > (?, ?) ORDER BY tag, position LIMIT 1 OFFSET ?",
                (*after, SLICE - 1),
            ).fetchone()
            orphans = (
                "DELETE FROM tags WHERE (tag, position) > (?, ?){} AND NOT EXISTS"
                " (SELECT 1 FROM events WHERE events.position = tags.position)"
            )
            if bound is None:
                db.execute(orphans.format(""), after)
                return
            db.execute(orphans.format(" AND (tag, position) <= (?, ?)"), (*after, *bound))
            after = (bound[0], bound[1])
        time.sleep(0)  # let a waiting append take the lock before the next slice


def _forget_segments(store: FileEventStore, names: list[str]) -> None:
    """Drop the index rows of every event of these segments (one pass over the index)."""
    index = store.index
    if isinstance(index, SqliteIndex):
        ids = [row[0] for name in names for row in index.db.execute("SELECT id FROM segments WHERE name = ?", (name,))]
        if not ids:
            return
        marks = ", ".join("?" * len(ids))
        index.db.execute(
            f"DELETE FROM tags WHERE position IN (SELECT position FROM events WHERE segment IN ({marks}))", ids
        )
        index.db.execute(f"DELETE FROM events WHERE segment IN ({marks})", ids)
        index.db.execute(f"DELETE FROM blocks WHERE segment IN ({marks})", ids)
    elif isinstance(index, MemoryCatalog):
        wanted = set(names)
        gone = {position for position, location in index._locations.items() if location[0] in wanted}
        for position in gone:
            del index._locations[position]
        index._ids = {event_id: p for event_id, p in index._ids.items() if p not in gone}


def _index_segment(store: FileEventStore, name: str) -> None:
    """Index a rewritten segment anew (its records moved), keeping the index mark."""
    segment = next(s for s in store.segments.ordered() if s.name == name)
    scanned = scan_records(store.segments, [segment])
    entries = [Entry.of(data, name, offset, len(line)) for _s, offset, line, data in scanned]
    store.index.add(entries, store.index.mark())
    if segment.compressed:
        blocks = [
            (uncompressed, compressed) for uncompressed, compressed, _data in iter_members(store.segments.file(segment))
        ]
        store.index.save_blocks(name, blocks)


def finish_interrupted(store: FileEventStore) -> None:
    """Complete a run that a crash interrupted after its journal; without a journal, delete
    what an earlier interrupted run left. Called by the writer once it has recovered; a run
    still going on in another process (it holds the run lock) is left to finish itself."""
    run_lock = _take_run_lock(store.path, wait=False)
    if run_lock is None:
        log.info("a retention run in %s is in progress in another process", store.path)
        return
    try:
        journal_path = store.path / JOURNAL
        if not journal_path.exists():
            for leftover in store.path.glob("*" + TEMP):
                log.warning("removing %s left by an interrupted retention run", leftover.name)
                leftover.unlink()
            (store.path / (JOURNAL + ".tmp")).unlink(missing_ok=True)
            return
        log.warning("finishing a retention run that was interrupted")
        try:
            journal = _read_journal(journal_path)
        except (OSError, ValueError) as exc:
            log.error("the retention journal cannot be read (%s); the run is abandoned", exc)
            journal_path.unlink()
            return
        try:
            _record(store, journal)
            _remove(store, journal, None)
        except sqlite3.Error:
            store.rebuild_index()  # derived data: the segments are already right
            journal_path.unlink(missing_ok=True)
    finally:
        os.close(run_lock)


def _read_journal(path: Path) -> dict[str, Any]:
    journal: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return journal


def _take_run_lock(directory: Path, *, wait: bool) -> int | None:
    """The descriptor holding the flock on `retention.lock` (one run at a time, and a sign to
    other processes that the run's journal is being worked on), or None when another holds it
    and `wait` is false. Closing the descriptor releases it; so does the process dying."""
    fd = os.open(directory / RUN_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def interrupted(directory: Path) -> bool:
    """Whether a run was interrupted here and nobody is finishing it."""
    if not ((directory / JOURNAL).exists() or any(directory.glob("*" + TEMP))):
        return False
    run_lock = _take_run_lock(directory, wait=False)
    if run_lock is None:
        return False
    os.close(run_lock)
    return True
