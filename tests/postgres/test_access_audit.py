"""The access audit of docs/access-audit.md, on a server set up as `pyevents db audit-setup`
prints: every refused attempt is in the server log with who, what and the SQLSTATE although its
transaction rolled back, and pgAudit logs the calls that were allowed. pgAudit must be preloaded,
so this test starts its own cluster."""

from __future__ import annotations

import csv
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pyevents import Event, Query, QueryOptions
from pyevents.backends.postgres import PostgresEventStore, schema
from tests.cli.helpers import invoke
from tests.postgres.conftest import RoleMaker, configured_cluster, extension_installed

APPEND = (
    "SELECT pyevents.append_event(gen_random_uuid(), now(), %s, 'svc', 'audit-test', gen_random_uuid(),"
    " NULL, '1.0', '{}', '{}')"
)
GET_EVENTS = "SELECT * FROM pyevents.get_events(p_limit => 10)"
READ_EVENTS = """SELECT * FROM pyevents.read_events('{"all": true}')"""
RETENTION = """SELECT pyevents.apply_retention('{"default_policy": "time", "retain_days": 1, "rules": []}', false)"""
RETENTION_DRY_RUN = "SELECT pyevents.apply_retention(NULL, true)"
DELETE = "DELETE FROM pyevents.events"
SILENCE = "SET pgaudit.log = 'none'"


@dataclass
class AuditedCluster:
    directory: Path
    dsn: str  # of database `events`, as the superuser

    def log_records(self) -> list[dict[str, Any]]:
        """Every complete record of the server's jsonlog files so far."""
        records = []
        for path in sorted((self.directory / "data" / "log").glob("*.json")):
            for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
                if line.endswith("\n"):  # the collector may be halfway through the last one
                    records.append(json.loads(line))
        return records

    def text_log(self) -> str:
        return "".join(path.read_text(encoding="utf-8") for path in (self.directory / "data" / "log").glob("*.log"))


