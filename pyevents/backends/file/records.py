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
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import orjson

from pyevents.errors import IntegrityError, ValidationError
from pyevents.model import EVENT_FIELDS, RECORDED_FIELDS, Event, RecordedEvent, decode_stored_json, encode_json

CHECKSUM_KEY = b'"crc32":"'
# ,"crc32":"xxxxxxxx"}\n  - the checksum covers everything before CHECKSUM_KEY, the comma included
SUFFIX_LENGTH = len(CHECKSUM_KEY) + 8 + len(b'"}\n')
_SUFFIX = CHECKSUM_KEY + b'%08x"}\n'
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
READ_FIELDS = frozenset(EVENT_FIELDS + RECORDED_FIELDS)  # the keys of a read event's state
# decode_stored_json's test, once over many lines: a run of 19 digits may be an integer orjson
# does not keep exactly (digits become NUL, which JSON text never holds unescaped).
_DIGITS_TO_NUL = bytes.maketrans(b"0123456789", b"\0" * 10)
_NINETEEN_DIGITS = b"\0" * 19
_new = object.__new__
_set = object.__setattr__
_UNKNOWN_SAFETY = uuid.SafeUUID.unknown  # an enum member costs a descriptor call per access


def encode(event: Event, position: int, recorded_at: str, *, appended_by: str | None, batch_end: bool) -> bytes:
    """The stored line of `event` at `position`, newline included; `recorded_at` in ISO format
    (every event of an append shares it, so it is formatted once)."""
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
                "recorded_at": recorded_at,
                "appended_by": appended_by,
                "batch_end": batch_end,
            }
        )
    except orjson.JSONEncodeError:
        # Text that is not valid Unicode (a lone surrogate in an event read from elsewhere):
        # the standard library encoding names the field.
        return _encode_with_json(event, position, recorded_at, appended_by=appended_by, batch_end=batch_end)
    prefix = body[:-1] + b","
    return prefix + _SUFFIX % zlib.crc32(prefix)


def _encode_with_json(
    event: Event, position: int, recorded_at: str, *, appended_by: str | None, batch_end: bool
) -> bytes:
    # Event.to_dict, because a RecordedEvent read from another store would bring its own
    # position, recorded_at and appended_by
    record = {
        "position": position,
        **Event.to_dict(event),
        "recorded_at": recorded_at,
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
    return prefix + _SUFFIX % zlib.crc32(prefix)


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


def first_damaged(data: bytes, lengths: Sequence[int]) -> int | None:
    """The offset in `data` of the first line that is not intact, where `data` holds lines of
    `lengths` one after another (None: all are)."""
    view = memoryview(data)
    start = 0
    for length in lengths:
        end = start + length
        # The suffix this writer puts after the checksummed prefix, compared in one step; any
        # other is checked as is_intact checks it.
        if (
            end > len(data)
            or length <= SUFFIX_LENGTH
            or (
                data[end - SUFFIX_LENGTH : end] != _SUFFIX % zlib.crc32(view[start : end - SUFFIX_LENGTH])
                and not is_intact(data[start:end])
            )
        ):
            return start
        start = end
    return None


def decode_lines(data: bytes, count: int) -> list[dict[str, Any]] | None:
    """The JSON objects of `count` intact lines laid end to end in `data`, decoded in one call
    (None when they must be decoded one by one, as `decode` does, to be exact or to name an error).
    A raw newline only ever ends a line (JSON text escapes it in strings), so the lines become
    the elements of one array."""
    if _NINETEEN_DIGITS in data.translate(_DIGITS_TO_NUL):
        return None  # an integer orjson may not keep exactly: decode_stored_json decides
    try:
        found = orjson.loads(b"[" + data[:-1].replace(b"\n", b",") + b"]")
    except orjson.JSONDecodeError:
        return None
    if len(found) != count or not all(type(item) is dict for item in found):
        return None
    return cast(list[dict[str, Any]], found)


def to_read_events(
    datas: list[dict[str, Any]], positions: Sequence[int], where: Callable[[int], str]
) -> list[RecordedEvent]:
    """The RecordedEvents that decoded lines hold, for a read: built without validating their
    fields again (each line passed its checksum, and was valid when appended); ids and timestamps
    are still parsed, so a line that is not an event is still corruption. `positions` are the
    ones the index expects, and `where(n)` names the n-th line in errors. The dicts are consumed."""
    events = []
    for number, (data, position) in enumerate(zip(datas, positions, strict=True)):
        if data.get("position") != position:
            if not isinstance(data.get("position"), int):
                raise IntegrityError(f"{where(number)}: record has no position")
            raise IntegrityError(f"{where(number)}: holds position {data['position']}, the index says {position}")
        try:
            causation_id = data["causation_id"]
            data["event_id"] = parse_uuid(data["event_id"])
            data["timestamp"] = datetime.fromisoformat(data["timestamp"])
            data["correlation_id"] = parse_uuid(data["correlation_id"])
            data["causation_id"] = None if causation_id is None else parse_uuid(causation_id)
            data["recorded_at"] = datetime.fromisoformat(data["recorded_at"])
            data.setdefault("appended_by", None)
            data.pop("batch_end", None)
            data.pop("crc32", None)
            if len(data) != len(READ_FIELDS):  # a key missing, or one no event has
                missing = READ_FIELDS.difference(data)
                if missing:
                    raise KeyError(", ".join(sorted(missing)))
                data = {key: data[key] for key in READ_FIELDS}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise IntegrityError(f"{where(number)}: record is not a valid event ({exc})") from None
        events.append(RecordedEvent.from_stored(data.items()))
    return events


def parse_uuid(text: str) -> uuid.UUID:
    """uuid.UUID(text) for the canonical form it is stored in, several times faster: the
    general parsing of uuid.UUID costs more than the rest of building a read event."""
    digits = text.replace("-", "")
    # int() would also take signs, underscores, spaces and non-ASCII digits
    if (
        len(text) != 36
        or text[8] + text[13] + text[18] + text[23] != "----"
        or not (digits.isascii() and digits.isalnum())
    ):
        raise ValueError(f"{text!r} is not a UUID")
    try:
        number = int(digits, 16)
    except ValueError:
        raise ValueError(f"{text!r} is not a UUID") from None
    value: uuid.UUID = _new(uuid.UUID)
    _set(value, "int", number)
    _set(value, "is_safe", _UNKNOWN_SAFETY)
    return value


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
