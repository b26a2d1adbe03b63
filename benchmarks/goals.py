"""The targets the figures are judged against, added to the report as goals met or missed."""

from __future__ import annotations

from benchmarks.context import ES, MDB, S1, S2, S3, S3C, S4, S5, RunContext
from benchmarks.report import PYEVENTS, RAW, Goal


def judge(ctx: RunContext) -> None:
    r = ctx.report
    n = ctx.scale.clients

    def ratio_goal(scenario: str, case: str, target: float, other: str, text: str) -> None:
        value = r.ratio(scenario, case, "events/s", other)
        r.goals.append(
            Goal(
                scenario,
                case,
                "events/s",
                f"{text}: {'—' if value is None else f'{value:.2f}x'}",
                None if value is None else value >= target,
            )
        )

    ratio_goal(S1, f"{n} clients", 0.8, RAW, "≥ 0.8x raw INSERT")
    ratio_goal(S2, "batch of 1000, 1 client", 0.8, RAW, "≥ 0.8x raw COPY")
    for scenario, case, _metric in r.rows():
        if scenario == S3 and _metric == "p95 ms":
            value = r.value(scenario, case, PYEVENTS, "p95 ms")
            r.goals.append(
                Goal(
                    scenario,
                    case,
                    "p95 ms",
                    f"p95 ≤ 5 ms: {value:.2f} ms" if value is not None else "p95 ≤ 5 ms: —",
                    None if value is None else value <= 5.0,
                )
            )
        if scenario == S3C and _metric == "events/s" and case.startswith("whole log"):
            value = r.value(scenario, case, PYEVENTS, "events/s")
            r.goals.append(
                Goal(
                    scenario,
                    case,
                    "events/s",
                    f"≥ 250,000 events/s: {value:,.0f}" if value else "—",
                    None if value is None else value >= 250_000,
                )
            )
    follow_case = f"{n} writers, 1 follower"
    p99 = r.value(S4, follow_case, PYEVENTS, "latency p99 ms")
    if p99 is not None:
        r.goals.append(Goal(S4, follow_case, "latency p99 ms", f"p99 ≤ 50 ms: {p99:.1f} ms", p99 <= 50))
        ratio_goal(S4, follow_case, 0.8, RAW, "writers ≥ 0.8x raw INSERT with the follower attached")
    empty = r.value(S5, f"disjoint tags, {n} clients, empty store", PYEVENTS, "events/s")
    if empty is not None:
        r.goals.append(
            Goal(
                S5,
                f"disjoint tags, {n} clients, empty store",
                "events/s",
                f"≥ 5,000/s: {empty:,.0f}/s",
                empty >= 5000,
            )
        )
    for scenario, case, metric in r.rows():
        if scenario == S5 and case.startswith("disjoint") and "store of" in case and metric == "events/s":
            big = r.value(scenario, case, PYEVENTS, metric)
            same_clients_empty = r.value(S5, case.rsplit(", ", 1)[0] + ", empty store", PYEVENTS, metric)
            if big is not None and same_clients_empty:
                slower = same_clients_empty / big
                r.goals.append(
                    Goal(
                        S5,
                        case,
                        metric,
                        f"within 1.5x of the empty-store rate: {slower:.2f}x slower",
                        slower <= 1.5,
                    )
                )
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
            )
        )
