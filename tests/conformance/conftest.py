"""The conformance suite runs every test once per backend and client (the blocking EventStore
and the asyncio AsyncEventStore, seen through BlockingClient): the interface's promises hold on
each of them or that backend is not done. A backend joins by adding its factory to OPENERS."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

import pyevents
from pyevents.store import EventStore

from ..eventstore.server import TestServer
from .blocking import BlockingClient

Opener = Callable[[], EventStore]


def _postgres_config(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    dsn = request.getfixturevalue("pg_dsn")
    return {"backend": "postgresql", "postgresql": {"dsn": dsn, "pool_size": 4}}


def _postgres_partman_config(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    dsn = request.getfixturevalue("pg_partman_dsn")
    return {"backend": "postgresql", "postgresql": {"dsn": dsn, "pool_size": 4}}


def _postgres_pgbouncer_config(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Through PgBouncer in transaction mode: no session is the client's own."""
    dsn = request.getfixturevalue("pg_bouncer_dsn")
    return {"backend": "postgresql", "postgresql": {"dsn": dsn, "pool_size": 4, "pooler": "pgbouncer-transaction"}}


def _eventstore_config(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The real kurrentdbclient against the in-process gRPC test server (tests/eventstore/server.py)."""
    server = TestServer()
    request.addfinalizer(server.stop)
    return {"backend": "eventstore", "eventstore": {"connection_string": server.uri}}


def _kurrentdb_config(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """A real EventStoreDB/KurrentDB server, a fresh stream per test (its events stay there)."""
    uri = os.environ.get("PYEVENTS_KURRENTDB_URI")
    if not uri:
        pytest.skip("PYEVENTS_KURRENTDB_URI is not set (no real KurrentDB; see docker/compose.yml, profile eventstore)")
    stream = f"pyevents-test-{uuid.uuid4().hex}"
    return {"backend": "eventstore", "eventstore": {"connection_string": uri, "stream": stream}}


# backend name -> configuration of a fresh, empty store of that backend for one test
OPENERS: dict[str, Callable[[pytest.FixtureRequest, Path], dict[str, Any]]] = {
    "file": lambda request, tmp_path: {"backend": "file", "file": {"data_directory": str(tmp_path / "events")}},
    "postgresql": _postgres_config,
    "postgresql-partman": _postgres_partman_config,
    "postgresql-pgbouncer": _postgres_pgbouncer_config,
    "eventstore": _eventstore_config,
    "eventstore-kurrentdb": _kurrentdb_config,
}


@pytest.fixture(params=sorted(OPENERS))
def store_config(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    return OPENERS[request.param](request, tmp_path)


@pytest.fixture(params=["sync", "async"])
def client(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_store(store_config: dict[str, Any], client: str) -> Iterator[Opener]:
    """Opens (again) a store on the same storage: for reopen and multi-client tests."""
    opened: list[EventStore] = []

    def opener() -> EventStore:
        if client == "async":
            # The async store, called through the blocking interface the tests use.
            store = cast(EventStore, BlockingClient(store_config))
        else:
            store = pyevents.open_store(config=store_config)
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Opener) -> EventStore:
    return open_store()
