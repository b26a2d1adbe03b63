"""Scenario 6: the file backend, measured by benchmarks/file_backend.py in a process of its own,
its figures read back from what it prints."""

from __future__ import annotations

import re

from benchmarks.context import RunContext
from benchmarks.report import PYEVENTS, Measurement

TITLE = "6. file backend"
# (printed line, case, metric, higher is better)
FIGURES = (
    (r"single appends, fsync=always: ([\d,.]+) events/s", "single appends, fsync=always", "events/s", True),
    (r"batched appends \((\d+)/batch[^:]*: ([\d,.]+) events/s", "batches of {0}, fsync=always", "events/s", True),
    (r"index rebuild of ([\d,]+) events: ([\d.]+) s", "index rebuild of {0} events", "seconds", False),
    (r"catch-up reads \(pages of (\d+)[^:]*: ([\d,.]+) events/s", "catch-up, pages of {0}", "events/s", True),
    (r"opening the store and reading 10 events: ([\d.]+) MiB", "opening a store, reading 10 events", "MiB", False),
    (r"segments: (\d+) bytes/event uncompressed, (\d+) bytes/event gzipped", "segments, gzipped", "bytes/event", False),
)


def run(ctx: RunContext) -> None:
    ctx.say(TITLE)
    args = ["--events", "5000", "--single", "100"] if ctx.scale.name == "smoke" else ["--events", "1000000"]
    output = ctx.run_script(TITLE, "file_backend.py", args, timeout=1800)
    if output is None:
        return
    ctx.report.add(*figures(output))
    ctx.report.sections[TITLE] = [
        f"Output of `python benchmarks/file_backend.py {' '.join(args)}` (its own event shape; not a ratio):",
        "",
        "```",
        output,
        "```",
    ]


def figures(output: str) -> list[Measurement]:
    """The figures of file_backend.py's output: the last number of each line is the value, the
    ones before it name the case."""
    found = []
    for pattern, case, metric, higher in FIGURES:
        match = re.search(pattern, output)
        if match is None:
            continue
        *names, value = match.groups()
        found.append(Measurement(TITLE, case.format(*names), PYEVENTS, metric, float(value.replace(",", "")), higher))
    return found
