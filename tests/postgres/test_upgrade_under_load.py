"""`db upgrade` while the store is in use: writers and readers keep going through three
upgrades, and not one of their calls fails (no deadlock, no lock timeout of theirs)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg

from pyevents.backends.postgres import schema

APPEND = (
    "SELECT pyevents.append_events(ARRAY(SELECT gen_random_uuid() FROM generate_series(1, %(n)s)),"
    " array_fill(now(), ARRAY[%(n)s]), array_fill(%(type)s::text, ARRAY[%(n)s]), array_fill('svc'::text, ARRAY[%(n)s]),"
    " array_fill('w'::text, ARRAY[%(n)s]), array_fill(gen_random_uuid(), ARRAY[%(n)s]),"
    " array_fill(NULL::uuid, ARRAY[%(n)s]), array_fill('1.0'::text, ARRAY[%(n)s]),"
    " array_fill('{}'::jsonb, ARRAY[%(n)s]), array_fill(%(meta)s::jsonb, ARRAY[%(n)s]))"
)
CONDITIONAL = (
    "SELECT pyevents.append_event(gen_random_uuid(), now(), %(type)s, 'svc', 'w', gen_random_uuid(), NULL, '1.0',"
    " '{}', %(meta)s, %(condition)s, NULL)"
)
WRITES: list[tuple[str, dict[str, object]]] = [
    (APPEND, {"n": 1, "type": "Placed", "meta": '{"tags": ["order:1"]}'}),
    (APPEND, {"n": 20, "type": "Imported", "meta": "{}"}),  # big batch: takes the gate table
    (CONDITIONAL, {"type": "Paid", "meta": "{}", "condition": '{"items": [{"types": ["Refunded"]}]}'}),
]
READS: list[tuple[str, dict[str, object]]] = [
    ("SELECT count(*) FROM pyevents.get_events(p_limit => 50)", {}),
    ("SELECT count(*) FROM pyevents.get_events(p_event_types => ARRAY['Placed'], p_order_by => 'timestamp')", {}),
    ("""SELECT count(*) FROM pyevents.read_events('{"items": [{"tags": ["order:1"]}]}')""", {}),
    ("SELECT * FROM pyevents.stream_frontier(0)", {}),
]


def keep_calling(
    dsn: str, calls: list[tuple[str, dict[str, object]]], stop: threading.Event, done: list[int], failures: list[str]
) -> Callable[[], None]:
    def run() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            while not stop.is_set():
                for sql, params in calls:
                    try:
                        conn.execute(sql, params)
                        done.append(1)
                    except psycopg.Error as exc:
                        failures.append(f"{exc.sqlstate}: {exc}")

    return run


def test_writers_and_readers_go_on_through_three_upgrades(pg_dsn: str) -> None:
    stop = threading.Event()
    done: list[int] = []
    failures: list[str] = []
    threads = [threading.Thread(target=keep_calling(pg_dsn, WRITES, stop, done, failures)) for _ in range(4)]
    threads += [threading.Thread(target=keep_calling(pg_dsn, READS, stop, done, failures)) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        upgraded = 0
        for _ in range(3):
            before = len(done)
            assert schema.upgrade(pg_dsn) == []
            upgraded += 1
            time.sleep(0.2)
            assert len(done) > before, "no call completed across an upgrade"
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert upgraded == 3
    assert failures == []
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT * FROM pyevents.verify()").fetchall() == []
