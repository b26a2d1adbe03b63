"""How a pyevents event is stored as a server event, and how filters become server-side regexes.

A pyevents event becomes one server event: id = `event_id`, type = `event_type`, data = the
payload as JSON, metadata = every other field as JSON, with `appended_by`: the server user the
client authenticates as (the OS login without credentials). The server does not check it, so it
records who appended through pyevents, not an identity the server vouches for. The global position is the server's
commit position in `$all`; `recorded_at` is the server's `created` stamp.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from kurrentdbclient import NewEvent
from kurrentdbclient import RecordedEvent as ServerEvent

from pyevents.errors import IntegrityError
from pyevents.model import Event, RecordedEvent, encode_json

# The fields kept in the server event's metadata (id, type and payload have their own places).
METADATA_FIELDS = ("timestamp", "actor_type", "actor_id", "correlation_id", "causation_id", "schema_version")
# .NET regex metacharacters, plus the ones that mean something with IgnorePatternWhitespace.
_REGEX_SPECIAL = frozenset("\\*+?|{}[]()^$.# -")


def to_server(event: Event, appended_by: str | None) -> NewEvent:
    metadata = {
        "timestamp": event.timestamp.isoformat(),
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "correlation_id": str(event.correlation_id),
        "causation_id": None if event.causation_id is None else str(event.causation_id),
        "schema_version": event.schema_version,
        "metadata": event.metadata,
        "appended_by": appended_by,
    }
    return NewEvent(
        type=event.event_type,
        data=event.payload_json.encode(),
        metadata=encode_json(metadata).encode(),
        content_type="application/json",
        id=event.event_id,
    )


def from_server(stored: ServerEvent) -> RecordedEvent:
    """The pyevents event a server event holds; anything else in the stream is corruption."""
    where = f"stream {stored.stream_name!r} event {stored.stream_position}"
    try:
        # The standard library: orjson turns integers beyond 64 bits into floats.
        payload = json.loads(stored.data)
        fields: dict[str, Any] = json.loads(stored.metadata)
        if stored.recorded_at is None:
            raise ValueError("the server gave no 'created' time")
        return RecordedEvent(
            event_id=stored.id,
            event_type=stored.type,
            payload=payload,
            metadata=fields["metadata"],
            timestamp=datetime.fromisoformat(fields["timestamp"]),
            actor_type=fields["actor_type"],
            actor_id=fields["actor_id"],
            correlation_id=uuid.UUID(fields["correlation_id"]),
            causation_id=None if fields["causation_id"] is None else uuid.UUID(fields["causation_id"]),
            schema_version=fields["schema_version"],
            position=stored.commit_position,
            recorded_at=stored.recorded_at,
            appended_by=fields.get("appended_by"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise IntegrityError(f"{where} is not a pyevents event ({exc})") from None


def literal_regex(text: str) -> str:
    """`text` as a regex matching itself (escaped for the server's .NET regex engine)."""
    return "".join("\\" + char if char in _REGEX_SPECIAL else char for char in text)


def exact_regex(names: Iterable[str]) -> str:
    """One group matching exactly one of `names`. The client wraps it as `^...$`; the server
    searches unanchored, so the alternatives must be grouped or `^a|b$` would match `xb`."""
    return "(?:" + "|".join(literal_regex(name) for name in sorted(set(names))) + ")"
