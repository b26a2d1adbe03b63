"""Masking sensitive values of events for people who may see events but not everything in them.

Paths name values in an event's payload or metadata (`payload.user.email`, `metadata.ip`):
dotted keys, where a key of digits indexes a list. The value a path names, whatever it holds,
is replaced by the string "[REDACTED]"; a path that leads nowhere in an event changes nothing.
PostgreSQL masks the same way in its audit views and functions (`pyevents.redact`), with the
paths of table `pyevents.redacted_paths`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from typing import Any

from pyevents.config import Config
from pyevents.errors import ConfigError
from pyevents.model import JSONObject, RecordedEvent
from pyevents.store import EventStore

MASK = "[REDACTED]"
CONFIG_KEY = "security.redact"
_PATH = re.compile(r"(payload|metadata)(\.[A-Za-z0-9_-]+)+")


def check_path(path: object, source: str = CONFIG_KEY) -> str:
    """A valid path, or a ConfigError naming the bad one and where it came from."""
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise ConfigError(
            f"{source}: {path!r} is not a redactable path: payload.KEY or metadata.KEY, dotted keys of "
            "letters, digits, _ and - (e.g. payload.user.email)"
        )
    if path == "metadata.tags" or path.startswith("metadata.tags."):
        raise ConfigError(
            f"{source}: {path!r} cannot be redacted: tags are the store's index, which filters and DCB queries match"
        )
    return path


def configured_paths(config: Config) -> tuple[str, ...]:
    """The paths of `[security] redact`, validated."""
    return tuple(dict.fromkeys(check_path(path) for path in config.section("security")["redact"]))


def _masked(value: Any, keys: list[str]) -> Any:
    """`value` with what `keys` lead to replaced by MASK (copied along the way, never changed)."""
    key, rest = keys[0], keys[1:]
    if isinstance(value, dict):
        if key not in value:
            return value
        return {**value, key: MASK if not rest else _masked(value[key], rest)}
    if isinstance(value, list) and key.removeprefix("-").isdigit():
        index = int(key)
        if not -len(value) <= index < len(value):
            return value
        copied = list(value)
        copied[index] = MASK if not rest else _masked(value[index], rest)
        return copied
    return value


def mask(document: JSONObject, root: str, paths: Iterable[str]) -> JSONObject:
    """The document (an event's payload or metadata, named by `root`) with every path under
    `root` masked."""
    masked = document
    for path in paths:
        head, _dot, tail = path.partition(".")
        if head == root:
            masked = _masked(masked, tail.split("."))
    return masked


@dataclasses.dataclass(frozen=True)
class Redaction:
    """A set of paths, applied to events."""

    paths: tuple[str, ...] = ()

    def __call__(self, event: RecordedEvent) -> RecordedEvent:
        if not self.paths:
            return event
        payload = mask(event.payload, "payload", self.paths)
        metadata = mask(event.metadata, "metadata", self.paths)
        if payload is event.payload and metadata is event.metadata:
            return event
        return dataclasses.replace(event, payload=payload, metadata=metadata)


def store_paths(store: EventStore) -> tuple[str, ...]:
    """The paths a store keeps itself (PostgreSQL: table pyevents.redacted_paths); none for
    stores without such a list."""
    stored: Callable[[], list[str]] | None = getattr(store, "redacted_paths", None)
    return () if stored is None else tuple(stored())


def redaction_for(store: EventStore, config: Config) -> Redaction:
    """What --redact masks: the configured paths and the store's own, together."""
    return Redaction(tuple(sorted({*configured_paths(config), *store_paths(store)})))
