"""One event as one line of a segment: JSON with a trailing CRC-32 over the rest of the line.

A line is the event's `RecordedEvent.to_dict()` (`appended_by`: the OS login of the appending
process, absent from lines written before it was recorded) plus `batch_end` (true on the last event of an
append; events after the last `batch_end` belong to an append that never completed) and
`crc32`, eight hex digits over every byte of the line before the `"crc32"` key. The checksum
sits at a fixed distance from the end, so a line is checked without parsing it.
"""

from __future__ import annotations

import uuid
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from pyevents.errors import IntegrityError, ValidationError
from pyevents.model import Event, RecordedEvent, decode_stored_json, encode_json

CHECKSUM_KEY = b'"crc32":"'
# ,"crc32":"xxxxxxxx"}\n  - the checksum covers everything before CHECKSUM_KEY, the comma included
SUFFIX_LENGTH = len(CHECKSUM_KEY) + 8 + len(b'"}\n')
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def encode(event: Event, position: int, recorded_at: datetime, *, appended_by: str | None, batch_end: bool) -> bytes:
    """The stored line of `event` at `position`, newline included."""
    # The key order of RecordedEvent.to_dict. orjson writes UUIDs and datetimes as str() and
    # isoformat() do, and the payload and metadata go in as the encodings the event already
    # holds: several times faster than building a dict of strings for json.dumps.
    try:
        body = orjson.dumps(
            {
                "position": position,
                "event_id": event.event_id,
                "timestamp": event.timestamp,
                "event_type": event.event_type,
                "actor_type": event.actor_type,
                "actor_id": event.actor_id,
                "correlation_id": event.correlation_id,
                "causation_id": event.causation_id,
                "schema_version": event.schema_version,
                "payload": orjson.Fragment(event.payload_json),
                "metadata": orjson.Fragment(event.metadata_json),
                "recorded_at": recorded_at.isoformat(),
                "appended_by": appended_by,
                "batch_end": batch_end,
            }
        )
    except orjson.JSONEncodeError:
        # Text that is not valid Unicode (a lone surrogate in an event read from elsewhere):
        # the standard library encoding names the field.
        return _encode_with_json(event, position, recorded_at, appended_by=appended_by, batch_end=batch_end)
    prefix = body[:-1] + b","
    return prefix + b'"crc32":"%08x"}\n' % zlib.crc32(prefix)


def _encode_with_json(
    event: Event, position: int, recorded_at: datetime, *, appended_by: str | None, batch_end: bool
) -> bytes:
    # Event.to_dict, because a RecordedEvent read from another store would bring its own
    # position, recorded_at and appended_by
    record = {
        "position": position,
        **Event.to_dict(event),
        "recorded_at": recorded_at.isoformat(),
        "appended_by": appended_by,
        "batch_end": batch_end,
    }
    try:
        prefix = (encode_json(record)[:-1] + ",").encode()
    except UnicodeEncodeError:
        raise ValidationError(
            f"event {event.event_id} contains text that is not valid Unicode (a lone surrogate)",
            field=_field_with_bad_text(record),
        ) from None
    return prefix + b'"crc32":"%08x"}\n' % zlib.crc32(prefix)


def _field_with_bad_text(record: dict[str, Any]) -> str | None:
    for name, value in record.items():
        try:
            encode_json(value).encode()
        except UnicodeEncodeError:
            return name
    return None


def is_intact(line: bytes) -> bool:
    """Whether `line` is one whole record whose checksum matches."""
    if len(line) <= SUFFIX_LENGTH or not line.endswith(b'"}\n'):
        return False
    if line[-SUFFIX_LENGTH : -SUFFIX_LENGTH + len(CHECKSUM_KEY)] != CHECKSUM_KEY:
        return False
    try:
        stored = int(line[-11:-3], 16)
    except ValueError:
        return False
    return zlib.crc32(memoryview(line)[:-SUFFIX_LENGTH]) == stored


def decode(line: bytes, where: str) -> dict[str, Any]:
    """The JSON object of an intact line; `where` names it in errors."""
    try:
        data = decode_stored_json(line)
    except ValueError:
        raise IntegrityError(f"{where}: record is not valid JSON despite a matching checksum") from None
    if not isinstance(data, dict) or not isinstance(data.get("position"), int):
        raise IntegrityError(f"{where}: record has no position")
    return data


def to_event(data: dict[str, Any], where: str) -> RecordedEvent:
    """The RecordedEvent a decoded line holds; a line that is not a valid event is corruption."""
    try:
        return RecordedEvent(
            position=data["position"],
            recorded_at=datetime.fromisoformat(data["recorded_at"]),
            event_id=uuid.UUID(data["event_id"]),
            timestamp=datetime.fromisoformat(data["timestamp"]),
            event_type=data["event_type"],
            actor_type=data["actor_type"],
            actor_id=data["actor_id"],
            correlation_id=uuid.UUID(data["correlation_id"]),
            causation_id=None if data["causation_id"] is None else uuid.UUID(data["causation_id"]),
            schema_version=data["schema_version"],
            payload=data["payload"],
            metadata=data["metadata"],
            appended_by=data.get("appended_by"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise IntegrityError(f"{where}: record is not a valid event ({exc})") from None


def to_read_event(data: dict[str, Any], where: str) -> RecordedEvent:
    """The RecordedEvent a decoded line holds, for a read: built without validating its fields
    again (the line passed its checksum, and was valid when appended); ids and timestamps are
    still parsed, so a line that is not an event is still corruption."""
    try:
        causation_id = data["causation_id"]
        return RecordedEvent.from_stored(
            (
                ("event_id", uuid.UUID(data["event_id"])),
                ("timestamp", datetime.fromisoformat(data["timestamp"])),
                ("event_type", data["event_type"]),
                ("actor_type", data["actor_type"]),
                ("actor_id", data["actor_id"]),
                ("correlation_id", uuid.UUID(data["correlation_id"])),
                ("causation_id", None if causation_id is None else uuid.UUID(causation_id)),
                ("payload", data["payload"]),
                ("metadata", data["metadata"]),
                ("schema_version", data["schema_version"]),
                ("position", data["position"]),
                ("recorded_at", datetime.fromisoformat(data["recorded_at"])),
                ("appended_by", data.get("appended_by")),
            )
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise IntegrityError(f"{where}: record is not a valid event ({exc})") from None


def uuid_bytes(text: str) -> bytes:
    """The 16 bytes of a UUID in canonical form; ValueError if it is not one."""
    raw = bytes.fromhex(text.replace("-", ""))
    if len(raw) != 16:
        raise ValueError(f"{text!r} is not a UUID")
    return raw


def micros(value: datetime | str) -> int:
    """Microseconds since the epoch: timestamps as the index stores and orders them."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return (moment - EPOCH) // MICROSECOND
