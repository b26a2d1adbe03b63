"""Retention on PostgreSQL: who may run it, how partitions go, the scheduled procedure."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

import pyevents
from pyevents import Event, QueryOptions
from pyevents.backends.postgres import PostgresEventStore, schema
from pyevents.errors import PyEventsError
from pyevents.model import utc_now
from pyevents.retention import APPLIED_EVENT_TYPE, RetentionPolicy
from tests.conftest import Cluster
from tests.postgres.conftest import RoleMaker, unpacked

# The last version in which pyevents_retention owned the retention functions, held DELETE on the
# event tables and was a member of pyevents_owner.
RETENTION_AS_ITS_OWN_OWNER = "bc75034"
TIME_POLICY = RetentionPolicy.from_section({"default_policy": "time", "time_policy": {"retain_days": 60}})


def month_start(months_ago: int) -> datetime:
    now = utc_now()
    year, month = divmod(now.year * 12 + now.month - 1 - months_ago, 12)
    return datetime(year, month + 1, 1, tzinfo=UTC)


def old_events(months_ago: int, count: int, **fields: object) -> list[Event]:
    start = month_start(months_ago)
    return [
        Event(event_type="old", actor_type="svc", actor_id="a", timestamp=start + timedelta(hours=i + 1), **fields)  # type: ignore[arg-type]
        for i in range(count)
    ]


def partitions(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {
            row[0]
            for row in conn.execute(
                "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'pyevents.events'::regclass"
            )
        }


@pytest.fixture
def retention_login(pg_dsn: str, make_role: RoleMaker) -> str:
    """A LOGIN role granted pyevents_retention (and reader, to see the report's record); its DSN."""
    return make_role(pg_dsn, "pyevents_retention", "pyevents_reader")


@pytest.mark.parametrize(
    "statement",
    ["SELECT pyevents.apply_retention(NULL, true)", "CALL pyevents.retention_maintenance()"],
)
def test_application_roles_cannot_execute_retention(filled_dsn: str, app_role: str, statement: str) -> None:
    with psycopg.connect(app_role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)
    with psycopg.connect(filled_dsn) as conn:
        owner_and_acl = conn.execute(
            "SELECT proowner::regrole::text, proacl::text[], prosecdef, proconfig FROM pg_proc"
            " WHERE oid IN ('pyevents.apply_retention(jsonb, boolean)'::regprocedure,"
            " (SELECT oid FROM pg_proc WHERE proname = 'retention_maintenance'))"
        ).fetchall()
    for owner, acl, security_definer, config in owner_and_acl:
        assert owner == "pyevents_owner" and security_definer
        assert acl == ["pyevents_owner=X/pyevents_owner", "pyevents_retention=X/pyevents_owner"]
        assert config == ["search_path=pg_catalog, pg_temp"]


def test_application_store_gets_a_clear_error(filled_dsn: str, app_role: str) -> None:
    config = {"backend": "postgresql", "postgresql": {"dsn": app_role}}
    with pyevents.open_store(config=config) as store, pytest.raises(PyEventsError, match="pyevents_retention"):
        store.apply_retention(policy=TIME_POLICY)


def test_update_stays_refused_even_on_retention_path(filled_dsn: str) -> None:
    with psycopg.connect(filled_dsn) as conn:
        conn.execute("SET ROLE pyevents_retention")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE pyevents.events SET actor_id = 'x'")


def a_partition_with_events(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT tableoid::regclass::text FROM pyevents.events LIMIT 1").fetchone()
    assert row is not None
    return str(row[0])


BYPASSES = [
    "DELETE FROM pyevents.events",
    "DELETE FROM pyevents.event_ids",
    "DELETE FROM pyevents.event_tags",
    "DELETE FROM {partition}",
    "TRUNCATE pyevents.events",
    "TRUNCATE {partition}",
    "DROP TABLE {partition}",
    "ALTER TABLE pyevents.events DETACH PARTITION {partition}",
    "ALTER TABLE pyevents.events DISABLE TRIGGER events_forbid_change",
    "ALTER TABLE {partition} DISABLE TRIGGER events_forbid_truncate",
]


@pytest.mark.parametrize("statement", BYPASSES)
@pytest.mark.parametrize("role", ["pyevents_retention", None], ids=["set role retention", "as the login"])
def test_a_retention_login_removes_nothing_but_through_the_function(
    filled_dsn: str, retention_login: str, statement: str, role: str | None
) -> None:
    partition = a_partition_with_events(filled_dsn)
    with psycopg.connect(retention_login) as conn:
        if role is not None:
            conn.execute(f"SET ROLE {role}")
        conn.execute("SET pyevents.applying_retention = on")  # the marker alone opens nothing
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement.format(partition=partition))
    with psycopg.connect(filled_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM pyevents.events").fetchone() == (4,)
        assert conn.execute("SELECT * FROM pyevents.verify()").fetchall() == []


def test_a_retention_login_cannot_become_the_owner(filled_dsn: str, retention_login: str) -> None:
    with psycopg.connect(retention_login) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SET ROLE pyevents_owner")
    with psycopg.connect(filled_dsn) as conn:
        members = conn.execute(
            "SELECT member::regrole::text FROM pg_auth_members WHERE roleid = 'pyevents_owner'::regrole"
        ).fetchall()
        assert members == []  # a superuser's install: the owner has no members at all
        rights = conn.execute(
            "SELECT c.relname, a.privilege_type FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a"
            " WHERE c.relnamespace = 'pyevents'::regnamespace AND a.grantee = 'pyevents_retention'::regrole"
        ).fetchall()
        assert rights == []


def test_the_owner_deletes_only_on_retention_path(filled_dsn: str) -> None:
    with psycopg.connect(filled_dsn) as conn:
        conn.execute("SET ROLE pyevents_owner")  # as a superuser may: no login can
        with pytest.raises(psycopg.Error, match="DELETE on pyevents.events_p.* is not allowed") as refused:
            conn.execute("DELETE FROM pyevents.events")
        assert refused.value.sqlstate == "PE004"


def test_a_retention_login_removes_whole_partitions_and_rows(
    pg_store: PostgresEventStore, retention_login: str
) -> None:
    # The cutoff falls mid-month two months ago: that month loses one row, older months go whole.
    mid_month = month_start(2) + timedelta(days=15)
    policy = RetentionPolicy.from_section(
        {"default_policy": "time", "time_policy": {"retain_days": (utc_now() - mid_month).days}}
    )
    pg_store.append_batch(old_events(5, 3) + old_events(4, 2))
    pg_store.append_batch(
        [
            Event(event_type="old", actor_type="svc", actor_id="a", timestamp=mid_month - timedelta(days=5)),
            Event(event_type="kept", actor_type="svc", actor_id="a", timestamp=mid_month + timedelta(days=5)),
        ]
    )
    before = partitions(pg_store.dsn)
    with psycopg.connect(pg_store.dsn) as conn:
        # As a store sealed by backfill_checksums keeps them: beside the log (superuser only).
        conn.execute("INSERT INTO pyevents.event_checksums SELECT position, checksum FROM pyevents.events")
    with PostgresEventStore(retention_login) as store:
        report = store.apply_retention(policy=policy)
    assert [(unit.action, unit.events) for unit in report.units] == [("drop", 3), ("drop", 2), ("delete", 1)]
    dropped = {unit.name for unit in report.units if unit.action == "drop"}
    assert dropped <= before and not dropped & partitions(pg_store.dsn)
    assert report.units[2].name in partitions(pg_store.dsn)
    left = pg_store.get_events(QueryOptions()).events
    assert [e.event_type for e in left] == ["kept", APPLIED_EVENT_TYPE]
    assert pg_store.verify() == []
    with psycopg.connect(pg_store.dsn) as conn:
        registered = {row[0] for row in conn.execute("SELECT partition::text FROM pyevents.partitions")}
        checksummed = [row[0] for row in conn.execute("SELECT position FROM pyevents.event_checksums ORDER BY 1")]
    assert not dropped & registered
    assert checksummed == [e.position for e in left[:1]]  # the removed events' checksums went with them


def test_pg_partman_drops_the_oldest_partitions(pg_partman_dsn: str) -> None:
    with pyevents.open_store(config={"backend": "postgresql", "postgresql": {"dsn": pg_partman_dsn}}) as store:
        store.append_batch(old_events(6, 2) + old_events(5, 2) + old_events(4, 2))
        store.append(Event(event_type="recent", actor_type="svc", actor_id="a"))
        report = store.apply_retention(policy=TIME_POLICY)
        assert report.removed == 6 and report.dropped_by_partman == 3
        assert store.verify() == []
    with psycopg.connect(pg_partman_dsn) as conn:
        assert conn.execute(
            "SELECT count(*) FROM partman.part_config WHERE parent_table = 'pyevents.events'"
        ).fetchone() == (1,)


def test_held_events_keep_their_partition(pg_store: PostgresEventStore) -> None:
    pg_store.append_batch(old_events(5, 2) + old_events(5, 1, metadata={"tags": ["legal-hold"]}))
    held = RetentionPolicy.from_section(
        {
            "default_policy": "time",
            "time_policy": {"retain_days": 60},
            "custom_policy": {"rules": [{"tags": ["legal-hold"], "keep": True}]},
        }
    )
    report = pg_store.apply_retention(policy=held)
    assert [(unit.action, unit.events) for unit in report.units] == [("delete", 2)]
    assert [e.tags for e in pg_store.get_events(QueryOptions()).events[:1]] == [["legal-hold"]]


def test_maintenance_procedure_applies_the_stored_policy(pg_store: PostgresEventStore) -> None:
    with psycopg.connect(pg_store.dsn, autocommit=True) as conn:
        conn.execute("CALL pyevents.retention_maintenance()")  # no policy stored yet: infinite
    pg_store.append_batch(old_events(5, 2))
    assert pg_store.get_events(QueryOptions(event_type="old")).events
    pg_store.apply_retention(dry_run=True, policy=TIME_POLICY)  # a dry run stores no policy
    with psycopg.connect(pg_store.dsn, autocommit=True) as conn:
        conn.execute("CALL pyevents.retention_maintenance()")
    assert len(pg_store.get_events(QueryOptions(event_type="old")).events) == 2
    pg_store.apply_retention(policy=TIME_POLICY)
    pg_store.append_batch(old_events(4, 3))
    with psycopg.connect(pg_store.dsn, autocommit=True) as conn:
        conn.execute("CALL pyevents.retention_maintenance()")
    assert pg_store.get_events(QueryOptions(event_type="old")).events == []
    records = pg_store.get_events(QueryOptions(event_type=APPLIED_EVENT_TYPE)).events
    assert [e.payload["removed"] for e in records] == [0, 0, 2, 3]


def test_a_long_reader_makes_the_run_give_up_instead_of_stalling_appends(pg_store: PostgresEventStore) -> None:
    pg_store.append_batch(old_events(5, 2))
    with psycopg.connect(pg_store.dsn) as reader:
        reader.execute("SELECT count(*) FROM pyevents.events")  # its transaction keeps a lock on the log
        with pytest.raises(PyEventsError, match="could not lock pyevents.events within 2 seconds"):
            pg_store.apply_retention(policy=TIME_POLICY)
    assert len(pg_store.get_events(QueryOptions(event_type="old")).events) == 2
    assert pg_store.get_events(QueryOptions(event_type=APPLIED_EVENT_TYPE)).events == []
    assert pg_store.apply_retention(policy=TIME_POLICY).removed == 2


@pytest.mark.parametrize("installer", ["superuser", "master_dsn"], ids=["superuser", "managed service's master"])
def test_an_upgrade_takes_back_what_the_retention_role_held(
    pg_cluster: Cluster, tmp_path: Path, request: pytest.FixtureRequest, installer: str, make_role: RoleMaker
) -> None:
    unpacked(RETENTION_AS_ITS_OWN_OWNER, tmp_path, "pyevents")
    dsn = pg_cluster.create_database(template=None) if installer == "superuser" else request.getfixturevalue(installer)
    superuser_dsn = pg_cluster.dsn_for(str(psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]))
    script = "import sys\nfrom pyevents.backends.postgres import schema\nschema.upgrade(sys.argv[1])\n"
    done = subprocess.run(
        [sys.executable, "-c", script, dsn],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    held = (  # the installer itself stays a member on a managed service
        "SELECT (SELECT count(*) FROM pg_auth_members"
        "  WHERE roleid = 'pyevents_owner'::regrole AND member <> current_user::regrole),"
        " has_table_privilege('pyevents_retention', 'pyevents.events', 'DELETE'),"
        " (SELECT proowner::regrole::text FROM pg_proc"
        "  WHERE oid = 'pyevents.apply_retention(jsonb, boolean)'::regprocedure)"
    )
    with psycopg.connect(dsn) as conn:
        assert conn.execute(held).fetchone() == (1, True, "pyevents_retention")
    with PostgresEventStore(dsn) as store:
        store.append_batch(old_events(5, 2))

    warnings: list[str] = []
    schema.upgrade(dsn, on_warning=warnings.append)
    assert not [text for text in warnings if "still a member" in text]
    with psycopg.connect(dsn) as conn:
        assert conn.execute(held).fetchone() == (0, False, "pyevents_owner")
    with PostgresEventStore(make_role(superuser_dsn, "pyevents_retention")) as store:
        assert store.apply_retention(policy=TIME_POLICY).removed == 2
