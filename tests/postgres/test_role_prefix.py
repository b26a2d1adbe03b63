"""Per-database role names: `[postgresql] role_prefix` keeps the grants of stores in different
databases of one cluster apart; the prefix is fixed at install, whatever the route."""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pyevents import Event
from pyevents.backends.postgres import PostgresEventStore, schema
from pyevents.backends.postgres.roles import DEFAULT_PREFIX, ROLES, check_prefix, rename
from pyevents.errors import ConfigError, PyEventsError
from tests.cli.helpers import invoke

from ..conftest import Cluster

APPEND = (
    "SELECT pyevents.append_event(gen_random_uuid(), now(), 'Happened', 'svc', 'a', gen_random_uuid(), NULL, '1.0',"
    " '{}', '{}')"
)


class Stores:
    """Databases for stores under their own prefixes. Roles are cluster-wide: at the end the
    databases go first, then every role named with one of the prefixes."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.databases: list[str] = []
        self.prefixes: list[str] = []

    def database(self, prefix: str) -> str:
        """An empty database, its roles to be named with `prefix`; its DSN."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.cluster.dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        self.databases.append(name)
        self.prefixes.append(prefix)
        return self.cluster.dsn_for(name)

    def install(self, prefix: str) -> str:
        dsn = self.database(prefix)
        schema.upgrade(dsn, prefix=prefix)
        return dsn

    def drop(self) -> None:
        self.cluster.drop_databases(self.databases)
        with psycopg.connect(self.cluster.dsn, autocommit=True) as conn:
            for prefix in self.prefixes:
                for (name,) in conn.execute("SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s)", (prefix,)):
                    if name.startswith(f"{prefix}login"):
                        conn.execute(f"DROP ROLE {name}")
                for role in ROLES:
                    conn.execute(f"DROP ROLE IF EXISTS {prefix}{role}")


@pytest.fixture
def stores(pg_cluster: Cluster) -> Iterator[Stores]:
    made = Stores(pg_cluster)
    yield made
    made.drop()


def a_prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}_"


def login(dsn: str, prefix: str, *roles: str) -> str:
    """A LOGIN role granted these store roles, named with the prefix so that it is dropped with them."""
    name = f"{prefix}login_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN IN ROLE {', '.join(prefix + role for role in roles)}")
    return name


def as_login(dsn: str, name: str) -> str:
    return psycopg.conninfo.make_conninfo(dsn, user=name)


def test_a_writer_of_one_database_cannot_append_in_another(stores: Stores) -> None:
    first, second = a_prefix(), a_prefix()
    first_dsn, second_dsn = stores.install(first), stores.install(second)
    writer = login(first_dsn, first, "writer")
    with psycopg.connect(as_login(first_dsn, writer), autocommit=True) as conn:
        conn.execute(APPEND)
    with psycopg.connect(as_login(second_dsn, writer)) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(APPEND)
    with psycopg.connect(second_dsn) as conn:
        owners = conn.execute(
            "SELECT DISTINCT pg_get_userbyid(proowner) FROM pg_proc WHERE pronamespace = 'pyevents'::regnamespace"
        ).fetchall()
        assert owners == [(f"{second}owner",)]
        assert conn.execute("SELECT role_prefix FROM pyevents.store_settings").fetchone() == (second,)
        assert conn.execute("SELECT pyevents.on_retention_path()").fetchone() == (False,)


def test_the_store_names_its_own_roles_in_errors(stores: Stores) -> None:
    prefix = a_prefix()
    dsn = stores.install(prefix)
    reader = login(dsn, prefix, "reader")
    refused = f"grant {prefix}writer, {prefix}reader, .* or {prefix}retention"
    with (
        PostgresEventStore(as_login(dsn, reader), role_prefix=prefix) as store,
        pytest.raises(PyEventsError, match=refused),
    ):
        store.append(Event(event_type="Happened", actor_type="svc", actor_id="a"))


def test_retention_runs_under_a_prefix(stores: Stores) -> None:
    prefix = a_prefix()
    dsn = stores.install(prefix)
    runner = login(dsn, prefix, "retention")
    with PostgresEventStore(dsn) as store:
        store.append(Event(event_type="Happened", actor_type="svc", actor_id="a"))
    with psycopg.connect(as_login(dsn, runner)) as conn:
        report = conn.execute("SELECT pyevents.apply_retention(NULL, false)").fetchone()
        assert report is not None and report[0]["removed"] == 0


