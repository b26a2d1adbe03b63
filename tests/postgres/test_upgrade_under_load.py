"""`db upgrade` while the store is in use: writers and readers keep going through three
upgrades, and not one of their calls fails (no deadlock, no lock timeout of theirs)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from pyevents import __version__
from pyevents.backends.postgres import schema
from tests.conftest import Cluster
from tests.postgres.conftest import install_first_release

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


def test_a_migration_waiting_for_a_lock_gives_way_to_the_store_users(pg_cluster: Cluster, tmp_path: Path) -> None:
    """A store of the first release has migrations pending that change the events table. While a
    long read holds the table, such a migration waits, and every statement after it would queue
    behind it for as long as the read lasts; the upgrade must instead give way and try again."""
    dsn = pg_cluster.create_database(template=None)
    old_ids = install_first_release(dsn, tmp_path)
    failures: list[BaseException] = []

    def upgrade() -> None:
        try:
            schema.upgrade(dsn)
        except BaseException as exc:  # reported by the test's thread
            failures.append(exc)

    with psycopg.connect(dsn) as long_read:
        long_read.execute("SELECT count(*) FROM pyevents.events")  # holds the table until it commits
        upgrading = threading.Thread(target=upgrade)
        upgrading.start()
        with psycopg.connect(dsn, autocommit=True) as watcher:
            deadline = time.monotonic() + 60
            waiting_migration = (
                "SELECT count(*) FROM pg_locks AS l JOIN pg_stat_activity AS a USING (pid)"
                " WHERE NOT l.granted AND l.relation = 'pyevents.events'::regclass AND a.query ILIKE '%%ALTER TABLE%%'"
            )
            while watcher.execute(waiting_migration).fetchone() != (1,):
                assert time.monotonic() < deadline, "the upgrade never waited for the long read"
                assert upgrading.is_alive(), failures
                time.sleep(0.05)
        with psycopg.connect(dsn, autocommit=True) as reader:
            reader.execute("SET statement_timeout = '30s'")  # queued behind the migration: cancelled
            assert reader.execute("SELECT count(*) FROM pyevents.events").fetchone() == (len(old_ids),)
        long_read.commit()
    upgrading.join(timeout=120)
    assert not upgrading.is_alive() and failures == []
    with psycopg.connect(dsn) as conn:
        stored = [
            str(event_id) for (event_id,) in conn.execute("SELECT event_id FROM pyevents.events ORDER BY position")
        ]
        assert stored == old_ids
        assert conn.execute("SELECT pyevents.schema_version()").fetchone() == (__version__,)
