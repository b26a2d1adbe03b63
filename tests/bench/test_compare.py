"""The regression guard reads the figures of a rendered report and names those that got worse,
whatever the direction of their metric."""

from __future__ import annotations

from collections import defaultdict

import pytest

from benchmarks import compare
from benchmarks.report import PYEVENTS, RAW, Measurement, Report, render


def rendered(rate: float, p99: float) -> str:
    report = Report(scale="smoke", command="test")
    report.add(
        Measurement("1. single-event append", "1 client", PYEVENTS, "events/s", rate),
        Measurement("1. single-event append", "1 client", RAW, "events/s", 2000.0),
        Measurement("3. queries (big store)", "by tag", PYEVENTS, "p99 ms", p99, False),
        Measurement("3. queries (big store)", "latest 100", RAW, "p99 ms", 1.0, False),
    )
    return render(report)


def test_the_results_table_is_read_back_without_the_unmeasured() -> None:
    assert compare.parse_results(rendered(1234.0, 2.5)) == {
        ("1. single-event append", "1 client", "events/s"): 1234.0,
        ("3. queries (big store)", "by tag", "p99 ms"): 2.5,
    }


@pytest.mark.parametrize(
    ("head_rate", "head_p99", "named"),
    [
        (1000.0, 2.0, []),
        (850.0, 2.0, ["1. single-event append / 1 client / events/s: 0.85x of base"]),
        (1000.0, 2.5, ["3. queries (big store) / by tag / p99 ms: 0.80x of base"]),
    ],
)
def test_figures_more_than_ten_percent_worse_are_named(
    head_rate: float, head_p99: float, named: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    runs: dict[str, dict[compare.Figure, list[float]]] = {"base": defaultdict(list), "head": defaultdict(list)}
    for label, rate, p99 in (("base", 1000.0, 2.0), ("head", head_rate, head_p99)):
        for figure, value in compare.parse_results(rendered(rate, p99)).items():
            runs[label][figure].append(value)
    status = compare.report("abc1234", runs, rounds=1, threshold=0.10)
    out = capsys.readouterr().out
    assert status == (1 if named else 0)
    for line in named:
        assert f"- {line}" in out
    if not named:
        assert "no figure more than 10% worse than abc1234" in out
