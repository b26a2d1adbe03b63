"""verify on PostgreSQL: per-event checksums recorded at append time and recomputed, event ids
and positions, removed events, and checksums for stores written before they existed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

import pyevents
from pyevents import Event
from pyevents.backends.postgres import schema
from tests.cli.helpers import invoke
from tests.conftest import Cluster
from tests.postgres.conftest import install_first_release


def open_store(dsn: str) -> pyevents.EventStore:
    return pyevents.open_store(config={"backend": "postgresql", "postgresql": {"dsn": dsn}})


@pytest.fixture
def filled(pg_dsn: str) -> Iterator[tuple[str, list[Event]]]:
    events = [
        Event(event_type=f"t{n}", actor_type="user", actor_id="u", payload={"n": n}, metadata={"tags": [f"k{n}"]})
        for n in range(5)
    ]
    with open_store(pg_dsn) as store:
        store.append_batch(events)
        assert store.verify() == []
    yield pg_dsn, events


def as_superuser_without_triggers(dsn: str, statement: str) -> None:
    """What only a superuser can do: switch the store's triggers off, change rows, switch them on
    (as plain ENABLE, not ENABLE ALWAYS: verify reports that too, see `data_problems`)."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'pyevents.events'::regclass"
        ).fetchall()
        tables = ["pyevents.events", "pyevents.event_ids", "pyevents.event_tags", *(row[0] for row in rows)]
        # The store's event triggers would protect the tables again at once: off first.
        event_triggers = [row[0] for row in conn.execute("SELECT evtname FROM pg_event_trigger").fetchall()]
        for name in event_triggers:
            conn.execute(f"ALTER EVENT TRIGGER {name} DISABLE")
        for table in tables:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        conn.execute(statement)
        for table in tables:
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
        for name in event_triggers:
            conn.execute(f"ALTER EVENT TRIGGER {name} ENABLE ALWAYS")


def data_problems(store: pyevents.EventStore) -> list[str]:
    problems = store.verify()
    switched = [problem for problem in problems if "or it is not ENABLE ALWAYS" in problem]
    assert switched, "verify no longer notices triggers switched off and on"
    return [problem for problem in problems if problem not in switched]


def test_verify_names_a_payload_a_superuser_changed(filled: tuple[str, list[Event]]) -> None:
    dsn, events = filled
    as_superuser_without_triggers(dsn, "UPDATE pyevents.events SET payload = '{\"n\": 99}' WHERE position = 3")
    with open_store(dsn) as store:
        problems = data_problems(store)
    assert problems == [
        f"event {events[2].event_id} at position 3 does not match the checksum recorded when it was appended: "
        "its content was changed"
    ]
    result = invoke(["verify", "--dsn", dsn, "--format", "json"], code=1)
    assert problems[0] in json.loads(result.stdout)["problems"]


def test_verify_names_a_removed_event_and_a_duplicated_id(filled: tuple[str, list[Event]]) -> None:
    dsn, events = filled
    as_superuser_without_triggers(dsn, "DELETE FROM pyevents.events WHERE position = 2")
    as_superuser_without_triggers(
        dsn,
        "INSERT INTO pyevents.events (position, event_id, timestamp, event_type, actor_type, actor_id, correlation_id,"
        " schema_version, payload, metadata) SELECT 2, event_id, timestamp, event_type, actor_type, actor_id,"
        " correlation_id, schema_version, payload, metadata FROM pyevents.events WHERE position = 4",
    )
    with open_store(dsn) as store:
        problems = data_problems(store)
    assert f"event_id {events[3].event_id} is stored 2 times (positions 2, 4)" in problems
    assert f"event {events[3].event_id} at position 2 has no entry in event_ids" in problems
    # The row written behind the store's back has no checksum: named, not taken for a sealed one.
    assert any(problem.startswith("1 events have no checksum (positions 2 to 2)") for problem in problems)


def test_an_append_keeps_each_checksum_in_the_event_row(filled: tuple[str, list[Event]]) -> None:
    dsn, _events = filled
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT checksum = pyevents.event_checksum(position, event_id, timestamp, event_type, actor_type,"
            " actor_id, correlation_id, causation_id, schema_version, payload, metadata, appended_by)"
            " FROM pyevents.events ORDER BY position"
        ).fetchall()
        assert rows == [(True,)] * 5
        assert conn.execute("SELECT count(*) FROM pyevents.event_checksums").fetchone() == (0,)


def test_events_without_checksums_are_reported_and_sealed_by_backfill(filled: tuple[str, list[Event]]) -> None:
    dsn, _events = filled
    as_superuser_without_triggers(dsn, "UPDATE pyevents.events SET checksum = NULL WHERE position > 3")
    with open_store(dsn) as store:
        assert data_problems(store) == [
            "2 events have no checksum (positions 4 to 5); seal them with SELECT pyevents.backfill_checksums()"
        ]
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT pyevents.backfill_checksums()").fetchone() == (2,)
            assert conn.execute("SELECT pyevents.backfill_checksums()").fetchone() == (0,)
        assert data_problems(store) == []


def test_a_store_of_the_first_release_upgrades_with_its_events_intact_and_verifiable(
    pg_cluster: Cluster, tmp_path: Path
) -> None:
    dsn = pg_cluster.create_database(template=None)
    old_ids = install_first_release(dsn, tmp_path)
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT to_regclass('pyevents.event_checksums')").fetchone() == (None,)
        before = conn.execute("SELECT position, event_id, payload FROM pyevents.events ORDER BY position").fetchall()

    schema.upgrade(dsn)
    with open_store(dsn) as store:
        assert store.verify() == []
        store.append(Event(event_type="new", actor_type="user", actor_id="u"))
        assert store.verify() == []
    with psycopg.connect(dsn) as conn:
        rows: list[Any] = conn.execute(
            "SELECT position, event_id, payload FROM pyevents.events ORDER BY position"
        ).fetchall()
        assert rows[:20] == before and [str(row[1]) for row in before] == old_ids
        # The old events are sealed beside the log; the new one carries its checksum in its row.
        assert conn.execute("SELECT count(*) FROM pyevents.event_checksums").fetchone() == (20,)
        assert conn.execute("SELECT checksum IS NULL FROM pyevents.events ORDER BY position").fetchall() == [
            (True,)
        ] * 20 + [(False,)]
        # Who appended the old events was never recorded, and is not made up afterwards.
        login = conn.execute("SELECT session_user::text").fetchone()
        appended_by = conn.execute("SELECT appended_by FROM pyevents.events ORDER BY position").fetchall()
        assert appended_by == [(None,)] * 20 + [login]
    as_superuser_without_triggers(dsn, "UPDATE pyevents.events SET payload = '{}' WHERE position = 1")
    with open_store(dsn) as store:
        assert [problem.split(" at ")[1] for problem in data_problems(store)] == [
            "position 1 does not match the checksum recorded when it was appended: its content was changed"
        ]
