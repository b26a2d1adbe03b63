"""Fixtures for PostgreSQL-specific tests: a filled store, application login roles, and a
database handed out by a managed service."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

import pyevents
from pyevents import Event
from pyevents.backends.postgres import PostgresEventStore

from ..conftest import PGCLUSTER, ROOT, Cluster

FIRST_RELEASE = "683290d"


@pytest.fixture
def pg_store(pg_dsn: str) -> Iterator[PostgresEventStore]:
    store = pyevents.open_store(config={"backend": "postgresql", "postgresql": {"dsn": pg_dsn}})
    assert isinstance(store, PostgresEventStore)
    yield store
    store.close()


@pytest.fixture
def filled_dsn(pg_dsn: str, pg_store: PostgresEventStore) -> str:
    """A database holding events in two partitions (one back-dated), with tags."""
    pg_store.append(
        Event(event_type="Old", actor_type="svc", actor_id="import", timestamp=datetime(2020, 5, 5, tzinfo=UTC))
    )
    pg_store.append_batch(
        [Event(event_type="New", actor_type="svc", actor_id="app", metadata={"tags": ["t"]}) for _ in range(3)]
    )
    return pg_dsn


RoleMaker = Callable[..., str]


@pytest.fixture
def make_role() -> Iterator[RoleMaker]:
    """`make_role(dsn, "pyevents_reader", ...)`: a new LOGIN role granted those roles, as an
    application's login would be; returns its DSN for that database. Dropped afterwards."""
    made: list[tuple[str, str]] = []

    def make(dsn: str, *granted: str) -> str:
        name = f"login_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {name} LOGIN" + (f" IN ROLE {', '.join(granted)}" if granted else ""))
        made.append((dsn, name))
        return psycopg.conninfo.make_conninfo(dsn, user=name)

    yield make
    for dsn, name in made:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {name}")
            conn.execute(f"DROP ROLE {name}")


@pytest.fixture
def app_role(pg_dsn: str, make_role: RoleMaker) -> str:
    """A LOGIN role granted pyevents_writer and pyevents_reader, as an application would be; its DSN."""
    return make_role(pg_dsn, "pyevents_writer", "pyevents_reader")


@pytest.fixture
def master_dsn(pg_cluster: Cluster) -> Iterator[str]:
    """A database created by a CREATEDB/CREATEROLE login, as a managed service hands it out."""
    name = f"master_{uuid.uuid4().hex[:8]}"
    database = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_cluster.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN CREATEDB CREATEROLE")
    master = psycopg.conninfo.make_conninfo(pg_cluster.dsn, user=name)
    with psycopg.connect(master, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database}")
    pg_cluster.created.append(database)  # dropped when the test ends, as every test database
    yield psycopg.conninfo.make_conninfo(master, dbname=database)
    # The role first, while it still owns the database; then the cluster drops the database.
    with psycopg.connect(pg_cluster.dsn_for(database), autocommit=True) as conn:
        conn.execute(f"REASSIGN OWNED BY {name} TO CURRENT_USER")
        conn.execute(f"DROP OWNED BY {name}")
        conn.execute(f"DROP ROLE {name}")


def unpacked(commit: str, directory: Path, *paths: str) -> Path:
    """`paths` as commit `commit` of this repository had them, unpacked into `directory`;
    skips the test when the checkout lacks that commit."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, *paths], capture_output=True, check=False)
    if archive.returncode != 0:
        pytest.skip(f"commit {commit} is not in this checkout's history (a shallow clone?)")
    directory.mkdir(exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive.stdout, check=True)
    return directory


def install_first_release(dsn: str, tmp_path: Path) -> list[str]:
    """Installs the store of the first release, unpacked from the repository's history, into
    `dsn` and appends 20 events with it; returns their ids."""
    old = unpacked(FIRST_RELEASE, tmp_path / "first-release", "pyevents", "sql", "migrations")
    script = (
        "import json, sys, pyevents\n"
        "from pyevents.backends.postgres import schema\n"
        "dsn = sys.argv[1]\n"
        "schema.upgrade(dsn)\n"
        "store = pyevents.open_store(config={'backend': 'postgresql', 'postgresql': {'dsn': dsn}})\n"
        "events = [pyevents.Event(event_type='old', actor_type='user', actor_id='u', payload={'n': n},\n"
        "                         metadata={'tags': ['legacy']}) for n in range(20)]\n"
        "store.append_batch(events)\n"
        "print(json.dumps([str(event.event_id) for event in events]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, dsn], cwd=old, capture_output=True, text=True, env={"PYTHONPATH": str(old)}
    )
    assert done.returncode == 0, done.stderr
    ids: list[str] = json.loads(done.stdout)
    return ids


def extension_installed(name: str) -> bool:
    """Whether the server's packages include extension `name` (any installed major version)."""
    return any(Path("/usr/share/postgresql").glob(f"*/extension/{name}.control"))


@contextmanager
def configured_cluster(name: str, settings: str) -> Iterator[tuple[Path, str]]:
    """A throwaway cluster of its own, started with `settings` added to postgresql.conf (what
    must be set before start, such as shared_preload_libraries), holding an empty database
    `events`; yields its directory and the superuser's DSN of `events`. Destroyed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix=f"pyevents-{name}-"))
    try:
        dsn = subprocess.run([PGCLUSTER, "start", directory], check=True, capture_output=True, text=True).stdout.strip()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE DATABASE events")
        with open(directory / "data" / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(settings)
        subprocess.run([PGCLUSTER, "restart", directory], check=True, capture_output=True)
        yield directory, psycopg.conninfo.make_conninfo(dsn, dbname="events")
    finally:
        subprocess.run([PGCLUSTER, "destroy", directory], check=False, capture_output=True)
