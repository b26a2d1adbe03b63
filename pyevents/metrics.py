"""Metrics: what this process saw (counted by EventStore's public methods) and what the storage
holds (asked of the backend), in one plain snapshot, `EventStoreMetrics`.

Counters and histograms are per process and start at zero: an application reads its own append
and query latencies from its own store. Storage figures (events by type, bytes, partitions or
segments, subscription lag) are the same from every process. `pyevents serve` exposes both in
the Prometheus format (pyevents.serve).
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pyevents.errors import BackendUnavailable, PyEventsError
from pyevents.model import Event, JSONObject

# Seconds; from a fast local append (~0.5 ms) to a stalled server.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class HistogramSnapshot:
    """Cumulative counts per upper bound (the last bound is +Inf), the count and the sum."""

    buckets: tuple[tuple[float, int], ...]
    count: int
    sum: float

    def to_dict(self) -> JSONObject:
        return {
            "buckets": {("+Inf" if bound == float("inf") else repr(bound)): n for bound, n in self.buckets},
            "count": self.count,
            "sum": self.sum,
        }


class Histogram:
    """A thread-safe latency histogram with fixed buckets."""

    def __init__(self, buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        self._bounds = tuple(buckets)
        self._counts = [0] * (len(self._bounds) + 1)
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        with self._lock:
            self._counts[bisect.bisect_left(self._bounds, seconds)] += 1
            self._sum += seconds

    def snapshot(self) -> HistogramSnapshot:
        with self._lock:
            counts, total = list(self._counts), self._sum
        cumulative, running = [], 0
        for bound, count in zip((*self._bounds, float("inf")), counts, strict=True):
            running += count
            cumulative.append((bound, running))
        return HistogramSnapshot(tuple(cumulative), running, total)


class Instruments:
    """What one store object saw in this process. Backends and the retention code feed it
    through these methods; EventStore's public methods already count appends and queries."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.appended_by_type: Counter[str] = Counter()
        self.failed_writes: Counter[str] = Counter()
        self.connection_errors = 0
        self.retention_runs: Counter[str] = Counter()
        self.append_latency = Histogram()
        self.query_latency: dict[str, Histogram] = {}

    def appended(self, events: Sequence[Event], seconds: float) -> None:
        self.append_latency.observe(seconds)
        with self._lock:
            self.appended_by_type.update(event.event_type for event in events)

    def write_failed(self, exc: PyEventsError) -> None:
        """A refused or failed append, counted by its cause (the error's class)."""
        with self._lock:
            self.failed_writes[type(exc).__name__] += 1
        self.error(exc)

    def error(self, exc: PyEventsError) -> None:
        if isinstance(exc, BackendUnavailable):
            with self._lock:
                self.connection_errors += 1

    def queried(self, operation: str, seconds: float) -> None:
        with self._lock:
            histogram = self.query_latency.setdefault(operation, Histogram())
        histogram.observe(seconds)

    def retention_ran(self, outcome: str = "ok") -> None:
        """One retention run ("ok", "dry_run", "failed", ...), fed by the retention code."""
        with self._lock:
            self.retention_runs[outcome] += 1


@dataclass(frozen=True)
class StorageMetrics:
    """What the storage holds, the same from every process. `partitions` counts the log's
    partitions (PostgreSQL) or segments (files). Lag is head minus each subscription's checkpoint;
    growth is the average bytes per event times the positions appended since the first event
    timestamped in the last 24 hours (an index probe, not a count of the day's events)."""

    head: int
    events_by_type: dict[str, int]
    storage_bytes: int
    growth_bytes_per_day: float
    partitions: int
    subscription_lag: dict[str, int]

    @property
    def events_total(self) -> int:
        return sum(self.events_by_type.values())


@dataclass(frozen=True)
class PoolMetrics:
    """A client connection pool: connections open, idle, the most allowed, and requests waiting."""

    size: int
    available: int
    max_size: int
    waiting: int

    @property
    def exhausted(self) -> bool:
        return self.waiting > 0 and self.available == 0 and self.size >= self.max_size


@dataclass(frozen=True)
class EventStoreMetrics:
    """A snapshot of a store's metrics: `storage` is None when the backend could not be asked."""

    backend: str
    storage: StorageMetrics | None
    appended_by_type: dict[str, int]
    failed_writes: dict[str, int]
    connection_errors: int
    retention_runs: dict[str, int]
    append_latency: HistogramSnapshot
    query_latency: dict[str, HistogramSnapshot]
    pool: PoolMetrics | None = None
    error: str | None = None

    @property
    def appended_total(self) -> int:
        return sum(self.appended_by_type.values())

    @classmethod
    def collect(
        cls,
        backend: str,
        instruments: Instruments,
        storage: StorageMetrics | None,
        pool: PoolMetrics | None,
        error: str | None = None,
    ) -> EventStoreMetrics:
        with instruments._lock:
            appended = dict(instruments.appended_by_type)
            failed = dict(instruments.failed_writes)
            connection_errors = instruments.connection_errors
            retention = dict(instruments.retention_runs)
            queries = dict(instruments.query_latency)
        return cls(
            backend=backend,
            storage=storage,
            appended_by_type=appended,
            failed_writes=failed,
            connection_errors=connection_errors,
            retention_runs=retention,
            append_latency=instruments.append_latency.snapshot(),
            query_latency={operation: histogram.snapshot() for operation, histogram in sorted(queries.items())},
            pool=pool,
            error=error,
        )

    def to_dict(self) -> JSONObject:
        storage = self.storage
        return {
            "backend": self.backend,
            "error": self.error,
            "storage": None
            if storage is None
            else {
                "head": storage.head,
                "events_total": storage.events_total,
                "events_by_type": storage.events_by_type,
                "storage_bytes": storage.storage_bytes,
                "growth_bytes_per_day": storage.growth_bytes_per_day,
                "partitions": storage.partitions,
                "subscription_lag": storage.subscription_lag,
            },
            "process": {
                "appended_total": self.appended_total,
                "appended_by_type": self.appended_by_type,
                "failed_writes": self.failed_writes,
                "connection_errors": self.connection_errors,
                "retention_runs": self.retention_runs,
                "append_latency_seconds": self.append_latency.to_dict(),
                "query_latency_seconds": {name: h.to_dict() for name, h in self.query_latency.items()},
            },
            "pool": None
            if self.pool is None
            else {
                "size": self.pool.size,
                "available": self.pool.available,
                "max_size": self.pool.max_size,
                "waiting": self.pool.waiting,
            },
        }
