"""Scenario 6: the file backend, measured by benchmarks/file_backend.py in a process of its own."""

from __future__ import annotations

from benchmarks.context import RunContext


def run(ctx: RunContext) -> None:
    title = "6. file backend"
    ctx.say(title)
    args = ["--events", "5000", "--single", "100"] if ctx.scale.name == "smoke" else ["--events", "200000"]
    output = ctx.run_script(title, "file_backend.py", args, timeout=1200)
    if output is None:
        return
    ctx.report.sections[title] = [
        f"Output of `python benchmarks/file_backend.py {' '.join(args)}` (its own event shape; not a ratio):",
        "",
        "```",
        output,
        "```",
    ]
