"""Point-in-time recovery with pgBackRest: archive WAL, take a full backup, append more, restore
to a moment between two appends, and find exactly the events stored up to that moment."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

import pyevents
from pyevents import Event
from pyevents.backends.postgres import schema
from tests.conftest import PGCLUSTER

STANZA = "pyevents"


def as_cluster_owner(*command: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.getuid() == 0 else list(command)


class ArchivedCluster:
    """A throwaway cluster of its own whose WAL pgBackRest archives."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.config = directory / "pgbackrest.conf"

    def cluster(self, command: str) -> str:
        done = subprocess.run(
            [str(PGCLUSTER), command, str(self.directory)], check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    def pgbackrest(self, *args: str) -> None:
        command = as_cluster_owner("pgbackrest", f"--config={self.config}", f"--stanza={STANZA}", *args)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"pgbackrest {' '.join(args)}:\n{done.stdout}\n{done.stderr}"

    def write_config(self) -> None:
        port = (self.directory / "port").read_text().strip()
        text = (
            f"[global]\nrepo1-path={self.directory}/repo\nlog-path={self.directory}/log\n"
            f"lock-path={self.directory}/lock\nspool-path={self.directory}/spool\nlog-level-console=warn\n"
            f"start-fast=y\ncompress-type=lz4\n\n"
            f"[{STANZA}]\npg1-path={self.directory}/data\npg1-port={port}\npg1-socket-path={self.directory}\n"
            "pg1-user=postgres\n"
        )
        command = as_cluster_owner("sh", "-c", f"cat > '{self.config}'")
        subprocess.run(command, input=text, text=True, check=True)


@pytest.fixture
def archived() -> Iterator[tuple[ArchivedCluster, str]]:
    if shutil.which("pgbackrest") is None:
        pytest.skip("pgbackrest is not installed (scripts/pgcluster.sh install installs it as root)")
    directory = Path(tempfile.mkdtemp(prefix="pyevents-pitr-"))
    node = ArchivedCluster(directory)
    try:
        dsn = node.cluster("start")
        node.write_config()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET archive_mode = on")
            push = f"pgbackrest --config={node.config} --stanza={STANZA} archive-push %p"
            conn.execute(f"ALTER SYSTEM SET archive_command = '{push}'")
            conn.execute("CREATE DATABASE events")
        node.cluster("restart")
        yield node, make_conninfo(dsn, dbname="events")
    finally:
        subprocess.run([str(PGCLUSTER), "destroy", str(directory)], check=False, capture_output=True)


def events(label: str, count: int) -> list[Event]:
    return [Event(event_type=label, actor_type="job", actor_id="pitr", payload={"n": n}) for n in range(count)]


def stored_ids(dsn: str) -> list[str]:
    with pyevents.open_store(config={"backend": "postgresql", "postgresql": {"dsn": dsn}}) as store:
        assert store.verify() == []
        return [str(event.event_id) for event in store.get_events(pyevents.QueryOptions(limit=1000)).events]


@pytest.mark.slow
def test_restore_to_a_point_in_time_finds_exactly_the_events_up_to_it(archived: tuple[ArchivedCluster, str]) -> None:
    node, dsn = archived
    schema.upgrade(dsn)
    before = events("before", 10)
    with pyevents.open_store(config={"backend": "postgresql", "postgresql": {"dsn": dsn}}) as store:
        store.append_batch(before[:5])
        node.pgbackrest("stanza-create")
        node.pgbackrest("--type=full", "backup")
        store.append_batch(before[5:])
        with psycopg.connect(dsn, autocommit=True) as conn:
            time.sleep(1)  # commit timestamps have microseconds; a clear second between the two sides
            row = conn.execute("SELECT now()::text").fetchone()
            assert row is not None
            target = row[0]
            time.sleep(1)
        store.append_batch(events("after", 5))
        with psycopg.connect(dsn, autocommit=True) as conn:
            segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
            assert segment is not None
            deadline = time.monotonic() + 30
            while conn.execute(
                "SELECT coalesce(last_archived_wal, '') >= %s FROM pg_stat_archiver", segment
            ).fetchone() != (True,):
                assert time.monotonic() < deadline, "the WAL holding the later appends was not archived"
                time.sleep(0.1)
    assert len(stored_ids(dsn)) == 15

    node.cluster("stop")
    node.pgbackrest("--delta", "--type=time", f"--target={target}", "--target-action=promote", "restore")
    node.cluster("start")
    with psycopg.connect(make_conninfo(dsn, dbname="postgres"), autocommit=True) as conn:
        deadline = time.monotonic() + 30
        while conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,):
            assert time.monotonic() < deadline, "recovery did not finish"
            time.sleep(0.1)
    assert stored_ids(dsn) == [str(event.event_id) for event in before]
