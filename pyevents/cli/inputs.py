"""Parsing what users type or pipe in: events as JSON / JSON Lines, JSON option values, and DCB
query specs. Errors are ValidationErrors that say where the problem is (line, item, option)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pyevents.errors import ValidationError
from pyevents.json_input import loads
from pyevents.model import Event, JSONObject, Query, QueryItem


def parse_events(text: str, source: str = "input") -> list[Event]:
    """Events from one JSON object, one JSON array of objects, or JSON Lines (one object a line,
    blank lines ignored). Errors name the line (JSON Lines) or the array index."""
    if not text.strip():
        raise ValidationError(f"no events in {source}")
    try:
        document = loads(text, source)
    except json.JSONDecodeError as exc:
        # "Extra data": a complete first document followed by more, i.e. JSON Lines. Any other
        # failure is a broken single document, reported where the parser stopped.
        if exc.msg != "Extra data":
            raise ValidationError(
                f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
            ) from None
        return _parse_json_lines(text, source)
    if isinstance(document, list):
        if not document:
            raise ValidationError(f"no events in {source} (empty array)")
        return [_event(item, f"{source}: item {index} of the array") for index, item in enumerate(document)]
    return [_event(document, source)]


def _parse_json_lines(text: str, source: str) -> list[Event]:
    events: list[Event] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = loads(line, f"{source}: line {number}")
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"{source}: line {number} is not valid JSON: {exc.msg} (column {exc.colno})"
            ) from None
        events.append(_event(item, f"{source}: line {number}"))
    return events


def _event(item: object, where: str) -> Event:
    if not isinstance(item, Mapping):
        raise ValidationError(f"{where}: an event must be a JSON object, got {_json_type(item)}")
    try:
        return Event.from_dict(item)
    except ValidationError as exc:
        raise ValidationError(f"{where}: {exc}", field=exc.field) from None


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def parse_json_object(text: str, option: str) -> JSONObject:
    """The value of a JSON option such as `--payload`: must be one JSON object."""
    try:
        value = loads(text, option)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{option} is not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(value, dict):
        raise ValidationError(f"{option} must be a JSON object, got {_json_type(value)}")
    return value


def event_from_options(
    *,
    event_type: str | None,
    actor_type: str | None,
    actor_id: str | None,
    payload: str | None,
    metadata: str | None,
    tags: Sequence[str],
    correlation_id: str | None,
    causation_id: str | None,
    event_id: str | None,
    timestamp: str | None,
) -> Event:
    """One event from command-line flags; `--tag` values join `metadata.tags`."""
    meta = parse_json_object(metadata, "--metadata") if metadata is not None else {}
    if tags:
        existing = meta.get("tags", [])
        if not isinstance(existing, list):
            raise ValidationError("--metadata: tags must be a list of strings", field="metadata.tags")
        meta["tags"] = [*existing, *tags]
    data: dict[str, Any] = {
        "event_type": event_type,
        "actor_type": actor_type,
        "actor_id": actor_id,
        "payload": parse_json_object(payload, "--payload") if payload is not None else {},
        "metadata": meta,
        "correlation_id": correlation_id,
        "causation_id": causation_id,
        "event_id": event_id,
        "timestamp": timestamp,
    }
    missing = [f"--{name.replace('_', '-')}" for name in ("event_type", "actor_type", "actor_id") if not data[name]]
    if missing:
        flags = ", ".join(missing).replace("--event-type", "--type")
        raise ValidationError(f"missing {flags} (required to append one event from options)")
    return Event.from_dict(data)


def parse_query_item(spec: str, option: str = "--if-none-match") -> QueryItem:
    """`type:A,type:B,tag:x,tag:y` -> QueryItem(types=[A, B], tags=[x, y])."""
    types: list[str] = []
    tags: list[str] = []
    for part in spec.split(","):
        kind, sep, value = part.strip().partition(":")
        if not sep or not value or kind not in ("type", "tag"):
            raise ValidationError(
                f"{option} {spec!r}: each part must be type:NAME or tag:NAME (or the whole spec `all`), got {part!r}"
            )
        (types if kind == "type" else tags).append(value)
    return QueryItem(types=types, tags=tags)


def parse_query_specs(specs: Sequence[str], option: str = "--if-none-match") -> Query:
    """Several specs are OR'ed; the single spec `all` means every event."""
    if any(spec.strip() == "all" for spec in specs):
        if len(specs) > 1:
            raise ValidationError(f"{option} all matches every event and cannot be combined with other items")
        return Query.all()
    return Query([parse_query_item(spec, option) for spec in specs])


def parse_query_json(text: str, option: str = "--query") -> Query:
    """The wire form: `{"items": [{"types": [...], "tags": [...]}, ...]}` or `{"all": true}`."""
    document = parse_json_object(text, option)
    unknown = sorted(set(document) - {"items", "all"})
    if unknown:
        raise ValidationError(f"{option}: unknown key {unknown[0]!r} (expected items or all)")
    if document.get("all") is True:
        if document.get("items"):
            raise ValidationError(f'{option}: "all": true takes no items')
        return Query.all()
    if "all" in document and document["all"] is not False:
        raise ValidationError(f'{option}: "all" must be true or false')
    items = document.get("items")
    if not isinstance(items, list) or not items:
        raise ValidationError(f'{option}: "items" must be a non-empty array (or use {{"all": true}})')
    parsed: list[QueryItem] = []
    for index, item in enumerate(items):
        where = f"{option}: items[{index}]"
        if not isinstance(item, dict):
            raise ValidationError(f"{where} must be an object with types and/or tags")
        extra = sorted(set(item) - {"types", "tags"})
        if extra:
            raise ValidationError(f"{where}: unknown key {extra[0]!r} (expected types, tags)")
        types, tags = item.get("types", []), item.get("tags", [])
        for name, values in (("types", types), ("tags", tags)):
            if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
                raise ValidationError(f"{where}.{name} must be an array of strings")
        try:
            parsed.append(QueryItem(types=types, tags=tags))
        except ValidationError as exc:
            raise ValidationError(f"{where}: {exc}", field=exc.field) from None
    return Query(parsed)
