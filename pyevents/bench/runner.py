"""One benchmark run end to end: cluster, conditions, scenarios, report file."""

from __future__ import annotations

import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pyevents.bench.cluster import BenchCluster
from pyevents.bench.report import Report, render
from pyevents.bench.scenarios import SCALES, Progress, Runner


def run_benchmarks(
    scale: str = "smoke",
    *,
    dsn: str | None = None,
    output: str | Path | None = None,
    seed: int = 42,
    events: int | None = None,
    only: set[str] | None = None,
    install_peers: bool = True,
    command: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Run the scale's scenarios and return the report (also written to `output` if given).

    Without `dsn`, a throwaway cluster is started with scripts/pgcluster.sh and destroyed after.
    With `dsn` (a superuser connection), databases named bench_* are created and dropped on it.
    """
    chosen = SCALES[scale]
    say = Progress(progress)
    cluster = BenchCluster(dsn) if dsn else BenchCluster.start()
    report = Report(scale=scale, command=command or " ".join(shlex.quote(a) for a in sys.argv))
    started = time.perf_counter()
    try:
        settings = cluster.settings()
        report.conditions["PostgreSQL"] = settings.pop("server_version", "?")
        report.conditions["settings"] = ", ".join(f"{k}={v}" for k, v in settings.items())
        report.conditions["cluster"] = (
            "throwaway (scripts/pgcluster.sh), loopback TCP" if dsn is None else "given by --dsn"
        )
        report.conditions["machine"] = (
            f"{os.cpu_count()} CPUs, {platform.machine()}, {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; client and server on the same machine"
        )
        runner = Runner(
            cluster, chosen, report, seed=seed, progress=say, install_peers=install_peers, big_events=events
        )
        try:
            runner.run(only=only)
        finally:
            if runner.mdb_dir is not None:
                import shutil

                shutil.rmtree(runner.mdb_dir, ignore_errors=True)
        report.conditions["run time"] = f"{time.perf_counter() - started:.0f}s"
    finally:
        cluster.close()
    if output is not None:
        Path(output).write_text(render(report))
        say(f"wrote {output}")
    return report
