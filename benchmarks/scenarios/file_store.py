"""Scenario 6: the file backend, measured by benchmarks/file_backend.py in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from benchmarks.context import RunContext


def run(ctx: RunContext) -> None:
    script = Path(__file__).resolve().parents[1] / "file_backend.py"
    title = "6. file backend"
    ctx.say(title)
    args = ["--events", "5000", "--single", "100"] if ctx.scale.name == "smoke" else ["--events", "200000"]
    try:
        completed = subprocess.run(
            [sys.executable, str(script), *args],
            capture_output=True,
            text=True,
            timeout=1200,
            env={**os.environ, "PYTHONPATH": str(script.parents[1])},
        )
    except subprocess.TimeoutExpired:
        ctx.report.skipped[title] = "benchmarks/file_backend.py did not finish within 20 minutes"
        return
    if completed.returncode != 0:
        ctx.report.skipped[title] = f"benchmarks/file_backend.py failed: {completed.stderr.strip()[-500:]}"
        return
    ctx.report.sections[title] = [
        f"Output of `python benchmarks/file_backend.py {' '.join(args)}` (its own event shape; not a ratio):",
        "",
        "```",
        completed.stdout.strip(),
        "```",
    ]
