"""The scenarios of the benchmark, each run for pyevents, the raw SQL baseline and the peers,
back to back on the same cluster, every system in a database of its own made fresh for the case.

1. single-event appends, 1 and N client processes      5. DCB conditional appends, disjoint and
2. batch appends of 100 and 1000                          overlapping tags, on an empty store and
3. queries and catch-up reading on a big store            on the big store
4. live follower latency (seam: skipped until streaming)  6. file backend (benchmarks/file_backend.py)
7. bytes per event (and compression / index variants)
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from pyevents.backends.postgres.store import EVENT_COLUMNS, PostgresEventStore
from pyevents.bench import bigstore, peers, profile, raw
from pyevents.bench.clients import RunResult, TargetSpec, percentile, run_clients
from pyevents.bench.cluster import BenchCluster
from pyevents.bench.data import EventFactory, EventPool, event_bytes, payload_bytes
from pyevents.bench.report import PYEVENTS, RAW, Goal, Measurement, Report
from pyevents.bench.targets import run_id
from pyevents.model import QueryOptions, StreamOptions

ES = peers.EVENTSOURCING
MDB = peers.MESSAGE_DB
S1 = "1. single-event append"
S2 = "2. batch append"
S3 = "3. queries (big store)"
S3C = "3. catch-up read"
S4 = "4. live follower latency"
S5 = "5. DCB conditional append"
S7 = "7. bytes per event"


@dataclass(frozen=True)
class Scale:
    name: str
    duration: float  # measured seconds per run
    warmup: float
    clients: int  # the multi-client count
    big_events: int
    query_iterations: int
    catchup_seconds: float  # cap on one catch-up read
    page_size: int
    variant_sample: int


SCALES = {
    "smoke": Scale("smoke", 0.5, 0.2, 2, 20_000, 10, 2.0, 1_000, 5_000),
    "full": Scale("full", 10.0, 2.0, 8, 5_000_000, 300, 120.0, 10_000, 200_000),
}


class Progress:
    def __init__(self, sink: Callable[[str], None] | None = None) -> None:
        self.sink = sink or (lambda message: print(message, file=sys.stderr, flush=True))
        self.started = time.perf_counter()

    def __call__(self, message: str) -> None:
        self.sink(f"[{time.perf_counter() - self.started:7.1f}s] {message}")


class WaitSampler:
    """Samples pg_stat_activity while a run goes: what the active backends of one application
    wait on (lock waits, WAL flushes, CPU = no wait event)."""

    def __init__(self, dsn: str, application_name: str, interval: float = 0.02) -> None:
        self.dsn = dsn
        self.application_name = application_name
        self.interval = interval
        self.counts: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WaitSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                while not self._stop.is_set():
                    for wait_type, wait_event in conn.execute(
                        "SELECT wait_event_type, wait_event FROM pg_stat_activity"
                        " WHERE application_name = %s AND state = 'active'",
                        (self.application_name,),
                    ):
                        key = "CPU (no wait event)" if wait_type is None else f"{wait_type}:{wait_event}"
                        self.counts[key] += 1
                    time.sleep(self.interval)
        except psycopg.Error:
            return

    def summary(self, top: int = 5) -> str:
        total = sum(self.counts.values())
        if not total:
            return "no samples"
        return ", ".join(f"{key} {100 * n / total:.0f}%" for key, n in self.counts.most_common(top))


APPEND_TARGETS = {
    PYEVENTS: "pyevents.bench.targets:PyeventsAppend",
    RAW: "pyevents.bench.raw:RawAppend",
    ES: "pyevents.bench.peers:EventsourcingAppend",
    MDB: "pyevents.bench.peers:MessageDbAppend",
}
CONDITIONAL_TARGETS = {
    PYEVENTS: "pyevents.bench.targets:PyeventsConditional",
    RAW: "pyevents.bench.raw:RawConditional",
    ES: "pyevents.bench.peers:EventsourcingConditional",
    MDB: "pyevents.bench.peers:MessageDbConditional",
}
APPLICATION_NAMES = {PYEVENTS: "pyevents-bench", RAW: "raw-bench", MDB: "message-db-bench"}


class Runner:
    """Runs every scenario of a scale on one cluster and fills a Report."""

    def __init__(
        self,
        cluster: BenchCluster,
        scale: Scale,
        report: Report,
        *,
        seed: int = 42,
        progress: Progress | None = None,
        install_peers: bool = True,
        big_events: int | None = None,
    ) -> None:
        self.cluster = cluster
        self.scale = scale
        self.report = report
        self.seed = seed
        self.say = progress or Progress()
        self.install_peers = install_peers
        self.big_events = big_events or scale.big_events
        self.systems: list[str] = [PYEVENTS, RAW]
        self.dcb_systems: list[str] = [PYEVENTS, RAW]
        self.templates: dict[str, str] = {}
        self.mdb_dir: Path | None = None
        self.kept: dict[str, str] = {}  # system -> database of the batch-1000 run
        self.waits: dict[str, str] = {}

    # -- set-up ------------------------------------------------------------------------------
    def setup_peers(self) -> None:
        self.say("peers: eventsourcing")
        es = peers.ensure_eventsourcing(self.install_peers)
        if es.available:
            try:
                dsn = self.cluster.create_database("bench_tpl_es")
                peers.create_eventsourcing_tables(dsn, es.dcb)
                self.templates[ES] = "bench_tpl_es"
                self.systems.append(ES)
                if es.dcb:
                    self.dcb_systems.append(ES)
                else:
                    self.report.notes.append(f"eventsourcing {es.version} has no DCB recorder: not in scenario 5")
            except Exception as exc:
                es = peers.PeerStatus(ES, False, es.version, reason=f"table creation failed: {exc}")
        if not es.available:
            self.report.unavailable[ES] = es.reason
        self.say("peers: message-db")
        if self.install_peers:
            mdb, self.mdb_dir = peers.ensure_message_db(self.cluster, "bench_tpl_mdb")
        else:
            mdb = peers.PeerStatus(MDB, False, reason="not installed (installing disabled)")
        if mdb.available:
            self.templates[MDB] = "bench_tpl_mdb"
            self.systems.append(MDB)
            self.dcb_systems.append(MDB)
        else:
            self.report.unavailable[MDB] = mdb.reason
        versions = [f"eventsourcing {es.version}" if es.available else "eventsourcing: unavailable"]
        versions.append(
            f"message-db {mdb.version} ({peers.MESSAGE_DB_PACKAGE})" if mdb.available else "message-db: unavailable"
        )
        self.report.conditions["peers"] = "; ".join(versions)

    def database(self, system: str, label: str) -> str:
        name = f"bench_{label}_{system.replace('-', '')}"
        if system in (PYEVENTS, RAW):
            dsn = self.cluster.new_pyevents_database(name)
            if system == RAW:
                raw.prepare_raw_database(dsn)
            return dsn
        return self.cluster.create_database(name, self.templates[system])

    def measure(self, system: str, factory: str, dsn: str, params: dict[str, Any], clients: int) -> RunResult | None:
        spec = TargetSpec(factory, dsn, {"seed": self.seed, **params})
        try:
            return run_clients(spec, clients, self.scale.warmup, self.scale.duration)
        except Exception as exc:
            last = str(exc).strip().splitlines()[-1:] or [repr(exc)]
            self.report.notes.append(f"{system} failed in a run ({factory}, {params}, {clients} clients): {last[0]}")
            self.say(f"  {system} FAILED: {last[0]}")
            return None

    def record_rate(self, scenario: str, case: str, system: str, result: RunResult | None, extra: str = "") -> None:
        if result is None:
            self.report.add(Measurement(scenario, case, system, "events/s", float("nan")))
            return
        detail = (
            f"{result.ops} ops in {result.duration:.1f}s; latency p50 {1000 * result.percentile(50):.2f} ms, "
            f"p99 {1000 * result.percentile(99):.2f} ms{extra}"
        )
        self.report.add(Measurement(scenario, case, system, "events/s", result.events_per_second, True, detail))
        self.say(f"  {scenario} / {case} / {system}: {result.events_per_second:,.0f} events/s")

    # -- 1 and 2 -----------------------------------------------------------------------------
    def appends(self) -> None:
        cases = [(S1, f"{n} client{'s' if n > 1 else ''}", 1, n) for n in sorted({1, self.scale.clients})]
        cases += [(S2, f"batch of {b}, 1 client", b, 1) for b in (100, 1000)]
        for scenario, case, batch, clients in cases:
            self.say(f"{scenario}: {case}")
            for system in self.systems:
                label = f"b{batch}c{clients}"
                dsn = self.database(system, label)
                sampler_app = APPLICATION_NAMES.get(system)
                if sampler_app and clients > 1:
                    with WaitSampler(self.cluster.dsn, sampler_app) as sampler:
                        result = self.measure(system, APPEND_TARGETS[system], dsn, {"batch": batch}, clients)
                    self.waits[f"{scenario} / {case} / {system}"] = sampler.summary()
                else:
                    result = self.measure(system, APPEND_TARGETS[system], dsn, {"batch": batch}, clients)
                self.record_rate(scenario, case, system, result)
                if batch == 1000:
                    self.kept[system] = dsn
                else:
                    self.cluster.drop_database(dsn_name(dsn))

    # -- 3 -----------------------------------------------------------------------------------
    def big_store(self) -> tuple[str, bigstore.LoadInfo, EventFactory]:
        n = self.big_events
        self.say(f"big store: loading {n:,} events")
        dsn = self.cluster.new_pyevents_database("bench_big")
        factory = EventFactory(self.seed)
        info = bigstore.load(dsn, n, factory, progress=self.say)
        self.report.conditions["big store"] = (
            f"{n:,} events loaded in {info.seconds:.0f}s ({info.events_per_second:,.0f} events/s: COPY "
            f"{info.copy_seconds:.0f}s, side tables {info.side_tables_seconds:.0f}s, VACUUM ANALYZE "
            f"{info.vacuum_seconds:.0f}s); method: {info.method}"
        )
        return dsn, info, factory

    def queries(self, dsn: str, info: bigstore.LoadInfo, factory: EventFactory) -> None:
        self.say("queries")
        params = bigstore.query_parameters(factory, info, self.scale.query_iterations, self.seed)
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
                        self.report.notes.append(
                            f"{case}: pyevents returned {len(page.events)} rows, raw {len(result)}"
                        )
                for system, samples in ((PYEVENTS, mine), (RAW, theirs)):
                    for q in (50, 95, 99):
                        self.report.add(
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
                self.say(f"  {case}: p95 pyevents {p95_mine:.2f} ms, raw {p95_theirs:.2f} ms")
        finally:
            store.close()
            conn.close()

    def catch_up(self, case: str, readers: dict[str, Callable[[int, int], int]], limit: int) -> None:
        """Each reader(after, page) returns how many events it read; read up to `limit` events or
        the time cap, whichever comes first."""
        for system, reader in readers.items():
            pages: list[float] = []
            events = 0
            after = 0
            started = time.perf_counter()
            while events < limit and time.perf_counter() - started < self.scale.catchup_seconds:
                t0 = time.perf_counter()
                got = reader(after, self.scale.page_size)
                pages.append(time.perf_counter() - t0)
                if got == 0:
                    break
                events += got
                after += got
            elapsed = time.perf_counter() - started
            rate = events / elapsed if elapsed else float("nan")
            capped = " (time cap reached)" if events < limit and elapsed >= self.scale.catchup_seconds else ""
            self.report.add(
                Measurement(
                    S3C,
                    case,
                    system,
                    "events/s",
                    rate,
                    True,
                    f"{events:,} events in {elapsed:.1f}s{capped}, pages of {self.scale.page_size}: "
                    f"p50 {1000 * percentile(pages, 50):.1f} / p95 {1000 * percentile(pages, 95):.1f} / "
                    f"p99 {1000 * percentile(pages, 99):.1f} ms",
                )
            )
            for q in (50, 95, 99):
                self.report.add(Measurement(S3C, case, system, f"page p{q} ms", 1000 * percentile(pages, q), False))
            self.say(f"  catch-up {case} / {system}: {rate:,.0f} events/s")

    def pyevents_reader(self, dsn: str) -> tuple[Callable[[int, int], int], Callable[[], None]]:
        store = PostgresEventStore(dsn, pool_size=1, application_name="pyevents-bench")
        state = {"after": 0}

        def read(_after: int, page: int) -> int:
            result = store.get_events(QueryOptions(after_position=state["after"], limit=page))
            if result.events:
                state["after"] = result.events[-1].position
            return len(result.events)

        return read, store.close

    def raw_reader(self, dsn: str) -> tuple[Callable[[int, int], int], Callable[[], None]]:
        conn = psycopg.connect(dsn, autocommit=True, application_name="raw-bench")
        state = {"after": 0}
        sql = f"SELECT {EVENT_COLUMNS} FROM pyevents.events WHERE position > %s ORDER BY position LIMIT %s"

        def read(_after: int, page: int) -> int:
            rows = conn.execute(sql, (state["after"], page)).fetchall()
            if rows:
                state["after"] = rows[-1][0]
            return len(rows)

        return read, conn.close

    def es_reader(self, dsn: str) -> tuple[Callable[[int, int], int], Callable[[], None]]:
        from eventsourcing.postgres import PostgresApplicationRecorder

        datastore = peers._datastore(dsn)
        recorder = PostgresApplicationRecorder(datastore)
        state = {"after": 0}

        def read(_after: int, page: int) -> int:
            notes = recorder.select_notifications(state["after"], page, inclusive_of_start=False)
            if notes:
                state["after"] = notes[-1].id
            return len(notes)

        return read, datastore.close

    def mdb_reader(self, dsn: str) -> tuple[Callable[[int, int], int], Callable[[], None]]:
        conn = psycopg.connect(peers.message_db_dsn(dsn), autocommit=True, application_name="message-db-bench")
        state = {"position": 1}

        def read(_after: int, page: int) -> int:
            rows = conn.execute(
                "SELECT global_position, id, stream_name, type, position, data, metadata, time"
                " FROM message_store.get_category_messages('order', %s, %s)",
                (state["position"], page),
            ).fetchall()
            if rows:
                state["position"] = rows[-1][0] + 1
            return len(rows)

        return read, conn.close

    def catch_up_small(self) -> None:
        """Like for like with the peers: each system reads back the log its batch-1000 run wrote."""
        counts = {system: count_rows(system, dsn) for system, dsn in self.kept.items()}
        usable = {s: c for s, c in counts.items() if c > 0}
        if not usable:
            return
        limit = min(usable.values())
        case = f"{limit:,} events, batch-append stores"
        self.say(f"catch-up: {case}")
        makers = {PYEVENTS: self.pyevents_reader, RAW: self.raw_reader, ES: self.es_reader, MDB: self.mdb_reader}
        readers: dict[str, Callable[[int, int], int]] = {}
        closers: list[Callable[[], None]] = []
        for system in usable:
            reader, closer = makers[system](self.kept[system])
            readers[system] = reader
            closers.append(closer)
        try:
            self.catch_up(case, readers, limit)
        finally:
            for closer in closers:
                closer()

    def catch_up_big(self, dsn: str, events: int) -> None:
        case = f"whole log of {events:,} events"
        self.say(f"catch-up: {case}")
        mine, close_mine = self.pyevents_reader(dsn)
        theirs, close_theirs = self.raw_reader(dsn)
        try:
            self.catch_up(case, {PYEVENTS: mine, RAW: theirs}, events)
        finally:
            close_mine()
            close_theirs()

    # -- 5 -----------------------------------------------------------------------------------
    def conditional(self, label: str, big_dsn: str | None) -> None:
        systems = self.dcb_systems if big_dsn is None else [PYEVENTS, RAW]
        runs = [("disjoint", 1), ("disjoint", self.scale.clients), ("overlapping", self.scale.clients)]
        for mode, clients in runs:
            case = f"{mode} tags, {clients} client{'s' if clients > 1 else ''}, {label}"
            self.say(f"{S5}: {case}")
            for system in systems:
                dsn = big_dsn or self.database(system, f"dcb{mode[:4]}")
                params = {"mode": "disjoint" if mode == "disjoint" else "overlap", "run": run_id()}
                app = APPLICATION_NAMES.get(system)
                if app:
                    with WaitSampler(self.cluster.dsn, app) as sampler:
                        result = self.measure(system, CONDITIONAL_TARGETS[system], dsn, params, clients)
                    self.waits[f"{S5} / {case} / {system}"] = sampler.summary()
                else:
                    result = self.measure(system, CONDITIONAL_TARGETS[system], dsn, params, clients)
                extra = "" if result is None else f"; {result.conflicts} refused (conflicts) in the window"
                self.record_rate(S5, case, system, result, extra)
                if big_dsn is None:
                    self.cluster.drop_database(dsn_name(dsn))

    # -- 7 -----------------------------------------------------------------------------------
    def sizes(self, big_dsn: str | None, events: int) -> None:
        self.say("bytes per event")
        for system, dsn in self.kept.items():
            n = count_rows(system, dsn)
            if n:
                size = total_bytes(system, dsn)
                self.report.add(
                    Measurement(
                        S7,
                        "store left by the batch-1000 run",
                        system,
                        "bytes/event",
                        size / n,
                        False,
                        f"{n:,} events; heap, TOAST and every index of the system's tables",
                    )
                )
        if big_dsn is None:
            return
        sizes = bigstore.relation_sizes(big_dsn)
        total = sum(sizes.values())
        case = f"big store ({events:,} events)"
        self.report.add(Measurement(S7, case, PYEVENTS, "bytes/event", total / events, False))
        self.report.add(Measurement(S7, case, PYEVENTS, "MB per 1,000 events", total / events * 1000 / 1e6, False))
        lines = ["Bytes per event of each part of the big store (pyevents layout as shipped):", ""]
        lines += ["| part | bytes/event |", "|---|---:|"]
        lines += [f"| {part} | {size / events:.0f} |" for part, size in sizes.items()]
        lines.append(f"| **total** | **{total / events:.0f}** |")
        sample = min(events, self.scale.variant_sample)
        variants = bigstore.storage_variants(big_dsn, sample)
        if variants:
            lines += [
                "",
                f"Variants measured on a copy of the first {sample:,} events (pyevents itself unchanged):",
                "",
            ]
            lines += ["| variant | bytes/event | what |", "|---|---:|---|"]
            lines += [f"| {v.name} | {v.bytes_per_event:.0f} | {v.detail} |" for v in variants]
            by_name = {v.name: v.bytes_per_event for v in variants}
            heap_now = sizes.get("events heap + TOAST", 0) / events
            best_heap = min((by_name.get(k, math.inf) for k in ("heap_lz4_128", "heap_pglz_128")), default=math.inf)
            if math.isfinite(best_heap) and "heap_default" in by_name:
                ts_idx = sizes.get("events index events_timestamp_idx", 0) / events
                brin = by_name.get("sample_ts_brin", 0.0)
                estimate = total / events - heap_now + heap_now * best_heap / by_name["heap_default"] - ts_idx + brin
                lines += [
                    "",
                    f"Estimate with the best compression above and a BRIN instead of events_timestamp_idx: "
                    f"**{estimate:.0f} bytes/event, i.e. {estimate * 1000 / 1e6:.2f} MB per 1,000 events** "
                    "(composed from the measured parts; the target is < 1 MB per 1,000 events).",
                ]
                self.report.add(
                    Measurement(
                        S7,
                        case + ", estimate: compressed + BRIN",
                        PYEVENTS,
                        "bytes/event",
                        estimate,
                        False,
                        "composed from measured parts, see the size section",
                    )
                )
        self.report.sections["Storage breakdown"] = lines

    # -- 4 and 6 -----------------------------------------------------------------------------
    def live_follower(self) -> None:
        """Scenario 4: one follower (`stream_events`, LISTEN/NOTIFY wake-ups) while N writer
        processes append single events; latency = delivery time - the event's recorded_at
        (its transaction's start), so it includes the writer's own commit. Writers' rate with
        the follower attached is put beside raw single-row INSERTs measured right after."""
        clients = self.scale.clients
        case = f"{clients} writers, 1 follower"
        self.say(f"{S4}: {case}")
        dsn = self.database(PYEVENTS, "follow")
        store = PostgresEventStore(dsn, pool_size=2, application_name="pyevents-bench-follower")
        stream = store.stream_events(StreamOptions(poll_interval=0.05, batch_size=1000))
        latencies: list[float] = []

        def follow() -> None:
            for event in stream:
                latencies.append(time.time() - event.recorded_at.timestamp())

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        result = self.measure(PYEVENTS, APPEND_TARGETS[PYEVENTS], dsn, {"batch": 1}, clients)
        head = store.get_events(QueryOptions(order_direction="desc", limit=1)).events
        deadline = time.monotonic() + 30
        while head and len(latencies) < head[0].position and time.monotonic() < deadline:
            time.sleep(0.05)
        stream.close()
        follower.join(timeout=10)
        store.close()
        self.record_rate(S4, case, PYEVENTS, result)
        raw_dsn = self.database(RAW, "follow")
        self.record_rate(S4, case, RAW, self.measure(RAW, APPEND_TARGETS[RAW], raw_dsn, {"batch": 1}, clients))
        for q in (50, 99):
            value = 1000 * percentile(latencies, q) if latencies else float("nan")
            detail = f"{len(latencies):,} events delivered; reconnects {stream.reconnects}" if q == 50 else ""
            self.report.add(Measurement(S4, case, PYEVENTS, f"latency p{q} ms", value, False, detail))
        p50, p99 = (1000 * percentile(latencies, q) for q in (50, 99))
        self.say(f"  follower latency p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        for name in (dsn_name(dsn), dsn_name(raw_dsn)):
            self.cluster.drop_database(name)

    def file_backend(self) -> None:
        script = Path(__file__).resolve().parents[2] / "benchmarks" / "file_backend.py"
        title = "6. file backend"
        if not script.is_file():
            self.report.skipped[title] = "benchmarks/file_backend.py is not there yet"
            return
        self.say(title)
        args = ["--events", "5000", "--single", "100"] if self.scale.name == "smoke" else ["--events", "200000"]
        try:
            completed = subprocess.run(
                [sys.executable, str(script), *args],
                capture_output=True,
                text=True,
                timeout=1200,
                env={**os.environ, "PYTHONPATH": str(script.parents[1])},
            )
        except subprocess.TimeoutExpired:
            self.report.skipped[title] = "benchmarks/file_backend.py did not finish within 20 minutes"
            return
        if completed.returncode != 0:
            self.report.skipped[title] = f"benchmarks/file_backend.py failed: {completed.stderr.strip()[-500:]}"
            return
        self.report.sections[title] = [
            f"Output of `python benchmarks/file_backend.py {' '.join(args)}` (its own event shape; not a ratio):",
            "",
            "```",
            completed.stdout.strip(),
            "```",
        ]

    # -- all ---------------------------------------------------------------------------------
    def run(self, *, only: set[str] | None = None) -> Report:
        def want(name: str) -> bool:
            return only is None or name in only

        sample = EventPool(EventFactory(self.seed), 0, 500)
        sizes = [event_bytes(sample.take()) for _ in range(500)]
        payloads = [payload_bytes(sample.take()) for _ in range(500)]
        self.report.conditions["event"] = (
            f"payload {min(payloads)}-{max(payloads)} bytes (mean {sum(payloads) / len(payloads):.0f}) of nested JSON, "
            f"payload + metadata {sum(sizes) / len(sizes):.0f} bytes mean; metadata has 3 tags "
            "(tenant, order, region), trace id, client; 16 event types, 10,000 actors, 100 tenants, "
            "5 events per correlation; seed " + str(self.seed)
        )
        self.report.conditions["clients"] = (
            f"1 and {self.scale.clients} processes for single appends and {self.scale.clients} for DCB "
            "(multiprocessing, spawn, one connection each); 1 for batches, queries and catch-up"
        )
        self.report.conditions["durations"] = (
            f"{self.scale.warmup:g}s warm-up + {self.scale.duration:g}s measured per run; "
            f"{self.scale.query_iterations} queries per query case; catch-up capped at {self.scale.catchup_seconds:g}s"
        )
        if want("peers"):
            self.setup_peers()
        else:
            self.report.unavailable[ES] = "peers disabled for this run (--no-peers)"
            self.report.unavailable[MDB] = "peers disabled for this run (--no-peers)"
        if want("append"):
            self.appends()
            self.catch_up_small()
        if want("dcb"):
            self.conditional("empty store", None)
        big_dsn: str | None = None
        events = 0
        if want("big"):
            big_dsn, info, factory = self.big_store()
            events = info.events
            self.queries(big_dsn, info, factory)
            self.catch_up_big(big_dsn, info.events)
        if want("follow"):
            self.live_follower()
        if want("size"):
            self.sizes(big_dsn, events)
        if big_dsn is not None and want("dcb"):
            self.conditional(f"store of {events:,} events", big_dsn)
        if want("profile"):
            self.say("profile")
            self.report.sections["Profile (where pyevents spends its time)"] = profile.profile(
                self.cluster, big_dsn, self.seed, self.waits
            )
        self.file_backend()
        self.goals()
        return self.report

    def goals(self) -> None:
        r = self.report
        n = self.scale.clients

        def ratio_goal(scenario: str, case: str, target: float, other: str, text: str) -> None:
            value = r.ratio(scenario, case, "events/s", other)
            r.goals.append(
                Goal(
                    scenario,
                    case,
                    "events/s",
                    f"{text}: {'—' if value is None else f'{value:.2f}x'}",
                    None if value is None else value >= target,
                )
            )

        ratio_goal(S1, f"{n} clients", 0.8, RAW, "≥ 0.8x raw INSERT")
        ratio_goal(S2, "batch of 1000, 1 client", 0.8, RAW, "≥ 0.8x raw COPY")
        for scenario, case, _metric in r.rows():
            if scenario == S3 and _metric == "p95 ms":
                value = r.value(scenario, case, PYEVENTS, "p95 ms")
                r.goals.append(
                    Goal(
                        scenario,
                        case,
                        "p95 ms",
                        f"p95 ≤ 5 ms: {value:.2f} ms" if value is not None else "p95 ≤ 5 ms: —",
                        None if value is None else value <= 5.0,
                    )
                )
            if scenario == S3C and _metric == "events/s" and case.startswith("whole log"):
                value = r.value(scenario, case, PYEVENTS, "events/s")
                r.goals.append(
                    Goal(
                        scenario,
                        case,
                        "events/s",
                        f"≥ 250,000 events/s: {value:,.0f}" if value else "—",
                        None if value is None else value >= 250_000,
                    )
                )
        follow_case = f"{n} writers, 1 follower"
        p99 = r.value(S4, follow_case, PYEVENTS, "latency p99 ms")
        if p99 is not None:
            r.goals.append(Goal(S4, follow_case, "latency p99 ms", f"p99 ≤ 50 ms: {p99:.1f} ms", p99 <= 50))
            ratio_goal(S4, follow_case, 0.8, RAW, "writers ≥ 0.8x raw INSERT with the follower attached")
        empty = r.value(S5, f"disjoint tags, {n} clients, empty store", PYEVENTS, "events/s")
        if empty is not None:
            r.goals.append(
                Goal(
                    S5,
                    f"disjoint tags, {n} clients, empty store",
                    "events/s",
                    f"≥ 5,000/s: {empty:,.0f}/s",
                    empty >= 5000,
                )
            )
        for scenario, case, metric in r.rows():
            if scenario == S5 and case.startswith("disjoint") and "store of" in case and metric == "events/s":
                big = r.value(scenario, case, PYEVENTS, metric)
                same_clients_empty = r.value(S5, case.rsplit(", ", 1)[0] + ", empty store", PYEVENTS, metric)
                if big is not None and same_clients_empty:
                    slower = same_clients_empty / big
                    r.goals.append(
                        Goal(
                            S5,
                            case,
                            metric,
                            f"within 1.5x of the empty-store rate: {slower:.2f}x slower",
                            slower <= 1.5,
                        )
                    )
        for peer in (ES, MDB):
            if peer in r.unavailable:
                r.goals.append(Goal("ahead of every peer", peer, "", f"not measured: {r.unavailable[peer]}", None))
                continue
            ratios = [(s, c, r.ratio(s, c, m, peer)) for s, c, m in r.rows()]
            known = [(s, c, x) for s, c, x in ratios if x is not None]
            behind = [f"{s} / {c} ({x:.2f}x)" for s, c, x in known if x < 1.0]
            r.goals.append(
                Goal(
                    "ahead of every peer",
                    peer,
                    "",
                    f"behind in {len(behind)} of {len(known)} cases" + (": " + "; ".join(behind) if behind else ""),
                    None if not known else not behind,
                )
            )


def dsn_name(dsn: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(dsn).get("dbname"))


def count_rows(system: str, dsn: str) -> int:
    table = {
        PYEVENTS: "pyevents.events",
        RAW: "pyevents.events",
        ES: "public.stored_events",
        MDB: "message_store.messages",
    }
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table[system]}").fetchone()
    return int(row[0]) if row else 0


def total_bytes(system: str, dsn: str) -> int:
    """Every relation of the system's schema (heap, TOAST, indexes, partitions, side tables)."""
    schema = {PYEVENTS: "pyevents", RAW: "pyevents", ES: "public", MDB: "message_store"}[system]
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(pg_table_size(c.oid) + pg_indexes_size(c.oid)), 0) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN ('r', 'm')",
            (schema,),
        ).fetchone()
    return int(row[0]) if row else 0
