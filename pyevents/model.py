"""The event contract: what is written, what is read back, and how reads are asked for.

Every value is validated when it is built, so a backend only ever sees well-formed input and
every error names the offending field.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import orjson

from pyevents.errors import ValidationError
from pyevents.limits import MAX_JSON_DEPTH, MAX_NAME_LENGTH, MAX_SCHEMA_VERSION_LENGTH

JSONObject: TypeAlias = dict[str, Any]
OrderBy: TypeAlias = Literal["position", "timestamp", "event_id"]
OrderDirection: TypeAlias = Literal["asc", "desc"]

MAX_POSITION = 2**63 - 1  # positions, offsets and limits are 64-bit integers in every backend
MAX_LIMIT = 10_000  # rows in one page
# Python refuses to convert longer digit strings to int directly (sys.get_int_max_str_digits).
INT_DIGITS_LIMIT = 4000
EVENT_FIELDS = (
    "event_id",
    "timestamp",
    "event_type",
    "actor_type",
    "actor_id",
    "correlation_id",
    "causation_id",
    "schema_version",
    "payload",
    "metadata",
)
# Fields a store records about an event rather than the caller: read back, never taken from input.
RECORDED_FIELDS = ("position", "recorded_at", "appended_by")


def utc_now() -> datetime:
    return datetime.now(UTC)


def _check_encodable(value: str, name: str) -> None:
    """Lone surrogates pass as Python strings but cannot be stored as UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{name} contains a lone surrogate, which is not valid UTF-8", field=name) from None


def check_name(value: object, name: str, *, max_length: int = MAX_NAME_LENGTH) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string, got {type(value).__name__}", field=name)
    _check_encodable(value, name)
    if not value.strip():
        raise ValidationError(f"{name} must not be empty", field=name)
    if len(value) > max_length:
        raise ValidationError(f"{name} is longer than {max_length} characters", field=name)
    if any(ord(ch) < 32 for ch in value):
        raise ValidationError(f"{name} must not contain control characters", field=name)
    return value


def check_uuid(value: object, name: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            raise ValidationError(f"{name} is not a valid UUID: {value!r}", field=name) from None
    raise ValidationError(f"{name} must be a UUID, got {type(value).__name__}", field=name)


def check_timestamp(value: object, name: str) -> datetime:
    """An aware datetime (or ISO 8601 string with an offset), normalised to UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(f"{name} is not an ISO 8601 timestamp: {value!r}", field=name) from None
    if not isinstance(value, datetime):
        raise ValidationError(f"{name} must be a datetime, got {type(value).__name__}", field=name)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{name} must be timezone-aware", field=name)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValidationError(f"{name} {value.isoformat()} is outside the years 1 to 9999 in UTC", field=name) from None


# Integers every JSON reader of the stored events keeps exactly (orjson and many others stop at
# 64 bits; beyond, PostgreSQL's readers returned floats or failed).
MIN_JSON_INT = -(2**63)
MAX_JSON_INT = 2**64 - 1
# Integral floats that repr writes with an exponent (1e+16 and up): jsonb would store them as
# integers, and they would be read back as ints, so they are written out with a ".0".
_EXPONENT_FLOAT = 1e16


def _check_json_value(value: object, name: str, depth: int = 1) -> bool:
    """Only what JSON can carry losslessly: no NaN, no tuples posing as lists, string keys,
    integers within 64 bits, bounded nesting. True when it holds a float that needs
    `_encode_exact`."""
    if depth > MAX_JSON_DEPTH and isinstance(value, (list, dict)):
        root = name.split(".", 1)[0].split("[", 1)[0]
        raise ValidationError(f"{root} is nested more than {MAX_JSON_DEPTH} levels deep", field=root)
    if isinstance(value, str):
        _check_encodable(value, name)
        return False
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, int):
        if not MIN_JSON_INT <= value <= MAX_JSON_INT:
            raise ValidationError(
                f"{name} is an integer beyond 64 bits, which JSON readers do not keep exactly; store it as a string",
                field=name,
            )
        return False
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{name} contains a non-finite number", field=name)
        return abs(value) >= _EXPONENT_FLOAT and value.is_integer()
    exact = False
    if isinstance(value, list):
        for index, item in enumerate(value):
            exact = _check_json_value(item, f"{name}[{index}]", depth + 1) or exact
        return exact
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(f"{name} has a non-string key {key!r}", field=name)
            if "\x00" in key:
                raise ValidationError(f"{name} has a key containing a NUL character", field=name)
            _check_encodable(key, name)
            exact = _check_json_value(item, f"{name}.{key}", depth + 1) or exact
        return exact
    raise ValidationError(f"{name} holds a {type(value).__name__}, which is not JSON", field=name)


def _encode_exact(value: object) -> str:
    """encode_json, but integral floats keep a fraction ("1000000000000000000.0", not "1e+18")."""
    if isinstance(value, float) and value.is_integer():
        return f"{value:.1f}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{encode_json(key)}:{_encode_exact(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_encode_exact(item) for item in value) + "]"
    return encode_json(value)


def _check_object(value: object, name: str) -> str:
    """Validate a JSON object; returns its storage encoding (computed once, used everywhere)."""
    if not isinstance(value, dict):
        raise ValidationError(f"{name} must be a JSON object, got {type(value).__name__}", field=name)
    encoded = _encode_exact(value) if _check_json_value(value, name) else encode_json(value)
    if "\\u0000" in encoded:
        # PostgreSQL jsonb cannot store NUL characters; refuse them everywhere alike.
        raise ValidationError(f"{name} contains a NUL character", field=name)
    return encoded


def normalize_tags(tags: object, name: str = "metadata.tags") -> list[str]:
    """Tags are a set of non-empty strings: duplicates removed, order irrelevant (kept sorted)."""
    if isinstance(tags, str) or not isinstance(tags, (list, tuple, set, frozenset)):
        raise ValidationError(f"{name} must be a list of strings", field=name)
    return sorted({check_name(tag, name) for tag in tags})


def encode_json(value: object) -> str:
    """The one JSON encoding used for storage and size limits: compact, UTF-8, key order kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True, kw_only=True)
