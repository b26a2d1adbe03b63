"""Scenario 8: retention, measured by benchmarks/retention.py in a process of its own, its
figures read back from the table it prints."""

from __future__ import annotations

from benchmarks.context import RunContext
from benchmarks.report import PYEVENTS, RAW, Measurement

TITLE = "8. retention"
# The raw baseline each backend is judged against: the same partitions or segments removed by hand.
BASELINES = {"postgresql": "DROP TABLE of the same partitions", "file": "unlink of the same segment files"}


def run(ctx: RunContext) -> None:
    ctx.say(TITLE)
    events = 5000 if ctx.scale.name == "smoke" else 1_000_000
    args = ["--events", str(events), "--dsn", ctx.cluster.dsn]
    output = ctx.run_script(TITLE, "retention.py", args, timeout=3600)
    if output is None:
        return
    ctx.report.add(*figures(output, events))
    ctx.report.sections[TITLE] = [
        f"Output of `python benchmarks/retention.py {' '.join(args[:2])}` (see its docstring for what is measured):",
        "",
        *output.splitlines(),
    ]


def figures(output: str, events: int) -> list[Measurement]:
    """pyevents' time to apply the policy beside the raw removal of the same units, per backend,
    from rows `| backend | raw baseline | raw (s) | pyevents (s) | raw / pyevents |`."""
    found = []
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 5 or BASELINES.get(cells[0]) != cells[1]:
            continue
        case = f"{events:,} events removed, {cells[0]}"
        found.append(Measurement(TITLE, case, PYEVENTS, "seconds", float(cells[3]), False))
        found.append(Measurement(TITLE, case, RAW, "seconds", float(cells[2]), False, cells[1]))
    return found
