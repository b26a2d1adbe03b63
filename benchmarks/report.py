"""Results of a run and their rendering as BENCHMARKS.md.

Every figure is a `Measurement` of one system in one case. Ratios are "pyevents relative to X"
in one direction everywhere: above 1 means pyevents did better (more events/s, or lower
latency/size), so a goal like ">= 0.8x raw" reads straight off the table.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, replace
from typing import Any

PYEVENTS = "pyevents"
RAW = "raw"
SYSTEMS = (PYEVENTS, RAW, "eventsourcing", "message-db")


@dataclass
class Measurement:
    scenario: str
    case: str
    system: str
    metric: str  # "events/s", "p95 ms", "bytes/event", ...
    value: float
    higher_is_better: bool = True
    detail: str = ""
    spread: tuple[float, float] | None = None  # lowest and highest over the runs merged


@dataclass
class Goal:
    scenario: str
    case: str
    metric: str
    text: str
    met: bool | None  # None: could not be judged
    value: float | None = None  # the figure judged, for the range over several runs
    spread: tuple[float, float] | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.scenario, self.case, self.metric)


@dataclass
class Report:
    scale: str
    command: str
    conditions: dict[str, Any] = field(default_factory=dict)
    measurements: list[Measurement] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)  # system -> why it has no numbers
    notes: list[str] = field(default_factory=list)
    sections: dict[str, list[str]] = field(default_factory=dict)  # extra markdown by title
    skipped: dict[str, str] = field(default_factory=dict)  # scenario -> why
    runs: int = 1

    def measurement(self, scenario: str, case: str, system: str, metric: str) -> Measurement | None:
        for m in self.measurements:
            if (m.scenario, m.case, m.system, m.metric) == (scenario, case, system, metric):
                return m
        return None

    def add(self, *measurements: Measurement) -> None:
        self.measurements.extend(measurements)

    def value(self, scenario: str, case: str, system: str, metric: str) -> float | None:
        m = self.measurement(scenario, case, system, metric)
        return None if m is None else m.value

    def rows(self) -> list[tuple[str, str, str]]:
        seen: list[tuple[str, str, str]] = []
        for m in self.measurements:
            key = (m.scenario, m.case, m.metric)
            if key not in seen:
                seen.append(key)
        return seen

    def ratio(self, scenario: str, case: str, metric: str, other: str) -> float | None:
        """pyevents relative to `other` (>1: pyevents better), or None when either is missing."""
        mine = self.value(scenario, case, PYEVENTS, metric)
        theirs = self.value(scenario, case, other, metric)
        if mine is None or theirs is None or not math.isfinite(mine) or not math.isfinite(theirs):
            return None
        higher = next(
            m.higher_is_better for m in self.measurements if (m.scenario, m.case, m.metric) == (scenario, case, metric)
        )
        if higher:
            return mine / theirs if theirs else None
        return theirs / mine if mine else None


def merge(reports: list[Report]) -> Report:
    """One report of several runs of the same scenarios: every figure is the median of its finite
    values, with their lowest and highest as its spread; conditions and skipped parts are the first
    run's, notes of every run are kept once, and a section that differs between the runs that wrote
    it shows each of them."""
    first = reports[0]
    merged = Report(
        scale=first.scale,
        command=first.command,
        conditions=dict(first.conditions),
        unavailable=dict(first.unavailable),
        skipped=dict(first.skipped),
        runs=len(reports),
    )
    groups: dict[tuple[str, str, str, str], list[Measurement]] = {}
    for report in reports:
        for m in report.measurements:
            groups.setdefault((m.scenario, m.case, m.system, m.metric), []).append(m)
        merged.notes += [note for note in report.notes if note not in merged.notes]
    for runs in groups.values():
        finite = sorted((m for m in runs if math.isfinite(m.value)), key=lambda m: m.value)
        if not finite:
            merged.add(runs[0])
            continue
        middle = finite[(len(finite) - 1) // 2]
        spread = (finite[0].value, finite[-1].value) if len(finite) > 1 else None
        merged.add(replace(middle, value=statistics.median(m.value for m in finite), spread=spread))
    for title in first.sections:
        versions = [report.sections[title] for report in reports if title in report.sections]
        if all(lines == versions[0] for lines in versions):
            merged.sections[title] = versions[0]
            continue
        merged.sections[title] = []
        for number, lines in enumerate(versions, 1):
            merged.sections[title] += [f"Run {number}:", "", *lines, ""]
    return merged


def spread_goals(merged: Report, runs: list[Report]) -> None:
    """Give each goal judged on the merged report the range of the same goal over the runs."""
    for goal in merged.goals:
        values = [g.value for report in runs for g in report.goals if g.key == goal.key and g.value is not None]
        finite = [v for v in values if math.isfinite(v)]
        if len(finite) > 1:
            goal.spread = (min(finite), max(finite))


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if not math.isfinite(value):
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def fmt_spread(spread: tuple[float, float] | None) -> str:
    return "—" if spread is None else f"{fmt(spread[0])} to {fmt(spread[1])}"


def render(report: Report) -> str:
    peers = [s for s in SYSTEMS if s not in (PYEVENTS, RAW)]
    out: list[str] = [
        "# pyevents benchmarks",
        "",
        f"Generated by `{report.command}` (scale `{report.scale}`). Regenerate with `make bench`.",
        "",
        "**How to read the ratios:** every ratio is *pyevents relative to the other system*, oriented so",
        "that **above 1.00x means pyevents did better** (more events/s, or lower latency / fewer bytes).",
        "`—` means the system was not measured in that case (see the notes); `n/a` means it failed there.",
        "Absolute figures are noisy (a shared 2-core machine); only ratios measured side by side count.",
        "",
        "## Conditions",
        "",
    ]
    for key, value in report.conditions.items():
        out.append(f"- **{key}**: {value}")
    if report.runs > 1:
        out.append(
            f"- **runs**: {report.runs}, one after another on the same cluster (the big store loaded once);"
            " every figure is the median of the runs, and the range is pyevents' lowest to highest"
        )
    if report.unavailable:
        out += ["", "## Peers not measured", ""]
        for system, why in report.unavailable.items():
            out.append(f"- **{system}**: {why}")
    ranged = report.runs > 1
    out += [
        "",
        "## Results",
        "",
        "| scenario | case | metric | pyevents | "
        + ("range | " if ranged else "")
        + "raw | vs raw | "
        + " | ".join(f"{p} | vs {p}" for p in peers)
        + " |",
        "|---|---|---|---:|" + ("---:|" if ranged else "") + "---:|---:|" + "---:|---:|" * len(peers),
    ]
    for scenario, case, metric in report.rows():
        mine = report.measurement(scenario, case, PYEVENTS, metric)
        cells = [scenario, case, metric, fmt(None if mine is None else mine.value)]
        if ranged:
            cells.append(fmt_spread(None if mine is None else mine.spread))
        cells += [
            fmt(report.value(scenario, case, RAW, metric)),
            fmt_ratio(report.ratio(scenario, case, metric, RAW)),
        ]
        for peer in peers:
            cells += [
                fmt(report.value(scenario, case, peer, metric)),
                fmt_ratio(report.ratio(scenario, case, metric, peer)),
            ]
        out.append("| " + " | ".join(cells) + " |")
    if report.goals:
        heading = "| goal | measured | met |" if not ranged else "| goal | measured (median) | range | met |"
        out += ["", "## Goals", "", heading, "|---|---|:-:|" if not ranged else "|---|---|---:|:-:|"]
        for goal in report.goals:
            mark = "?" if goal.met is None else ("yes" if goal.met else "**no**")
            spread = f" {fmt_spread(goal.spread)} |" if ranged else ""
            out.append(f"| {goal.scenario} — {goal.case} | {goal.text} |{spread} {mark} |")
    if report.skipped:
        out += ["", "## Scenarios skipped", ""]
        for scenario, why in report.skipped.items():
            out.append(f"- **{scenario}**: {why}")
    for title, lines in report.sections.items():
        out += ["", f"## {title}", "", *lines]
    if report.notes:
        out += ["", "## Notes", ""]
        out += [f"- {note}" for note in report.notes]
    details = [m for m in report.measurements if m.detail]
    if details:
        out += ["", "## Details", ""]
        for m in details:
            out.append(f"- {m.scenario} / {m.case} / {m.system}: {m.detail}")
    return "\n".join(out) + "\n"