class Event:
    """An event to append. Fields are validated on construction; errors name the field."""

    event_type: str
    actor_type: str
    actor_id: str
    correlation_id: uuid.UUID = field(default_factory=uuid.uuid4)
    causation_id: uuid.UUID | None = None
    payload: JSONObject = field(default_factory=dict)
    metadata: JSONObject = field(default_factory=dict)
    schema_version: str = "1.0"
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    timestamp: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "event_id", check_uuid(self.event_id, "event_id"))
        set_(self, "timestamp", check_timestamp(self.timestamp, "timestamp"))
        check_name(self.event_type, "event_type")
        check_name(self.actor_type, "actor_type")
        check_name(self.actor_id, "actor_id")
        set_(self, "correlation_id", check_uuid(self.correlation_id, "correlation_id"))
        if self.causation_id is not None:
            set_(self, "causation_id", check_uuid(self.causation_id, "causation_id"))
        check_name(self.schema_version, "schema_version", max_length=MAX_SCHEMA_VERSION_LENGTH)
        # The encodings are kept: size limits and backends use them instead of encoding again.
        set_(self, "_payload_json", _check_object(self.payload, "payload"))
        set_(self, "_metadata_json", _check_object(self.metadata, "metadata"))
        if "tags" in self.metadata:
            set_(self, "metadata", {**self.metadata, "tags": normalize_tags(self.metadata["tags"])})
            set_(self, "_metadata_json", _check_object(self.metadata, "metadata"))

    @property
    def payload_json(self) -> str:
        """The payload's storage encoding. Events a backend reads back are built without
        validation (they were valid when stored), so theirs is computed on first use."""
        return self._encoded("_payload_json", self.payload)

    @property
    def metadata_json(self) -> str:
        """The metadata's storage encoding (see payload_json)."""
        return self._encoded("_metadata_json", self.metadata)

    def _encoded(self, attribute: str, value: JSONObject) -> str:
        encoded: str | None = self.__dict__.get(attribute)
        if encoded is None:
            encoded = _encode_exact(value)
            object.__setattr__(self, attribute, encoded)
        return encoded

    @property
    def tags(self) -> list[str]:
        tags: list[str] = self.metadata.get("tags", [])
        return tags

    def to_dict(self) -> JSONObject:
        """JSON-ready form with snake_case keys, as stored and exported."""
        return {
            "event_id": str(self.event_id),
            "timestamp": self.timestamp.isoformat(),
            "event_type": self.event_type,
            "actor_type": self.actor_type,
            "actor_id": self.actor_id,
            "correlation_id": str(self.correlation_id),
            "causation_id": None if self.causation_id is None else str(self.causation_id),
            "schema_version": self.schema_version,
            "payload": self.payload,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """Build from JSON-decoded data; unknown or missing keys are named in the error. The
        `position`, `recorded_at` and `appended_by` of an event read back are ignored: they belong
        to the store that held it, and the store appending it records its own."""
        if not isinstance(data, Mapping):
            raise ValidationError(f"an event must be a JSON object, got {type(data).__name__}")
        unknown = sorted(set(data) - set(EVENT_FIELDS) - set(RECORDED_FIELDS))
        if unknown:
            raise ValidationError(f"unknown event field(s): {', '.join(unknown)}", field=unknown[0])
        for required in ("event_type", "actor_type", "actor_id"):
            if data.get(required) is None:
                raise ValidationError(f"{required} is required", field=required)
        kwargs = {key: data[key] for key in EVENT_FIELDS if data.get(key) is not None}
        if "causation_id" in data:
            kwargs["causation_id"] = data["causation_id"]
        return cls(**kwargs)

    def same_content(self, other: Event) -> bool:
        """Equal as stored: what decides whether a retried append is idempotent."""
        return all(getattr(self, name) == getattr(other, name) for name in EVENT_FIELDS)


def _parse_int(text: str) -> int:
    return int(text) if len(text) <= INT_DIGITS_LIMIT else int(Decimal(text))


def decode_stored_json(data: bytes | str) -> Any:
    """A stored JSON document, exactly. orjson decodes several times faster than the standard
    library, but integers beyond 64 bits, which PostgreSQL's jsonb can hold (stored before they
    were refused at append), come out of it as floats, or as an error when huge. A document with
    a run of 19 or more digits (the shortest integer orjson may not keep) is decoded by the
    standard library instead, so every stored event reads back exactly."""
    text = data if isinstance(data, bytes) else data.encode()
    if _NINETEEN_DIGITS not in text.translate(_DIGITS_TO_NUL):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data, parse_int=_parse_int)


