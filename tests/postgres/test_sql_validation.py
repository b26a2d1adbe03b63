"""The stored functions validate their input themselves: psql users get the same clear errors
(SQLSTATE PE001, naming the event and field) as the Python client, and nothing is written."""

from __future__ import annotations

import psycopg
import pytest

CALL = (
    "SELECT pyevents.append_events(%s::uuid[], %s::timestamptz[], %s::text[], %s::text[], %s::text[],"
    " %s::uuid[], %s::uuid[], %s::text[], %s::jsonb[], %s::jsonb[])"
)
ID = "00000000-0000-0000-0000-000000000001"
CORRELATION = "00000000-0000-0000-0000-0000000000c1"


def arrays(**changes: list[object]) -> list[list[object]]:
    row: dict[str, list[object]] = {
        "ids": [ID],
        "timestamps": ["2026-01-01T00:00:00Z"],
        "types": ["A"],
        "actor_types": ["svc"],
        "actor_ids": ["me"],
        "correlations": [CORRELATION],
        "causations": [None],
        "versions": ["1.0"],
        "payloads": ["{}"],
        "metadata": ["{}"],
    }
    row.update(changes)
    return list(row.values())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ids": [None]}, "event_id is required"),
        ({"timestamps": ["2999-01-01T00:00:00Z"]}, "more than 1 day in the future"),
        ({"timestamps": ["infinity"]}, "more than 1 day in the future"),
        ({"timestamps": ["0044-03-15 00:00:00+00 BC"]}, r"before 1900-01-01 00:00:00\+00, the earliest accepted"),
        ({"timestamps": ["-infinity"]}, r"before 1900-01-01 00:00:00\+00, the earliest accepted"),
        ({"types": [""]}, "event_type must be 1 to 255 characters"),
        ({"actor_ids": ["x" * 256]}, "actor_id must be 1 to 255 characters"),
        ({"correlations": [None]}, "correlation_id is required"),
        ({"versions": [""]}, "schema_version"),
        ({"payloads": ["[1]"]}, "payload must be a JSON object"),
        ({"metadata": ['{"tags": "vip"}']}, "metadata.tags"),
        ({"metadata": ['{"tags": ["ok", 3]}']}, "metadata.tags"),
        ({"metadata": ['{"tags": [""]}']}, "metadata.tags"),
        ({"types": ["A", "B"]}, "every array argument must have 1 elements"),
        ({"ids": []}, "at least one event"),
    ],
)
def test_append_events_names_the_problem(pg_dsn: str, changes: dict[str, list[object]], message: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        with pytest.raises(psycopg.Error, match=message) as error:
            conn.execute(CALL, arrays(**changes))
        assert error.value.sqlstate == "PE001"
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM pyevents.events").fetchone() == (0,)


def test_duplicate_ids_within_a_batch(pg_dsn: str) -> None:
    doubled = {
        k: v * 2
        for k, v in zip(
            [
                "ids",
                "timestamps",
                "types",
                "actor_types",
                "actor_ids",
                "correlations",
                "causations",
                "versions",
                "payloads",
                "metadata",
            ],
            arrays(),
            strict=True,
        )
    }
    with psycopg.connect(pg_dsn) as conn, pytest.raises(psycopg.Error, match="appears twice"):
        conn.execute(CALL, arrays(**doubled))


def test_invalid_condition_is_rejected(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn, pytest.raises(psycopg.Error, match="types or tags") as error:
        conn.execute(
            "SELECT pyevents.append_event(gen_random_uuid(), now(), 'A', 's', 'a', gen_random_uuid(), NULL, '1.0',"
            " '{}', '{}', '{\"items\": [{}]}', NULL)"
        )
    assert error.value.sqlstate == "PE001"


def test_read_events_validates_its_query(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn, pytest.raises(psycopg.Error, match="at least one item") as error:
        conn.execute("SELECT * FROM pyevents.read_events('{\"items\": []}')")
    assert error.value.sqlstate == "PE001"