@pytest.fixture
def audited() -> Iterator[AuditedCluster]:
    """A cluster configured with `pyevents db audit-setup server`, a store in database `events`
    set up with `pyevents db audit-setup database events`."""
    if not extension_installed("pgaudit"):
        pytest.skip("pgAudit is not installed (scripts/pgcluster.sh install installs postgresql-<major>-pgaudit)")
    with configured_cluster("audit", invoke(["db", "audit-setup", "server"]).stdout) as (directory, dsn):
        schema.upgrade(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(invoke(["db", "audit-setup", "database", "events"]).stdout.encode())
        yield AuditedCluster(directory, dsn)


def refused(dsn: str, *statements: tuple[str, tuple[Any, ...]]) -> str:
    """Run the statements in one explicit transaction, which must fail and roll back; the SQLSTATE."""
    with psycopg.connect(dsn, autocommit=True) as conn, pytest.raises(psycopg.Error) as failure, conn.transaction():
        for statement, params in statements:
            conn.execute(statement, params)
    return failure.value.sqlstate or ""


def user_of(dsn: str) -> str:
    return str(conninfo_to_dict(dsn)["user"])


def audit_fields(record: dict[str, Any]) -> list[str]:
    """pgAudit's fields: type, statement and substatement ids, class, command, object type and
    name, statement, parameters."""
    return next(csv.reader([record["message"].removeprefix("AUDIT: ")]))


def test_refused_attempts_are_logged_although_their_transactions_roll_back(
    audited: AuditedCluster, make_role: RoleMaker
) -> None:
    reader = make_role(audited.dsn, "pyevents_reader")
    writer = make_role(audited.dsn, "pyevents_writer")
    auditor = make_role(audited.dsn, "pyevents_auditor")

    # Allowed: the writer appends (one back-dated event makes a partition), the reader reads.
    with PostgresEventStore(writer) as store:
        kept = store.append_batch(
            [
                Event(event_type="Kept", actor_type="svc", actor_id="a", timestamp=datetime(2020, 5, 5, tzinfo=UTC)),
                Event(event_type="Kept", actor_type="svc", actor_id="a"),
            ]
        )
    with PostgresEventStore(reader) as store:
        assert [e.position for e in store.get_events(QueryOptions(event_type="Kept")).events] == kept
        assert [e.position for e in store.read(Query.all()).events] == kept

    rolled_back_type = f"RolledBack{uuid.uuid4().hex[:8]}"
    denied_type = f"Denied{uuid.uuid4().hex[:8]}"
    attempts = [  # who, the statement refused, its SQLSTATE
        (reader, APPEND, refused(reader, (APPEND, (denied_type,)))),
        # the append before the refused read is allowed, and rolls back with it
        (writer, GET_EVENTS, refused(writer, (APPEND, (rolled_back_type,)), (GET_EVENTS, ()))),
        (writer, READ_EVENTS, refused(writer, (READ_EVENTS, ()))),
        (writer, RETENTION, refused(writer, (RETENTION, ()))),
        (auditor, RETENTION_DRY_RUN, refused(auditor, (RETENTION_DRY_RUN, ()))),
        (writer, DELETE, refused(writer, (DELETE, ()))),
        (reader, SILENCE, refused(reader, (SILENCE, ()))),
        # a superuser passes the privilege checks; the append-only trigger refuses
        (audited.dsn, DELETE, refused(audited.dsn, (DELETE, ()))),
    ]
    assert [state for _, _, state in attempts] == ["42501"] * 7 + ["PE004"]
    # A superuser can silence pgAudit for a session, unrecorded.
    unrecorded = f"SELECT count(*) AS unrecorded_{uuid.uuid4().hex[:8]} FROM pyevents.events"
    with psycopg.connect(audited.dsn, autocommit=True) as conn:
        conn.execute(SILENCE)
        conn.execute("SET pgaudit.role = ''")
        conn.execute(unrecorded)
    # a login refused: pyevents' roles cannot log in
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(make_conninfo(audited.dsn, user="pyevents_writer")).close()

    # the server logs statements as received: bound values are $n, and are not logged
    expected = [(user_of(dsn), state, statement.replace("%s", "$1")) for dsn, statement, state in attempts]
    deadline = time.monotonic() + 30
    while True:  # the logging collector writes the files a moment later
        records = audited.log_records()
        errors = {
            (r.get("user"), r.get("state_code"), r.get("statement")): r
            for r in records
            if r["error_severity"] == "ERROR"
        }
        logins = [r for r in records if r["error_severity"] == "FATAL" and r.get("user") == "pyevents_writer"]
        if (logins and all(key in errors for key in expected)) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for key in expected:
        assert key in errors, f"no ERROR record for {key}"
        assert errors[key]["dbname"] == "events"
        assert errors[key]["remote_host"] == "127.0.0.1"
    assert "permission denied for function append_event" in errors[expected[0]]["message"]
    assert "pyevents is append-only" in errors[expected[-1]]["message"]
    assert [(r["state_code"], r["message"]) for r in logins] == [
        ("28000", 'role "pyevents_writer" is not permitted to log in')
    ]
    # the plain-text log carries the same, with the SQLSTATE in every line's prefix
    assert f"{user_of(reader)}@events 127.0.0.1(" in audited.text_log()
    assert " 42501 ERROR:  permission denied for function append_event" in audited.text_log()

    audits = [(r.get("user"), audit_fields(r)) for r in records if r["message"].startswith("AUDIT: ")]
    calls = {(user, fields[6]) for user, fields in audits if fields[3:6] == ["FUNCTION", "EXECUTE", "FUNCTION"]}
    # pgAudit logs the calls that passed the privilege check, by whom...
    assert (user_of(writer), "pyevents.append_events") in calls
    assert (user_of(reader), "pyevents.get_events") in calls
    assert (user_of(reader), "pyevents.read_events") in calls
    # ...also one whose transaction then rolled back (the store appends through append_events:
    # this append_event is the refused read's companion): a call, not a commit...
    assert (user_of(writer), "pyevents.append_event") in calls
    # ...and none of the refused ones: those are only in the ERROR records above.
    assert (user_of(reader), "pyevents.append_event") not in calls
    assert (user_of(writer), "pyevents.get_events") not in calls
    assert (user_of(writer), "pyevents.read_events") not in calls
    assert not any(name == "pyevents.apply_retention" for _, name in calls)
    assert not any(user == user_of(writer) and fields[0] == "OBJECT" for user, fields in audits)
    assert not any(denied_type in json.dumps(r) or rolled_back_type in json.dumps(r) for r in records)
    assert not any(unrecorded in json.dumps(r) for r in records)
    # The object audit logs the superuser's direct DELETE, which the trigger then refused.
    assert any(
        user == "postgres" and fields[0] == "OBJECT" and fields[4:7] == ["DELETE", "TABLE", "pyevents.events"]
        for user, fields in audits
    )

    # Nothing of the refused attempts stayed in the database.
    with psycopg.connect(audited.dsn) as conn:
        stored = conn.execute("SELECT event_type, count(*) FROM pyevents.events GROUP BY event_type").fetchall()
        assert stored == [("Kept", 2)]
        assert conn.execute("SELECT count(*) FROM pyevents.retention_policy").fetchone() == (0,)


def test_audit_setup_names_what_is_missing_or_extra() -> None:
    assert "needs the name of the store's database" in invoke(["db", "audit-setup", "database"], code=2).stderr
    assert "`server` takes no database name" in invoke(["db", "audit-setup", "server", "events"], code=2).stderr
    assert 'ALTER DATABASE "my ""events""" SET' in invoke(["db", "audit-setup", "database", 'my "events"']).stdout
