"""Retention on files: whole segments go, partly expired ones wait (or are rewritten when asked),
`file.rotation.max_files` goes the same way, and a kill at any point leaves a readable store
that verifies clean and finishes the run when next opened."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import pyevents
from pyevents import Event, QueryOptions, RecordedEvent, StreamOptions
from pyevents.backends.file import FileEventStore
from pyevents.backends.file import retention as file_retention
from pyevents.model import utc_now
from pyevents.retention import APPLIED_EVENT_TYPE, RetentionPolicy
from tests.file.retention_process import POLICY

ROOT = Path(__file__).resolve().parents[2]


def segment(store: FileEventStore, ages: list[float], tags: list[str] | None = None) -> None:
    """One closed segment holding events of these ages (in days)."""
    now = utc_now()
    store.append_batch(
        [
            Event(
                event_type=f"t{int(age)}",
                actor_type="svc",
                actor_id="a",
                timestamp=now - timedelta(days=age),
                metadata={"tags": tags or []},
            )
            for age in ages
        ]
    )
    store.rotate()


def prepared(directory: Path) -> list[RecordedEvent]:
    with FileEventStore(directory, max_size=0) as store:
        segment(store, [100, 90], ["tenant:1"])  # whole: removed, and its tags from the index
        segment(store, [80, 70], ["legal-hold"])  # held: stays
        segment(store, [60, 5])  # partly expired: waits, or is rewritten
        segment(store, [50, 40, 35])  # whole: removed
        store.append(Event(event_type="fresh", actor_type="svc", actor_id="a"))  # the active segment
        return store.get_events(QueryOptions()).events


def time_policy(*, rewrite: bool) -> RetentionPolicy:
    return RetentionPolicy.from_section(
        {
            "default_policy": "time",
            "time_policy": {"retain_days": 30},
            "rewrite_segments": rewrite,
            "custom_policy": {"rules": [{"tags": ["legal-hold"], "keep": True}]},
        }
    )


def types(store: FileEventStore) -> list[str]:
    return [e.event_type for e in store.get_events(QueryOptions()).events]


def test_whole_segments_go_and_partly_expired_ones_wait(tmp_path: Path) -> None:
    prepared(tmp_path)
    with FileEventStore(tmp_path) as store:
        files = len(store.segments.ordered())
        report = store.apply_retention(policy=time_policy(rewrite=False))
        assert [(u.action, u.events) for u in report.units] == [("drop", 2), ("deferred", 1), ("drop", 3)]
        assert report.removed == 5 and report.deferred == 1
        assert types(store) == ["t80", "t70", "t60", "t5", "fresh", APPLIED_EVENT_TYPE]
        assert len(store.segments.ordered()) == files - 2
        assert store.get_events(QueryOptions(tags=["tenant:1"])).events == []
        assert store.verify() == []  # no tags of removed events either


def test_rewrite_removes_expired_events_from_a_partly_expired_segment(tmp_path: Path) -> None:
    prepared(tmp_path)
    with FileEventStore(tmp_path) as store:
        report = store.apply_retention(policy=time_policy(rewrite=True))
        assert [(u.action, u.events) for u in report.units] == [("drop", 2), ("rewrite", 1), ("drop", 3)]
        assert types(store) == ["t80", "t70", "t5", "fresh", APPLIED_EVENT_TYPE]
        assert store.verify() == []
    with FileEventStore(tmp_path) as reopened:
        assert types(reopened) == ["t80", "t70", "t5", "fresh", APPLIED_EVENT_TYPE]
        assert reopened.verify() == []
        reopened.rebuild_index()
        assert types(reopened) == ["t80", "t70", "t5", "fresh", APPLIED_EVENT_TYPE]


def test_max_files_is_a_retention_rule_on_segments(tmp_path: Path) -> None:
    prepared(tmp_path)
    config = {
        "backend": "file",
        "file": {"data_directory": str(tmp_path), "rotation": {"max_files": 3}},
        "retention": {"custom_policy": {"rules": [{"tags": ["legal-hold"], "keep": True}]}},
    }
    with pyevents.open_store(config=config) as store:
        assert isinstance(store, FileEventStore)
        report = store.apply_retention()  # infinite policy: only max_files removes
        # the second oldest segment is beyond the limit too, but holds only held events
        assert [(u.action, u.events) for u in report.units] == [("drop", 2)]
        assert len(store.segments.ordered()) == 4
        record = store.get_events(QueryOptions(event_type=APPLIED_EVENT_TYPE)).events[0]
        assert record.payload["policy"]["max_files"] == 3 and record.payload["removed"] == 2
        assert store.verify() == []


def run_helper(directory: Path, step: int | str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.file.retention_process", str(directory), str(step)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    return process


def check_after_crash(directory: Path, before: list[RecordedEvent], after_ids: set[uuid.UUID]) -> bool:
    """Opening finishes a journaled run; the store is readable and verifies clean either way.
    Returns whether the run took effect."""
    with FileEventStore(directory) as store:
        events = store.get_events(QueryOptions()).events
        assert store.verify() == []
        records = [e for e in events if e.event_type == APPLIED_EVENT_TYPE]
        ids = {e.event_id for e in events if e.event_type != APPLIED_EVENT_TYPE}
        assert ids in ({e.event_id for e in before}, after_ids)
        assert len(records) == (1 if ids == after_ids else 0)
        assert not list(directory.glob("*.retention")) and not (directory / "retention.journal").exists()
        return ids == after_ids


def crash_template(tmp_path: Path) -> tuple[Path, list[RecordedEvent], set[uuid.UUID]]:
    """A prepared store to crash runs on, its events, and the ids a completed run keeps (found
    by running it on a copy)."""
    template = tmp_path / "template"
    before = prepared(template)
    expected = tmp_path / "expected"
    shutil.copytree(template, expected)
    with FileEventStore(expected) as store:
        store.apply_retention(policy=POLICY)
        after_ids = {e.event_id for e in store.get_events(QueryOptions()).events if e.event_type != APPLIED_EVENT_TYPE}
    return template, before, after_ids


def test_kill_at_every_step_of_a_run(tmp_path: Path) -> None:
    template, before, after_ids = crash_template(tmp_path)
    outcomes = []
    for step in range(1, 200):
        directory = tmp_path / f"step{step}"
        shutil.copytree(template, directory)
        process = run_helper(directory, step)
        process.communicate("go\n", timeout=60)
        if process.returncode == 0:
            break  # the run has fewer steps than this: every one was a crash point
        assert process.returncode == -signal.SIGKILL
        outcomes.append(check_after_crash(directory, before, after_ids))
        shutil.rmtree(directory)
    assert len(outcomes) >= 10 and False in outcomes and True in outcomes


def test_another_process_appends_while_a_run_removes_segments(tmp_path: Path) -> None:
    """A run holds the writer lock only to plan and record itself: while it removes segments,
    another process can become the writer and append."""
    prepared(tmp_path)
    process = run_helper(tmp_path, "pause")
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("go\n")
    process.stdin.flush()
    assert process.stdout.readline() == "paused\n"  # about to delete its first segment file
    journal = tmp_path / "retention.journal"
    assert journal.exists()
    with FileEventStore(tmp_path) as store:
        position = store.append(Event(event_type="beside", actor_type="svc", actor_id="b"))
        assert journal.exists()  # the run is still going on: this store left it alone
        assert store.get_events(QueryOptions(after_position=position - 1)).events[0].event_type == "beside"
    out, _ = process.communicate("go on\n", timeout=60)
    assert process.returncode == 0 and out == "6\n"
    assert not journal.exists()
    with FileEventStore(tmp_path) as store:
        assert types(store) == ["t80", "t70", "t5", "fresh", APPLIED_EVENT_TYPE, "beside"]
        assert store.verify() == []


def test_events_that_join_a_planned_segment_before_the_run_records_itself_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan is made without the writer lock: when an append lands in a segment it would
    drop, the run plans again under the lock instead of dropping the new event."""
    calls: list[Any] = []  # the plans made
    planned = file_retention._plan

    def plan_then_append(*args: Any, **kwargs: Any) -> Any:
        plan = planned(*args, **kwargs)
        if not calls:
            store.append(Event(event_type="fresh", actor_type="svc", actor_id="a"))  # as another thread could
        calls.append(plan)
        return plan

    monkeypatch.setattr(file_retention, "_plan", plan_then_append)
    with FileEventStore(tmp_path, max_size=0) as store:
        segment(store, [100])
        store.append(Event(event_type="old", actor_type="svc", actor_id="a", timestamp=utc_now() - timedelta(days=99)))
        report = store.apply_retention(policy=time_policy(rewrite=False))
        assert len(calls) == 2 and list(calls[0].actions.values()) == ["drop", "drop"]
        assert [(u.action, u.events) for u in report.units] == [("drop", 1), ("deferred", 1)]
        assert types(store) == ["old", "fresh", APPLIED_EVENT_TYPE]
        assert store.verify() == []


