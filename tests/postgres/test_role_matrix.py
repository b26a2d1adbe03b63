"""The role matrix: for each of the store's roles, what it may do and what is refused. Every
role works through the stored functions its job needs; none, the owner included, may rewrite
the tables directly."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from ..conftest import TEMPLATE, Cluster

CORRELATION = "6f1c2b4e-9d7a-4c55-8e0f-3a2b1c0d9e8f"
EVENT_ID = "0b9e4c1a-7f3d-4e2b-9a6c-5d8e7f1a2b3c"
APPEND_ONE = (
    "SELECT pyevents.append_event(gen_random_uuid(), now(), 'Happened', 'svc', 'a',"
    f" '{CORRELATION}', NULL, '1.0', '{{}}', '{{}}')"
)
APPEND_MANY = (
    "SELECT pyevents.append_events(ARRAY[gen_random_uuid()], ARRAY[now()], ARRAY['Happened'], ARRAY['svc'],"
    f" ARRAY['a'], ARRAY['{CORRELATION}'::uuid], ARRAY[NULL::uuid], ARRAY['1.0'], ARRAY['{{}}'::jsonb],"
    """ ARRAY['{"tags": ["t"]}'::jsonb])"""
)
# Each call through the store's interface, and the roles allowed to make it.
CALLS: dict[str, set[str]] = {
    APPEND_ONE: {"writer"},
    APPEND_MANY: {"writer"},
    f"SELECT * FROM pyevents.create_snapshot('{CORRELATION}', '{{}}')": {"writer"},
    f"SELECT * FROM pyevents.get_snapshot('{CORRELATION}')": {"writer", "reader"},
    "SELECT pyevents.health_report()": {"writer", "reader"},
    "SELECT pyevents.storage_metrics()": {"writer", "reader"},
    "SELECT pyevents.schema_version()": {"writer", "reader", "auditor"},
    "SELECT count(*) FROM pyevents.get_events()": {"reader"},
    f"SELECT * FROM pyevents.get_event('{EVENT_ID}')": {"reader"},
    f"SELECT count(*) FROM pyevents.get_events_by_correlation('{CORRELATION}')": {"reader"},
    """SELECT count(*) FROM pyevents.read_events('{"all": true}')""": {"reader"},
    "SELECT * FROM pyevents.stream_frontier(0)": {"reader"},
    "SELECT pyevents.count_events()": {"reader", "auditor"},
    "SELECT count(*) FROM pyevents.count_events_by('event_type')": {"reader", "auditor"},
    "SELECT pyevents.get_checkpoint('mailer')": {"reader", "consumer"},
    "SELECT pyevents.save_checkpoint('mailer', 1)": {"consumer"},
    "SELECT count(*) FROM pyevents.daily_event_counts": {"reader", "auditor"},
    "SELECT count(*) FROM pyevents.latest_events": {"reader", "auditor"},
    f"SELECT count(*) FROM pyevents.correlation_timeline('{CORRELATION}')": {"reader", "auditor"},
    "SELECT count(*) FROM pyevents.actor_activity('a')": {"reader", "auditor"},
    "SELECT pyevents.redacted_path_list()": {"reader", "auditor"},
    """SELECT pyevents.redact('{"a": 1}', 'payload', '{payload.a}')""": {"reader", "auditor"},
    "SELECT count(*) FROM pyevents.verify()": {"auditor"},
    "SELECT count(*) FROM pyevents.verify_events()": {"auditor"},
    "SELECT count(*) FROM pyevents.missing_protection()": {"auditor"},
    "SELECT count(*) FROM pyevents.seal_events()": {"writer"},
    "CALL pyevents.seal_maintenance()": {"writer"},
    "SELECT count(*) FROM pyevents.seal_history()": {"writer", "auditor"},
    "SELECT count(*) FROM pyevents.verify_seals()": {"auditor"},
    "SELECT count(*) FROM pyevents.sealed_leaves()": {"auditor"},
    "SELECT pyevents.merkle_root('{}')": {"auditor"},
    "SELECT pyevents.merkle_append('{}', 0, '')": {"auditor"},
    "SELECT pyevents.apply_retention(NULL, true)": {"retention"},
    "CALL pyevents.retention_maintenance()": {"retention"},
    # the owner's own maintenance and the guards' helpers
    "SELECT pyevents.ensure_partitions()": set(),
    "SELECT pyevents.sync_partitions()": set(),
    "SELECT pyevents.backfill_checksums()": set(),
    "SELECT pyevents.on_retention_path()": set(),
    "SELECT count(*) FROM pyevents.set_redacted_paths('{}')": set(),
}
ROLES = ("writer", "reader", "consumer", "auditor", "retention")


@dataclass(frozen=True)
class Matrix:
    dsn: str
    logins: dict[str, str]  # role -> DSN of a login granted only that role
    partition: str
    tables: dict[str, str | None]  # every table of the schema, and its first column (if any)
    sequences: list[str]


@pytest.fixture(scope="module")
def matrix(pg_cluster: Cluster) -> Iterator[Matrix]:
    """One database with events (two partitions), and one login per role; all dropped after."""
    database = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_cluster.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database} TEMPLATE {TEMPLATE}")
    dsn = pg_cluster.dsn_for(database)
    logins: dict[str, str] = {}
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(APPEND_MANY)
            conn.execute(
                "SELECT pyevents.append_event(%s, '2020-05-05 00:00+00', 'Old', 'svc', 'a', %s, NULL, '1.0',"
                " '{}', '{}')",
                (EVENT_ID, CORRELATION),
            )
            partition = conn.execute(
                "SELECT tableoid::regclass::text FROM pyevents.events WHERE event_id = %s", (EVENT_ID,)
            ).fetchone()
            tables = conn.execute(
                "SELECT c.oid::regclass::text, quote_ident(a.attname) FROM pg_class c"
                " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = 1"
                " WHERE c.relnamespace = 'pyevents'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY 1"
            ).fetchall()
            sequences = conn.execute(
                "SELECT oid::regclass::text FROM pg_class WHERE relnamespace = 'pyevents'::regnamespace"
                " AND relkind = 'S' ORDER BY 1"
            ).fetchall()
            for role in ROLES:
                name = f"matrix_{role}_{uuid.uuid4().hex[:6]}"
                conn.execute(f"CREATE ROLE {name} LOGIN IN ROLE pyevents_{role}")
                logins[role] = psycopg.conninfo.make_conninfo(dsn, user=name)
        assert partition is not None and sequences
        yield Matrix(dsn, logins, str(partition[0]), dict(tables), [s for (s,) in sequences])
    finally:
        pg_cluster.drop_databases([database])
        with psycopg.connect(pg_cluster.dsn, autocommit=True) as conn:
            for login in logins.values():
                conn.execute(f"DROP ROLE {psycopg.conninfo.conninfo_to_dict(login)['user']}")


def outcome(conn: psycopg.Connection[tuple[object, ...]], statement: str) -> str:
    """`allowed`, `refused` (permission denied) or the unexpected error."""
    try:
        conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege:
        return "refused"
    except psycopg.Error as exc:
        return f"{exc.sqlstate}: {exc}"
    return "allowed"


def direct_access(matrix: Matrix) -> list[str]:
    """Statements on the tables and sequences themselves, past the functions."""
    statements: list[str] = []
    for table, column in matrix.tables.items():
        statements += [f"SELECT * FROM {table} LIMIT 1", f"INSERT INTO {table} DEFAULT VALUES"]
        statements += [f"UPDATE {table} SET {column} = {column}"] if column else []
        statements += [f"DELETE FROM {table}", f"TRUNCATE {table}"]
    for sequence in matrix.sequences:
        statements += [f"SELECT nextval('{sequence}')", f"SELECT setval('{sequence}', 1)", f"SELECT * FROM {sequence}"]
    return statements


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_call_exactly_what_its_job_needs(matrix: Matrix, role: str) -> None:
    wrong: list[str] = []
    with psycopg.connect(matrix.logins[role], autocommit=True) as conn:
        for statement, allowed in CALLS.items():
            expected = "allowed" if role in allowed else "refused"
            if (got := outcome(conn, statement)) != expected:
                wrong.append(f"{statement}: {got}, expected {expected}")
    assert wrong == []


@pytest.mark.parametrize("role", ROLES)
def test_every_routine_a_role_may_execute_is_in_the_matrix(matrix: Matrix, role: str) -> None:
    """A routine granted later without a line above would escape the matrix: the catalog's
    grants must equal the matrix's."""
    in_matrix = {
        name
        for statement, allowed in CALLS.items()
        if role in allowed
        for name in re.findall(r"pyevents\.(\w+)\(", statement)
    }
    user = psycopg.conninfo.conninfo_to_dict(matrix.logins[role])["user"]
    with psycopg.connect(matrix.dsn, autocommit=True) as conn:
        executable = {
            str(name)
            for (name,) in conn.execute(
                "SELECT p.proname FROM pg_proc AS p WHERE p.pronamespace = 'pyevents'::regnamespace"
                " AND has_function_privilege(%s, p.oid, 'EXECUTE')",
                (user,),
            )
        }
    assert executable == in_matrix


