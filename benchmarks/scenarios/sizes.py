"""Scenario 7: bytes per event, with compression and index variants of the big store."""

from __future__ import annotations

import math

from benchmarks import bigstore
from benchmarks.context import S7, RunContext, count_rows, total_bytes
from benchmarks.report import PYEVENTS, Measurement


def run(ctx: RunContext) -> None:
    ctx.say("bytes per event")
    for system, dsn in ctx.kept.items():
        n = count_rows(system, dsn)
        if n:
            size = total_bytes(system, dsn)
            ctx.report.add(
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
    if ctx.big is None:
        return
    # Divided by the rows there now: an earlier run's DCB appends at scale add to the loaded ones.
    big_dsn, events = ctx.big.dsn, count_rows(PYEVENTS, ctx.big.dsn)
    sizes = bigstore.relation_sizes(big_dsn)
    total = sum(sizes.values())
    case = f"big store ({ctx.big.info.events:,} events)"
    ctx.report.add(Measurement(S7, case, PYEVENTS, "bytes/event", total / events, False))
    ctx.report.add(Measurement(S7, case, PYEVENTS, "MB per 1,000 events", total / events * 1000 / 1e6, False))
    lines = ["Bytes per event of each part of the big store (pyevents layout as shipped):", ""]
    lines += ["| part | bytes/event |", "|---|---:|"]
    lines += [f"| {part} | {size / events:.0f} |" for part, size in sizes.items()]
    lines.append(f"| **total** | **{total / events:.0f}** |")
    sample = min(events, ctx.scale.variant_sample)
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
            ctx.report.add(
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
    ctx.report.sections["Storage breakdown"] = lines
