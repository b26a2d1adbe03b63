"""Runs the pgTAP files in tests/sql with pg_prove against a fresh database."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from ..conftest import Cluster

SQL_TESTS = sorted((Path(__file__).resolve().parent.parent / "sql").glob("*.sql"))


@pytest.mark.parametrize("path", SQL_TESTS, ids=lambda p: p.name)
def test_pgtap(pg_cluster: Cluster, path: Path) -> None:
    if not pg_cluster.has_extension("pgtap"):
        pytest.skip("pgTAP is not available for this PostgreSQL (scripts/pgcluster.sh install said why)")
    if shutil.which("pg_prove") is None:
        pytest.skip("pg_prove is not installed (Debian package libtap-parser-sourcehandler-pgtap-perl)")
    dsn = pg_cluster.create_database()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pgtap")
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    command = ["pg_prove", "--verbose", "--host", str(params["host"]), "--port", str(params["port"])]
    command += ["--username", str(params["user"]), "--dbname", str(params["dbname"]), str(path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All tests successful" in result.stdout
