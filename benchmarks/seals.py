"""Seals: what sealing costs the writers beside it, and how fast sealing, proving and checking
run on a large log. Same cluster, same run:

* 8 writer threads appending single events for --seconds, with and without a sealer that
  seals every --seal-every seconds (runs alternate, the median of --runs is printed): a process
  of its own calling CALL pyevents.seal_maintenance() as pg_cron does (--sealer process), or a
  thread of the writers' process (--sealer thread);
* sealing a log of --events unsealed events (events/s), then verify_seals() over it;
* an inclusion proof at that size: building it (reading the sealed leaves included), its size,
  and checking it with no database (median of 1,000 checks); checking an exported seal
  against the log (`verify --against`);
* the same on a file store of --file-events events: sealing, verify, the sealed leaves.

    python benchmarks/seals.py [--events 1000000] [--seconds 10] [--runs 3] [--sealer process]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from benchmarks.cluster import BenchCluster  # noqa: E402
from benchmarks.data import EventFactory, EventPool  # noqa: E402
from pyevents.backends.file import FileEventStore  # noqa: E402
from pyevents.backends.postgres.store import PostgresEventStore  # noqa: E402
from pyevents.sealing import check_against, prove_inclusion  # noqa: E402
from pyevents.seals import check_document  # noqa: E402

WRITERS = 8
# Events generated in the server, 10,000 a call: loading a million takes seconds, not minutes.
GENERATE_SQL = """
SELECT count(*) FROM pyevents.append_events(
    array(SELECT gen_random_uuid() FROM generate_series(1, %(n)s)),
    array(SELECT now() FROM generate_series(1, %(n)s)),
    array(SELECT 'order.placed' FROM generate_series(1, %(n)s)),
    array(SELECT 'service' FROM generate_series(1, %(n)s)),
    array(SELECT 'checkout-' || (g %% 8) FROM generate_series(1, %(n)s) AS g),
    array(SELECT gen_random_uuid() FROM generate_series(1, %(n)s)),
    array(SELECT NULL::uuid FROM generate_series(1, %(n)s)),
    array(SELECT '1' FROM generate_series(1, %(n)s)),
    array(SELECT jsonb_build_object('order', g, 'total', g * 3, 'note', repeat('x', 200))
          FROM generate_series(1, %(n)s) AS g),
    array(SELECT jsonb_build_object('tags', jsonb_build_array('order:' || g)) FROM generate_series(1, %(n)s) AS g),
    NULL, NULL)
"""


# pg_cron's form of sealing, in a process of its own: once connected it says "ready", then
# CALLs seal_maintenance() every argv[2] seconds from the line "go" on stdin until it closes.
SEALER_PROCESS = """
import select, sys
import psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    print("ready", flush=True)
    sys.stdin.readline()
    while True:
        conn.execute("CALL pyevents.seal_maintenance()")
        if select.select([sys.stdin], [], [], float(sys.argv[2]))[0]:
            break
