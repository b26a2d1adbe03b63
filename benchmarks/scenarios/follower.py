"""Scenario 4: live follower latency with writers appending beside it."""

from __future__ import annotations

import threading
import time

from benchmarks.clients import percentile
from benchmarks.context import APPEND_TARGETS, S4, RunContext, dsn_name
from benchmarks.report import PYEVENTS, RAW, Measurement
from pyevents.backends.postgres.store import PostgresEventStore
from pyevents.model import QueryOptions, StreamOptions


def run(ctx: RunContext) -> None:
    """Scenario 4: one follower (`stream_events`, LISTEN/NOTIFY wake-ups) while N writer
    processes append single events; latency = delivery time - the event's recorded_at
    (its transaction's start), so it includes the writer's own commit. Writers' rate with
    the follower attached is put beside raw single-row INSERTs measured right after."""
    clients = ctx.scale.clients
    case = f"{clients} writers, 1 follower"
    ctx.say(f"{S4}: {case}")
    dsn = ctx.database(PYEVENTS, "follow")
    store = PostgresEventStore(dsn, pool_size=2, application_name="pyevents-bench-follower")
    stream = store.stream_events(StreamOptions(poll_interval=0.05, batch_size=1000))
    latencies: list[float] = []

    def follow() -> None:
        for event in stream:
            latencies.append(time.time() - event.recorded_at.timestamp())

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    result = ctx.measure(PYEVENTS, APPEND_TARGETS[PYEVENTS], dsn, {"batch": 1}, clients)
    head = store.get_events(QueryOptions(order_direction="desc", limit=1)).events
    deadline = time.monotonic() + 30
    while head and len(latencies) < head[0].position and time.monotonic() < deadline:
        time.sleep(0.05)
    stream.close()
    follower.join(timeout=10)
    store.close()
    ctx.record_rate(S4, case, PYEVENTS, result)
    raw_dsn = ctx.database(RAW, "follow")
    ctx.record_rate(S4, case, RAW, ctx.measure(RAW, APPEND_TARGETS[RAW], raw_dsn, {"batch": 1}, clients))
    for q in (50, 99):
        value = 1000 * percentile(latencies, q) if latencies else float("nan")
        detail = f"{len(latencies):,} events delivered; reconnects {stream.reconnects}" if q == 50 else ""
        ctx.report.add(Measurement(S4, case, PYEVENTS, f"latency p{q} ms", value, False, detail))
    p50, p99 = (1000 * percentile(latencies, q) for q in (50, 99))
    ctx.say(f"  follower latency p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    for name in (dsn_name(dsn), dsn_name(raw_dsn)):
        ctx.cluster.drop_database(name)
