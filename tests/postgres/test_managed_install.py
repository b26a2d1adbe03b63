"""Managed PostgreSQL: a cloud provider's master user (CREATEDB, CREATEROLE, no superuser)
installs and upgrades the store, is told which protection is missing without the event
triggers, and applications then work as on a superuser's install."""

from __future__ import annotations

import json

import psycopg
import pytest

from pyevents.backends.postgres import schema
from tests.cli.helpers import invoke

from ..conftest import Cluster
from .conftest import RoleMaker


def test_a_master_user_installs_and_is_told_what_is_missing(
    pg_cluster: Cluster, master_dsn: str, make_role: RoleMaker
) -> None:
    warnings: list[str] = []
    applied = schema.upgrade(master_dsn, on_warning=warnings.append)
    assert applied == [mid for mid, _ in schema.migration_files()]
    assert any("not a superuser, so the event triggers are not installed" in text for text in warnings), warnings
    state = schema.status(master_dsn)
    assert state.pending == []
    assert [text.split(":")[0] for text in state.missing_protection] == [
        "event trigger pyevents_partition_ddl is missing or disabled",
        "event trigger pyevents_guard_drop is missing or disabled",
    ]
    assert schema.upgrade(master_dsn) == []  # and upgrades

    database = str(psycopg.conninfo.conninfo_to_dict(master_dsn)["dbname"])
    app = make_role(pg_cluster.dsn_for(database), "pyevents_writer", "pyevents_reader")
    with psycopg.connect(app, autocommit=True) as conn:
        conn.execute(
            "SELECT pyevents.append_event(gen_random_uuid(), '2004-04-04 00:00+00', 'A', 's', 'a', gen_random_uuid(),"
            " NULL, '1.0', '{}', '{}')"
        )
        assert len(conn.execute("SELECT * FROM pyevents.get_events()").fetchall()) == 1
        with pytest.raises(psycopg.Error):
            conn.execute("DELETE FROM pyevents.events")
    with psycopg.connect(master_dsn) as conn:
        owners = conn.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class"
            " WHERE relnamespace = 'pyevents'::regnamespace AND relkind IN ('r', 'p') AND relname NOT LIKE '%yoyo%'"
        ).fetchall()
        assert owners == [("pyevents_owner",)]
        members = conn.execute(
            "SELECT member::regrole::text FROM pg_auth_members WHERE roleid = 'pyevents_owner'::regrole"
        ).fetchall()
        assert members == [(conn.info.user,)]  # the installer, and nobody else
        problems = [str(text) for (text,) in conn.execute("SELECT * FROM pyevents.verify()")]
        assert problems and all(text.startswith("protection missing: ") for text in problems)
        with pytest.raises(psycopg.Error, match="permission denied for table events_p20040401"):
            conn.execute("TRUNCATE pyevents.events_p20040401")


def test_db_commands_say_what_protection_is_missing(master_dsn: str) -> None:
    upgraded = invoke(["db", "upgrade", "--dsn", master_dsn])
    assert "warning: pyevents: not a superuser" in upgraded.stderr
    assert "warning: protection missing: event trigger pyevents_guard_drop" in upgraded.stderr
    status = invoke(["db", "status", "--dsn", master_dsn]).stdout
    assert "INCOMPLETE" in status and "protection missing:\n  event trigger pyevents_partition_ddl" in status
    document = json.loads(invoke(["db", "status", "--dsn", master_dsn, "--format", "json"]).stdout)
    assert len(document["missing_protection"]) == 2


def test_a_superusers_install_misses_nothing(pg_dsn: str) -> None:
    assert schema.status(pg_dsn).missing_protection == []
    assert "protection             complete" in invoke(["db", "status", "--dsn", pg_dsn]).stdout
