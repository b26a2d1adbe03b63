"""pyevents: an append-only event store with one interface over PostgreSQL and local files."""

from __future__ import annotations

__version__ = "0.1.0"

import os
from collections.abc import Mapping
from typing import Any

from pyevents.aio import AsyncEventStore, AsyncEventStream
from pyevents.config import Config
from pyevents.errors import (
    AppendConditionViolated,
    BackendUnavailable,
    ConfigError,
    DuplicateEventError,
    IntegrityError,
    PyEventsError,
    ValidationError,
)
from pyevents.model import (
    AppendCondition,
    Event,
    EventPage,
    HealthStatus,
    Query,
    QueryItem,
    QueryOptions,
    RecordedEvent,
    SequencedEvents,
    StreamOptions,
)
from pyevents.store import EventStore
from pyevents.streams import EventStream


def open_store(
    path: str | os.PathLike[str] | None = None, *, config: Mapping[str, Any] | Config | None = None
) -> EventStore:
    """Open the configured store: a dict or Config, else the given file, else $PYEVENTS_CONFIG,
    else ./pyevents.toml, else the file backend in ./.pyevents. Usable as a context manager."""
    from pyevents.backends import open_backend

    resolved = config if isinstance(config, Config) else Config.load(path, config=config)
    return open_backend(resolved)


async def open_async_store(
    path: str | os.PathLike[str] | None = None, *, config: Mapping[str, Any] | Config | None = None
) -> AsyncEventStore:
    """open_store for asyncio: `store = await open_async_store(...)`, then every operation is
    awaited and streams are async iterators. Usable as an async context manager."""
    from pyevents.backends import open_async_backend

    resolved = config if isinstance(config, Config) else Config.load(path, config=config)
    return await open_async_backend(resolved)


__all__ = [
    "AppendCondition",
    "AppendConditionViolated",
    "AsyncEventStore",
    "AsyncEventStream",
    "BackendUnavailable",
    "Config",
    "ConfigError",
    "DuplicateEventError",
    "Event",
    "EventPage",
    "EventStore",
    "EventStream",
    "HealthStatus",
    "IntegrityError",
    "PyEventsError",
    "Query",
    "QueryItem",
    "QueryOptions",
    "RecordedEvent",
    "SequencedEvents",
    "StreamOptions",
    "ValidationError",
    "__version__",
    "open_async_store",
    "open_store",
]
