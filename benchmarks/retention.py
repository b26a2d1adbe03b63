"""Retention benchmark: time to apply a time policy that removes N events (whole partitions on
PostgreSQL, whole segments on files), and how long appends running beside it were held up.

    python benchmarks/retention.py [--events 1000000] [--backend postgresql,file] [--dsn DSN]

Each backend gets a fresh store holding N events dated about a year ago (a few monthly
partitions, several segments) and 1,000 recent ones. While `apply_retention` runs, one thread
appends single events in a loop; the report gives the run's duration, the longest single append
and the longest stretch with no append completing (how long appends were blocked). Without
--dsn a throwaway cluster is started with scripts/pgcluster.sh and destroyed afterwards.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import psycopg

from pyevents import Event
from pyevents.backends.file import FileEventStore
from pyevents.backends.postgres import PostgresEventStore, schema
from pyevents.model import utc_now
from pyevents.retention import RetentionPolicy
from pyevents.store import EventStore

ROOT = Path(__file__).resolve().parent.parent
PGCLUSTER = ROOT / "scripts" / "pgcluster.sh"
POLICY = RetentionPolicy.from_section({"default_policy": "time", "time_policy": {"retain_days": 90}})
BATCH = 1000


@dataclass
class Result:
    backend: str
    events: int
    load_seconds: float
    apply_seconds: float
    removed: int
    units: int
    appends: int
    longest_append: float
    longest_gap: float


def fill(store: EventStore, count: int) -> float:
    """`count` events spread over 90 days a year ago, then 1,000 recent ones; returns seconds."""
    started = time.perf_counter()
    oldest = utc_now() - timedelta(days=450)
    step = timedelta(days=90) / max(count, 1)
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
        if isinstance(store, FileEventStore) and (first // BATCH) % 100 == 99:
            store.rotate()  # segments of 100,000 events
    if isinstance(store, FileEventStore):
        store.rotate()  # the old events fill whole segments
    store.append_batch([Event(event_type="recent", actor_type="svc", actor_id="a") for _ in range(1000)])
    return time.perf_counter() - started


def measure(backend: str, store: EventStore, beside: EventStore, count: int) -> Result:
    load = fill(store, count)
    latencies: list[tuple[float, float]] = []  # (start, end) of every append beside the run
    stop = threading.Event()

    def append_beside() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            beside.append(Event(event_type="beside", actor_type="svc", actor_id="b", event_id=uuid.uuid4()))
            latencies.append((start, time.perf_counter()))

    writer = threading.Thread(target=append_beside)
    writer.start()
    time.sleep(0.5)
    run_start = time.perf_counter()
    report = store.apply_retention(policy=POLICY)
    run_end = time.perf_counter()
    time.sleep(0.5)
    stop.set()
    writer.join()
    during = [(s, e) for s, e in latencies if e >= run_start and s <= run_end]
    ends = [run_start, *sorted(e for _s, e in during), run_end]
    return Result(
        backend=backend,
        events=count,
        load_seconds=load,
        apply_seconds=run_end - run_start,
        removed=report.removed,
        units=len(report.units),
        appends=len(during),
        longest_append=max((e - s for s, e in during), default=0.0),
        longest_gap=max(b - a for a, b in itertools.pairwise(ends)),
    )


def run_postgresql(count: int, dsn: str | None) -> Result:
    directory = None
    if dsn is None:
        directory = Path(tempfile.mkdtemp(prefix="pyevents-bench-retention-"))
        subprocess.run([PGCLUSTER, "install"], check=True)
        dsn = subprocess.run([PGCLUSTER, "start", directory], check=True, capture_output=True, text=True).stdout.strip()
    database = f"bench_retention_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {database}")
        target = psycopg.conninfo.make_conninfo(dsn, dbname=database)
        schema.upgrade(target)
        with PostgresEventStore(target) as store, PostgresEventStore(target, pool_size=1) as beside:
            return measure("postgresql", store, beside, count)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {database}")
        if directory is not None:
            subprocess.run([PGCLUSTER, "destroy", directory], check=False)


def run_file(count: int) -> Result:
    directory = Path(tempfile.mkdtemp(prefix="pyevents-bench-retention-files-"))
    try:
        with FileEventStore(directory, fsync="batch") as store:
            # Appends beside the run go through the same store: a directory has one writer.
            return measure("file", store, store, count)
    finally:
        shutil.rmtree(directory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--backend", default="postgresql,file")
    parser.add_argument("--dsn", help="superuser DSN of a cluster to use (default: a throwaway one)")
    args = parser.parse_args()
    results = []
    for backend in args.backend.split(","):
        results.append(run_postgresql(args.events, args.dsn) if backend == "postgresql" else run_file(args.events))
    columns = ["backend", "events removed", "units", "apply (s)", "load (s)", "appends beside", "longest append (s)"]
    print("| " + " | ".join([*columns, "longest gap (s)"]) + " |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.backend} | {r.removed:,} | {r.units} | {r.apply_seconds:.2f} | {r.load_seconds:.1f} | {r.appends} |"
            f" {r.longest_append:.3f} | {r.longest_gap:.3f} |"
        )


if __name__ == "__main__":
    main()
