"""The benchmark harness runs end to end at the smoke scale and every scenario yields figures.

No timing assertions: the machine is shared and small; only that numbers and ratios exist.
Peers come from the lock's `bench` group; a peer that is missing or cannot run must be named in
the report (`unavailable`), never silently dropped.
"""

from __future__ import annotations

import math
from pathlib import Path

from benchmarks.context import S1, S2, S3, S3C, S4, S5, S7
from benchmarks.report import PYEVENTS, RAW, render
from benchmarks.runner import run_benchmarks
from tests.conftest import Cluster


def test_smoke_scale_produces_every_figure(pg_cluster: Cluster, tmp_path: Path) -> None:
    output = tmp_path / "BENCHMARKS.md"
    report = run_benchmarks("smoke", dsn=pg_cluster.dsn, output=output, command="pytest tests/bench", events=5_000)

    scenarios = {m.scenario for m in report.measurements}
    assert {S1, S2, S3, S3C, S4, S5, S7} <= scenarios
    for m in report.measurements:
        if m.system in (PYEVENTS, RAW) and m.scenario != S7:
            assert math.isfinite(m.value) and m.value > 0, m
    for scenario, case, metric in report.rows():
        if scenario in (S1, S2, S3, S3C, S5) or (scenario == S4 and metric == "events/s"):
            assert report.ratio(scenario, case, metric, RAW) is not None, (scenario, case, metric)
    for peer in ("eventsourcing", "message-db"):
        measured = any(m.system == peer and math.isfinite(m.value) for m in report.measurements)
        assert measured or peer in report.unavailable, peer
    assert all(math.isfinite(m.value) for m in report.measurements if m.scenario == S4 and m.system == PYEVENTS)
    retention = report.sections.get("8. retention", [])  # both backends, with raw baselines
    assert any(line.startswith("| postgresql | 5,000 |") for line in retention), report.skipped
    assert any(line.startswith("| file | 5,000 |") for line in retention), retention
    assert any("DROP TABLE" in line for line in retention) and any("unlink" in line for line in retention)
    text = output.read_text()
    assert text == render(report)
    assert "| scenario | case | metric |" in text and "## Conditions" in text
