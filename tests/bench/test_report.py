"""Several runs of the harness merge into one report: medians with their ranges, goals judged on
the medians with the range of each goal over the runs."""

from __future__ import annotations

import math

from benchmarks import compare, goals
from benchmarks.context import S1, S3
from benchmarks.report import PYEVENTS, RAW, Measurement, Report, merge, render, spread_goals


def one_run(rate: float, raw_rate: float, p99: float, section: str) -> Report:
    report = Report(scale="smoke", command="test")
    report.add(
        Measurement(S1, "1 client", PYEVENTS, "events/s", rate, detail=f"rate {rate}"),
        Measurement(S1, "1 client", RAW, "events/s", raw_rate),
        Measurement(S3, "page of 100 by type", PYEVENTS, "p99 ms", p99, False),
    )
    report.sections["file backend"] = [section]
    report.notes.append("a note every run repeats")
    goals.judge(report, 1)
    return report


def test_figures_are_medians_with_their_range_and_failed_runs_left_out() -> None:
    runs = [
        one_run(900.0, 1000.0, 4.0, "same"),
        one_run(float("nan"), 1000.0, 6.0, "same"),
        one_run(700.0, 1000.0, 5.0, "same"),
        one_run(800.0, 1000.0, 7.0, "same"),
    ]
    runs[0].sections["profile"] = ["taken in the first run only"]
    merged = merge(runs)
    rate = merged.measurement(S1, "1 client", PYEVENTS, "events/s")
    assert rate is not None
    assert (rate.value, rate.spread, rate.detail) == (800.0, (700.0, 900.0), "rate 800.0")
    assert merged.value(S3, "page of 100 by type", PYEVENTS, "p99 ms") == 5.5
    assert merged.notes == ["a note every run repeats"]
    assert merged.sections["file backend"] == ["same"]
    assert merged.sections["profile"] == ["taken in the first run only"]


def test_goals_carry_the_range_of_the_runs() -> None:
    runs = [one_run(900.0, 1000.0, 4.0, "a"), one_run(700.0, 1000.0, 6.0, "b"), one_run(800.0, 1000.0, 5.5, "c")]
    merged = merge(runs)
    goals.judge(merged, 1)
    spread_goals(merged, runs)
    by_key = {goal.key: goal for goal in merged.goals}
    append_goal = by_key[(S1, "1 client", "events/s")]
    assert append_goal.value is not None and math.isclose(append_goal.value, 0.8)
    assert append_goal.met is True and append_goal.spread is not None
    assert [round(x, 2) for x in append_goal.spread] == [0.7, 0.9]
    page_goal = by_key[(S3, "page of 100 by type", "p99 ms")]
    assert (page_goal.met, page_goal.spread) == (False, (4.0, 6.0))


def test_the_rendered_report_shows_ranges_and_stays_readable_by_the_regression_guard() -> None:
    runs = [one_run(900.0, 1000.0, 4.0, "a"), one_run(700.0, 1000.0, 6.0, "b"), one_run(800.0, 1000.0, 5.0, "c")]
    merged = merge(runs)
    goals.judge(merged, 1)
    spread_goals(merged, runs)
    text = render(merged)
    assert "| 1. single-event append | 1 client | events/s | 800 | 700 to 900 | 1,000 | 0.80x |" in text
    assert "| p99 ≤ 5 ms: 5.00 ms | 4.00 to 6.00 | yes |" in text
    assert "Run 1:" in text and "Run 3:" in text  # the section differed between runs
    assert compare.parse_results(text) == {
        (S1, "1 client", "events/s"): 800.0,
        (S3, "page of 100 by type", "p99 ms"): 5.0,
    }
