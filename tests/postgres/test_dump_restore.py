"""pg_dump and pg_restore of a database holding the store give a working store: the same
events, verify clean, appends and reads working, history still protected."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

import pyevents
from pyevents import Event, transfer
from tests.conftest import Cluster


def open_store(dsn: str) -> pyevents.EventStore:
    return pyevents.open_store(config={"backend": "postgresql", "postgresql": {"dsn": dsn}})


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
def test_pg_dump_and_pg_restore_give_a_working_store(pg_dsn: str, pg_cluster: Cluster, tmp_path: Path) -> None:
    events = [
        Event(event_type="t", actor_type="user", actor_id="u", payload={"n": n}, metadata={"tags": [f"k{n % 3}"]})
        for n in range(30)
    ]
    with open_store(pg_dsn) as store:
        store.append_batch(events[:10])
        store.append_batch(events[10:])
        original = transfer.store_digest(store)
    dump = tmp_path / "store.dump"
    subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), "--dbname", pg_dsn], check=True)
    restored = pg_cluster.create_database(template="template0")
    subprocess.run(["pg_restore", "--exit-on-error", "--dbname", restored, str(dump)], check=True)

    with open_store(restored) as store:
        copy = transfer.store_digest(store)
        assert (copy.count, copy.checksum) == (original.count, original.checksum)
        assert store.verify() == []
        position = store.append(Event(event_type="after", actor_type="user", actor_id="u", metadata={"tags": ["k1"]}))
        assert position > 30  # the position sequence was restored with the log
        assert len(store.read(pyevents.Query([pyevents.QueryItem(tags=["k1"])])).events) == 11
        assert store.verify() == []
    with psycopg.connect(restored) as conn, pytest.raises(psycopg.Error, match="append-only"):
        conn.execute("DELETE FROM pyevents.events")
