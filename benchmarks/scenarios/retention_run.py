"""Scenario 8: retention, measured by benchmarks/retention.py in a process of its own."""

from __future__ import annotations

from benchmarks.context import RunContext

TITLE = "8. retention"


def run(ctx: RunContext) -> None:
    ctx.say(TITLE)
    args = ["--events", "5000" if ctx.scale.name == "smoke" else "1000000", "--dsn", ctx.cluster.dsn]
    output = ctx.run_script(TITLE, "retention.py", args, timeout=3600)
    if output is None:
        return
    ctx.report.sections[TITLE] = [
        f"Output of `python benchmarks/retention.py {' '.join(args[:2])}` (see its docstring for what is measured):",
        "",
        *output.splitlines(),
    ]
