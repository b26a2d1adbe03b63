"""Append-only, enforced three ways: privileges, row triggers, TRUNCATE triggers on every
partition; all ENABLE ALWAYS, so superusers and replica mode are refused too."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

import pyevents
from pyevents import Event, QueryOptions

STATEMENTS = {
    "update": "UPDATE {table} SET {column} = {column}",
    "delete": "DELETE FROM {table}",
    "truncate": "TRUNCATE {table}",
}
TABLES = {
    "pyevents.events": "actor_id",
    "pyevents.event_ids": "event_id",
    "pyevents.event_tags": "tag",
}


def partitions(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'pyevents.events'::regclass"
        ).fetchall()
    return [row[0] for row in rows]


def targets(dsn: str, *, with_rows: bool) -> list[tuple[str, str]]:
    """Tables and partitions to attack; row triggers only fire on rows, so UPDATE and DELETE
    are aimed at tables that hold some, TRUNCATE at every one."""
    found = list(TABLES.items()) + [(name, "actor_id") for name in partitions(dsn)]
    if not with_rows:
        return found
    with psycopg.connect(dsn) as conn:
        return [(t, c) for t, c in found if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {t})").fetchone() == (True,)]


@pytest.mark.parametrize("replica", [False, True], ids=["origin", "replica"])
@pytest.mark.parametrize("kind", sorted(STATEMENTS))
def test_superuser_cannot_rewrite_history(filled_dsn: str, kind: str, replica: bool) -> None:
    checked = targets(filled_dsn, with_rows=kind != "truncate")
    assert len(checked) >= 5  # parent, side tables, the back-dated and the current partitions
    for table, column in checked:
        with psycopg.connect(filled_dsn) as conn:
            if replica:
                conn.execute("SET session_replication_role = replica")
            with pytest.raises(psycopg.Error, match="append-only") as error:
                conn.execute(STATEMENTS[kind].format(table=table, column=column))
            assert error.value.sqlstate == "PE004", table
            assert table in str(error.value) or table == "pyevents.events"
    store = pyevents.open_store(config={"backend": "postgresql", "postgresql": {"dsn": filled_dsn}})
    with store:
        assert len(store.get_events(QueryOptions()).events) == 4
        assert store.verify() == []


def test_default_partition_refuses_rows(filled_dsn: str) -> None:
    with psycopg.connect(filled_dsn) as conn, pytest.raises(psycopg.Error, match="no partition") as error:
        conn.execute(
            "INSERT INTO pyevents.events_default (position, event_id, timestamp, event_type, actor_type, actor_id,"
            " correlation_id, schema_version, payload, metadata)"
            " VALUES (999, gen_random_uuid(), '1990-01-01', 'x', 'y', 'z', gen_random_uuid(), '1', '{}', '{}')"
        )
    assert error.value.sqlstate == "PE005"


@pytest.mark.parametrize("kind", sorted(STATEMENTS))
def test_app_role_cannot_touch_tables_directly(filled_dsn: str, app_role: str, kind: str) -> None:
    for table, column in targets(filled_dsn, with_rows=False):
        with psycopg.connect(app_role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(STATEMENTS[kind].format(table=table, column=column))


def test_app_role_cannot_select_or_insert_directly(filled_dsn: str, app_role: str) -> None:
    with psycopg.connect(app_role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT * FROM pyevents.events")
    with psycopg.connect(app_role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(
            "INSERT INTO pyevents.events (position, event_id, timestamp, event_type, actor_type, actor_id,"
            " correlation_id, schema_version, payload, metadata)"
            " VALUES (999, gen_random_uuid(), now(), 'x', 'y', 'z', gen_random_uuid(), '1', '{}', '{}')"
        )
    with psycopg.connect(app_role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT nextval('pyevents.events_position_seq')")


def test_app_role_appends_and_reads_through_functions(filled_dsn: str, app_role: str) -> None:
    with pyevents.open_store(config={"backend": "postgresql", "postgresql": {"dsn": app_role}}) as store:
        old = Event(
            event_type="Imported", actor_type="svc", actor_id="app", timestamp=datetime(2019, 2, 3, 4, 5, 6, tzinfo=UTC)
        )
        position = store.append(old)  # back-dated: the function creates the partition as the owner
        assert store.get_event(old.event_id) is not None
        assert store.get_events(QueryOptions(after_position=position - 1)).events[0].event_id == old.event_id


def test_reader_cannot_append(filled_dsn: str) -> None:
    with psycopg.connect(filled_dsn, autocommit=True) as conn:
        conn.execute("CREATE ROLE reader_only LOGIN IN ROLE pyevents_reader")
    try:
        dsn = psycopg.conninfo.make_conninfo(filled_dsn, user="reader_only")
        with pyevents.open_store(config={"backend": "postgresql", "postgresql": {"dsn": dsn}}) as store:
            assert len(store.get_events().events) == 4
            with pytest.raises(pyevents.PyEventsError, match="permission denied"):
                store.append(Event(event_type="X", actor_type="svc", actor_id="r"))
    finally:
        with psycopg.connect(filled_dsn, autocommit=True) as conn:
            conn.execute("DROP OWNED BY reader_only")
            conn.execute("DROP ROLE reader_only")
