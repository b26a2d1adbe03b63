"""Running N client processes against one target for a fixed duration, after a warm-up.

A target is a small class (pyevents, raw SQL or a peer) named by `module:Class` so a spawned
process can build it: `Target(dsn, client_index, params)`, then `setup()`, then `op()` in a loop.
`op()` returns how many events it wrote or read, or CONFLICT when an optimistic/conditional
append was refused. Only operations that start after the warm-up and finish inside the
measured window count; the rate is their events divided by the window.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing as mp
import queue as queue_module
import statistics
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.synchronize import Barrier
from typing import Any, Protocol

CONFLICT = -1


class Target(Protocol):
    def setup(self) -> None: ...

    def op(self) -> int: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class TargetSpec:
    """What to run: `factory` is 'module:Class'; params must be picklable."""

    factory: str
    dsn: str
    params: dict[str, Any] = field(default_factory=dict)

    def build(self, client: int) -> Target:
        module_name, _, class_name = self.factory.partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        target: Target = cls(self.dsn, client, self.params)
        return target


@dataclass
class ClientResult:
    ops: int = 0
    events: int = 0
    conflicts: int = 0
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    error: str | None = None


@dataclass
class RunResult:
    clients: int
    duration: float
    ops: int
    events: int
    conflicts: int
    latencies: list[float]

    @property
    def events_per_second(self) -> float:
        return self.events / self.duration if self.duration > 0 else 0.0

    @property
    def ops_per_second(self) -> float:
        return self.ops / self.duration if self.duration > 0 else 0.0

    def percentile(self, q: float) -> float:
        return percentile(self.latencies, q)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks; NaN for no values."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    ordered = sorted(values)
    return float(statistics.quantiles(ordered, n=100, method="inclusive")[max(0, min(98, round(q) - 1))])


def drive(target: Target, warmup: float, duration: float, result: ClientResult) -> None:
    """The measuring loop of one client (also used in-process for single-client runs). Every op
    that starts inside the window counts, and the window lasts until one has, however loaded the
    machine: `elapsed` is the time those ops really took, so rates never divide by a window that
    measured nothing."""
    begin = time.perf_counter() + warmup
    end = begin + duration
    first = last = None
    while True:
        before = time.perf_counter()
        if before >= end and (result.ops or result.conflicts):
            break
        written = target.op()
        after = time.perf_counter()
        if before < begin:
            continue
        first = before if first is None else first
        last = after
        if written == CONFLICT:
            result.conflicts += 1
        else:
            result.ops += 1
            result.events += written
            result.latencies.append(after - before)
    assert first is not None and last is not None  # the loop ends only after an op was counted
    result.elapsed = last - first


def _worker(
    spec: TargetSpec, client: int, barrier: Barrier, warmup: float, duration: float, queue: mp.Queue[ClientResult]
) -> None:
    result = ClientResult()
    target: Target | None = None
    try:
        target = spec.build(client)
        target.setup()
    except Exception:
        result.error = traceback.format_exc()
        barrier.abort()
        queue.put(result)
        return
    try:
        barrier.wait()
        drive(target, warmup, duration, result)
    except Exception:
        result.error = traceback.format_exc()
    finally:
        with contextlib.suppress(Exception):
            target.close()
    queue.put(result)


class ClientError(RuntimeError):
    """A client process failed; the message carries its traceback."""


def run_clients(
    spec: TargetSpec, clients: int, warmup: float, duration: float, setup_timeout: float = 180
) -> RunResult:
    """Run `clients` processes of the target at once; return the combined measurement."""
    if clients == 1:
        return _run_in_process(spec, warmup, duration)
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(clients, timeout=setup_timeout)
    queue: mp.Queue[ClientResult] = ctx.Queue()
    processes = [
        ctx.Process(target=_worker, args=(spec, index, barrier, warmup, duration, queue), daemon=True)
        for index in range(clients)
    ]
    for process in processes:
        process.start()
    results: list[ClientResult] = []
    deadline = time.monotonic() + setup_timeout + warmup + duration + 60
    try:
        while len(results) < clients:
            try:
                results.append(queue.get(timeout=1.0))
            except queue_module.Empty:
                if time.monotonic() > deadline:
                    raise ClientError(f"only {len(results)} of {clients} clients reported back in time") from None
                if not any(process.is_alive() for process in processes) and queue.empty():
                    raise ClientError(f"{clients - len(results)} client process(es) died without reporting") from None
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
    errors = [r.error for r in results if r.error]
    if errors:
        raise ClientError(errors[0])
    return _combine(results, clients)


def _run_in_process(spec: TargetSpec, warmup: float, duration: float) -> RunResult:
    """One client: no process to spawn, same loop (keeps short runs cheap)."""
    target = spec.build(0)
    target.setup()
    result = ClientResult()
    try:
        drive(target, warmup, duration, result)
    finally:
        target.close()
    return _combine([result], 1)


def _combine(results: list[ClientResult], clients: int) -> RunResult:
    latencies: list[float] = []
    for result in results:
        latencies.extend(result.latencies)
    return RunResult(
        clients=clients,
        duration=max(r.elapsed for r in results),
        ops=sum(r.ops for r in results),
        events=sum(r.events for r in results),
        conflicts=sum(r.conflicts for r in results),
        latencies=latencies,
    )
