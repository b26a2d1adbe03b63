"""Roles: each pyevents role has exactly the rights its job needs, and a reader never holds
locks that writers wait on past its own statement."""

from __future__ import annotations

import psycopg
import pytest

from .conftest import RoleMaker

APPEND = (
    "SELECT pyevents.append_events(ARRAY(SELECT gen_random_uuid() FROM generate_series(1, %(n)s)),"
    " array_fill(now(), ARRAY[%(n)s]),"
    " array_fill('Happened'::text, ARRAY[%(n)s]), array_fill('svc'::text, ARRAY[%(n)s]),"
    " array_fill('a'::text, ARRAY[%(n)s]), array_fill(gen_random_uuid(), ARRAY[%(n)s]),"
    " array_fill(NULL::uuid, ARRAY[%(n)s]), array_fill('1.0'::text, ARRAY[%(n)s]),"
    " array_fill('{}'::jsonb, ARRAY[%(n)s]), array_fill('{\"tags\": [\"t\"]}'::jsonb, ARRAY[%(n)s]))"
)


@pytest.mark.parametrize("batch", [1, 50], ids=["one event", "big batch"])
def test_an_idle_reader_does_not_hold_back_writers(pg_dsn: str, make_role: RoleMaker, batch: int) -> None:
    reader = make_role(pg_dsn, "pyevents_reader")
    writer = make_role(pg_dsn, "pyevents_writer")
    with psycopg.connect(writer, autocommit=True) as conn:
        conn.execute(APPEND, {"n": 3})
    with psycopg.connect(reader) as idle:  # a transaction left open after a read
        assert len(idle.execute("SELECT * FROM pyevents.read_events('{\"all\": true}', NULL, 1)").fetchall()) == 1
        tagged = idle.execute("""SELECT * FROM pyevents.read_events('{"items": [{"tags": ["t"]}]}')""").fetchall()
        assert len(tagged) == 3
        with psycopg.connect(writer, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '3s'")
            conn.execute(APPEND, {"n": batch})
        idle.rollback()


def test_checkpoints_belong_to_consumers(pg_dsn: str, make_role: RoleMaker) -> None:
    reader = make_role(pg_dsn, "pyevents_reader")
    consumer = make_role(pg_dsn, "pyevents_reader", "pyevents_consumer")
    with psycopg.connect(consumer) as conn:
        assert conn.execute("SELECT pyevents.save_checkpoint('mailer', 7)").fetchone() == (7,)
    with psycopg.connect(reader) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT pyevents.save_checkpoint('mailer', 9000000000000)")
        conn.rollback()
        assert conn.execute("SELECT pyevents.get_checkpoint('mailer')").fetchone() == (7,)


def test_verify_is_the_auditors_and_counting_is_open_to_readers(pg_dsn: str, make_role: RoleMaker) -> None:
    reader = make_role(pg_dsn, "pyevents_reader")
    auditor = make_role(pg_dsn, "pyevents_auditor")
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(APPEND, {"n": 125})
    with psycopg.connect(reader) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM pyevents.verify()")
        conn.rollback()
        assert len(conn.execute("SELECT * FROM pyevents.get_events(p_actor_id => 'a')").fetchall()) == 100
        assert conn.execute("SELECT pyevents.count_events(p_actor_id => 'a')").fetchone() == (125,)
    with psycopg.connect(auditor) as conn:
        assert conn.execute("SELECT * FROM pyevents.verify()").fetchall() == []
        assert conn.execute("SELECT * FROM pyevents.count_events_by('actor_id')").fetchall() == [("a", 125)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # counts, but reads no content
            conn.execute("SELECT * FROM pyevents.get_events()")


def test_count_events_by_names_a_bad_grouping(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn, pytest.raises(psycopg.Error, match="group_by must be") as error:
        conn.execute("SELECT * FROM pyevents.count_events_by('payload')")
    assert error.value.sqlstate == "PE001"


def test_grants_match_each_roles_job(pg_dsn: str) -> None:
    """Grants re-applied on upgrade leave no stale rights: readers lost save_checkpoint and verify."""
    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute(
            "SELECT r.rolname, p.proname FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a"
            " JOIN pg_roles r ON r.oid = a.grantee"
            " WHERE p.pronamespace = 'pyevents'::regnamespace AND r.rolname <> 'pyevents_owner'"
        ).fetchall()
    granted = {(str(role), str(name)) for role, name in rows}
    assert ("pyevents_reader", "save_checkpoint") not in granted
    assert ("pyevents_reader", "verify") not in granted
    assert ("pyevents_consumer", "save_checkpoint") in granted
    assert {name for role, name in granted if role == "pyevents_auditor"} == {
        "schema_version",
        "verify",
        "missing_protection",
        "count_events",
        "count_events_by",
        "correlation_timeline",
        "actor_activity",
        "verify_events",
        "redact",
        "redacted_path_list",
        "seal_history",
        "verify_seals",
        "sealed_leaves",
        "merkle_append",
        "merkle_root",
    }
    assert ("pyevents_reader", "verify_events") not in granted