# Faster than a regular expression: digits become NUL, which JSON text never holds unescaped.
_DIGITS_TO_NUL = bytes.maketrans(b"0123456789", b"\0" * 10)
_NINETEEN_DIGITS = b"\0" * 19


# Where a backend may leave a read event's payload and metadata encoded (see RecordedEvent).
ENCODED_FIELDS = {"payload": "_encoded_payload", "metadata": "_encoded_metadata"}


@dataclass(frozen=True, kw_only=True)
class RecordedEvent(Event):
    """An event as stored: its global position (strictly increasing), when it was recorded, and
    the login that appended it (`appended_by`: the database login on PostgreSQL, the server user
    on KurrentDB, the OS login with files; None for events stored before it was recorded). The
    caller's own claim is `actor_id`; `appended_by` is never taken from the caller."""

    position: int
    recorded_at: datetime
    appended_by: str | None = None

    @classmethod
    def from_stored(cls, fields: Iterable[tuple[str, Any]]) -> RecordedEvent:
        """Built without validation (what a backend reads was valid when stored). `payload` and
        `metadata` may instead be given encoded, as `_encoded_payload` and `_encoded_metadata`
        (JSON text or UTF-8 bytes): they are decoded on first access, so a reader that never
        looks at them (a catch-up that only routes by type, a count) never pays for decoding."""
        event = object.__new__(cls)
        event.__dict__.update(fields)
        return event

    if not TYPE_CHECKING:  # for the type checker, every field is a plain attribute

        def __getattr__(self, name: str) -> Any:
            encoded_name = ENCODED_FIELDS.get(name)
            if encoded_name is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            state = self.__dict__
            encoded = state.get(encoded_name)
            if encoded is None:
                if name in state:  # another thread decoded it in the meantime
                    return state[name]
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            state[name] = value = decode_stored_json(encoded)
            state.pop(encoded_name, None)
            return value

    def to_dict(self) -> JSONObject:
        return {
            "position": self.position,
            **super().to_dict(),
            "recorded_at": self.recorded_at.isoformat(),
            "appended_by": self.appended_by,
        }