@pytest.mark.parametrize("role", ROLES)
def test_no_role_touches_the_tables_directly(matrix: Matrix, role: str) -> None:
    statements = direct_access(matrix)
    assert matrix.partition in matrix.tables and "pyevents.event_tags" in matrix.tables
    wrong: list[str] = []
    with psycopg.connect(matrix.logins[role], autocommit=True) as conn:
        for statement in statements:
            if (got := outcome(conn, statement)) != "refused":
                wrong.append(f"{statement}: {got}")
    assert wrong == []


@pytest.mark.parametrize("table", ["pyevents.events", "pyevents.event_ids", "pyevents.event_tags", "partition"])
def test_the_owner_rewrites_nothing(matrix: Matrix, table: str) -> None:
    """The owner (no login can become it; a superuser can) may not UPDATE or TRUNCATE, and its
    DELETE, which retention needs, is refused by the triggers off retention's path."""
    name = matrix.partition if table == "partition" else table
    with psycopg.connect(matrix.dsn, autocommit=True) as conn:
        before = conn.execute("SELECT count(*) FROM pyevents.events").fetchone()
        conn.execute("SET ROLE pyevents_owner")
        column = matrix.tables[name]
        assert outcome(conn, f"UPDATE {name} SET {column} = {column}") == "refused"
        assert outcome(conn, f"TRUNCATE {name}") == "refused"
        deleted = outcome(conn, f"DELETE FROM {name}")
        if table == "partition":
            assert deleted == "refused"  # partitions grant the owner nothing: retention deletes through the log
        else:
            assert deleted.startswith("PE004: DELETE on pyevents.") and "is not allowed" in deleted
        assert conn.execute("SELECT count(*) FROM pyevents.events").fetchone() == before