"""


def writers(dsn: str, seconds: float, seal_every: float | None, sealer: str, seed: int) -> float:
    """Events per second appended by WRITERS threads, one event a call, with a sealer beside them
    when `seal_every` is given: a process of its own (`sealer` "process", as pg_cron or `serve`
    seal), or a thread of the writers' process ("thread"). Events and connections are ready
    before the clock starts."""
    pools = [EventPool(EventFactory(seed + number), 1000 * number, 2000) for number in range(WRITERS)]
    stores = [PostgresEventStore(dsn, pool_size=1) for _ in range(WRITERS + 1)]
    counts = [0] * WRITERS
    ready = threading.Barrier(WRITERS + 2)
    stop = 0.0
    process: subprocess.Popen[str] | None = None

    def writer(number: int) -> None:
        ready.wait()
        while time.perf_counter() < stop:
            stores[number].append(pools[number].take())
            counts[number] += 1

    def sealing_thread() -> None:
        assert seal_every is not None
        ready.wait()
        while time.perf_counter() < stop:
            stores[WRITERS].seal()
            time.sleep(seal_every)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    in_thread = seal_every is not None and sealer == "thread"
    threads.append(threading.Thread(target=sealing_thread if in_thread else ready.wait))
    try:
        for store in stores:
            store.health_check()  # connects
        # what earlier runs left unsealed is sealed before the clock starts: a sealer beside
        # the writers only ever seals their own events, as one running all along would
        stores[WRITERS].seal()
        if seal_every is not None and sealer == "process":
            command = [sys.executable, "-c", SEALER_PROCESS, dsn, str(seal_every)]
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert process.stdout is not None and process.stdout.readline() == "ready\n"
        for thread in threads:
            thread.start()
        if process is not None and process.stdin is not None:
            process.stdin.write("go\n")
            process.stdin.flush()
        started = time.perf_counter()
        stop = started + seconds
        ready.wait()
        for thread in threads:
            thread.join()
        return sum(counts) / (time.perf_counter() - started)
    finally:
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=60)
        for store in stores:
            store.close()


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def file_backend(count: int, seed: int) -> str:
    """Sealing, verifying and proving a file store of `count` events (appended in batches of
    1,000 with fsync off: the load is not what is measured)."""
    factory = EventFactory(seed)
    with tempfile.TemporaryDirectory() as directory, FileEventStore(Path(directory) / "events", fsync="never") as store:
        for start in range(0, count, 1000):
            store.append_batch(factory.events(start, min(1000, count - start)))
        seal_seconds = timed(store.seal)
        verify_started = time.perf_counter()
        problems = store.verify()
        verify_seconds = time.perf_counter() - verify_started
        assert problems == [], problems[:3]
        exported = store.seals()[-1]
        assert exported.tree_size == count
        leaves_started = time.perf_counter()
        leaves = store.sealed_leaves(exported.seal)
        leaves_seconds = time.perf_counter() - leaves_started
        event = store.get_events().events[7]
        proof = prove_inclusion(event.event_id, exported, leaves)
    return (
        f"file backend, {count:,} events: sealing {seal_seconds:.1f} s ({count / seal_seconds:,.0f} events/s);"
        f" verify (segments, index and seals) {verify_seconds:.1f} s;\n"
        f"  reading the sealed leaves {leaves_seconds:.1f} s; inclusion proof {len(proof['proof'])} hashes"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the log that is sealed at once")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each writers' run")
    parser.add_argument("--seal-every", type=float, default=1.0, help="seconds between seals beside the writers")
    parser.add_argument(
        "--sealer",
        choices=["process", "thread"],
        default="process",
        help="seal in a process of its own (pg_cron's CALL pyevents.seal_maintenance()), or in a thread of the writers",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--file-events", type=int, default=1_000_000, help="events of the file store sealed (0: none)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    cluster = BenchCluster.start()
    try:
        dsn = cluster.new_pyevents_database("bench_seal_writers")
        plain, sealing = [], []
        for _ in range(args.runs):
            plain.append(writers(dsn, args.seconds, None, args.sealer, args.seed))
            sealing.append(writers(dsn, args.seconds, args.seal_every, args.sealer, args.seed))
        with PostgresEventStore(dsn) as store:
            store.seal()  # what the last run left unsealed
            problems = [problem for problem in store.verify() if "seal" in problem]
            assert problems == [], problems

        big = cluster.new_pyevents_database("bench_seal_big")
        with psycopg.connect(big, autocommit=True) as conn:
            for start in range(0, args.events, 10_000):
                conn.execute(GENERATE_SQL, {"n": min(10_000, args.events - start)})
            conn.execute("VACUUM ANALYZE pyevents.events")
        with PostgresEventStore(big) as store:
            seal_seconds = timed(store.seal)
            seals = store.seals()
            assert seals[-1].tree_size == args.events
            with psycopg.connect(big, autocommit=True) as conn:
                verify_seals = timed(lambda: conn.execute("SELECT * FROM pyevents.verify_seals()").fetchall())
            exported = seals[-1]
            leaves_started = time.perf_counter()
            leaves = store.sealed_leaves(exported.seal)
            leaves_seconds = time.perf_counter() - leaves_started
            event = store.get_events().events[7]
            prove_seconds = timed(lambda: prove_inclusion(event.event_id, exported, leaves))
            proof = prove_inclusion(event.event_id, exported, leaves)
            against_seconds = timed(lambda: check_against(exported, exported, leaves))
        checks = []
        for _ in range(1000):
            started = time.perf_counter()
            check_document(proof)
            checks.append(time.perf_counter() - started)
    finally:
        cluster.close()

    with_sealer, without = statistics.median(sealing), statistics.median(plain)
    print(f"writers: {WRITERS} threads, single appends, {args.seconds:g} s per run, median of {args.runs} (runs)")
    print(f"  without sealing: {without:,.0f} events/s  {[round(r) for r in plain]}")
    print(
        f"  sealing every {args.seal_every:g} s ({args.sealer}): {with_sealer:,.0f} events/s"
        f"  {[round(r) for r in sealing]}  ({with_sealer / without:.3f}x)"
    )
    print(f"sealing {args.events:,} events: {seal_seconds:.1f} s, {args.events / seal_seconds:,.0f} events/s,")
    print(f"  {len(seals)} seals of at most 100,000; verify_seals(): {verify_seals:.1f} s")
    steps = len(proof["proof"])
    print(
        f"inclusion proof at {args.events:,} events: {steps} hashes ({steps * 32} bytes),"
        f" {len(json.dumps(proof)):,} bytes as JSON with its seal"
    )
    print(f"  reading the sealed leaves {leaves_seconds:.1f} s, building the proof {prove_seconds:.2f} s")
    print(f"  checking it without a database: median {statistics.median(checks) * 1e6:.0f} µs (1,000 checks)")
    print(f"checking an exported seal against the log, after reading the leaves: {against_seconds:.1f} s")
    if args.file_events:
        print(file_backend(args.file_events, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
