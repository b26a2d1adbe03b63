"""Scenarios 1 and 2: single-event appends from 1 and N client processes, batches of 100 and 1000."""

from __future__ import annotations

from benchmarks.context import APPEND_TARGETS, APPLICATION_NAMES, S1, S2, RunContext, WaitSampler, dsn_name


def run(ctx: RunContext) -> None:
    cases = [(S1, f"{n} client{'s' if n > 1 else ''}", 1, n) for n in sorted({1, ctx.scale.clients})]
    cases += [(S2, f"batch of {b}, 1 client", b, 1) for b in (100, 1000)]
    for scenario, case, batch, clients in cases:
        ctx.say(f"{scenario}: {case}")
        for system in ctx.systems:
            label = f"b{batch}c{clients}"
            dsn = ctx.database(system, label)
            sampler_app = APPLICATION_NAMES.get(system)
            if sampler_app and clients > 1:
                with WaitSampler(ctx.cluster.dsn, sampler_app) as sampler:
                    result = ctx.measure(system, APPEND_TARGETS[system], dsn, {"batch": batch}, clients)
                ctx.waits[f"{scenario} / {case} / {system}"] = sampler.summary()
            else:
                result = ctx.measure(system, APPEND_TARGETS[system], dsn, {"batch": batch}, clients)
            ctx.record_rate(scenario, case, system, result)
            if batch == 1000:
                ctx.kept[system] = dsn
            else:
                ctx.cluster.drop_database(dsn_name(dsn))
