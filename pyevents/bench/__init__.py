"""The benchmark harness of pyevents: scenarios, raw SQL baseline, peers and the report.

`run_benchmarks()` is what `benchmarks/run.py` (and later `pyevents bench`) calls: it starts a
throwaway cluster unless given a DSN, runs every scenario of the scale, writes BENCHMARKS.md.
"""

from __future__ import annotations

from pyevents.bench.runner import run_benchmarks

__all__ = ["run_benchmarks"]
