"""What users type or pipe in (no store involved): events as JSON/JSONL, JSON options, query specs,
and the plain-text table formatting."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from pyevents.cli import output
from pyevents.cli.inputs import (
    event_from_options,
    parse_events,
    parse_json_object,
    parse_query_json,
    parse_query_specs,
)
from pyevents.cli.options import exit_code_for
from pyevents.errors import (
    AppendConditionViolated,
    BackendUnavailable,
    ConfigError,
    DuplicateEventError,
    IntegrityError,
    PyEventsError,
    ValidationError,
)
from pyevents.model import Query, QueryItem, RecordedEvent

ONE = '{"event_type": "a", "actor_type": "user", "actor_id": "u-1"}'


def test_one_object_an_array_and_json_lines() -> None:
    assert [e.event_type for e in parse_events(ONE)] == ["a"]
    assert len(parse_events(f"[{ONE}, {ONE}]")) == 2
    assert len(parse_events(f"{ONE}\n\n{ONE}\n{ONE}\n")) == 3


def test_a_pretty_printed_object_is_one_event() -> None:
    text = '{\n  "event_type": "a",\n  "actor_type": "user",\n  "actor_id": "u-1",\n  "payload": {"k": 1}\n}\n'
    [parsed] = parse_events(text)
    assert parsed.payload == {"k": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "no events in input"),
        ("[]", "empty array"),
        (f"{ONE}\n{ONE}\n{{broken\n", "line 3 is not valid JSON"),
        ('{\n "event_type": "a",\n oops}', "at line 3, column 2"),
        (f'{ONE}\n{{"event_type": "b", "actor_type": "user"}}\n', "line 2: actor_id is required"),
        (f"[{ONE}, 3]", "item 1 of the array: an event must be a JSON object, got a number"),
        ('"just a string"', "an event must be a JSON object, got a string"),
        ('{"event_type": "a", "actor_type": "u", "actor_id": "1", "colour": 1}', "unknown event field(s): colour"),
    ],
)
def test_bad_input_names_the_problem(text: str, expected: str) -> None:
    with pytest.raises(ValidationError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        parse_events(text)


def test_event_from_options_merges_tags_into_metadata() -> None:
    built = event_from_options(
        event_type="a",
        actor_type="user",
        actor_id="u-1",
        payload='{"n": 1}',
        metadata='{"tags": ["x"], "source": "cli"}',
        tags=("y", "x"),
        correlation_id=str(uuid.UUID(int=1)),
        causation_id=None,
        event_id=None,
        timestamp="2024-05-01T12:00:00Z",
    )
    assert built.metadata == {"tags": ["x", "y"], "source": "cli"}
    assert built.payload == {"n": 1}
    assert built.correlation_id == uuid.UUID(int=1)
    assert built.timestamp == datetime(2024, 5, 1, 12, tzinfo=UTC)


def test_event_from_options_names_missing_flags() -> None:
    with pytest.raises(ValidationError, match="missing --type, --actor-id"):
        event_from_options(
            event_type=None,
            actor_type="user",
            actor_id=None,
            payload=None,
            metadata=None,
            tags=(),
            correlation_id=None,
            causation_id=None,
            event_id=None,
            timestamp=None,
        )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1]", "must be a JSON object, got an array"),
        ("{", "is not valid JSON"),
        ("null", "must be a JSON object, got null"),
    ],
)
def test_json_options_must_be_objects(text: str, expected: str) -> None:
    with pytest.raises(ValidationError, match=f"--payload {expected}"):
        parse_json_object(text, "--payload")


def test_query_specs() -> None:
    assert parse_query_specs(["type:a,type:b,tag:x", "tag:y"]) == Query(
        [QueryItem(types=["a", "b"], tags=["x"]), QueryItem(tags=["y"])]
    )
    assert parse_query_specs(["all"]) == Query.all()
    with pytest.raises(ValidationError, match="type:NAME or tag:NAME"):
        parse_query_specs(["kind:a"])
    with pytest.raises(ValidationError, match="cannot be combined"):
        parse_query_specs(["all", "type:a"])


def test_query_json_wire_form() -> None:
    assert parse_query_json('{"all": true}') == Query.all()
    assert parse_query_json('{"items": [{"types": ["a"]}, {"tags": ["x"]}]}') == Query(
        [QueryItem(types=["a"]), QueryItem(tags=["x"])]
    )
    for bad, message in [
        ('{"items": []}', "non-empty array"),
        ('{"items": [{"types": "a"}]}', r"items\[0\].types must be an array of strings"),
        ('{"items": [{"kinds": ["a"]}]}', "unknown key 'kinds'"),
        ('{"items": [{}]}', "needs types or tags"),
        ('{"every": true}', "unknown key 'every'"),
    ]:
        with pytest.raises(ValidationError, match=message):
            parse_query_json(bad)


def test_exit_codes_per_error() -> None:
    assert exit_code_for(ValidationError("x")) == 2
    assert exit_code_for(ConfigError("x")) == 2
    assert exit_code_for(AppendConditionViolated("x")) == 3
    assert exit_code_for(DuplicateEventError("x")) == 3
    assert exit_code_for(BackendUnavailable("x")) == 4
    assert exit_code_for(IntegrityError("x")) == 1
    assert exit_code_for(PyEventsError("x")) == 1


def test_table_aligns_columns_and_right_aligns_numbers() -> None:
    text = output.table(("position", "type"), [[7, "a.b"], [12345, "c\nd"]])
    assert text.splitlines() == [
        "position  type",
        "--------  ----",
        "       7  a.b",
        "   12345  c d",
    ]


def test_events_table_truncates_payload() -> None:
    recorded = RecordedEvent(
        event_type="order.placed",
        actor_type="user",
        actor_id="u-1",
        payload={"text": "x" * 200},
        metadata={"tags": ["order:1"]},
        position=3,
        recorded_at=datetime(2024, 5, 1, tzinfo=UTC),
        timestamp=datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC),
        correlation_id=uuid.UUID("12345678-1234-5678-1234-567812345678"),
    )
    header, _rule, row = output.events_table([recorded]).splitlines()
    assert header.split() == list(output.EVENT_HEADERS)
    assert "2024-05-01T12:00:00.123Z" in row
    assert "user:u-1" in row and " 12345678 " in row and "order:1" in row
    assert row.endswith("...") and len(row.split()[-1]) == output.PAYLOAD_WIDTH
    assert output.events_table([]) == "(no events)"
