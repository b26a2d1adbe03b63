"""Read replicas beside the primary, same machine, same run: query throughput from N reader
threads with and without a streaming replica, and the delivery latency of a live stream on
the primary (LISTEN) and on the replica (polling, gaps settled against the primary) while
writer threads append.

    python benchmarks/replicas.py [--events 50000] [--seconds 5] [--readers 4] [--writers 4]

A throwaway primary and a streaming replica of it (scripts/pgcluster.sh replica) are started
and destroyed after. On one machine both servers share its CPUs: the figures show what the
replica path costs, not the capacity a second machine adds.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg.conninfo import conninfo_to_dict, make_conninfo  # noqa: E402

from benchmarks.cluster import BenchCluster, find_pgcluster  # noqa: E402
from benchmarks.data import EventFactory, EventPool  # noqa: E402
from pyevents import QueryOptions, StreamOptions  # noqa: E402
from pyevents.backends.postgres.store import PostgresEventStore  # noqa: E402

PAGE = 100


def on_replica(dsn: str, replica: str) -> str:
    """The database of `dsn` on the replica, once replayed there."""
    database = str(conninfo_to_dict(dsn)["dbname"])
    target = make_conninfo(replica, dbname=database)
    for _ in range(600):
        try:
            with psycopg.connect(target, autocommit=True) as conn:
                conn.execute("SELECT 1 FROM pyevents.events LIMIT 1")
            return target
        except psycopg.Error:
            time.sleep(0.05)
    raise RuntimeError(f"database {database} never appeared on the replica")


def queries(store: PostgresEventStore, readers: int, seconds: float, head: int) -> float:
    """Pages of PAGE events after random positions, from `readers` threads: events read per second."""
    counts = [0] * readers
    stop = time.perf_counter() + seconds

    def reader(number: int) -> None:
        after = (number * 7919) % max(1, head - PAGE)
        while time.perf_counter() < stop:
            counts[number] += len(store.get_events(QueryOptions(after_position=after, limit=PAGE)).events)
            after = (after + 104_729) % max(1, head - PAGE)

    started = time.perf_counter()
    threads = [threading.Thread(target=reader, args=(n,)) for n in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def follower_latency(store: PostgresEventStore, writers: int, seconds: float, seed: int) -> list[float]:
    """Seconds from each append's return to its delivery by a live stream of `store`."""
    appended: dict[int, float] = {}
    delivered: dict[int, float] = {}
    stream = store.stream_events(
        StreamOptions(
            after_position=store.get_events(QueryOptions(order_direction="desc", limit=1), consistency="primary")
            .events[0]
            .position
        )
    )
    consumer = threading.Thread(target=lambda: delivered.update((e.position, time.perf_counter()) for e in stream))
    consumer.start()
    stop = time.perf_counter() + seconds

    def writer(number: int) -> None:
        pool = EventPool(EventFactory(seed + number), 50 + number, 2000)
        with PostgresEventStore(store.dsn, pool_size=1) as own:
            while time.perf_counter() < stop:
                position = own.append(pool.take())
                appended[position] = time.perf_counter()
                time.sleep(0.002)  # a steady rate, not saturation: latency, not throughput

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    deadline = time.perf_counter() + 30
    while len(delivered) < len(appended) and time.perf_counter() < deadline:
        time.sleep(0.01)
    stream.close()
    consumer.join(timeout=10)
    missing = set(appended) - set(delivered)
    if missing:
        raise RuntimeError(f"{len(missing)} appended events were not delivered")
    return [delivered[p] - appended[p] for p in appended]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000, help="events in the log the readers query")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each run")
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3, help="runs of each case; the median is printed")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    script = find_pgcluster()
    assert script is not None, "scripts/pgcluster.sh not found"
    cluster = BenchCluster.start()
    assert cluster.directory is not None
    replica_dir = Path(tempfile.mkdtemp(prefix="pyevents-bench-replica-"))
    try:
        replica = subprocess.run(
            [str(script), "replica", str(cluster.directory), str(replica_dir)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        dsn = cluster.new_pyevents_database("bench_replicas")
        replica_dsn = on_replica(dsn, replica)
        primary = PostgresEventStore(dsn, pool_size=args.readers)
        replicated = PostgresEventStore(dsn, pool_size=args.readers, read_dsns=[replica_dsn])
        pool = EventPool(EventFactory(args.seed), 99, args.events)
        for _ in range(args.events // 1000):
            primary.append_batch(pool.batch(1000))
        while len(replicated.get_events(QueryOptions(after_position=args.events - 1, limit=1)).events) < 1:
            time.sleep(0.05)
        reads = [
            (
                queries(primary, args.readers, args.seconds, args.events),
                queries(replicated, args.readers, args.seconds, args.events),
            )
            for _ in range(args.runs)
        ]
        latencies = [
            (
                follower_latency(primary, args.writers, args.seconds, args.seed),
                follower_latency(replicated, args.writers, args.seconds, args.seed),
            )
            for _ in range(args.runs)
        ]
        primary.close()
        replicated.close()
    finally:
        subprocess.run([str(script), "destroy", str(replica_dir)], check=False)
        cluster.close()
    on_primary = statistics.median(r[0] for r in reads)
    through_replica = statistics.median(r[1] for r in reads)
    print(f"median of {args.runs} runs, {args.seconds:g} s each; primary and replica on this one machine")
    print("| case | primary only | with the replica | replica / primary |")
    print("|---|---:|---:|---:|")
    print(
        f"| queries, {args.readers} reader threads, pages of {PAGE} (events/s) | {on_primary:,.0f} |"
        f" {through_replica:,.0f} | {through_replica / on_primary:.2f}x |"
    )
    for label, share in (("p50", 0.5), ("p99", 0.99)):
        direct = statistics.median(percentile(run[0], share) for run in latencies) * 1000
        standby = statistics.median(percentile(run[1], share) for run in latencies) * 1000
        print(
            f"| live stream latency {label}, {args.writers} writers (ms) | {direct:.1f} | {standby:.1f} |"
            f" {standby / direct:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
