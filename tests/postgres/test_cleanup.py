"""Tests leave no database behind: what a test creates is dropped when it ends, even with a
connection still open to it. The second test checks what the first one made."""

from __future__ import annotations

import psycopg

from ..conftest import Cluster

made_by_the_first_test: list[str] = []
left_open: list[psycopg.Connection[tuple[object, ...]]] = []  # closed by the second test


def _name(dsn: str) -> str:
    return str(psycopg.conninfo.conninfo_to_dict(dsn)["dbname"])


def test_a_test_creates_databases_and_leaves_a_connection_open(pg_cluster: Cluster, pg_dsn: str) -> None:
    bare = pg_cluster.create_database(template=None)
    made_by_the_first_test.extend([_name(pg_dsn), _name(bare)])
    left_open.append(psycopg.connect(pg_dsn))  # still open when the test ends
    assert left_open[0].execute("SELECT 1").fetchone() == (1,)


def test_the_databases_of_the_test_before_are_gone(pg_cluster: Cluster) -> None:
    assert len(made_by_the_first_test) == 2, "runs after the test above, in file order"
    for conn in left_open:
        conn.close()
    with psycopg.connect(pg_cluster.dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname = ANY(%s)", (made_by_the_first_test,)
        ).fetchall()
    assert rows == []
