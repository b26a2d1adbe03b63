"""Every place that holds a limit agrees with pyevents.limits: the stored functions get them
rendered in, the released migrations' CHECK constraints are compared, and the SQL and the
Python client refuse exactly one past each limit."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from importlib import resources

import psycopg
import pytest

import pyevents
from pyevents import Event, ValidationError
from pyevents.backends.postgres import schema
from pyevents.limits import MAX_BATCH_SIZE, MAX_FUTURE_SKEW, MAX_NAME_LENGTH, MAX_SCHEMA_VERSION_LENGTH

from .test_sql_validation import CALL, arrays

POSTGRES = resources.files("pyevents.backends.postgres")
LENGTH_CHECK = re.compile(r"length\(\s*([\w\[\]]+)\s*\)\s*(?:<=|<|>=|>)\s*(\d+|@[A-Z_]+@)")


def test_the_stored_functions_take_every_limit_from_python() -> None:
    before, after = schema.manifest()
    for name in before + after:
        raw = POSTGRES.joinpath("sql", name).read_text()
        assert [bound for _column, bound in LENGTH_CHECK.findall(raw) if not bound.startswith("@")] == [], name
        assert not re.search(r"interval '\d+ day", raw), name
        rendered = schema.read_sql(name)
        assert not re.search(r"@[A-Z_]+@", rendered), name
    append = schema.read_sql("functions/append_events.sql")
    assert f"IF v_count > {MAX_BATCH_SIZE} THEN" in append
    assert f"> {MAX_NAME_LENGTH} THEN 'event_type must be 1 to {MAX_NAME_LENGTH} characters'" in append
    assert f"> {MAX_SCHEMA_VERSION_LENGTH} THEN" in append
    assert f"now() + interval '{int(MAX_FUTURE_SKEW.total_seconds()) // 86_400} day" in append


def test_the_released_migrations_check_the_same_lengths() -> None:
    checks = [check for _mid, text in schema.migration_files() for check in LENGTH_CHECK.findall(text)]
    assert len(checks) >= 6
    for column, bound in checks:
        expected = MAX_SCHEMA_VERSION_LENGTH if column == "schema_version" else MAX_NAME_LENGTH
        assert bound == str(expected), column


def _call(dsn: str, **changes: list[object]) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(CALL, arrays(**changes))


@pytest.mark.parametrize("field", ["types", "actor_types", "actor_ids"])
def test_sql_refuses_one_character_past_the_name_length(pg_dsn: str, field: str) -> None:
    with pytest.raises(psycopg.Error, match=f"must be 1 to {MAX_NAME_LENGTH} characters"):
        _call(pg_dsn, **{field: list[object](["x" * (MAX_NAME_LENGTH + 1)])})
    _call(pg_dsn, ids=[str(uuid.uuid4())], **{field: list[object](["x" * MAX_NAME_LENGTH])})


def test_sql_refuses_one_event_past_the_batch_size(pg_dsn: str) -> None:
    count = MAX_BATCH_SIZE + 1
    columns: list[list[object]] = [[str(uuid.uuid4()) for _ in range(count)]]
    columns += [column * count for column in arrays()[1:]]
    refused = pytest.raises(psycopg.Error, match=f"a batch holds at most {MAX_BATCH_SIZE} events, got {count}")
    with refused, psycopg.connect(pg_dsn) as conn:
        conn.execute(CALL, columns)


def test_sql_and_client_refuse_the_same_future(pg_dsn: str) -> None:
    late = datetime.now(UTC) + MAX_FUTURE_SKEW + timedelta(minutes=5)
    with pytest.raises(psycopg.Error, match="in the future"):
        _call(pg_dsn, timestamps=[late.isoformat()])
    _call(pg_dsn, timestamps=[(late - timedelta(minutes=10)).isoformat()])
    config = {"backend": "postgresql", "postgresql": {"dsn": pg_dsn}}
    with pyevents.open_store(config=config) as store, pytest.raises(ValidationError, match="in the future"):
        store.append(Event(event_type="A", actor_type="svc", actor_id="me", timestamp=late))
