"""Scenario 3: the big store, loaded once, and queries on it beside the same SQL by hand."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg

from benchmarks import bigstore
from benchmarks.clients import percentile
from benchmarks.context import S3, BigStore, RunContext
from benchmarks.data import EventFactory
from benchmarks.report import PYEVENTS, RAW, Measurement
from pyevents.backends.postgres.store import EVENT_COLUMNS, PostgresEventStore
from pyevents.model import QueryOptions


def load_big_store(ctx: RunContext) -> BigStore:
    n = ctx.big_events
    ctx.say(f"big store: loading {n:,} events")
    dsn = ctx.cluster.new_pyevents_database("bench_big")
    factory = EventFactory(ctx.seed)
    info = bigstore.load(dsn, n, factory, progress=ctx.say)
    ctx.report.conditions["big store"] = (
        f"{n:,} events loaded in {info.seconds:.0f}s ({info.events_per_second:,.0f} events/s: COPY "
        f"{info.copy_seconds:.0f}s, side tables {info.side_tables_seconds:.0f}s, VACUUM ANALYZE "
        f"{info.vacuum_seconds:.0f}s); method: {info.method}"
    )
    return BigStore(dsn, info, factory)


def run(ctx: RunContext, big: BigStore) -> None:
    dsn, info, factory = big.dsn, big.info, big.factory
    ctx.say("queries")
    params = bigstore.query_parameters(factory, info, ctx.scale.query_iterations, ctx.seed)
    store = PostgresEventStore(dsn, pool_size=1, application_name="pyevents-bench")
    conn = psycopg.connect(dsn, autocommit=True, application_name="raw-bench")
    cols = ", ".join(f"e.{c.strip()}" for c in EVENT_COLUMNS.split(","))
    cases: list[
        tuple[str, Callable[[dict[str, Any]], QueryOptions], str, Callable[[dict[str, Any]], tuple[Any, ...]]]
    ] = [
        (
            "page of 100 by type",
            lambda p: QueryOptions(event_type=p["event_type"], after_position=p["after"]),
            f"SELECT {cols} FROM pyevents.events e WHERE e.event_type = %s AND e.position > %s"
            " ORDER BY e.position LIMIT 101",
            lambda p: (p["event_type"], p["after"]),
        ),
        (
            "page of 100 by correlation",
            lambda p: QueryOptions(correlation_id=p["correlation_id"]),
            f"SELECT {cols} FROM pyevents.events e WHERE e.correlation_id = %s ORDER BY e.position LIMIT 101",
            lambda p: (p["correlation_id"],),
        ),
        (
            "page of 100 by actor in a time range",
            lambda p: QueryOptions(actor_id=p["actor_id"], since=p["since"], until=p["until"]),
            f"SELECT {cols} FROM pyevents.events e WHERE e.actor_id = %s AND e.timestamp >= %s AND e.timestamp < %s"
            " ORDER BY e.position LIMIT 101",
            lambda p: (p["actor_id"], p["since"], p["until"]),
        ),
        (
            "page of 100 by tag",
            lambda p: QueryOptions(tags=[p["tag"]], after_position=p["after"]),
            f"SELECT {cols} FROM pyevents.event_tags t JOIN pyevents.events e ON e.position = t.position"
            " AND e.timestamp = t.timestamp WHERE t.tag = %s AND t.position > %s ORDER BY t.position LIMIT 101",
            lambda p: (p["tag"], p["after"]),
        ),
        (
            "latest 100",
            lambda p: QueryOptions(order_direction="desc"),
            f"SELECT {cols} FROM pyevents.events e ORDER BY e.position DESC LIMIT 101",
            lambda p: (),
        ),
    ]
    try:
        for case, options, sql, args in cases:
            warm = max(2, len(params) // 10)
            for p in params[:warm]:
                store.get_events(options(p))
                conn.execute(sql, args(p)).fetchall()
            mine: list[float] = []
            theirs: list[float] = []
            rows = 0
            for p in params:
                t0 = time.perf_counter()
                page = store.get_events(options(p))
                t1 = time.perf_counter()
                result = conn.execute(sql, args(p)).fetchall()
                t2 = time.perf_counter()
                mine.append(t1 - t0)
                theirs.append(t2 - t1)
                rows += len(page.events)
                if len(page.events) != min(100, len(result)):
                    ctx.report.notes.append(f"{case}: pyevents returned {len(page.events)} rows, raw {len(result)}")
            for system, samples in ((PYEVENTS, mine), (RAW, theirs)):
                for q in (50, 95, 99):
                    ctx.report.add(
                        Measurement(
                            S3,
                            case,
                            system,
                            f"p{q} ms",
                            1000 * percentile(samples, q),
                            False,
                            f"{len(samples)} queries, {rows / len(params):.0f} rows/page on average"
                            if system == PYEVENTS and q == 95
                            else "",
                        )
                    )
            p95_mine, p95_theirs = 1000 * percentile(mine, 95), 1000 * percentile(theirs, 95)
            ctx.say(f"  {case}: p95 pyevents {p95_mine:.2f} ms, raw {p95_theirs:.2f} ms")
    finally:
        store.close()
        conn.close()
