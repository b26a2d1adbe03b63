"""The shared run context of the benchmark: scale, cluster, report, the systems measured, and
the helpers every scenario uses (a fresh database per system and case, client runs, rates).

Every scenario runs pyevents, the raw SQL baseline and the peers back to back on the same
cluster, every system in a database of its own made fresh for the case:

1. single-event appends, 1 and N client processes      5. DCB conditional appends, disjoint and
2. batch appends of 100 and 1000                          overlapping tags, on an empty store and
3. queries and catch-up reading on a big store            on the big store
4. live follower latency                                6. file backend (benchmarks/file_backend.py)
7. bytes per event (and compression / index variants)
"""

from __future__ import annotations

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

from benchmarks import bigstore, peers, raw
from benchmarks.clients import RunResult, TargetSpec, run_clients
from benchmarks.cluster import BenchCluster
from benchmarks.data import EventFactory
from benchmarks.report import PYEVENTS, RAW, Measurement, Report

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
    PYEVENTS: "benchmarks.targets:PyeventsAppend",
    RAW: "benchmarks.raw:RawAppend",
    ES: "benchmarks.peers:EventsourcingAppend",
    MDB: "benchmarks.peers:MessageDbAppend",
}
CONDITIONAL_TARGETS = {
    PYEVENTS: "benchmarks.targets:PyeventsConditional",
    RAW: "benchmarks.raw:RawConditional",
    ES: "benchmarks.peers:EventsourcingConditional",
    MDB: "benchmarks.peers:MessageDbConditional",
}
APPLICATION_NAMES = {PYEVENTS: "pyevents-bench", RAW: "raw-bench", MDB: "message-db-bench"}


@dataclass(frozen=True)
class BigStore:
    dsn: str
    info: bigstore.LoadInfo
    factory: EventFactory


class RunContext:
    """What every scenario shares: the cluster, the scale, the report being filled, the systems
    measured, and the stores one scenario leaves for the next (the batch-1000 stores, the big store)."""

    def __init__(
        self,
        cluster: BenchCluster,
        scale: Scale,
        report: Report,
        *,
        seed: int = 42,
        progress: Progress | None = None,
        big_events: int | None = None,
    ) -> None:
        self.cluster = cluster
        self.scale = scale
        self.report = report
        self.seed = seed
        self.say = progress or Progress()
        self.big_events = big_events or scale.big_events
        self.systems: list[str] = [PYEVENTS, RAW]
        self.dcb_systems: list[str] = [PYEVENTS, RAW]
        self.templates: dict[str, str] = {}
        self.mdb_dir: Path | None = None
        self.kept: dict[str, str] = {}  # system -> database of the batch-1000 run
        self.waits: dict[str, str] = {}
        self.big: BigStore | None = None

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

    def run_script(self, title: str, name: str, args: list[str], timeout: float) -> str | None:
        """The output of `python benchmarks/NAME ARGS`, a measurement in a process of its own; None,
        with the reason under `title` in the report, when it fails or outlasts `timeout` seconds."""
        script = Path(__file__).resolve().parent / name
        try:
            completed = subprocess.run(
                [sys.executable, str(script), *args],
                capture_output=True,
                text=True,
                timeout=timeout,
                env={**os.environ, "PYTHONPATH": str(script.parents[1])},
            )
        except subprocess.TimeoutExpired:
            self.report.skipped[title] = f"benchmarks/{name} did not finish within {timeout / 60:g} minutes"
            return None
        if completed.returncode != 0:
            self.report.skipped[title] = f"benchmarks/{name} failed: {completed.stderr.strip()[-500:]}"
            return None
        return completed.stdout.strip()

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
