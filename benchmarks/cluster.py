"""The PostgreSQL cluster a benchmark run uses: a throwaway one from scripts/pgcluster.sh, or
one given by DSN; one database per system and scenario, cloned from installed templates."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pyevents.backends.postgres import schema

PYEVENTS_TEMPLATE = "bench_tpl_pyevents"
REPORTED_SETTINGS = (
    "server_version",
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "wal_level",
    "shared_buffers",
    "work_mem",
    "max_wal_size",
    "checkpoint_timeout",
    "default_toast_compression",
    "jit",
)


def find_pgcluster() -> Path | None:
    """scripts/pgcluster.sh of the source tree this package runs from, if any."""
    candidates = [Path(__file__).resolve().parents[1] / "scripts" / "pgcluster.sh"]
    if os.environ.get("PYEVENTS_PGCLUSTER"):
        candidates.insert(0, Path(os.environ["PYEVENTS_PGCLUSTER"]))
    return next((path for path in candidates if path.is_file()), None)


@dataclass
class BenchCluster:
    """A cluster and the databases made on it; `close()` drops them (and a throwaway cluster)."""

    dsn: str
    directory: Path | None = None
    script: Path | None = None
    created: list[str] = field(default_factory=list)
    keep_databases: bool = False

    @classmethod
    def start(cls) -> BenchCluster:
        script = find_pgcluster()
        if script is None:
            raise RuntimeError("scripts/pgcluster.sh not found: pass --dsn of a cluster to benchmark on")
        subprocess.run([str(script), "install"], check=True, capture_output=True)
        directory = Path(tempfile.mkdtemp(prefix="pyevents-bench-"))
        result = subprocess.run([str(script), "start", str(directory)], check=True, capture_output=True, text=True)
        return cls(result.stdout.strip(), directory, script)

    def dsn_for(self, database: str) -> str:
        return make_conninfo(self.dsn, dbname=database)

    def admin(self) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(self.dsn, autocommit=True)

    def create_database(self, name: str, template: str | None = None) -> str:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            clause = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{clause}')
        if name not in self.created:
            self.created.append(name)
        return self.dsn_for(name)

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def pyevents_template(self) -> str:
        """A database with the pyevents schema installed, to clone per scenario."""
        if PYEVENTS_TEMPLATE not in self.created:
            dsn = self.create_database(PYEVENTS_TEMPLATE)
            schema.upgrade(dsn)
        return PYEVENTS_TEMPLATE

    def new_pyevents_database(self, name: str) -> str:
        dsn = self.create_database(name, self.pyevents_template())
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT pyevents.ensure_partitions()")
        return dsn

    def settings(self) -> dict[str, str]:
        with self.admin() as conn:
            rows = conn.execute(
                "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)", (list(REPORTED_SETTINGS),)
            ).fetchall()
        found = {str(name): str(value) for name, value in rows}
        return {name: found[name] for name in REPORTED_SETTINGS if name in found}

    def libpq_env(self) -> dict[str, str]:
        """PGHOST/PGPORT/PGUSER/PGPASSWORD for psql and other libpq tools."""
        params = conninfo_to_dict(self.dsn)
        env = dict(os.environ)
        for key, var in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER"), ("password", "PGPASSWORD")):
            if params.get(key) is not None:
                env[var] = str(params[key])
        return env

    def close(self) -> None:
        if not self.keep_databases and self.directory is None:
            for name in list(self.created):
                with contextlib.suppress(psycopg.Error):
                    self.drop_database(name)
        if self.directory is not None and self.script is not None:
            subprocess.run([str(self.script), "destroy", str(self.directory)], check=False, capture_output=True)
            shutil.rmtree(self.directory, ignore_errors=True)
