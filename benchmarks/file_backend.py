"""Benchmark of the file backend: append throughput, index rebuild, catch-up reads, bytes per event.

    python benchmarks/file_backend.py [--events 1000000] [--directory DIR]

Events resemble the conformance suite's: an order payload with two lines, two tags, ~500 bytes
stored. Figures depend on the disk (fsync latency above all); print them with the machine.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from pyevents import Event, QueryOptions
from pyevents.backends.file import FileEventStore


def events(count: int) -> Iterator[Event]:
    for number in range(count):
        yield Event(
            event_type=f"Order{('Placed', 'Paid', 'Shipped')[number % 3]}",
            actor_type="service",
            actor_id=f"checkout-{number % 17}",
            payload={"order_id": str(uuid.uuid4()), "lines": [{"sku": f"A-{number % 100}", "qty": number % 5 + 1}]},
            metadata={"tags": [f"order:{number // 3}", f"customer:{number % 1000}"]},
        )


def segment_bytes(directory: Path) -> tuple[int, int]:
    """(uncompressed, stored) bytes of every segment."""
    plain = stored = 0
    for path in directory.glob("events-*.jsonl*"):
        stored += path.stat().st_size
        with gzip.open(path) if path.suffix == ".gz" else open(path, "rb") as handle:
            while chunk := handle.read(1 << 24):
                plain += len(chunk)
    return plain, stored


OPEN_AND_READ = """
import sys
from pyevents import QueryOptions
from pyevents.backends.file import FileEventStore

def resident() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1])

before = resident()
with FileEventStore(sys.argv[1]) as store:
    store.get_events(QueryOptions(limit=10))
    print(resident() - before)
"""


def opened_mib(directory: Path) -> float:
    """What opening a store and reading a page adds to a fresh process's resident memory
    (pyevents already imported)."""
    done = subprocess.run(
        [sys.executable, "-c", OPEN_AND_READ, str(directory)], capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip()) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="events for the batched append and rebuild")
    parser.add_argument("--single", type=int, default=2_000, help="events appended one by one with fsync")
    parser.add_argument("--batch-size", type=int, default=1_000)
    parser.add_argument("--directory", type=Path, help="where to write (default: a temporary directory)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="pyevents-bench-", dir=args.directory))
    try:
        run(root, args.events, args.single, args.batch_size)
    finally:
        shutil.rmtree(root)


def run(root: Path, count: int, single: int, batch_size: int) -> None:
    print(f"directory {root}, {os.cpu_count()} CPUs")

    with FileEventStore(root / "single", fsync="always") as store:
        started = time.perf_counter()
        for event in events(single):
            store.append(event)
        elapsed = time.perf_counter() - started
    print(f"single appends, fsync=always: {single / elapsed:,.0f} events/s ({single} events)")

    pending = list(events(count))
    with FileEventStore(root / "bulk", fsync="always", compression="gzip") as store:
        started = time.perf_counter()
        for start in range(0, count, batch_size):
            store.append_batch(pending[start : start + batch_size])
        elapsed = time.perf_counter() - started
        store.rotate()
    print(f"batched appends ({batch_size}/batch, fsync=always, gzip rotation): {count / elapsed:,.0f} events/s")
    del pending

    with FileEventStore(root / "bulk") as store:
        started = time.perf_counter()
        store.rebuild_index()
        elapsed = time.perf_counter() - started
        last = store.get_events(QueryOptions(order_direction="desc", limit=1)).events[0].position
    print(f"index rebuild of {last:,} events: {elapsed:.1f} s")

    with FileEventStore(root / "bulk") as store:
        started = time.perf_counter()
        read = after = 0
        while page := store.get_events(QueryOptions(after_position=after, limit=1000)).events:
            read += len(page)
            after = page[-1].position
        elapsed = time.perf_counter() - started
    print(f"catch-up reads (pages of 1000 by after_position): {read / elapsed:,.0f} events/s")

    print(f"opening the store and reading 10 events: {opened_mib(root / 'bulk'):.1f} MiB more resident memory")

    plain, compressed = segment_bytes(root / "bulk")
    index = sum(p.stat().st_size for p in (root / "bulk").glob("index-*.sqlite*"))
    print(f"segments: {plain / count:.0f} bytes/event uncompressed, {compressed / count:.0f} bytes/event gzipped")
    print(f"SQLite index: {index / count:.0f} bytes/event")


if __name__ == "__main__":
    main()