@pytest.mark.parametrize("seed", range(4))
def test_kill_at_a_random_moment(tmp_path: Path, seed: int) -> None:
    template, before, after_ids = crash_template(tmp_path)
    process = run_helper(template, 0)
    assert process.stdin is not None
    process.stdin.write("go\n")
    process.stdin.flush()
    time.sleep(random.Random(seed).uniform(0, 0.03))
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    check_after_crash(template, before, after_ids)


def test_a_rewrite_keeps_who_appended_each_kept_event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rewritten segment's events keep their appended_by; the run's own record carries the
    login that ran it (getpass reads LOGNAME first)."""
    monkeypatch.setenv("LOGNAME", "writer")
    prepared(tmp_path)
    monkeypatch.setenv("LOGNAME", "retention-runner")
    with FileEventStore(tmp_path) as store:
        store.apply_retention(policy=time_policy(rewrite=True))
        logins = [(e.event_type, e.appended_by) for e in store.get_events(QueryOptions()).events]
    assert logins == [
        ("t80", "writer"),
        ("t70", "writer"),
        ("t5", "writer"),
        ("fresh", "writer"),
        (APPLIED_EVENT_TYPE, "retention-runner"),
    ]


def test_verify_accepts_every_gap_of_a_fragmented_run_and_no_other(tmp_path: Path) -> None:
    """A run removing every other event lists only its first 1000 runs of positions; verify
    still accepts all its gaps, and still reports a gap that it did not make."""
    policy = RetentionPolicy.from_section(
        {
            "default_policy": "custom",
            "rewrite_segments": True,
            "custom_policy": {"rules": [{"event_types": ["odd"], "retain_days": 1}]},
        }
    )
    old = utc_now() - timedelta(days=10)
    with FileEventStore(tmp_path, compression="none", max_size=0) as store:
        store.append_batch(
            [
                Event(event_type="odd" if n % 2 else "even", actor_type="svc", actor_id="a", timestamp=old)
                for n in range(1, 2601)
            ]
        )
        store.rotate()
        store.append(Event(event_type="fresh", actor_type="svc", actor_id="a"))
        report = store.apply_retention(policy=policy)
        assert report.removed == 1300 and len(report.removed_ranges) == 1000
        assert store.verify() == []
        with store.stream_events(StreamOptions(follow=False)) as stream:
            assert sum(1 for _ in stream) == 1302  # the even ones, the fresh one and the record
            assert stream.removed_positions == 1300  # the 300 the record does not list too
        kept = [e.position for e in store.get_events(QueryOptions(event_type="even", limit=5000)).events]
    assert kept[:2] == [2, 4] and kept[-1] == 2600
    # Take one kept event out of the rewritten segment: its position is then missing too.
    lost = kept[-10]  # past the runs the record lists
    rewritten = tmp_path / report.units[0].name
    lines = rewritten.read_bytes().splitlines(keepends=True)
    rewritten.write_bytes(b"".join(line for line in lines if f'"position":{lost},'.encode() not in line))
    assert len(rewritten.read_bytes().splitlines()) == len(lines) - 1
    with FileEventStore(tmp_path, compression="none") as reopened:
        reopened.rebuild_index()
        problems = reopened.verify()
    # the record lists the runs up to position 1999; the 300 removed after them are unlisted
    assert len(problems) == 1 and "301 positions between 2000 and 2601 are missing" in problems[0], problems
    assert "retention runs removed only 300 of them" in problems[0]
