"""Backend registry: built-in backends plus any registered under the entry-point group
`pyevents.backends` (a class with `from_config(config) -> EventStore`)."""

from __future__ import annotations

import asyncio
from importlib import import_module
from importlib.metadata import entry_points
from typing import Protocol

from pyevents.aio import AsyncEventStore, ThreadedAsyncEventStore
from pyevents.config import Config
from pyevents.encryption import encrypting, key_text, load_keyring
from pyevents.errors import ConfigError
from pyevents.store import EventStore

ENTRY_POINT_GROUP = "pyevents.backends"
BUILTIN = {
    "file": "pyevents.backends.file:FileEventStore",
    "postgresql": "pyevents.backends.postgres:PostgresEventStore",
    "eventstore": "pyevents.backends.eventstore.store:KurrentEventStore",
}


class BackendFactory(Protocol):
    @classmethod
    def from_config(cls, config: Config) -> EventStore: ...


def available() -> dict[str, str]:
    """Backend name -> 'module:Class', built-ins first, then installed plugins."""
    found = dict(BUILTIN)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, entry.value)
    return found


def load(name: str) -> BackendFactory:
    backends = available()
    if name not in backends:
        raise ConfigError(f"unknown backend {name!r}; available backends: {', '.join(sorted(backends))}")
    module_name, _, attribute = backends[name].partition(":")
    try:
        factory: BackendFactory = getattr(import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"backend {name!r} cannot be loaded from {backends[name]}: {exc}") from None
    return factory


async def open_async_backend(config: Config) -> AsyncEventStore:
    """The configured backend behind the async contract: PostgreSQL on its asyncio client; any
    other backend, and an encrypted store, on threads of its own (ThreadedAsyncEventStore),
    opened off the event loop."""
    if config.backend == "postgresql" and key_text(config) is None:
        from pyevents.backends.postgres.async_store import AsyncPostgresEventStore

        return AsyncPostgresEventStore.from_config(config)
    return ThreadedAsyncEventStore(await asyncio.to_thread(open_backend, config))


def open_backend(config: Config) -> EventStore:
    """The configured backend, behind the encrypting layer when `[security.encryption]` has keys."""
    keyring = load_keyring(config)  # a bad key fails before anything is opened
    return encrypting(load(config.backend).from_config(config), keyring)
