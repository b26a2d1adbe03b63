"""Where pyevents' stored functions spend their time, for the owner of the SQL.

`auto_explain` (loaded per session, nested statements on, ANALYZE and BUFFERS, sent to the
client as NOTICEs) captures the plan and duration of every statement that `append_events` and
`get_events` run inside; `track_functions = 'all'` gives the self time of every function. The
pg_stat_activity wait samples taken during the multi-client runs say what backends waited on.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import psycopg

from benchmarks.cluster import BenchCluster
from benchmarks.data import EventFactory, EventPool
from benchmarks.targets import tagged
from pyevents.backends.postgres.store import APPEND_SQL, GET_EVENTS_SQL, append_params
from pyevents.model import AppendCondition, Query, QueryItem

DURATION = re.compile(r"duration: ([0-9.]+) ms")


def _explained(conn: psycopg.Connection[tuple[Any, ...]], calls: int, call: Callable[[int], object]) -> list[str]:
    """Run `call` `calls` times with auto_explain on; summarise the nested statements."""
    notices: list[str] = []
    conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
    for setting in (
        "LOAD 'auto_explain'",
        "SET auto_explain.log_min_duration = 0",
        "SET auto_explain.log_analyze = on",
        "SET auto_explain.log_buffers = on",
        "SET auto_explain.log_nested_statements = on",
        "SET auto_explain.log_level = 'notice'",
    ):
        conn.execute(setting)
    call(0)  # warm caches and plans
    notices.clear()
    started = time.perf_counter()
    for index in range(1, calls + 1):
        call(index)
    wall = (time.perf_counter() - started) / calls * 1000
    conn.execute("SET auto_explain.log_min_duration = -1")
    by_statement: dict[str, list[float]] = defaultdict(list)
    first_lines: dict[str, str] = {}
    for notice in notices:
        match = DURATION.search(notice)
        if not match:
            continue
        text = notice.split("Query Text:", 1)[-1].strip()
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        plan_at = next((i for i, line in enumerate(lines) if "(actual time=" in line or "(cost=" in line), len(lines))
        query = " ".join(lines[:plan_at])
        key = re.sub(r"\s+", " ", query)[:110]
        by_statement[key].append(float(match.group(1)))
        if key not in first_lines and plan_at < len(lines):
            buffers = next((line for line in lines[plan_at:] if line.startswith("Buffers:")), "")
            first_lines[key] = lines[plan_at][:140] + (f"; {buffers}" if buffers else "")
    rows = sorted(by_statement.items(), key=lambda item: -sum(item[1]))
    out = [f"client-side wall time {wall:.2f} ms per call (auto_explain on adds overhead)", ""]
    out += ["| statement (inside the call) | runs/call | mean ms | plan top |", "|---|---:|---:|---|"]
    for key, durations in rows[:8]:
        plan = first_lines.get(key, "").replace("|", "\\|")
        mean = sum(durations) / len(durations)
        out.append(f"| `{key.replace('|', '/')}` | {len(durations) / calls:.1f} | {mean:.3f} | {plan} |")
    return out


def function_times(dsn: str) -> list[str]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT schemaname || '.' || funcname, calls, round(total_time::numeric, 1), round(self_time::numeric, 1)"
            " FROM pg_stat_user_functions ORDER BY self_time DESC LIMIT 10"
        ).fetchall()
    out = ["| function | calls | total ms | self ms |", "|---|---:|---:|---:|"]
    out += [f"| {name} | {calls} | {total} | {self_ms} |" for name, calls, total, self_ms in rows]
    return out


def profile(cluster: BenchCluster, big_dsn: str | None, seed: int, waits: dict[str, str]) -> list[str]:
    lines: list[str] = []
    dsn = cluster.new_pyevents_database("bench_profile")
    pool = EventPool(EventFactory(seed), 0, 500)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET track_functions = 'all'")
        for _ in range(20):
            conn.execute(APPEND_SQL, append_params([pool.take()]))
        lines += ["### append_events, one event (empty store)", ""]
        lines += _explained(conn, 30, lambda _i: conn.execute(APPEND_SQL, append_params([pool.take()])))
        lines += ["", "### append_events, batch of 1000", ""]
        lines += _explained(conn, 3, lambda _i: conn.execute(APPEND_SQL, append_params(pool.batch(1000))))
    time.sleep(2.0)  # let the backend flush its function statistics
    lines += ["", "### Function self time (track_functions = all), over the calls above", ""]
    lines += function_times(dsn)
    if big_dsn is not None:
        with psycopg.connect(big_dsn, autocommit=True) as conn:
            counter = {"n": 0}

            def conditional(_index: int) -> None:
                counter["n"] += 1
                tag = f"account:profile-{counter['n']}"
                event = tagged(pool.take(), tag)
                conn.execute(APPEND_SQL, append_params([event], AppendCondition(Query([QueryItem(tags=[tag])]))))

            lines += ["", "### append_events with a DCB condition (one tag), big store", ""]
            lines += _explained(conn, 30, conditional)

            def by_tag(index: int) -> None:
                conn.execute(
                    GET_EVENTS_SQL,
                    (
                        None,
                        None,
                        None,
                        None,
                        None,
                        [f"tenant:{index % 100}"],
                        1000 * index,
                        101,
                        0,
                        "position",
                        "asc",
                        None,
                        None,
                    ),
                ).fetchall()

            lines += ["", "### get_events: page of 100 by tag, big store", ""]
            lines += _explained(conn, 20, by_tag)

            def latest(_index: int) -> None:
                conn.execute(
                    GET_EVENTS_SQL,
                    (None, None, None, None, None, None, None, 101, 0, "position", "desc", None, None),
                ).fetchall()

            lines += ["", "### get_events: latest 100, big store", ""]
            lines += _explained(conn, 20, latest)
    if waits:
        lines += ["", "### What backends waited on during multi-client runs (pg_stat_activity samples)", ""]
        lines += [f"- {case}: {summary}" for case, summary in waits.items()]
    cluster.drop_database("bench_profile")
    return lines
