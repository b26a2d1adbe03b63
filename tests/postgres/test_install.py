"""Install paths: `db upgrade` (yoyo + sql/) and the psql bundle give the same catalog; both
are idempotent, and either can follow the other."""

from __future__ import annotations

import subprocess

import psycopg
import pytest

from pyevents.backends.postgres import schema

from ..conftest import Cluster

CATALOG_SQL = """
SELECT 'relation', c.relname || ' ' || c.relkind::text || ' ' || pg_get_userbyid(c.relowner)
       || ' ' || coalesce(c.relacl::text, '')
FROM pg_class c WHERE c.relnamespace = 'pyevents'::regnamespace AND c.relname NOT LIKE '%yoyo%'
UNION ALL
SELECT 'column', a.attrelid::regclass || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = 'pyevents'::regnamespace AND c.relname NOT LIKE '%yoyo%' AND a.attnum > 0
UNION ALL
SELECT 'index', pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
WHERE c.relnamespace = 'pyevents'::regnamespace AND c.relname NOT LIKE '%yoyo%'
UNION ALL
SELECT 'constraint', conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'pyevents'::regnamespace AND conrelid::regclass::text NOT LIKE '%yoyo%'
UNION ALL
SELECT 'function', p.oid::regprocedure || ' ' || md5(p.prosrc) || ' ' || p.prosecdef || ' '
       || coalesce(p.proconfig::text, '') || ' ' || pg_get_userbyid(p.proowner) || ' ' || coalesce(p.proacl::text, '')
FROM pg_proc p WHERE p.pronamespace = 'pyevents'::regnamespace
UNION ALL
SELECT 'trigger', pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = 'pyevents'::regnamespace
UNION ALL
SELECT 'event trigger', evtname || ' ' || evtevent || ' ' || evtenabled::text || ' ' || evtfoid::regproc::text
FROM pg_event_trigger WHERE evtname LIKE 'pyevents%'
UNION ALL
SELECT 'partition', partition::text || ' ' || range_start || ' ' || range_end FROM pyevents.partitions
UNION ALL
SELECT 'schema', nspname || ' ' || pg_get_userbyid(nspowner) || ' ' || coalesce(nspacl::text, '')
FROM pg_namespace WHERE nspname = 'pyevents'
ORDER BY 1, 2
"""


def catalog(dsn: str) -> list[tuple[str, str]]:
    with psycopg.connect(dsn) as conn:
        return [(kind, text) for kind, text in conn.execute(CATALOG_SQL).fetchall()]


def psql_bundle(dsn: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", "-"],
        input=schema.bundle(),
        capture_output=True,
        text=True,
        check=False,
    )


def test_upgrade_twice_is_a_no_op(pg_cluster: Cluster) -> None:
    dsn = pg_cluster.create_database(template=None)
    applied = schema.upgrade(dsn)
    assert applied == [mid for mid, _ in schema.migration_files()]
    before = catalog(dsn)
    assert schema.upgrade(dsn) == []
    assert catalog(dsn) == before
    status = schema.status(dsn)
    assert status.pending == [] and status.installed_version is not None


def test_bundle_gives_the_same_catalog_as_upgrade(pg_cluster: Cluster) -> None:
    upgraded = pg_cluster.create_database(template=None)
    schema.upgrade(upgraded)
    bundled = pg_cluster.create_database(template=None)
    result = psql_bundle(bundled)
    assert result.returncode == 0, result.stderr
    expected = catalog(upgraded)
    assert any(kind == "function" for kind, _ in expected)
    assert catalog(bundled) == expected


def test_bundle_twice_then_upgrade(pg_cluster: Cluster) -> None:
    dsn = pg_cluster.create_database(template=None)
    assert psql_bundle(dsn).returncode == 0
    first = catalog(dsn)
    second_run = psql_bundle(dsn)
    assert second_run.returncode == 0, second_run.stderr
    assert catalog(dsn) == first
    schema.upgrade(dsn)  # records the migrations the bundle already applied
    assert catalog(dsn) == first
    assert schema.status(dsn).pending == []


def test_status_of_an_empty_database(pg_cluster: Cluster) -> None:
    dsn = pg_cluster.create_database(template=None)
    status = schema.status(dsn)
    assert status.installed_version is None
    assert status.pending == [mid for mid, _ in schema.migration_files()]


def test_bundle_is_one_transaction(pg_cluster: Cluster) -> None:
    dsn = pg_cluster.create_database(template=None)
    with psycopg.connect(dsn, autocommit=True) as conn:
        # A conflicting object makes the bundle fail half-way; nothing of it must remain.
        conn.execute("CREATE SCHEMA pyevents")
        conn.execute("CREATE TABLE pyevents.event_ids (event_id text)")
    result = psql_bundle(dsn)
    assert result.returncode != 0
    with psycopg.connect(dsn) as conn:
        functions = conn.execute("SELECT count(*) FROM pg_proc WHERE pronamespace = 'pyevents'::regnamespace")
        assert functions.fetchone() == (0,)


@pytest.mark.parametrize("route", ["upgrade", "bundle"])
def test_with_pg_partman(pg_cluster: Cluster, route: str) -> None:
    if not pg_cluster.partman:
        pytest.skip("pg_partman is not available")
    dsn = pg_cluster.create_database(template=None)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA partman")
        conn.execute("CREATE EXTENSION pg_partman SCHEMA partman")
    if route == "upgrade":
        schema.upgrade(dsn)
    else:
        assert psql_bundle(dsn).returncode == 0
    assert schema.status(dsn).partman
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM pyevents.partitions").fetchone()[0] >= 4  # type: ignore[index]
        assert conn.execute("SELECT count(*) FROM pyevents.verify()").fetchone() == (0,)


def test_pg_partman_installed_later_is_reported_not_silent(pg_cluster: Cluster) -> None:
    if not pg_cluster.partman:
        pytest.skip("pg_partman is not available")
    dsn = pg_cluster.create_database(template=None)
    schema.upgrade(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA partman")
        conn.execute("CREATE EXTENSION pg_partman SCHEMA partman")
    result = psql_bundle(dsn)
    assert result.returncode == 0, result.stderr
    assert "already has partitions" in result.stderr
    assert not schema.status(dsn).partman


def test_status_after_a_bundle_install_has_nothing_pending(pg_cluster: Cluster) -> None:
    dsn = pg_cluster.create_database(template=None)
    result = psql_bundle(dsn)
    assert result.returncode == 0, result.stderr
    status = schema.status(dsn)
    assert status.pending == [] and status.applied == [mid for mid, _ in schema.migration_files()]
    assert schema.upgrade(dsn) == []


def test_upgrade_writes_no_error_to_the_server_log(pg_cluster: Cluster, pg_dsn: str) -> None:
    if pg_cluster.directory is None:
        pytest.skip("the cluster is external (PYEVENTS_TEST_DSN): its server log is not here")
    log = pg_cluster.directory / "server.log"
    start = log.stat().st_size
    schema.upgrade(pg_dsn)
    schema.upgrade(pg_dsn)
    with log.open(encoding="utf-8", errors="replace") as handle:
        handle.seek(start)
        written = handle.read()
    assert "ERROR" not in written, written


def test_the_log_is_analyzed_on_install(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        row = conn.execute("SELECT reltuples >= 0 FROM pg_class WHERE oid = 'pyevents.events'::regclass").fetchone()
        assert row == (True,)
        causation = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'pyevents' AND indexname = 'events_causation_idx'"
        ).fetchone()
        assert causation is not None and '(causation_id, "position")' in str(causation[0])
