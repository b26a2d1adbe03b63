"""The EventStoreDB / KurrentDB backend, through kurrentdbclient (the optional extra `eventstore`)."""

from __future__ import annotations

try:
    from pyevents.backends.eventstore.store import KurrentEventStore
except ModuleNotFoundError as exc:
    if (exc.name or "").split(".")[0] not in ("kurrentdbclient", "grpc", "google"):
        raise
    raise ModuleNotFoundError(
        f"the eventstore backend needs kurrentdbclient ({exc}): pip install 'pyevents[eventstore]'", name=exc.name
    ) from None

__all__ = ["KurrentEventStore"]
