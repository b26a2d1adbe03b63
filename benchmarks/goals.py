"""The targets the figures are judged against, added to the report as goals met or missed."""

from __future__ import annotations

from benchmarks.context import ES, MDB, S1, S2, S3, S3C, S4, S5, S7
from benchmarks.report import PYEVENTS, RAW, Goal, Report
from benchmarks.scenarios.file_store import TITLE as FILES
from benchmarks.scenarios.retention_run import TITLE as RETENTION


def judge(r: Report, n: int) -> None:
    """Add the goals to report `r`, whose multi-client cases ran `n` clients."""

    def ratio_goal(scenario: str, case: str, target: float, other: str, text: str) -> None:
        value = r.ratio(scenario, case, "events/s", other)
        r.goals.append(
            Goal(
                scenario,
                case,
                "events/s",
                f"{text}: {'—' if value is None else f'{value:.2f}x'}",
                None if value is None else value >= target,
                value,
            )
        )

    for clients in sorted({1, n}):
        ratio_goal(S1, f"{clients} client{'s' if clients > 1 else ''}", 0.8, RAW, "≥ 0.8x raw INSERT")
    ratio_goal(S2, "batch of 1000, 1 client", 0.8, RAW, "≥ 0.8x raw COPY")
    ratio_goal(S5, f"disjoint tags, {n} clients, empty store", 0.9, RAW, "≥ 0.9x raw")
    ratio_goal(S5, f"overlapping tags, {n} clients, empty store", 0.8, RAW, "≥ 0.8x raw")
    for scenario, case, metric in r.rows():
        value = r.value(scenario, case, PYEVENTS, metric)
        if value is None:
            continue
        if scenario == S3 and metric == "p99 ms":
            r.goals.append(Goal(scenario, case, metric, f"p99 ≤ 5 ms: {value:.2f} ms", value <= 5.0, value))
        if scenario == S3C and metric == "events/s" and case.startswith("whole log") and case.endswith(", decoded"):
            text = f"≥ 250,000 events/s: {value:,.0f}"
            r.goals.append(Goal(scenario, case, metric, text, value >= 250_000, value))
        if scenario == S7 and metric == "bytes/event" and case.startswith("big store ("):
            r.goals.append(Goal(scenario, case, metric, f"< 1,000 bytes/event: {value:,.0f}", value < 1000, value))
        if scenario == S5 and "store of" in case and metric == "events/s":
            empty = r.value(S5, case.rsplit(", ", 1)[0] + ", empty store", PYEVENTS, metric)
            if empty:
                slower = empty / value
                text = f"within 1.1x of the empty-store rate: {slower:.2f}x slower"
                r.goals.append(Goal(scenario, case, metric, text, slower <= 1.1, slower))
    for scenario, case, metric in r.rows():
        value = r.value(scenario, case, PYEVENTS, metric)
        if value is None or scenario not in (FILES, RETENTION):
            continue
        if case.startswith("batches of 1000") and metric == "events/s":
            r.goals.append(Goal(scenario, case, metric, f"≥ 100,000 events/s: {value:,.0f}", value >= 100_000, value))
        if case.startswith("index rebuild") and metric == "seconds":
            r.goals.append(Goal(scenario, case, metric, f"< 5 s for 1,000,000 events: {value:.1f} s", value < 5, value))
        if case.startswith("catch-up") and metric == "events/s":
            r.goals.append(Goal(scenario, case, metric, f"≥ 200,000 events/s: {value:,.0f}", value >= 200_000, value))
        if case.startswith("opening a store") and metric == "MiB":
            r.goals.append(Goal(scenario, case, metric, f"adds < 10 MiB: {value:.1f} MiB", value < 10, value))
        if scenario == RETENTION and case.endswith("postgresql"):
            raw_seconds = r.value(scenario, case, RAW, metric)
            if raw_seconds:
                slower = value / raw_seconds
                text = f"within 3x of dropping the partitions by hand: {slower:.1f}x the time"
                r.goals.append(Goal(scenario, case, metric, text, slower <= 3, slower))
    follow_case = f"{n} writers, 1 follower"
    p99 = r.value(S4, follow_case, PYEVENTS, "latency p99 ms")
    if p99 is not None:
        r.goals.append(Goal(S4, follow_case, "latency p99 ms", f"p99 ≤ 50 ms: {p99:.1f} ms", p99 <= 50, p99))
        ratio_goal(S4, follow_case, 0.8, RAW, "writers ≥ 0.8x raw INSERT with the follower attached")
    for peer in (ES, MDB):
        if peer in r.unavailable:
            r.goals.append(Goal("ahead of every peer", peer, "", f"not measured: {r.unavailable[peer]}", None))
            continue
        ratios = [(s, c, r.ratio(s, c, m, peer)) for s, c, m in r.rows()]
        known = [(s, c, x) for s, c, x in ratios if x is not None]
        behind = [f"{s} / {c} ({x:.2f}x)" for s, c, x in known if x < 1.0]
        r.goals.append(
            Goal(
                "ahead of every peer",
                peer,
                "",
                f"behind in {len(behind)} of {len(known)} cases" + (": " + "; ".join(behind) if behind else ""),
                None if not known else not behind,
                float(len(behind)),
            )
        )
