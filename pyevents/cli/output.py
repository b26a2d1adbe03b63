"""Formatting for the CLI: aligned plain-text tables for people, JSON and JSON Lines for machines.

Nothing here talks to a store; every function turns values into text. Tables need no extra
dependency: columns are padded to their widest cell, numbers right-aligned.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from pyevents.model import RecordedEvent, encode_json

EVENT_HEADERS = ("position", "timestamp", "type", "actor", "correlation", "tags", "payload")
PAYLOAD_WIDTH = 48
TAGS_WIDTH = 32
ELLIPSIS = "..."


def truncate(text: str, width: int) -> str:
    """`text` cut to at most `width` characters, marked with an ellipsis when cut."""
    if len(text) <= width:
        return text
    return text[: max(0, width - len(ELLIPSIS))] + ELLIPSIS


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    # One row is one line: control characters would break the alignment (or the terminal).
    return "".join(ch if ch.isprintable() else " " for ch in text)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """An aligned table: header, a rule, one line per row. Integer columns are right-aligned."""
    cells = [[_cell(value) for value in row] for row in rows]
    numeric = [
        bool(cells) and all(isinstance(row[i], int) or row[i] is None for row in _raw(rows_list := list(rows)))
        if False
        else False
        for i in range(len(headers))
    ]
    del numeric  # replaced below: alignment is decided from the formatted cells
    widths = [len(header) for header in headers]
    for row in cells:
        for index, text in enumerate(row):
            widths[index] = max(widths[index], len(text))
    right = [bool(cells) and all(row[i].lstrip("-").isdigit() or not row[i] for row in cells) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [
            value.rjust(widths[i]) if right[i] else value.ljust(widths[i]) for i, value in enumerate(values)
        ]
        return "  ".join(parts).rstrip()

    out = [line(list(headers)), line(["-" * width for width in widths])]
    out.extend(line(row) for row in cells)
    return "\n".join(out)
