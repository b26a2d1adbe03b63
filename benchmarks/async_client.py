"""The asyncio client beside the blocking one, same cluster, same run: appends from one caller
and from N concurrent callers (tasks on one event loop against threads), and a catch-up read of
the whole log in pages.

    python benchmarks/async_client.py [--events 50000] [--seconds 5] [--callers 8] [--dsn DSN]

Without --dsn a throwaway cluster is started (scripts/pgcluster.sh) and destroyed after.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.cluster import BenchCluster  # noqa: E402
from benchmarks.data import EventFactory, EventPool  # noqa: E402
from pyevents import QueryOptions  # noqa: E402
from pyevents.backends.postgres.async_store import AsyncPostgresEventStore  # noqa: E402
from pyevents.backends.postgres.store import PostgresEventStore  # noqa: E402

PAGE = 1000


def sync_appends(dsn: str, callers: int, seconds: float, seed: int) -> float:
    store = PostgresEventStore(dsn, pool_size=callers)
    pools = [EventPool(EventFactory(seed + caller), caller, 2000) for caller in range(callers)]
    counts = [0] * callers
    stop = time.perf_counter() + seconds

    def caller(number: int) -> None:
        while time.perf_counter() < stop:
            store.append(pools[number].take())
            counts[number] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=caller, args=(n,)) for n in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    store.close()
    return sum(counts) / elapsed


async def async_appends(dsn: str, callers: int, seconds: float, seed: int) -> float:
    store = AsyncPostgresEventStore(dsn, pool_size=callers)
    pools = [EventPool(EventFactory(seed + caller), callers + caller, 2000) for caller in range(callers)]
    counts = [0] * callers
    stop = time.perf_counter() + seconds

    async def caller(number: int) -> None:
        while time.perf_counter() < stop:
            await store.append(pools[number].take())
            counts[number] += 1

    started = time.perf_counter()
    await asyncio.gather(*(caller(n) for n in range(callers)))
    elapsed = time.perf_counter() - started
    await store.close()
    return sum(counts) / elapsed


def sync_catch_up(dsn: str) -> float:
    store = PostgresEventStore(dsn, pool_size=1)
    started, after, read = time.perf_counter(), 0, 0
    while events := store.get_events(QueryOptions(after_position=after, limit=PAGE)).events:
        for event in events:
            event.payload, event.metadata  # noqa: B018 (decoded on first access)
        read, after = read + len(events), events[-1].position
    rate = read / (time.perf_counter() - started)
    store.close()
    return rate


async def async_catch_up(dsn: str) -> float:
    store = AsyncPostgresEventStore(dsn, pool_size=1)
    started, after, read = time.perf_counter(), 0, 0
    while events := (await store.get_events(QueryOptions(after_position=after, limit=PAGE))).events:
        for event in events:
            event.payload, event.metadata  # noqa: B018
        read, after = read + len(events), events[-1].position
    rate = read / (time.perf_counter() - started)
    await store.close()
    return rate


def fill(dsn: str, events: int, seed: int) -> None:
    store = PostgresEventStore(dsn, pool_size=1)
    pool = EventPool(EventFactory(seed), 99, events)
    for _ in range(events // PAGE):
        store.append_batch(pool.batch(PAGE))
    store.close()


def on_a_loop(measure: Callable[..., Coroutine[Any, Any, float]], *args: Any) -> float:
    return asyncio.run(measure(*args))


def side_by_side(runs: int, blocking: Callable[[], float], awaited: Callable[[], float]) -> tuple[float, float]:
    """Medians of both, run alternately so that both clients see the same machine."""
    pairs = [(blocking(), awaited()) for _ in range(runs)]
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000, help="events in the log read back by catch-up")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each append run")
    parser.add_argument("--callers", type=int, default=8, help="concurrent callers of the second append case")
    parser.add_argument("--runs", type=int, default=3, help="runs of each case; the median is printed")
    parser.add_argument("--dsn", help="superuser DSN of a cluster to use (default: a throwaway one)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    cluster = BenchCluster(args.dsn) if args.dsn else BenchCluster.start()
    try:
        dsn = cluster.new_pyevents_database("bench_async")
        rows = []
        for callers in sorted({1, args.callers}):
            blocking, awaited = side_by_side(
                args.runs,
                partial(sync_appends, dsn, callers, args.seconds, args.seed),
                partial(on_a_loop, async_appends, dsn, callers, args.seconds, args.seed),
            )
            rows.append((f"single appends, {callers} caller(s)", blocking, awaited))
        log = cluster.new_pyevents_database("bench_async_log")
        fill(log, args.events, args.seed)
        reads = (partial(sync_catch_up, log), partial(on_a_loop, async_catch_up, log))
        blocking, awaited = side_by_side(args.runs, *reads)
        rows.append((f"catch-up of {args.events:,} events, pages of {PAGE}, decoded", blocking, awaited))
    finally:
        cluster.close()
    print(f"median of {args.runs} runs; callers are threads (blocking) or tasks on one event loop (asyncio)")
    print("| case | blocking events/s | asyncio events/s | asyncio / blocking |")
    print("|---|---:|---:|---:|")
    for case, blocking, awaited in rows:
        print(f"| {case} | {blocking:,.0f} | {awaited:,.0f} | {awaited / blocking:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
