"""Shared fixtures: one throwaway PostgreSQL cluster per test session (scripts/pgcluster.sh),
and a fresh database per test cloned from a template that has the schema installed. Every
database a test creates is dropped when the test ends, and the templates when the session
does, so a run against an existing server (PYEVENTS_TEST_DSN) leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pyevents.backends.postgres import schema

ROOT = Path(__file__).resolve().parent.parent
PGCLUSTER = ROOT / "scripts" / "pgcluster.sh"
TEMPLATE = "pyevents_template"
PARTMAN_TEMPLATE = "pyevents_template_partman"


class Cluster:
    """A running throwaway cluster; `restart()` stops and starts it on the same port."""

    def __init__(self, directory: Path | None, dsn: str) -> None:
        self.directory = directory
        self.dsn = dsn
        self.partman = False
        self.created: list[str] = []  # databases of the running test, dropped when it ends

    def dsn_for(self, database: str) -> str:
        return psycopg.conninfo.make_conninfo(self.dsn, dbname=database)

    def run(self, command: str) -> None:
        if self.directory is None:
            pytest.skip("the cluster is external (PYEVENTS_TEST_DSN); it cannot be restarted here")
        subprocess.run([str(PGCLUSTER), command, str(self.directory)], check=True, capture_output=True)

    def create_database(self, template: str | None = TEMPLATE) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            clause = f" TEMPLATE {template}" if template else ""
            conn.execute(f"CREATE DATABASE {name}{clause}")
        self.created.append(name)
        return self.dsn_for(name)

    def drop_databases(self, names: list[str]) -> None:
        """Drop these databases, closing any connection a test left open to them."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            for name in names:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def drop_created(self) -> None:
        created, self.created = self.created, []
        self.drop_databases(created)

    def has_extension(self, name: str) -> bool:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name = %s", (name,)).fetchone()
        return bool(row and row[0])


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    external = os.environ.get("PYEVENTS_TEST_DSN")
    if external:
        cluster = Cluster(None, external)
    else:
        subprocess.run([str(PGCLUSTER), "install"], check=True)
        directory = Path(tempfile.mkdtemp(prefix="pyevents-pg-"))
        dsn = subprocess.run(
            [str(PGCLUSTER), "start", str(directory)], check=True, capture_output=True, text=True
        ).stdout.strip()
        cluster = Cluster(directory, dsn)
    try:  # from here on, a failure still stops the cluster
        with psycopg.connect(cluster.dsn, autocommit=True) as conn:
            for template in (TEMPLATE, PARTMAN_TEMPLATE):
                conn.execute(f"DROP DATABASE IF EXISTS {template}")
                conn.execute(f"CREATE DATABASE {template}")
        schema.upgrade(cluster.dsn_for(TEMPLATE))
        cluster.partman = cluster.has_extension("pg_partman")
        if cluster.partman:
            with psycopg.connect(cluster.dsn_for(PARTMAN_TEMPLATE), autocommit=True) as conn:
                conn.execute("CREATE SCHEMA partman")
                conn.execute("CREATE EXTENSION pg_partman SCHEMA partman")
            schema.upgrade(cluster.dsn_for(PARTMAN_TEMPLATE))
        yield cluster
    finally:
        if cluster.directory is not None:
            subprocess.run([str(PGCLUSTER), "destroy", str(cluster.directory)], check=False)
        else:
            cluster.drop_databases([TEMPLATE, PARTMAN_TEMPLATE])


@pytest.fixture(autouse=True)
def drop_test_databases(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every other fixture of a test that used the cluster is torn down (autouse fixtures
    are set up first, so torn down last), drop the databases the test created."""
    yield
    if "pg_cluster" in request.fixturenames:
        cluster: Cluster = request.getfixturevalue("pg_cluster")
        cluster.drop_created()


@pytest.fixture
def pg_dsn(pg_cluster: Cluster) -> str:
    """A fresh database with the pyevents schema, for one test."""
    return pg_cluster.create_database()


@pytest.fixture
def pg_partman_dsn(pg_cluster: Cluster) -> str:
    """A fresh database whose partitions pg_partman manages."""
    if not pg_cluster.partman:
        pytest.skip("pg_partman is not available for this PostgreSQL (scripts/pgcluster.sh install said why)")
    return pg_cluster.create_database(PARTMAN_TEMPLATE)


@pytest.fixture(scope="session")
def pgbouncer(pg_cluster: Cluster) -> Iterator[str]:
    """Debian's PgBouncer in transaction mode in front of the session's cluster: its DSN."""
    if pg_cluster.directory is None:
        pytest.skip("the cluster is external (PYEVENTS_TEST_DSN); PgBouncer is started in front of our own")
    if not Path("/usr/sbin/pgbouncer").exists():
        pytest.skip("PgBouncer is not installed (scripts/pgcluster.sh install said why)")
    directory = Path(tempfile.mkdtemp(prefix="pyevents-bouncer-"))
    started = subprocess.run(
        [str(PGCLUSTER), "bouncer", str(pg_cluster.directory), str(directory), "transaction"],
        check=True,
        capture_output=True,
        text=True,
    )
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run([str(PGCLUSTER), "destroy", str(directory)], check=False)


@pytest.fixture(scope="module")
def pg_replica(pg_cluster: Cluster) -> Iterator[Cluster]:
    """A streaming replica (hot standby, pg_basebackup) of the session's cluster, on its own port.
    One per module that uses it: a replica left running would replay every later test's WAL."""
    if pg_cluster.directory is None:
        pytest.skip("the cluster is external (PYEVENTS_TEST_DSN); a replica is built from our own")
    directory = Path(tempfile.mkdtemp(prefix="pyevents-replica-"))
    try:
        started = subprocess.run(
            [str(PGCLUSTER), "replica", str(pg_cluster.directory), str(directory)],
            check=True,
            capture_output=True,
            text=True,
        )
        yield Cluster(directory, started.stdout.strip())
    finally:
        subprocess.run([str(PGCLUSTER), "destroy", str(directory)], check=False)


@pytest.fixture
def pg_replica_dsn(pg_dsn: str, pg_replica: Cluster) -> str:
    """pg_dsn's database on the replica, once the replica has replayed its creation."""
    database = str(psycopg.conninfo.conninfo_to_dict(pg_dsn)["dbname"])
    dsn = pg_replica.dsn_for(database)
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("SELECT 1 FROM pyevents.events LIMIT 1")
            return dsn
        except psycopg.Error:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture
def pg_bouncer_dsn(pg_dsn: str, pgbouncer: str) -> str:
    """A fresh database (pg_dsn), reached through PgBouncer in transaction mode."""
    database = psycopg.conninfo.conninfo_to_dict(pg_dsn)["dbname"]
    return psycopg.conninfo.make_conninfo(pgbouncer, dbname=str(database))