def check_position(value: object, name: str) -> int | None:
    """None, or a non-negative integer that fits the 64-bit columns positions live in."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{name} must be a non-negative integer", field=name)
    if value > MAX_POSITION:
        raise ValidationError(f"{name} must be at most {MAX_POSITION}, got {value}", field=name)
    return value


def _optional_names(values: Iterable[str] | str | None, name: str) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    return tuple(dict.fromkeys(check_name(value, name) for value in values))


@dataclass(frozen=True)
class Cursor:
    """Where a page ended, for keyset pagination: the order it belongs to and the last row's key."""

    order_by: OrderBy
    order_direction: OrderDirection
    position: int
    value: str

    def encode(self) -> str:
        raw = encode_json([self.order_by, self.order_direction, self.position, self.value])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            order_by, direction, position, value = json.loads(raw)
        except (ValueError, TypeError, binascii.Error):
            raise ValidationError("cursor is not a cursor returned by get_events", field="cursor") from None
        if order_by not in ("position", "timestamp", "event_id") or direction not in ("asc", "desc"):
            raise ValidationError("cursor is not a cursor returned by get_events", field="cursor")
        if isinstance(position, bool) or not isinstance(position, int) or not isinstance(value, str):
            raise ValidationError("cursor is not a cursor returned by get_events", field="cursor")
        try:
            check_position(position, "cursor")
            if order_by == "timestamp":
                check_timestamp(value, "cursor")
            elif order_by == "event_id":
                check_uuid(value, "cursor")
        except ValidationError:
            raise ValidationError("cursor is not a cursor returned by get_events", field="cursor") from None
        return cls(order_by, direction, position, value)


@dataclass(frozen=True, kw_only=True)
class QueryOptions:
    """Filters (all must hold) and ordering for get_events. Tags: the event must carry every one."""

    since: datetime | None = None  # ISO 8601 strings are accepted too
    until: datetime | None = None
    event_type: str | None = None
    event_types: Sequence[str] | None = None
    actor_id: str | None = None
    correlation_id: uuid.UUID | None = None  # UUID strings are accepted too
    tags: Sequence[str] | None = None
    after_position: int | None = None
    limit: int = 100
    offset: int = 0
    order_by: OrderBy = "position"
    order_direction: OrderDirection = "asc"
    cursor: str | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.since is not None:
            set_(self, "since", check_timestamp(self.since, "since"))
        if self.until is not None:
            set_(self, "until", check_timestamp(self.until, "until"))
        types = _optional_names(self.event_types, "event_types")
        if self.event_type is not None:
            types = tuple(dict.fromkeys((check_name(self.event_type, "event_type"), *types)))
        set_(self, "event_types", types or None)
        set_(self, "event_type", None)
        if self.actor_id is not None:
            check_name(self.actor_id, "actor_id")
        if self.correlation_id is not None:
            set_(self, "correlation_id", check_uuid(self.correlation_id, "correlation_id"))
        if self.tags is not None:
            set_(self, "tags", tuple(normalize_tags(self.tags, "tags")) or None)
        check_position(self.after_position, "after_position")
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or not 1 <= self.limit <= MAX_LIMIT:
            raise ValidationError(f"limit must be an integer from 1 to {MAX_LIMIT}", field="limit")
        if check_position(self.offset, "offset") is None:
            raise ValidationError("offset must be a non-negative integer", field="offset")
        if self.order_by not in ("position", "timestamp", "event_id"):
            raise ValidationError("order_by must be one of position, timestamp, event_id", field="order_by")
        if self.order_direction not in ("asc", "desc"):
            raise ValidationError("order_direction must be asc or desc", field="order_direction")
        if self.cursor is not None:
            cursor = self.decoded_cursor()
            assert cursor is not None
            if (cursor.order_by, cursor.order_direction) != (self.order_by, self.order_direction):
                raise ValidationError(
                    f"cursor belongs to order {cursor.order_by} {cursor.order_direction}, "
                    f"not {self.order_by} {self.order_direction}",
                    field="cursor",
                )

    def decoded_cursor(self) -> Cursor | None:
        return None if self.cursor is None else Cursor.decode(self.cursor)

    def matches(self, event: RecordedEvent) -> bool:
        """The plain-scan definition of every filter; backends must agree with it exactly."""
        return (
            (self.since is None or event.timestamp >= self.since)
            and (self.until is None or event.timestamp < self.until)
            and (self.event_types is None or event.event_type in self.event_types)
            and (self.actor_id is None or event.actor_id == self.actor_id)
            and (self.correlation_id is None or event.correlation_id == self.correlation_id)
            and (self.tags is None or set(self.tags) <= set(event.tags))
            and (self.after_position is None or event.position > self.after_position)
        )

    def sort_key(self, event: RecordedEvent) -> tuple[Any, int]:
        """The total order of a result: the chosen key, ties broken by position."""
        if self.order_by == "timestamp":
            return (event.timestamp, event.position)
        if self.order_by == "event_id":
            return (str(event.event_id), event.position)
        return (event.position, event.position)

    def cursor_after(self, event: RecordedEvent) -> str:
        key = self.sort_key(event)[0]
        value = key.isoformat() if isinstance(key, datetime) else str(key)
        return Cursor(self.order_by, self.order_direction, event.position, value).encode()


