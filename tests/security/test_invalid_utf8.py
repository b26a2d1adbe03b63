"""Invalid UTF-8 wherever text comes in (input files, Python strings) or is stored (segments):
a clear error naming where, and nothing stored."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

import pyevents
from pyevents import Event, IntegrityError, RecordedEvent, ValidationError
from tests.cli.helpers import invoke


def command(backend_config: dict[str, Any], tmp_path: Path, *args: str) -> list[str]:
    """`pyevents ARGS` on the store `backend_config` describes (--config goes before the
    command, --dsn after it)."""
    if backend_config["backend"] == "postgresql":
        return [*args, "--dsn", backend_config["postgresql"]["dsn"]]
    config = tmp_path / "file-backend.toml"
    config.write_text(f'backend = "file"\n[file]\ndata_directory = "{backend_config["file"]["data_directory"]}"\n')
    return ["--config", str(config), *args]


def importable(number: int, payload_value: bytes) -> bytes:
    """One line of an importable JSON Lines file whose payload value is the raw bytes given."""
    line = json.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
            "timestamp": "2026-11-01T00:00:00Z",
            "event_type": "t",
            "actor_type": "u",
            "actor_id": "a",
            "payload": {"x": f"@{number}@"},
        }
    ).encode()
    return line.replace(f"@{number}@".encode(), payload_value)


def stored(backend_config: dict[str, Any]) -> list[RecordedEvent]:
    with pyevents.open_store(config=backend_config) as store:
        return store.get_events().events


def test_append_file_with_invalid_utf8_names_the_byte_and_stores_nothing(
    backend_config: dict[str, Any], tmp_path: Path
) -> None:
    source = tmp_path / "events.jsonl"
    source.write_bytes(importable(1, b"fine") + b"\n" + importable(2, b"\xff\xfe latin-1") + b"\n")
    result = invoke(command(backend_config, tmp_path, "append", "--file", str(source)), code=2)
    assert f"{source} is not UTF-8 text (byte " in result.stderr
    assert stored(backend_config) == []


def test_import_with_invalid_utf8_names_the_line_and_stores_nothing(
    backend_config: dict[str, Any], tmp_path: Path
) -> None:
    source = tmp_path / "export.jsonl"
    source.write_bytes(b"\n".join([importable(1, b"one"), importable(2, b"two"), importable(3, b"\xc3\x28")]) + b"\n")
    result = invoke(command(backend_config, tmp_path, "import", str(source)), code=2)
    assert f"{source}: line 3 is not UTF-8 (byte " in result.stderr
    assert stored(backend_config) == []


@pytest.mark.parametrize("text", ["\ud800", "tail \udfff"])
@pytest.mark.parametrize("field", ["event_type", "actor_id", "payload", "metadata"])
def test_lone_surrogates_are_refused_in_every_field(backend_config: dict[str, Any], field: str, text: str) -> None:
    values: dict[str, Any] = {"event_type": "t", "actor_type": "u", "actor_id": "a"}
    values[field] = {"k": text} if field in ("payload", "metadata") else text
    with (
        pyevents.open_store(config=backend_config) as store,
        pytest.raises(ValidationError, match="lone surrogate, which is not valid UTF-8"),
    ):
        store.append(Event.from_dict(values))
    assert stored(backend_config) == []


def test_invalid_utf8_inside_a_stored_segment_is_named_and_set_aside_by_repair(tmp_path: Path) -> None:
    directory = tmp_path / "events"
    config: dict[str, Any] = {"backend": "file", "file": {"data_directory": str(directory)}}
    with pyevents.open_store(config=config) as store:
        for number in range(1, 4):
            store.append(
                Event.from_dict(
                    {"event_type": "t", "actor_type": "u", "actor_id": "a", "payload": {"x": f"value{number}"}}
                )
            )
    (segment,) = directory.glob("*.jsonl")
    data = segment.read_bytes()
    segment.write_bytes(data.replace(b"value2", b"\xffalue2"))
    with pytest.raises(IntegrityError, match=f"segment {segment.name} is corrupt at byte"):
        stored(config)
    failed = invoke(command(config, tmp_path, "query"), code=1)
    assert f"segment {segment.name} is corrupt at byte" in failed.stderr
    invoke(command(config, tmp_path, "verify", "--repair"), code=1)  # repaired, and the lost position reported
    assert [event.payload for event in stored(config)] == [{"x": "value1"}, {"x": "value3"}]
    assert (directory / f"{segment.name}.corrupt").read_bytes() == data.replace(b"value2", b"\xffalue2")
