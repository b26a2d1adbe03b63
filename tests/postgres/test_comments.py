"""Every object of schema pyevents carries a COMMENT, so `\\dt+`, `\\dv+` and `\\df+` in psql explain
what it is for and who may use it; a new object without one fails here, named."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess

import psycopg
import pytest

from pyevents.backends.postgres import schema

from ..conftest import Cluster

# Relations (tables, the partitioned log, views, sequences...), functions and procedures, types
# of their own (not the row and array types PostgreSQL makes for every relation), and the schema.
# Exempt: the partitions of pyevents.events, made by appends, pg_partman or a DBA, which the
# comment of the log and the registry pyevents.partitions describe; and yoyo's bookkeeping
# tables, which the migration tool creates and owns.
UNCOMMENTED_SQL = """
SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view'
                      WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'
                      WHEN 'f' THEN 'foreign table' ELSE 'relation' END || ' ' || c.oid::regclass
FROM pg_class AS c
WHERE c.relnamespace = 'pyevents'::regnamespace
  AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
  AND NOT c.relispartition
  AND c.relname NOT IN ('_yoyo_log', '_yoyo_migration', '_yoyo_version', 'yoyo_lock')
  AND obj_description(c.oid, 'pg_class') IS NULL
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure ' ELSE 'function ' END || p.oid::regprocedure
FROM pg_proc AS p
WHERE p.pronamespace = 'pyevents'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL
UNION ALL
SELECT 'type ' || t.oid::regtype
FROM pg_type AS t
WHERE t.typnamespace = 'pyevents'::regnamespace
  AND t.typrelid = 0 AND t.typelem = 0  -- not a relation's row type, not an array type
  AND obj_description(t.oid, 'pg_type') IS NULL
UNION ALL
SELECT 'schema pyevents' WHERE obj_description('pyevents'::regnamespace, 'pg_namespace') IS NULL
ORDER BY 1
"""


def uncommented(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [row[0] for row in conn.execute(UNCOMMENTED_SQL)]


def test_every_object_of_the_schema_is_commented(pg_dsn: str) -> None:
    assert uncommented(pg_dsn) == []


def test_an_object_without_a_comment_is_named(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE pyevents.scratch (id int)")
        conn.execute("CREATE FUNCTION pyevents.scratch_answer() RETURNS int LANGUAGE sql AS 'SELECT 42'")
        conn.execute("CREATE TYPE pyevents.scratch_mood AS ENUM ('calm')")
        conn.execute("COMMENT ON SCHEMA pyevents IS NULL")
    assert uncommented(pg_dsn) == [
        "function pyevents.scratch_answer()",
        "schema pyevents",
        "table pyevents.scratch",
        "type pyevents.scratch_mood",
    ]


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
def test_the_bundle_install_comments_every_object_too(pg_cluster: Cluster) -> None:
    dsn = pg_cluster.create_database(template=None)
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn], input=schema.bundle(), text=True, check=True
    )
    assert uncommented(dsn) == []


def psql_listing(dsn: str, command: str) -> dict[str, str]:
    """Name -> Description of the rows a psql backslash command lists (CSV: \\df+ prints source code)."""
    printed = subprocess.run(
        ["psql", "-X", "--csv", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", command],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {row["Name"]: row["Description"] for row in csv.DictReader(io.StringIO(printed))}


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
def test_psql_describes_the_functions_views_and_tables(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        functions: dict[str, str] = dict(
            conn.execute(
                "SELECT p.proname, obj_description(p.oid, 'pg_proc') FROM pg_proc AS p"
                " WHERE p.pronamespace = 'pyevents'::regnamespace"
            ).fetchall()
        )
    assert psql_listing(pg_dsn, r"\df+ pyevents.*") == functions
    assert psql_listing(pg_dsn, r"\dv+ pyevents.*")["latest_events"].startswith("Every event")
    assert psql_listing(pg_dsn, r"\dt+ pyevents.*")["event_ids"].startswith("Global uniqueness of event_id")
