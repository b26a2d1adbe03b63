"""`db upgrade` and `db status` against real databases (the throwaway cluster of tests/conftest.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from tests.cli.helpers import Cli, invoke
from tests.conftest import Cluster


def test_upgrade_installs_then_is_a_no_op(pg_cluster: Cluster) -> None:
    dsn = pg_cluster.create_database(template=None)
    before = json.loads(invoke(["db", "status", "--dsn", dsn, "--format", "json"]).stdout)
    assert before["installed_version"] is None and before["applied"] == [] and before["pending"]

    first = invoke(["db", "upgrade", "--dsn", dsn]).stdout.splitlines()
    assert first[0] == f"applied {len(before['pending'])} migrations:"
    assert [line.strip() for line in first[1:-1]] == before["pending"]
    assert first[-1].startswith("schema version: ")

    second = invoke(["db", "upgrade", "--dsn", dsn]).stdout.splitlines()
    assert second[0].startswith("schema is up to date")
    assert second[-1] == first[-1]
    assert json.loads(invoke(["db", "upgrade", "--dsn", dsn, "--format", "json"]).stdout)["applied"] == []

    after = json.loads(invoke(["db", "status", "--dsn", dsn, "--format", "json"]).stdout)
    assert after["applied"] == before["pending"] and after["pending"] == []
    assert after["installed_version"] == first[-1].removeprefix("schema version: ")
    assert isinstance(after["partman"], bool)


def test_status_table(pg: Cli) -> None:
    text = pg.run("db", "status").stdout
    assert "installed version" in text and "pending migrations     0" in text
    assert "partitions managed by" in text
    assert "applied:\n  pyevents-0001" in text


def test_status_masks_the_password(pg_cluster: Cluster) -> None:
    dsn = pg_cluster.dsn_for("postgres") + " password=s3cret"  # trust authentication ignores it
    document = json.loads(invoke(["db", "status", "--dsn", dsn, "--format", "json"]).stdout)
    assert "s3cret" not in json.dumps(document) and "********" in document["dsn"]


def test_db_uses_the_configured_dsn(pg_dsn: str) -> None:
    with open("pyevents.toml", "w", encoding="utf-8") as handle:
        handle.write(f'backend = "postgresql"\n[postgresql]\ndsn = "{pg_dsn}"\n')
    assert "pending migrations     0" in invoke(["db", "status"]).stdout


def test_dsn_replaces_the_configured_server(pg_dsn: str) -> None:
    with open("other.toml", "w", encoding="utf-8") as handle:
        handle.write('backend = "file"\n[postgresql]\nhost = "db.invalid"\nport = 1\ndatabase = "nope"\n')
    invoke(["--config", "other.toml", "append", "--type", "a", "--actor-type", "u", "--actor-id", "1", "--dsn", pg_dsn])
    assert invoke(["--config", "other.toml", "health", "--dsn", pg_dsn]).stdout.startswith("healthy")


def test_demo_says_when_the_schema_is_missing(pg_cluster: Cluster) -> None:
    dsn = pg_cluster.create_database(template=None)
    result = invoke(["demo", "--dsn", dsn], code=4)
    assert result.stderr.startswith("Error: the postgresql store is not ready")
    assert "pyevents db upgrade" in result.stderr
    assert result.stdout == ""


@pytest.fixture
def a_login(pg_dsn: str) -> Iterator[str]:
    """A LOGIN role with a name that needs quoting; dropped afterwards."""
    name = f'App "{uuid.uuid4().hex[:6]}"; DROP'
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_grant_and_revoke_a_role(pg: Cli, a_login: str) -> None:
    assert pg.dsn is not None
    login_dsn = psycopg.conninfo.make_conninfo(pg.dsn, user=a_login)
    append = (
        "SELECT pyevents.append_event(gen_random_uuid(), now(), 'A', 's', 'a', gen_random_uuid(), NULL, '1.0',"
        " '{}', '{}')"
    )
    with psycopg.connect(login_dsn) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(append)

    assert pg.run("db", "grant", "writer", a_login).stdout == f"granted pyevents_writer to {a_login}\n"
    with psycopg.connect(login_dsn) as conn:
        conn.execute(append)
    assert pg.run("db", "grant", "writer", a_login).stdout == f"granted pyevents_writer to {a_login}\n"

    assert pg.run("db", "revoke", "writer", a_login).stdout == f"revoked pyevents_writer from {a_login}\n"
    with psycopg.connect(login_dsn) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(append)
    again = pg.run("db", "revoke", "writer", a_login).stdout
    assert again == f"{a_login} was not a member of pyevents_writer: nothing to revoke\n"


def test_the_owner_is_granted_to_nobody(pg: Cli, a_login: str) -> None:
    refused = pg.run("db", "grant", "owner", a_login, code=2).stderr
    assert "pyevents_owner is granted to nobody" in refused and "SET ROLE" in refused
    assert (
        "one of writer, reader, consumer, auditor, retention" in pg.run("db", "grant", "admin", a_login, code=2).stderr
    )


def test_grant_names_a_missing_login_and_a_missing_role(pg: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "login nobody_here does not exist" in pg.run("db", "grant", "reader", "nobody_here", code=2).stderr
    monkeypatch.setenv("PYEVENTS_POSTGRESQL__ROLE_PREFIX", "elsewhere_")
    missing = pg.run("db", "grant", "reader", "postgres", code=2).stderr
    assert "role elsewhere_reader does not exist" in missing and "postgresql.role_prefix" in missing
