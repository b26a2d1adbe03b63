"""One benchmark run end to end: cluster, conditions, scenarios, report file."""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import goals, peers, profile
from benchmarks.cluster import BenchCluster
from benchmarks.context import ES, MDB, SCALES, Progress, RunContext
from benchmarks.data import EventFactory, EventPool, event_bytes, payload_bytes
from benchmarks.report import Report, merge, render, spread_goals
from benchmarks.scenarios import appends, catch_up, dcb, file_store, follower, queries, retention_run, sizes

PARTS = ("peers", "append", "dcb", "big", "follow", "size", "profile", "retention")


def run_benchmarks(
    scale: str = "smoke",
    *,
    dsn: str | None = None,
    output: str | Path | None = None,
    seed: int = 42,
    events: int | None = None,
    only: set[str] | None = None,
    command: str | None = None,
    progress: Callable[[str], None] | None = None,
    runs: int = 1,
) -> Report:
    """Run the scale's scenarios `runs` times and return the report (also written to `output` if
    given): with several runs, every figure is the median with its range, and the goals are judged
    on the medians. The big store is loaded once and the profile taken in the first run only.

    Without `dsn`, a throwaway cluster is started with scripts/pgcluster.sh and destroyed after.
    With `dsn` (a superuser connection), databases named bench_* are created and dropped on it.
    """
    if runs < 1:
        raise ValueError(f"runs must be at least 1, not {runs}")
    chosen = SCALES[scale]
    say = Progress(progress)
    cluster = BenchCluster(dsn) if dsn else BenchCluster.start()
    reports: list[Report] = []
    started = time.perf_counter()
    try:
        big = None
        for number in range(1, runs + 1):
            report = Report(scale=scale, command=command or " ".join(shlex.quote(a) for a in sys.argv))
            describe(report, cluster, given_dsn=dsn is not None)
            ctx = RunContext(cluster, chosen, report, seed=seed, progress=say, big_events=events)
            ctx.big = big
            if runs > 1:
                say(f"run {number} of {runs}")
            try:
                parts = only if number == 1 else (only or set(PARTS)) - {"profile"}
                run_scenarios(ctx, only=parts)
            finally:
                if ctx.mdb_dir is not None:
                    shutil.rmtree(ctx.mdb_dir, ignore_errors=True)
            big = ctx.big
            reports.append(report)
    finally:
        cluster.close()
    if runs == 1:
        report = reports[0]
    else:
        report = merge(reports)
        goals.judge(report, chosen.clients)
        spread_goals(report, reports)
    report.conditions["run time"] = f"{time.perf_counter() - started:.0f}s"
    if output is not None:
        Path(output).write_text(render(report))
        say(f"wrote {output}")
    return report


def describe(report: Report, cluster: BenchCluster, *, given_dsn: bool) -> None:
    settings = cluster.settings()
    report.conditions["PostgreSQL"] = settings.pop("server_version", "?")
    report.conditions["settings"] = ", ".join(f"{k}={v}" for k, v in settings.items())
    report.conditions["cluster"] = "given by --dsn" if given_dsn else "throwaway (scripts/pgcluster.sh), loopback TCP"
    report.conditions["machine"] = (
        f"{os.cpu_count()} CPUs, {platform.machine()}, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; client and server on the same machine"
    )


def run_scenarios(ctx: RunContext, *, only: set[str] | None = None) -> Report:
    def want(name: str) -> bool:
        return only is None or name in only

    sample = EventPool(EventFactory(ctx.seed), 0, 500)
    event_sizes = [event_bytes(sample.take()) for _ in range(500)]
    payloads = [payload_bytes(sample.take()) for _ in range(500)]
    ctx.report.conditions["event"] = (
        f"payload {min(payloads)}-{max(payloads)} bytes (mean {sum(payloads) / len(payloads):.0f}) of nested JSON, "
        f"payload + metadata {sum(event_sizes) / len(event_sizes):.0f} bytes mean; metadata has 3 tags "
        "(tenant, order, region), trace id, client; 16 event types, 10,000 actors, 100 tenants, "
        "5 events per correlation; seed " + str(ctx.seed)
    )
    ctx.report.conditions["clients"] = (
        f"1 and {ctx.scale.clients} processes for single appends and {ctx.scale.clients} for DCB "
        "(multiprocessing, spawn, one connection each); 1 for batches, queries and catch-up"
    )
    ctx.report.conditions["durations"] = (
        f"{ctx.scale.warmup:g}s warm-up + {ctx.scale.duration:g}s measured per run; "
        f"{ctx.scale.query_iterations} queries per query case; catch-up capped at {ctx.scale.catchup_seconds:g}s"
    )
    if want("peers"):
        setup_peers(ctx)
    else:
        ctx.report.unavailable[ES] = "peers disabled for this run (--no-peers)"
        ctx.report.unavailable[MDB] = "peers disabled for this run (--no-peers)"
    if want("append"):
        appends.run(ctx)
        catch_up.run_small(ctx)
    if want("dcb"):
        dcb.run(ctx, "empty store")
    if want("big"):
        if ctx.big is None:
            ctx.big = queries.load_big_store(ctx)
        queries.run(ctx, ctx.big)
        catch_up.run_big(ctx, ctx.big)
    if want("follow"):
        follower.run(ctx)
    if want("size"):
        sizes.run(ctx)
    if ctx.big is not None and want("dcb"):
        dcb.run(ctx, f"store of {ctx.big.info.events:,} events", ctx.big.dsn)
    if want("profile"):
        ctx.say("profile")
        ctx.report.sections["Profile (where pyevents spends its time)"] = profile.profile(
            ctx.cluster, None if ctx.big is None else ctx.big.dsn, ctx.seed, ctx.waits
        )
    file_store.run(ctx)
    if want("retention"):
        retention_run.run(ctx)
    goals.judge(ctx.report, ctx.scale.clients)
    return ctx.report


def setup_peers(ctx: RunContext) -> None:
    ctx.say("peers: eventsourcing")
    es = peers.find_eventsourcing()
    if es.available:
        try:
            dsn = ctx.cluster.create_database("bench_tpl_es")
            peers.create_eventsourcing_tables(dsn, es.dcb)
            ctx.templates[ES] = "bench_tpl_es"
            ctx.systems.append(ES)
            if es.dcb:
                ctx.dcb_systems.append(ES)
            else:
                ctx.report.notes.append(f"eventsourcing {es.version} has no DCB recorder: not in scenario 5")
        except Exception as exc:
            es = peers.PeerStatus(ES, False, es.version, reason=f"table creation failed: {exc}")
    if not es.available:
        ctx.report.unavailable[ES] = es.reason
    ctx.say("peers: message-db")
    mdb, ctx.mdb_dir = peers.ensure_message_db(ctx.cluster, "bench_tpl_mdb")
    if mdb.available:
        ctx.templates[MDB] = "bench_tpl_mdb"
        ctx.systems.append(MDB)
        ctx.dcb_systems.append(MDB)
    else:
        ctx.report.unavailable[MDB] = mdb.reason
    versions = [f"eventsourcing {es.version}" if es.available else "eventsourcing: unavailable"]
    versions.append(
        f"message-db {mdb.version} ({peers.MESSAGE_DB_PACKAGE})" if mdb.available else "message-db: unavailable"
    )
    ctx.report.conditions["peers"] = "; ".join(versions)