@dataclass(frozen=True)
class EventPage:
    """One page of get_events; pass next_cursor back as QueryOptions(cursor=...) for the next."""

    events: list[RecordedEvent]
    next_cursor: str | None
    has_more: bool


@dataclass(frozen=True)
class QueryItem:
    """DCB query item: type is one of `types` (any when empty) AND tags include all `tags`."""

    types: Sequence[str] = ()
    tags: Sequence[str] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "types", _optional_names(self.types, "types"))
        object.__setattr__(self, "tags", tuple(normalize_tags(self.tags, "tags")))
        if not self.types and not self.tags:
            raise ValidationError("a query item needs types or tags", field="items")

    def matches(self, event: Event) -> bool:
        return (not self.types or event.event_type in self.types) and set(self.tags) <= set(event.tags)


@dataclass(frozen=True)
class Query:
    """DCB query: the OR of its items. `Query.all()` matches every event."""

    items: Sequence[QueryItem]
    match_all: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))
        for item in self.items:
            if not isinstance(item, QueryItem):
                raise ValidationError("query items must be QueryItem instances", field="items")
        if not self.items and not self.match_all:
            raise ValidationError("a query needs at least one item (use Query.all() for everything)", field="items")
        if self.items and self.match_all:
            raise ValidationError("Query.all() takes no items", field="items")

    @classmethod
    def all(cls) -> Query:
        return cls((), match_all=True)

    def matches(self, event: Event) -> bool:
        return self.match_all or any(item.matches(event) for item in self.items)

    def to_json(self) -> JSONObject:
        """The wire form the PostgreSQL functions take."""
        if self.match_all:
            return {"all": True}
        return {"items": [{"types": list(item.types), "tags": list(item.tags)} for item in self.items]}


@dataclass(frozen=True)
class AppendCondition:
    """Fail the append if an event matching the query exists after `after` (None: anywhere)."""

    fail_if_events_match: Query
    after: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.fail_if_events_match, Query):
            raise ValidationError("fail_if_events_match must be a Query", field="fail_if_events_match")
        check_position(self.after, "after")


@dataclass(frozen=True)
class SequencedEvents:
    """Result of a DCB read. `head` is what to pass as AppendCondition.after for a decision
    based on these events: the last returned position, or the `after` that was asked for."""

    events: list[RecordedEvent]
    head: int | None


