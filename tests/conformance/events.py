"""Event builders shared by the conformance tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pyevents import Event

BASE_TIME = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def make_event(event_type: str = "OrderPlaced", *, tags: list[str] | None = None, **fields: Any) -> Event:
    metadata = dict(fields.pop("metadata", {}))
    if tags is not None:
        metadata["tags"] = tags
    fields.setdefault("actor_type", "service")
    fields.setdefault("actor_id", "checkout")
    fields.setdefault("payload", {"order_id": str(uuid.uuid4()), "lines": [{"sku": "A-1", "qty": 2}]})
    return Event(event_type=event_type, metadata=metadata, **fields)


def at(minutes: float) -> datetime:
    return BASE_TIME + timedelta(minutes=minutes)
