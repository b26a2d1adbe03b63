"""The figures of the file backend and retention benchmarks are read back from what their
scripts print, and judged against their goals."""

from __future__ import annotations

from benchmarks import goals
from benchmarks.report import PYEVENTS, RAW, Report
from benchmarks.scenarios import file_store, retention_run

FILE_OUTPUT = """directory /tmp/pyevents-bench-v35vanjf, 2 CPUs
single appends, fsync=always: 1,617 events/s (100 events)
batched appends (1000/batch, fsync=always, gzip rotation): 157,467 events/s
index rebuild of 1,000,000 events: 6.2 s
catch-up reads (pages of 1000 by after_position): 39,664 events/s
opening the store and reading 10 events: 4.5 MiB more resident memory
segments: 539 bytes/event uncompressed, 99 bytes/event gzipped
SQLite index: 250 bytes/event"""

RETENTION_OUTPUT = """| backend | raw baseline | raw (s) | pyevents (s) | raw / pyevents |
|---|---|---|---|---|
| postgresql | DELETE of the same rows (log, ids, tags) | 1.10 | 3.30 | 0.33x |
| postgresql | DROP TABLE of the same partitions | 0.05 | 3.30 | 0.02x |
| file | unlink of the same segment files | 0.01 | 0.17 | 0.06x |"""


def test_file_backend_figures_and_goals() -> None:
    report = Report(scale="full", command="test")
    report.add(*file_store.figures(FILE_OUTPUT))
    assert report.value(file_store.TITLE, "batches of 1000, fsync=always", PYEVENTS, "events/s") == 157_467
    assert report.value(file_store.TITLE, "index rebuild of 1,000,000 events", PYEVENTS, "seconds") == 6.2
    assert report.value(file_store.TITLE, "segments, gzipped", PYEVENTS, "bytes/event") == 99
    goals.judge(report, 8)
    met = {goal.case: goal.met for goal in report.goals if goal.scenario == file_store.TITLE}
    assert met == {
        "batches of 1000, fsync=always": True,
        "index rebuild of 1,000,000 events": False,
        "catch-up, pages of 1000": False,
        "opening a store, reading 10 events": True,
    }


def test_retention_is_judged_against_dropping_the_partitions_by_hand() -> None:
    report = Report(scale="full", command="test")
    report.add(*retention_run.figures(RETENTION_OUTPUT, 1_000_000))
    case = "1,000,000 events removed, postgresql"
    assert report.value(retention_run.TITLE, case, RAW, "seconds") == 0.05
    assert report.value(retention_run.TITLE, case, PYEVENTS, "seconds") == 3.3
    goals.judge(report, 8)
    [goal] = [goal for goal in report.goals if goal.scenario == retention_run.TITLE]
    assert goal.case == case and goal.met is False and goal.value is not None and round(goal.value) == 66
