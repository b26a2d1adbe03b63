"""Hostile input: stored and returned verbatim, or refused with a clear error and nothing stored."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

import pyevents
from pyevents import ConfigError, Event, Query, QueryItem, QueryOptions, ValidationError
from pyevents.limits import MAX_JSON_DEPTH
from pyevents.store import EventStore

HOSTILE = [
    "'; DROP TABLE pyevents.events; --",
    'x" OR "1"="1',
    "$$; SELECT pg_sleep(10); $$",
    "a\\'b%_*?[]{}()",
    "E'\\x00' || chr(39)",
    "/* */ UNION SELECT * FROM pg_authid --",
]


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_sql_metacharacters_in_every_string_field_and_filter(backend_config: dict[str, Any]) -> None:
    events = [
        Event(
            event_type=text,
            actor_type=text,
            actor_id=text,
            schema_version=text[:32],
            payload={text: text, "list": [text]},
            metadata={"tags": [text, f"tag:{text}"], text: text},
        )
        for text in HOSTILE
    ]
    with pyevents.open_store(config=backend_config) as store:
        store.append_batch(events)
        stored = store.get_events().events
        recorded = {"position": 0, "recorded_at": "", "appended_by": ""}
        assert [event.to_dict() | recorded for event in stored] == [{**event.to_dict(), **recorded} for event in events]
        for text, event in zip(HOSTILE, events, strict=True):
            filters = QueryOptions(event_types=[text], actor_id=text, tags=[text, f"tag:{text}"])
            assert [found.event_id for found in store.get_events(filters).events] == [event.event_id]
            query = Query([QueryItem(types=[text], tags=[f"tag:{text}"])])
            assert [found.event_id for found in store.read(query).events] == [event.event_id]
            store._save_checkpoint(text, 1)
            assert store._load_checkpoint(text) == 1
        assert store.verify() == []


@pytest.mark.parametrize("field", ["payload", "metadata"])
def test_deeply_nested_json_is_refused_before_anything_is_written(backend_config: dict[str, Any], field: str) -> None:
    with pyevents.open_store(config=backend_config) as store:
        event_with(field, nested(MAX_JSON_DEPTH))
        for depth in (MAX_JSON_DEPTH + 1, 100_000):
            with pytest.raises(ValidationError, match=f"{field} is nested more than {MAX_JSON_DEPTH} levels deep"):
                store.append(event_with(field, nested(depth)))
        with pytest.raises(ValidationError, match=f"{field} is nested more than"):
            event_with(field, {"x": [nested(200)]})
        assert store.get_events().events == []


def event_with(field: str, value: dict[str, Any]) -> Event:
    return Event.from_dict({"event_type": "t", "actor_type": "u", "actor_id": "a", field: value})


def open_file_store(path: Path) -> EventStore:
    return pyevents.open_store(config={"backend": "file", "file": {"data_directory": str(path)}})


def test_file_backend_refuses_a_data_directory_another_user_owns(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        directory = tmp_path / "theirs"
        directory.mkdir()
        os.chown(directory, 65534, 65534)
    else:
        directory = Path(shutil.which("sh") or "/bin/sh").resolve().parent  # a system directory
    with pytest.raises(ConfigError, match=f"data directory {directory} belongs to uid \\d+, not to this user"):
        open_file_store(directory)
    if os.geteuid() == 0:
        assert list(directory.iterdir()) == []


def test_file_backend_refuses_a_world_writable_data_directory(tmp_path: Path) -> None:
    directory = tmp_path / "open"
    directory.mkdir()
    directory.chmod(0o777)
    with pytest.raises(ConfigError, match=f"data directory {directory} is writable by every user \\(mode 777\\)"):
        open_file_store(directory)
    assert list(directory.iterdir()) == []


@pytest.mark.parametrize("where", ["events-2026-01-01-00-00-00-000.jsonl", "checkpoints/subscription.json"])
def test_file_backend_refuses_links_out_of_the_data_directory(tmp_path: Path, where: str) -> None:
    directory = tmp_path / "events"
    with open_file_store(directory):
        pass
    outside = tmp_path / "elsewhere"
    outside.write_text("")
    link = directory / where
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(outside)
    with pytest.raises(ConfigError, match=f"{link} is a symbolic link to {outside}, outside the data directory"):
        open_file_store(directory)
    assert outside.read_text() == ""
