"""Retention benchmark: time to apply a time policy that removes N events (whole partitions on
PostgreSQL, whole segments on files), how long appends running beside it were held up, and
the same removal done the raw way.

    python benchmarks/retention.py [--events 1000000] [--backend postgresql,file] [--dsn DSN]

Each backend gets a fresh store holding N events dated over twelve months ending 100 days ago
(PostgreSQL: appended in batches of 5,000, a dozen monthly partitions; files: segments of
100,000 events) and 1,000 recent ones; the policy keeps 90 days. While `apply_retention` runs,
one thread appends single events in a loop, from a store of its own on PostgreSQL and through
the same store on files (one writer per directory). Reported: the run's duration, the longest
single append, the longest stretch with no append completing, and the total time of appends
that took over 100 ms ("blocked"), next to the median append before the run, and the machine's
1-minute load average as the run ended (other work on the machine included).

Raw baselines, on a copy taken before the run (a database cloned as a template; a copy of the
directory): PostgreSQL `DELETE` of the same rows from the log and its id and tag tables, and
`DROP TABLE` of the same partitions (event triggers off through `session_replication_role =
replica`, the append-only triggers disabled); files: `unlink` of the same segment files.
Without --dsn a throwaway cluster is started with scripts/pgcluster.sh and destroyed afterwards.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.cluster import BenchCluster  # noqa: E402
from pyevents import Event  # noqa: E402
from pyevents.backends.file import FileEventStore  # noqa: E402
from pyevents.backends.postgres import PostgresEventStore, schema  # noqa: E402
from pyevents.model import utc_now  # noqa: E402
from pyevents.retention import RetentionPolicy, RetentionReport  # noqa: E402
from pyevents.store import EventStore  # noqa: E402

POLICY = RetentionPolicy.from_section({"default_policy": "time", "time_policy": {"retain_days": 90}})
BATCH = 5000
SEGMENT_EVENTS = 100_000
BLOCKED = 0.1  # an append taking longer than this was held up by the run


@dataclass
class Result:
    backend: str
    events: int
    load_seconds: float
    apply_seconds: float
    removed: int
    units: int
    appends: int
    median_append: float  # before the run
    longest_append: float
    longest_gap: float
    blocked_seconds: float
    load_average: float  # of the machine (1 minute) as the run ended
    raw: dict[str, float]  # raw baseline: seconds


def fill(store: EventStore, count: int) -> float:
    """`count` old events over twelve months ending 100 days ago, then 1,000 recent ones;
    returns seconds."""
    started = time.perf_counter()
    oldest = utc_now() - timedelta(days=460)
    step = timedelta(days=360) / max(count, 1)
    for first in range(0, count, BATCH):
        store.append_batch(
            [
                Event(
                    event_type=f"type{n % 8}",
                    actor_type="svc",
                    actor_id=f"actor{n % 100}",
                    timestamp=oldest + step * n,
                    payload={"n": n, "text": "x" * 200},
                    metadata={"tags": [f"tenant:{n % 50}"]},
                )
                for n in range(first, min(first + BATCH, count))
            ]
        )
        if isinstance(store, FileEventStore) and (first + BATCH) % SEGMENT_EVENTS == 0:
            store.rotate()
    if isinstance(store, FileEventStore):
        store.rotate()  # the old events fill whole segments
    store.append_batch([Event(event_type="recent", actor_type="svc", actor_id="a") for _ in range(1000)])
    return time.perf_counter() - started


def measure(store: EventStore, beside: EventStore) -> tuple[RetentionReport, dict[str, float]]:
    """Apply the policy while `beside` appends single events; the run's report and figures."""
    latencies: list[tuple[float, float]] = []  # (start, end) of every append beside the run
    stop = threading.Event()

    def append_beside() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            beside.append(Event(event_type="beside", actor_type="svc", actor_id="b", event_id=uuid.uuid4()))
            latencies.append((start, time.perf_counter()))

    writer = threading.Thread(target=append_beside)
    writer.start()
    time.sleep(1.0)
    run_start = time.perf_counter()
    report = store.apply_retention(policy=POLICY)
    run_end = time.perf_counter()
    time.sleep(0.5)
    stop.set()
    writer.join()
    before = [e - s for s, e in latencies if e < run_start]
    during = [(s, e) for s, e in latencies if e >= run_start and s <= run_end]
    ends = [run_start, *sorted(e for _s, e in during), run_end]
    return report, {
        "apply": run_end - run_start,
        "appends": len(during),
        "median": statistics.median(before) if before else 0.0,
        "longest_append": max((e - s for s, e in during), default=0.0),
        "longest_gap": max(b - a for a, b in itertools.pairwise(ends)),
        "blocked": sum(e - s for s, e in during if e - s > BLOCKED),
        "load_average": os.getloadavg()[0],
    }


def result(backend: str, count: int, load: float, report: RetentionReport, figures: dict[str, float]) -> Result:
    return Result(
        backend=backend,
        events=count,
        load_seconds=load,
        apply_seconds=figures["apply"],
        removed=report.removed,
        units=len(report.units),
        appends=int(figures["appends"]),
        median_append=figures["median"],
        longest_append=figures["longest_append"],
        longest_gap=figures["longest_gap"],
        blocked_seconds=figures["blocked"],
        load_average=figures["load_average"],
        raw={},
    )