def test_another_prefix_is_refused_before_anything_changes(stores: Stores, pg_cluster: Cluster) -> None:
    installed, other = a_prefix(), a_prefix()
    dsn = stores.install(installed)
    with pytest.raises(ConfigError, match=f"installed with role prefix '{installed}'.*not '{other}'"):
        schema.upgrade(dsn, prefix=other)
    bundled = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", "-"],
        input=schema.bundle(other),
        capture_output=True,
        text=True,
        check=False,
    )
    assert bundled.returncode != 0
    assert f"installed with role prefix '{installed}'" in bundled.stderr and f"not '{other}'" in bundled.stderr
    with psycopg.connect(pg_cluster.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE %s", (f"{other}%",)).fetchone() == (0,)
    assert schema.upgrade(dsn, prefix=installed) == []


def test_a_default_store_refuses_a_prefix_and_records_the_default(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT role_prefix FROM pyevents.store_settings").fetchone() == (DEFAULT_PREFIX,)
    with pytest.raises(ConfigError, match="installed with role prefix 'pyevents_'.*not 'other_'"):
        schema.upgrade(pg_dsn, prefix="other_")


def test_a_store_without_a_recorded_prefix_has_the_default_one(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE pyevents.store_settings")  # as before the prefix was recorded
    with pytest.raises(ConfigError, match="installed with role prefix 'pyevents_'"):
        schema.upgrade(pg_dsn, prefix="other_")


def test_the_bundle_names_the_configured_roles(stores: Stores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = a_prefix()
    monkeypatch.setenv("PYEVENTS_POSTGRESQL__ROLE_PREFIX", prefix)
    script = tmp_path / "pyevents.sql"
    invoke(["db", "bundle", "-o", str(script)])
    text = script.read_text(encoding="utf-8")
    assert not re.search(r"\bpyevents_(owner|writer|reader|consumer|auditor|retention)\b", text)
    assert f"GRANT EXECUTE ON PROCEDURE pyevents.retention_maintenance() TO {prefix}retention" in text
    dsn = stores.database(prefix)
    applied = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert applied.returncode == 0, applied.stderr
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT role_prefix FROM pyevents.store_settings").fetchone() == (prefix,)
    with psycopg.connect(as_login(dsn, login(dsn, prefix, "writer")), autocommit=True) as conn:
        conn.execute(APPEND)
    with pytest.raises(ConfigError, match=f"installed with role prefix '{prefix}'"):
        schema.upgrade(dsn)
    assert schema.upgrade(dsn, prefix=prefix) == []


def test_rename_replaces_whole_role_names_only() -> None:
    text = (
        "GRANT pyevents_owner TO pyevents_retention; 'pyevents_retention' pyevents_owners my_pyevents_reader pyevents_"
    )
    assert rename(text, DEFAULT_PREFIX) == text
    assert (
        rename(text, "app_")
        == "GRANT app_owner TO app_retention; 'app_retention' pyevents_owners my_pyevents_reader pyevents_"
    )


@pytest.mark.parametrize(
    ("prefix", "problem"),
    [
        ("App_", "lowercase letters, digits and underscores"),
        ("1app_", "not starting with a digit"),
        ("app-", "lowercase letters"),
        ("", "lowercase letters"),
        ("a" * 55, "at most 54 characters"),
        ("pg_app_", "not start with pg_"),
    ],
)
def test_a_bad_prefix_is_named(prefix: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=f"postgresql.role_prefix must .*{problem}"):
        check_prefix(prefix)
    assert check_prefix("a" * 54) == "a" * 54


def test_status_names_the_store_roles(stores: Stores) -> None:
    prefix = a_prefix()
    dsn = stores.install(prefix)
    assert schema.status(dsn).role_prefix == prefix
    assert f"roles                  {prefix}owner, {prefix}writer, ..." in invoke(["db", "status", "--dsn", dsn]).stdout
    assert schema.status(stores.database(a_prefix())).role_prefix is None  # no store there yet
