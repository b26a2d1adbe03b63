"""Scenario 8: retention, measured by benchmarks/retention.py in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from benchmarks.context import RunContext

TITLE = "8. retention"


def run(ctx: RunContext) -> None:
    script = Path(__file__).resolve().parents[1] / "retention.py"
    ctx.say(TITLE)
    args = ["--events", "5000" if ctx.scale.name == "smoke" else "1000000", "--dsn", ctx.cluster.dsn]
    try:
        completed = subprocess.run(
            [sys.executable, str(script), *args],
            capture_output=True,
            text=True,
            timeout=3600,
            env={**os.environ, "PYTHONPATH": str(script.parents[1])},
        )
    except subprocess.TimeoutExpired:
        ctx.report.skipped[TITLE] = "benchmarks/retention.py did not finish within an hour"
        return
    if completed.returncode != 0:
        ctx.report.skipped[TITLE] = f"benchmarks/retention.py failed: {completed.stderr.strip()[-500:]}"
        return
    ctx.report.sections[TITLE] = [
        f"Output of `python benchmarks/retention.py {' '.join(args[:2])}` (see its docstring for what is measured):",
        "",
        *completed.stdout.strip().splitlines(),
    ]