@dataclass(frozen=True)
class HealthCheck:
    """One readiness check: its name, whether it passed, and what was seen."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class HealthStatus:
    """The store's health. `healthy` means ready: reachable and every check passed. `reachable`
    is False when the backend could not be reached at all (the CLI's exit code 4)."""

    healthy: bool
    backend: str
    details: JSONObject = field(default_factory=dict)
    checks: tuple[HealthCheck, ...] = ()
    reachable: bool = True

    def to_dict(self) -> JSONObject:
        return {
            "healthy": self.healthy,
            "live": True,
            "ready": self.healthy,
            "reachable": self.reachable,
            "backend": self.backend,
            "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in self.checks},
            "details": self.details,
        }


@dataclass(frozen=True)
class Snapshot:
    """State derived from the events of one correlation, saved to spare replaying them.
    `position` is the log position the state reflects: replay only events after it."""

    correlation_id: uuid.UUID
    state: JSONObject
    position: int
    created_at: datetime

    def to_dict(self) -> JSONObject:
        return {
            "correlation_id": str(self.correlation_id),
            "state": self.state,
            "position": self.position,
            "created_at": self.created_at.isoformat(),
        }


def check_snapshot_state(state: object) -> str:
    """A snapshot's state is a JSON object like a payload; returns its storage encoding."""
    return _check_object(state, "state")


def page_of(events: Iterable[RecordedEvent], options: QueryOptions) -> EventPage:
    """The reference answer to get_events: a plain scan, filter, sort, cursor, offset, limit.
    Backends without an index use it; tests compare every backend against it."""
    ordered = sorted(
        (event for event in events if options.matches(event)),
        key=options.sort_key,
        reverse=options.order_direction == "desc",
    )
    cursor = options.decoded_cursor()
    if cursor is not None:
        boundary = _cursor_key(cursor)
        if options.order_direction == "asc":
            ordered = [event for event in ordered if options.sort_key(event) > boundary]
        else:
            ordered = [event for event in ordered if options.sort_key(event) < boundary]
    window = ordered[options.offset : options.offset + options.limit + 1]
    has_more = len(window) > options.limit
    window = window[: options.limit]
    next_cursor = options.cursor_after(window[-1]) if has_more and window else None
    return EventPage(window, next_cursor, has_more)


def _cursor_key(cursor: Cursor) -> tuple[Any, int]:
    if cursor.order_by == "timestamp":
        return (check_timestamp(cursor.value, "cursor"), cursor.position)
    if cursor.order_by == "event_id":
        return (cursor.value, cursor.position)
    return (cursor.position, cursor.position)


@dataclass(frozen=True, kw_only=True)
class StreamOptions:
    """What a live stream delivers: events after `after_position` matching every filter, in
    position order; with `follow` it keeps waiting for new ones. No arguments: everything,
    from the beginning, then live."""

    after_position: int | None = None
    since: datetime | None = None
    event_types: Sequence[str] | None = None
    actor_id: str | None = None
    correlation_id: uuid.UUID | None = None
    tags: Sequence[str] | None = None
    follow: bool = True
    batch_size: int = 500
    poll_interval: float = 0.05  # fallback wake-up when no notification arrives, in seconds

    def __post_init__(self) -> None:
        check_position(self.after_position, "after_position")
        self.query_options(0)  # QueryOptions validates the filters and names the offending one
        if not isinstance(self.follow, bool):
            raise ValidationError("follow must be true or false", field="follow")
        if isinstance(self.poll_interval, bool) or not isinstance(self.poll_interval, (int, float)):
            raise ValidationError("poll_interval must be a number of seconds", field="poll_interval")
        if not 0.001 <= self.poll_interval <= 60:
            raise ValidationError("poll_interval must be from 0.001 to 60 seconds", field="poll_interval")

    def query_options(self, after: int) -> QueryOptions:
        """The page query that continues the stream after a position."""
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int):
            raise ValidationError("batch_size must be an integer", field="batch_size")
        if not 1 <= self.batch_size <= MAX_LIMIT:
            raise ValidationError(f"batch_size must be from 1 to {MAX_LIMIT}", field="batch_size")
        return QueryOptions(
            since=self.since,
            event_types=self.event_types,
            actor_id=self.actor_id,
            correlation_id=self.correlation_id,
            tags=self.tags,
            after_position=max(after, self.after_position or 0),
            limit=self.batch_size,
        )
