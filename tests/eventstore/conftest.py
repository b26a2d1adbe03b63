"""Fixtures of the eventstore backend's own tests: the in-process server and stores on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from pyevents.backends.eventstore.store import KurrentEventStore

from .server import TestServer

StoreFactory = Callable[..., KurrentEventStore]


@pytest.fixture
def server() -> Iterator[TestServer]:
    running = TestServer()
    yield running
    running.stop()


@pytest.fixture
def make_store(server: TestServer) -> Iterator[StoreFactory]:
    """Stores on the test server; small pages so that every read crosses page boundaries."""
    opened: list[KurrentEventStore] = []

    def factory(stream: str = "pyevents", *, page_size: int = 3, timeout: float = 30) -> KurrentEventStore:
        store = KurrentEventStore(server.uri, stream=stream, page_size=page_size, timeout=timeout)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()
