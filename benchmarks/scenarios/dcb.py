"""Scenario 5: DCB conditional appends, disjoint and overlapping tags, on an empty and the big store."""

from __future__ import annotations

from benchmarks.context import APPLICATION_NAMES, CONDITIONAL_TARGETS, S5, RunContext, WaitSampler, dsn_name
from benchmarks.report import PYEVENTS, RAW
from benchmarks.targets import run_id


def run(ctx: RunContext, label: str, big_dsn: str | None = None) -> None:
    systems = ctx.dcb_systems if big_dsn is None else [PYEVENTS, RAW]
    runs = [("disjoint", 1), ("disjoint", ctx.scale.clients), ("overlapping", ctx.scale.clients)]
    for mode, clients in runs:
        case = f"{mode} tags, {clients} client{'s' if clients > 1 else ''}, {label}"
        ctx.say(f"{S5}: {case}")
        for system in systems:
            dsn = big_dsn or ctx.database(system, f"dcb{mode[:4]}")
            params = {"mode": "disjoint" if mode == "disjoint" else "overlap", "run": run_id()}
            app = APPLICATION_NAMES.get(system)
            if app:
                with WaitSampler(ctx.cluster.dsn, app) as sampler:
                    result = ctx.measure(system, CONDITIONAL_TARGETS[system], dsn, params, clients)
                ctx.waits[f"{S5} / {case} / {system}"] = sampler.summary()
            else:
                result = ctx.measure(system, CONDITIONAL_TARGETS[system], dsn, params, clients)
            extra = "" if result is None else f"; {result.conflicts} refused (conflicts) in the window"
            ctx.record_rate(S5, case, system, result, extra)
            if big_dsn is None:
                ctx.cluster.drop_database(dsn_name(dsn))
