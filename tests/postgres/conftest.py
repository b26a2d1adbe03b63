"""Fixtures for PostgreSQL-specific tests: a filled store, application login roles, and a
database handed out by a managed service."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import psycopg
import pytest

import pyevents
from pyevents import Event
from pyevents.backends.postgres import PostgresEventStore

from ..conftest import Cluster


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


@pytest.fixture
def app_role(pg_dsn: str) -> Iterator[str]:
    """A LOGIN role granted pyevents_writer and pyevents_reader, as an application would be; its DSN."""
    name = f"app_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN IN ROLE pyevents_writer, pyevents_reader")
    yield psycopg.conninfo.make_conninfo(pg_dsn, user=name)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"DROP OWNED BY {name}")
        conn.execute(f"DROP ROLE {name}")


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
