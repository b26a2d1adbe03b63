"""Snapshots on PostgreSQL: through the functions only, for application roles too; the table
itself is out of their reach."""

from __future__ import annotations

import uuid

import psycopg
import pytest

import pyevents
from pyevents import Event


def test_an_application_role_uses_snapshots_only_through_the_functions(app_role: str) -> None:
    config = {"backend": "postgresql", "postgresql": {"dsn": app_role}}
    correlation = uuid.uuid4()
    with pyevents.open_store(config=config) as store:
        position = store.append(Event(event_type="a", actor_type="svc", actor_id="app", correlation_id=correlation))
        store.create_snapshot(correlation, {"seen": 1})
        snapshot = store.get_snapshot(correlation)
        assert snapshot is not None and (snapshot.state, snapshot.position) == ({"seen": 1}, position)
    with psycopg.connect(app_role, autocommit=True) as conn:
        for statement in ("SELECT * FROM pyevents.snapshots", "DELETE FROM pyevents.snapshots"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        row = conn.execute("SELECT created_by FROM pyevents.get_snapshot(%s)", (correlation,)).fetchone()
    assert row is not None and row[0] == psycopg.conninfo.conninfo_to_dict(app_role)["user"]
