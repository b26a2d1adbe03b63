"""Scenario 3, catch-up: reading the whole log page by page, for every system, twice: as each
system hands its events over (undecoded: pyevents decodes payload and metadata on first
access, eventsourcing returns the state as bytes, message-db its data and metadata as text),
and decoded (every event's payload and metadata as Python objects, on every side)."""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson
import psycopg
from psycopg.types.string import TextLoader

from benchmarks import peers
from benchmarks.clients import percentile
from benchmarks.context import ES, MDB, S3C, BigStore, RunContext, count_rows
from benchmarks.report import PYEVENTS, RAW, Measurement
from pyevents.backends.postgres.store import EVENT_COLUMNS, PostgresEventStore
from pyevents.model import QueryOptions


def _read_all(ctx: RunContext, case: str, readers: dict[str, Callable[[int, int], int]], limit: int) -> None:
    """Each reader(after, page) returns how many events it read; read up to `limit` events or
    the time cap, whichever comes first."""
    for system, reader in readers.items():
        pages: list[float] = []
        events = 0
        after = 0
        started = time.perf_counter()
        while events < limit and time.perf_counter() - started < ctx.scale.catchup_seconds:
            t0 = time.perf_counter()
            got = reader(after, ctx.scale.page_size)
            pages.append(time.perf_counter() - t0)
            if got == 0:
                break
            events += got
            after += got
        elapsed = time.perf_counter() - started
        rate = events / elapsed if elapsed else float("nan")
        capped = " (time cap reached)" if events < limit and elapsed >= ctx.scale.catchup_seconds else ""
        ctx.report.add(
            Measurement(
                S3C,
                case,
                system,
                "events/s",
                rate,
                True,
                f"{events:,} events in {elapsed:.1f}s{capped}, pages of {ctx.scale.page_size}: "
                f"p50 {1000 * percentile(pages, 50):.1f} / p95 {1000 * percentile(pages, 95):.1f} / "
                f"p99 {1000 * percentile(pages, 99):.1f} ms",
            )
        )
        for q in (50, 95, 99):
            ctx.report.add(Measurement(S3C, case, system, f"page p{q} ms", 1000 * percentile(pages, q), False))
        ctx.say(f"  catch-up {case} / {system}: {rate:,.0f} events/s")


Reader = tuple[Callable[[int, int], int], Callable[[], None]]
UNDECODED = "undecoded"
DECODED = "decoded"


def _pyevents_reader(dsn: str, decode: bool) -> Reader:
    store = PostgresEventStore(dsn, pool_size=1, application_name="pyevents-bench")
    state = {"after": 0}

    def read(_after: int, page: int) -> int:
        result = store.get_events(QueryOptions(after_position=state["after"], limit=page))
        if decode:
            for event in result.events:
                event.payload, event.metadata  # noqa: B018 (decoded on first access)
        if result.events:
            state["after"] = result.events[-1].position
        return len(result.events)

    return read, store.close


def _raw_reader(dsn: str, decode: bool) -> Reader:
    conn = psycopg.connect(dsn, autocommit=True, application_name="raw-bench")
    conn.adapters.register_loader("jsonb", TextLoader)  # decoded below, by the same decoder as pyevents
    state = {"after": 0}
    sql = f"SELECT {EVENT_COLUMNS} FROM pyevents.events WHERE position > %s ORDER BY position LIMIT %s"
    payload, metadata = (EVENT_COLUMNS.split(", ").index(name) for name in ("payload", "metadata"))

    def read(_after: int, page: int) -> int:
        rows = conn.execute(sql, (state["after"], page)).fetchall()
        if decode:  # the page's documents kept until the page is done, as pyevents' events keep theirs
            decoded = [(orjson.loads(row[payload]), orjson.loads(row[metadata])) for row in rows]
            del decoded
        if rows:
            state["after"] = rows[-1][0]
        return len(rows)

    return read, conn.close


def _es_reader(dsn: str, decode: bool) -> Reader:
    from eventsourcing.postgres import PostgresApplicationRecorder

    datastore = peers._datastore(dsn)
    recorder = PostgresApplicationRecorder(datastore)
    state = {"after": 0}

    def read(_after: int, page: int) -> int:
        notes = recorder.select_notifications(state["after"], page, inclusive_of_start=False)
        if decode:  # one document per event: payload, metadata and the rest; kept for the page
            decoded = [orjson.loads(note.state) for note in notes]
            del decoded
        if notes:
            state["after"] = notes[-1].id
        return len(notes)

    return read, datastore.close


def _mdb_reader(dsn: str, decode: bool) -> Reader:
    conn = psycopg.connect(peers.message_db_dsn(dsn), autocommit=True, application_name="message-db-bench")
    state = {"position": 1}

    def read(_after: int, page: int) -> int:
        rows = conn.execute(
            "SELECT global_position, id, stream_name, type, position, data, metadata, time"
            " FROM message_store.get_category_messages('order', %s, %s)",
            (state["position"], page),
        ).fetchall()
        if decode:  # kept for the page, like the others
            decoded = [(orjson.loads(row[5]), orjson.loads(row[6])) for row in rows]
            del decoded
        if rows:
            state["position"] = rows[-1][0] + 1
        return len(rows)

    return read, conn.close


def run_small(ctx: RunContext) -> None:
    """Like for like with the peers: each system reads back the log its batch-1000 run wrote."""
    counts = {system: count_rows(system, dsn) for system, dsn in ctx.kept.items()}
    usable = {s: c for s, c in counts.items() if c > 0}
    if not usable:
        return
    limit = min(usable.values())
    makers = {PYEVENTS: _pyevents_reader, RAW: _raw_reader, ES: _es_reader, MDB: _mdb_reader}
    for form in (UNDECODED, DECODED):
        case = f"batch-append stores, {form}"  # the count read (the smallest store's) is in the details
        ctx.say(f"catch-up: {case}")
        readers: dict[str, Callable[[int, int], int]] = {}
        closers: list[Callable[[], None]] = []
        for system in usable:
            reader, closer = makers[system](ctx.kept[system], form == DECODED)
            readers[system] = reader
            closers.append(closer)
        try:
            _read_all(ctx, case, readers, limit)
        finally:
            for closer in closers:
                closer()


def run_big(ctx: RunContext, big: BigStore) -> None:
    events = big.info.events
    for form in (UNDECODED, DECODED):
        case = f"whole log of {events:,} events, {form}"
        ctx.say(f"catch-up: {case}")
        mine, close_mine = _pyevents_reader(big.dsn, form == DECODED)
        theirs, close_theirs = _raw_reader(big.dsn, form == DECODED)
        try:
            _read_all(ctx, case, {PYEVENTS: mine, RAW: theirs}, events)
        finally:
            close_mine()
            close_theirs()