def raw_postgresql(delete_dsn: str, drop_dsn: str, report: RetentionReport) -> dict[str, float]:
    """The same removal by hand, each way on its own copy of the store as it was before the run."""
    cutoff = report.cutoff
    partitions = [unit.name for unit in report.units if unit.action == "drop"]
    timings: dict[str, float] = {}
    with psycopg.connect(delete_dsn) as conn:
        conn.execute("SET session_replication_role = replica")  # no event triggers
        for table in ("events", "event_ids", "event_tags"):  # nor append-only triggers (ENABLE ALWAYS)
            conn.execute(f"ALTER TABLE pyevents.{table} DISABLE TRIGGER USER")
        conn.commit()
        started = time.perf_counter()
        conn.execute(
            "DELETE FROM pyevents.event_tags AS t USING pyevents.events AS e"
            " WHERE t.position = e.position AND e.timestamp < %s",
            (cutoff,),
        )
        conn.execute(
            "DELETE FROM pyevents.event_ids AS i USING pyevents.events AS e"
            " WHERE i.event_id = e.event_id AND e.timestamp < %s",
            (cutoff,),
        )
        conn.execute("DELETE FROM pyevents.events WHERE timestamp < %s", (cutoff,))
        conn.commit()
        timings["DELETE of the same rows (log, ids, tags)"] = time.perf_counter() - started
    with psycopg.connect(drop_dsn) as conn:
        conn.execute("SET session_replication_role = replica")
        started = time.perf_counter()
        for name in partitions:
            conn.execute(f"DROP TABLE {name}")
        conn.commit()
        timings["DROP TABLE of the same partitions"] = time.perf_counter() - started
    return timings


def run_postgresql(count: int, cluster: BenchCluster) -> Result:
    template = "bench_retention"
    target = cluster.create_database(template)
    schema.upgrade(target)
    with PostgresEventStore(target) as store:
        load = fill(store, count)
        store.get_metrics()  # settle connections before cloning
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    # Copies of the store before the run, for the raw baselines (cloning needs no connections).
    raw_delete = cluster.create_database("bench_retention_raw_delete", template=template)
    raw_drop = cluster.create_database("bench_retention_raw_drop", template=template)
    try:
        with PostgresEventStore(target) as store, PostgresEventStore(target, pool_size=1) as beside:
            report, figures = measure(store, beside)
        measured = result("postgresql", count, load, report, figures)
        measured.raw = raw_postgresql(raw_delete, raw_drop, report)
        return measured
    finally:
        for name in (template, "bench_retention_raw_delete", "bench_retention_raw_drop"):
            cluster.drop_database(name)


def run_file(count: int) -> Result:
    directory = Path(tempfile.mkdtemp(prefix="pyevents-bench-retention-files-"))
    copy = directory.with_name(directory.name + "-raw")
    try:
        store_directory = directory / "store"
        with FileEventStore(store_directory, fsync="batch") as store:
            load = fill(store, count)
            shutil.copytree(store_directory, copy)
            # Appends beside the run go through the same store: a directory has one writer.
            report, figures = measure(store, store)
        measured = result("file", count, load, report, figures)
        doomed = [
            copy / name for unit in report.units if unit.action == "drop" for name in (unit.name, unit.name + ".gz")
        ]
        started = time.perf_counter()
        for path in doomed:
            if path.exists():
                os.unlink(path)
        os.sync()
        measured.raw = {"unlink of the same segment files": time.perf_counter() - started}
        return measured
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        shutil.rmtree(copy, ignore_errors=True)


def table(results: list[Result]) -> list[str]:
    """The results as markdown."""
    lines = [
        "| backend | events removed | units | apply (s) | load (s) | appends beside | median append before (s)"
        " | longest append (s) | longest gap (s) | blocked (s) | load average |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.backend} | {r.removed:,} | {r.units} | {r.apply_seconds:.2f} | {r.load_seconds:.1f} | {r.appends} |"
        f" {r.median_append:.4f} | {r.longest_append:.3f} | {r.longest_gap:.3f} | {r.blocked_seconds:.3f} |"
        f" {r.load_average:.1f} |"
        for r in results
    ]
    lines += ["", "| backend | raw baseline | raw (s) | pyevents (s) | raw / pyevents |", "|---|---|---|---|---|"]
    lines += [
        f"| {r.backend} | {name} | {seconds:.4f} | {r.apply_seconds:.3f} | {seconds / r.apply_seconds:.3f}x |"
        for r in results
        for name, seconds in r.raw.items()
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--backend", default="postgresql,file")
    parser.add_argument("--dsn", help="superuser DSN of a cluster to use (default: a throwaway one)")
    args = parser.parse_args(argv)
    backends = args.backend.split(",")
    unknown = sorted(set(backends) - {"postgresql", "file"})
    if unknown:
        parser.error(f"unknown backend {unknown[0]} (known: postgresql, file)")
    results = []
    if "postgresql" in backends:
        cluster = BenchCluster(args.dsn) if args.dsn else BenchCluster.start()
        try:
            results.append(run_postgresql(args.events, cluster))
        finally:
            cluster.close()
    if "file" in backends:
        results.append(run_file(args.events))
    print("\n".join(table(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
