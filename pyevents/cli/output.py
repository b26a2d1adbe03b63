"""Formatting for the CLI: aligned plain-text tables for people, JSON and JSON Lines for machines.

Nothing here talks to a store; every function turns values into text. Tables need no extra
dependency: columns are padded to their widest cell, numeric columns right-aligned.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias

from pyevents.model import RecordedEvent, encode_json

Format: TypeAlias = Literal["table", "json", "jsonl"]

EVENT_HEADERS = ("position", "timestamp", "type", "actor", "appended_by", "correlation", "tags", "payload")
DELIMITED_HEADERS = (
    "position",
    "event_id",
    "timestamp",
    "event_type",
    "actor_type",
    "actor_id",
    "appended_by",
    "correlation_id",
    "causation_id",
    "schema_version",
    "tags",
    "payload",
    "metadata",
    "recorded_at",
)
PAYLOAD_WIDTH = 48
TAGS_WIDTH = 40
SHORT_ID_LENGTH = 8
ELLIPSIS = "..."


def truncate(text: str, width: int) -> str:
    """`text` cut to at most `width` characters, marked with an ellipsis when cut."""
    if len(text) <= width:
        return text
    return text[: max(0, width - len(ELLIPSIS))] + ELLIPSIS


def cell(value: object) -> str:
    """One table cell: None is blank, and control characters (newlines...) become spaces so a
    row stays one line and cannot drive the terminal."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return "".join(ch if ch.isprintable() else " " for ch in text)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, header: bool = True) -> str:
    """An aligned table: a header, a rule (unless `header` is false), one line per row. Columns
    whose every cell is an integer are right-aligned."""
    cells = [[cell(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        for index, text in enumerate(row):
            widths[index] = max(widths[index], len(text))
    numeric = [bool(cells) and all(_is_integer(row[i]) for row in cells) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        padded = (v.rjust(widths[i]) if numeric[i] else v.ljust(widths[i]) for i, v in enumerate(values))
        return "  ".join(padded).rstrip()

    lines = [line(headers), line(["-" * width for width in widths])] if header else []
    lines.extend(line(row) for row in cells)
    return "\n".join(lines)


def _is_integer(text: str) -> bool:
    return text.removeprefix("-").isdigit()


def key_values(pairs: Iterable[tuple[str, object]]) -> str:
    """A two-column listing (`name   value`) for one record: health, status, a single event."""
    items = [(name, cell(value)) for name, value in pairs]
    width = max((len(name) for name, _ in items), default=0)
    return "\n".join(f"{name.ljust(width)}  {value}".rstrip() for name, value in items)


def timestamp(value: datetime) -> str:
    """UTC, millisecond precision, `Z` suffix: sortable and short enough for a table."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_row(event: RecordedEvent, *, wide: bool = False) -> list[object]:
    """One table row; `wide` keeps ids, tags and payloads whole."""
    tags, payload = ",".join(event.tags), encode_json(event.payload)
    return [
        event.position,
        timestamp(event.timestamp),
        event.event_type,
        f"{event.actor_type}:{event.actor_id}",
        event.appended_by,
        str(event.correlation_id) if wide else str(event.correlation_id)[:SHORT_ID_LENGTH],
        tags if wide else truncate(tags, TAGS_WIDTH),
        payload if wide else truncate(payload, PAYLOAD_WIDTH),
    ]


def events_table(events: Sequence[RecordedEvent], *, header: bool = True, wide: bool = False) -> str:
    """The default view of events; `(no events)` when there are none."""
    if not events:
        return "(no events)" if header else ""
    return table(EVENT_HEADERS, (event_row(event, wide=wide) for event in events), header=header)


def event_fields(event: RecordedEvent) -> list[str]:
    """Every field of an event as text, in DELIMITED_HEADERS order (JSON for payload and metadata)."""
    return [
        str(event.position),
        str(event.event_id),
        event.timestamp.isoformat(),
        event.event_type,
        event.actor_type,
        event.actor_id,
        event.appended_by or "",
        str(event.correlation_id),
        "" if event.causation_id is None else str(event.causation_id),
        event.schema_version,
        ",".join(event.tags),
        encode_json(event.payload),
        encode_json(event.metadata),
        event.recorded_at.isoformat(),
    ]


def events_delimited(events: Sequence[RecordedEvent], output_format: str, *, header: bool = True) -> str:
    """Every field of every event as CSV (RFC 4180 quoting) or TSV (one line per event: tabs
    and line breaks, which only JSON strings could hold and JSON escapes, never occur)."""
    rows = [event_fields(event) for event in events]
    if header:
        rows.insert(0, list(DELIMITED_HEADERS))
    if output_format == "tsv":
        return "\n".join("\t".join(cell(value) for value in row) for row in rows)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().rstrip("\n")


def events_header() -> str:
    """The header of a live table, whose columns cannot be aligned ahead of the rows."""
    return "  ".join(EVENT_HEADERS)


def event_line(event: RecordedEvent) -> str:
    """One event as one line of a live table."""
    return "  ".join(cell(value) for value in event_row(event))


def event_details(event: RecordedEvent) -> str:
    """Every field of one event, one per line; payload and metadata as indented JSON."""
    pairs: list[tuple[str, object]] = [
        ("position", event.position),
        ("event_id", event.event_id),
        ("timestamp", event.timestamp.isoformat()),
        ("recorded_at", event.recorded_at.isoformat()),
        ("event_type", event.event_type),
        ("actor", f"{event.actor_type}:{event.actor_id}"),
        ("appended_by", event.appended_by),
        ("correlation_id", event.correlation_id),
        ("causation_id", event.causation_id),
        ("schema_version", event.schema_version),
        ("tags", ", ".join(event.tags)),
    ]
    return "\n".join(
        [
            key_values(pairs),
            "payload:",
            _indent(dumps(event.payload)),
            "metadata:",
            _indent(dumps(event.metadata)),
        ]
    )


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def dumps(value: Any) -> str:
    """Indented JSON for `--format json` (UTF-8 kept readable, key order kept)."""
    return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)


def dumps_line(value: Any) -> str:
    """One compact JSON document on one line, for `--format jsonl`."""
    return encode_json(value)
