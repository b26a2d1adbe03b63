"""PostgreSQL: the login that appended each event (appended_by, which no caller can give and the
checksum covers), and the sensitive paths of pyevents.redacted_paths, masked in everything an
auditor can reach: every view they may select from and every function they may execute."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

import pyevents
from pyevents import Event
from pyevents.backends.postgres import schema
from pyevents.redaction import MASK, mask

from .conftest import RoleMaker
from .test_verify import as_superuser_without_triggers, data_problems

SECRETS = ("alice@example.com", "4111-1111-1111-1111", "10.9.8.7", "s3cr3t-token")
PATHS = ["metadata.ip", "payload.card", "payload.tokens", "payload.user.email"]
ACTOR = "u-17"


def open_store(dsn: str) -> pyevents.EventStore:
    return pyevents.open_store(config={"backend": "postgresql", "postgresql": {"dsn": dsn}})


def _sensitive_event(**fields: Any) -> Event:
    payload = {
        "user": {"email": SECRETS[0], "name": "Alice"},
        "card": SECRETS[1],
        "tokens": [SECRETS[3]],
        "total": 12,
    }
    return Event(
        event_type="order.placed",
        actor_type="user",
        actor_id=ACTOR,
        payload=payload,
        metadata={"ip": SECRETS[2], "tags": ["order:1"]},
        **fields,
    )


# How to call each function an auditor may execute; a function granted to them later must be
# added here, or the test below fails: nothing the auditor can reach goes unchecked.
def _auditor_calls(correlation_id: str) -> dict[str, list[str]]:
    return {
        "pyevents.schema_version()": ["SELECT pyevents.schema_version()"],
        "pyevents.verify()": ["SELECT * FROM pyevents.verify()"],
        "pyevents.verify_events()": ["SELECT * FROM pyevents.verify_events()"],
        "pyevents.missing_protection()": ["SELECT * FROM pyevents.missing_protection()"],
        "pyevents.count_events(timestamp with time zone,timestamp with time zone,text[],text,uuid,text[])": [
            "SELECT pyevents.count_events()",
            f"SELECT pyevents.count_events(p_actor_id => '{ACTOR}', p_tags => ARRAY['order:1'])",
        ],
        "pyevents.count_events_by(text,timestamp with time zone,timestamp with time zone,text[],text,uuid,text[])": [
            f"SELECT * FROM pyevents.count_events_by('{group}')"
            for group in ("event_type", "actor_type", "actor_id", "day", "month", "all")
        ],
        "pyevents.correlation_timeline(uuid)": [f"SELECT * FROM pyevents.correlation_timeline('{correlation_id}')"],
        "pyevents.actor_activity(text,timestamp with time zone,timestamp with time zone)": [
            f"SELECT * FROM pyevents.actor_activity('{ACTOR}')"
        ],
        "pyevents.redact(jsonb,text,text[])": ["SELECT pyevents.redact('{\"a\": 1}', 'payload', '{}')"],
        "pyevents.redacted_path_list()": ["SELECT pyevents.redacted_path_list()"],
        # the seals hold hashes and positions, never content
        "pyevents.seal_history()": ["SELECT * FROM pyevents.seal_history()"],
        "pyevents.verify_seals()": ["SELECT * FROM pyevents.verify_seals()"],
        "pyevents.sealed_leaves(bigint)": ["SELECT * FROM pyevents.sealed_leaves()"],
        "pyevents.merkle_root(bytea[])": ["SELECT pyevents.merkle_root('{}')"],
        "pyevents.merkle_append(bytea[],bigint,bytea)": ["SELECT pyevents.merkle_append('{}', 0, '')"],
    }


@pytest.fixture
def redacted(pg_dsn: str) -> tuple[str, Event]:
    """A store holding sensitive events, with PATHS in pyevents.redacted_paths."""
    assert schema.sync_redacted_paths(pg_dsn, PATHS) == [(path, "added") for path in PATHS]
    event = _sensitive_event()
    with open_store(pg_dsn) as store:
        store.append(event)
        store.append(_sensitive_event(correlation_id=event.correlation_id, causation_id=event.event_id))
    return pg_dsn, event


def test_nothing_an_auditor_can_reach_shows_a_redacted_value(redacted: tuple[str, Event], make_role: RoleMaker) -> None:
    dsn, event = redacted
    auditor = make_role(dsn, "pyevents_auditor")
    calls = _auditor_calls(str(event.correlation_id))
    with psycopg.connect(dsn) as conn:
        executable = {
            str(row[0]).replace(", ", ",")
            for row in conn.execute(
                "SELECT p.oid::regprocedure FROM pg_proc AS p WHERE p.pronamespace = 'pyevents'::regnamespace"
                " AND has_function_privilege('pyevents_auditor', p.oid, 'EXECUTE')"
            )
        }
        selectable = {
            str(row[0])
            for row in conn.execute(
                "SELECT c.oid::regclass FROM pg_class AS c WHERE c.relnamespace = 'pyevents'::regnamespace"
                " AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
                " AND has_any_column_privilege('pyevents_auditor', c.oid, 'SELECT')"
            )
        }
        barriers = conn.execute(
            "SELECT c.relname, 'security_barrier=true' = ANY (c.reloptions) FROM pg_class AS c"
            " WHERE c.relnamespace = 'pyevents'::regnamespace AND c.relkind = 'v' ORDER BY 1"
        ).fetchall()
    assert executable == set(calls), "a function granted to the auditor has no redaction check here"
    assert selectable == {"pyevents.daily_event_counts", "pyevents.latest_events"}  # never the tables
    assert barriers == [("daily_event_counts", True), ("latest_events", True)]

    printed: dict[str, str] = {}
    with psycopg.connect(auditor, autocommit=True) as conn:
        for statements in calls.values():
            for statement in statements:
                printed[statement] = json.dumps(conn.execute(statement).fetchall(), default=str)
        for view in sorted(selectable):
            printed[view] = json.dumps(conn.execute(f"SELECT * FROM {view}").fetchall(), default=str)
        # A filter on the masked column sees the masked value, and so does an error it raises.
        leak = "SELECT count(*) FROM pyevents.latest_events WHERE payload -> 'user' ->> 'email' LIKE 'alice%'"
        printed[leak] = json.dumps(conn.execute(leak).fetchall())
        with pytest.raises(psycopg.errors.InvalidTextRepresentation) as error:
            conn.execute("SELECT * FROM pyevents.latest_events WHERE (payload ->> 'card')::numeric > 0")
        printed["error"] = str(error.value)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT payload FROM pyevents.events")
    for what, text in printed.items():
        assert not [secret for secret in SECRETS if secret in text], what
    assert printed[leak] == "[[0]]"
    latest = printed["pyevents.latest_events"]
    assert MASK in latest and "Alice" in latest  # masked, not emptied
    activity = printed[f"SELECT * FROM pyevents.actor_activity('{ACTOR}')"]
    assert MASK in activity and "Alice" in activity
    with psycopg.connect(dsn) as conn:  # the data itself is whole: readers of get_events see it
        stored = conn.execute("SELECT payload::text, metadata::text FROM pyevents.events").fetchall()
    assert all(secret in json.dumps(stored) for secret in SECRETS)


def test_psql_and_the_python_client_mask_alike(pg_dsn: str) -> None:
    documents: list[dict[str, Any]] = [
        {"user": {"email": "a", "name": "b"}, "list": [{"x": 1}, {"x": 2}], "n": None},
        {"user": "not an object", "list": [1, 2, 3]},
        {"user": {"email": {"nested": True}}, "list": []},
        {},
    ]
    paths = ["payload.user.email", "payload.list.1", "payload.list.0.x", "payload.list.-1", "payload.n", "payload.zz"]
    with psycopg.connect(pg_dsn) as conn:
        for document in documents:
            row = conn.execute(
                "SELECT pyevents.redact(%s::jsonb, 'payload', %s::text[])", (json.dumps(document), paths)
            ).fetchone()
            assert row is not None
            assert row[0] == mask(document, "payload", paths), document
            assert conn.execute(
                "SELECT pyevents.redact(%s::jsonb, 'metadata', %s::text[]) = %s::jsonb",
                (json.dumps(document), paths, json.dumps(document)),
            ).fetchone() == (True,)


@pytest.mark.parametrize("path", ["payload", "user.email", "payload..x", "metadata.tags", "payload.a b", None])
def test_set_redacted_paths_refuses_a_bad_path_naming_it(pg_dsn: str, path: str | None) -> None:
    with psycopg.connect(pg_dsn) as conn, pytest.raises(psycopg.Error, match="redacted path") as error:
        conn.execute("SELECT * FROM pyevents.set_redacted_paths(%s::text[])", (["payload.ok", path],))
    assert error.value.sqlstate == "PE001" and (repr(path) if path else "NULL") in str(error.value).replace('"', "'")


def test_only_the_owner_manages_the_redacted_paths(pg_dsn: str, make_role: RoleMaker) -> None:
    for roles in (("pyevents_auditor",), ("pyevents_reader", "pyevents_writer")):
        login = make_role(pg_dsn, *roles)
        with psycopg.connect(login) as conn:
            assert conn.execute("SELECT pyevents.redacted_path_list()").fetchone() == ([],)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT * FROM pyevents.set_redacted_paths(ARRAY['payload.x'])")
            conn.rollback()
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("DELETE FROM pyevents.redacted_paths")


def test_each_event_records_the_login_that_appended_it(pg_dsn: str, make_role: RoleMaker) -> None:
    first, second = (make_role(pg_dsn, "pyevents_writer", "pyevents_reader") for _ in range(2))
    logins = [str(psycopg.conninfo.conninfo_to_dict(dsn)["user"]) for dsn in (first, second)]
    events = [Event(event_type="placed", actor_type="user", actor_id="claimed") for _ in range(2)]
    for dsn, event in zip((first, second), events, strict=True):
        with open_store(dsn) as store:
            store.append(event)
            store.append(event)  # a retry, and a retry by another login, keep the first login
    with open_store(second) as store:
        store.append(events[0])
        read = store.get_events().events
        assert [(e.actor_id, e.appended_by) for e in read] == [("claimed", logins[0]), ("claimed", logins[1])]
    with open_store(pg_dsn) as store:
        assert store.verify() == []
    # Only the append functions write: no login can name appended_by by inserting itself.
    with psycopg.connect(first) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(
            "INSERT INTO pyevents.events (position, event_id, timestamp, event_type, actor_type, actor_id,"
            " correlation_id, schema_version, payload, metadata, appended_by)"
            " VALUES (99, gen_random_uuid(), now(), 't', 'a', 'a', gen_random_uuid(), '1', '{}', '{}', 'postgres')"
        )
    with psycopg.connect(pg_dsn) as conn:
        arguments = conn.execute(
            "SELECT array_agg(name) FROM pg_proc AS p, unnest(p.proargnames) AS name"
            " WHERE p.pronamespace = 'pyevents'::regnamespace AND p.proname IN ('append_event', 'append_events')"
        ).fetchone()
        assert arguments is not None and not [name for name in arguments[0] if "appended" in name or "user" in name]
        latest = conn.execute("SELECT appended_by FROM pyevents.latest_events").fetchall()
        assert latest == [(logins[1],), (logins[0],)]


def test_the_checksum_covers_appended_by_and_keeps_older_events_valid(pg_dsn: str) -> None:
    with open_store(pg_dsn) as store:
        store.append_batch([Event(event_type="t", actor_type="a", actor_id="a") for _ in range(2)])
    with psycopg.connect(pg_dsn) as conn:
        # The checksum of an event without appended_by is the one releases before it recorded.
        same = conn.execute(
            "SELECT pyevents.event_checksum(e.position, e.event_id, e.timestamp, e.event_type, e.actor_type,"
            " e.actor_id, e.correlation_id, e.causation_id, e.schema_version, e.payload, e.metadata, NULL)"
            " = sha256(convert_to(concat_ws(chr(31), e.position::text, e.event_id::text,"
            " to_char(e.timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), e.event_type,"
            " e.actor_type, e.actor_id, e.correlation_id::text, coalesce(e.causation_id::text, ''),"
            " e.schema_version, e.payload::text, e.metadata::text), 'UTF8'))"
            " FROM pyevents.events AS e"
        ).fetchall()
        assert same == [(True,), (True,)]
    as_superuser_without_triggers(pg_dsn, "UPDATE pyevents.events SET appended_by = 'someone' WHERE position = 2")
    with open_store(pg_dsn) as store:
        assert [problem.split(" at ")[1] for problem in data_problems(store)] == [
            "position 2 does not match the checksum recorded when it was appended: its content was changed"
        ]
