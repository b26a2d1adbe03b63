"""Installing and upgrading the SQL: yoyo migrations plus the re-applied `sql/` definitions.

Three routes give the same catalog: `upgrade()` (yoyo, then `sql/`), `bundle()` (one script for
`psql -v ON_ERROR_STOP=1 -f`), and both run the same files in the same order.
Function bodies are never given to yoyo: it splits SQL with sqlparse, which breaks dollar quotes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
from psycopg.conninfo import conninfo_to_dict
from yoyo import get_backend, read_migrations

from pyevents import __version__, limits
from pyevents.backends.postgres.errors import translate
from pyevents.backends.postgres.store import build_dsn
from pyevents.config import Config
from pyevents.errors import ConfigError

MIGRATIONS_MARK = "@migrations"
MIGRATIONS_SOURCE = "package:pyevents.backends.postgres:migrations"  # yoyo reads them from the wheel
UPGRADE_LOCK_KEY = 7_311_146_285_407_021_825  # pg_advisory_lock key held while upgrading


def connection_string(config: Config) -> str:
    """The libpq connection string of the configuration's `[postgresql]` section."""
    return build_dsn(config.section("postgresql"))


def _package_dir(name: str) -> Traversable:
    return resources.files("pyevents.backends.postgres").joinpath(name)


# What `@NAME@` placeholders in the SQL become: the version and the limits, each defined once.
PLACEHOLDERS = {
    "PYEVENTS_VERSION": __version__,
    "MAX_NAME_LENGTH": str(limits.MAX_NAME_LENGTH),
    "MAX_SCHEMA_VERSION_LENGTH": str(limits.MAX_SCHEMA_VERSION_LENGTH),
    "MAX_BATCH_SIZE": str(limits.MAX_BATCH_SIZE),
    "MAX_FUTURE_SKEW": limits.interval_text(limits.MAX_FUTURE_SKEW),
}
_PLACEHOLDER = re.compile(r"@([A-Z_]+)@")


def _render(text: str) -> str:
    return _PLACEHOLDER.sub(lambda match: PLACEHOLDERS[match[1]], text)


def manifest() -> tuple[list[str], list[str]]:
    """The `sql/` files to run before and after the migrations, in order."""
    before: list[str] = []
    after: list[str] = []
    target = before
    for raw in _package_dir("sql").joinpath("manifest.txt").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line == MIGRATIONS_MARK:
            target = after
        else:
            target.append(line)
    return before, after


def read_sql(relative: str) -> str:
    return _render(_package_dir("sql").joinpath(relative).read_text())


def migration_files() -> list[tuple[str, str]]:
    """(id, SQL) of every migration, in id order."""
    directory = _package_dir("migrations")
    files = sorted(
        entry.name
        for entry in directory.iterdir()
        if entry.name.endswith(".sql") and not entry.name.endswith(".rollback.sql")
    )
    return [(name[: -len(".sql")], directory.joinpath(name).read_text()) for name in files]


def bundle() -> str:
    """One script that installs or upgrades the schema in a single transaction."""
    before, after = manifest()
    parts = [
        f"-- pyevents {__version__}: complete schema install/upgrade script.",
        "-- Run as a superuser: psql -v ON_ERROR_STOP=1 -f pyevents.sql",
        "SET client_min_messages = warning;",
        "BEGIN;",
    ]
    parts += [f"-- sql/{name}\n{read_sql(name)}" for name in before]
    parts += [f"-- migrations/{mid}.sql\n{_render(text)}" for mid, text in migration_files()]
    parts += [f"-- sql/{name}\n{read_sql(name)}" for name in after]
    parts.append("COMMIT;")
    return "\n".join(parts) + "\n"


def yoyo_url(dsn: str) -> str:
    """A yoyo database URL (psycopg 3 driver, bookkeeping in schema pyevents) for any libpq DSN."""
    try:
        params = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    except psycopg.ProgrammingError as exc:
        raise ConfigError(f"invalid PostgreSQL DSN: {exc}") from None
    user = params.pop("user", "")
    password = params.pop("password", "")
    host = params.pop("host", "")
    port = params.pop("port", "")
    database = params.pop("dbname", "")
    auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    netloc = (auth + "@" if auth else "") + ("" if "/" in host else host) + (":" + port if port else "")
    if "/" in host:  # a Unix socket directory cannot be the URL host
        params["host"] = host
    params["schema"] = "pyevents"
    return f"postgresql+psycopg://{netloc}/{quote(database, safe='')}?{urlencode(params)}"


@contextmanager
def _yoyo_backend(dsn: str) -> Iterator[Any]:
    """A yoyo backend whose connection is closed afterwards (yoyo itself keeps it open)."""
    backend = get_backend(yoyo_url(dsn))
    try:
        yield backend
    finally:
        backend.connection.close()


def _execute_files(conn: psycopg.Connection[tuple[object, ...]], names: list[str]) -> None:
    with conn.transaction():
        for name in names:
            conn.execute(read_sql(name).encode())


@dataclass(frozen=True)
class SchemaStatus:
    installed_version: str | None
    applied: list[str]
    pending: list[str]
    partman: bool


def upgrade(dsn: str) -> list[str]:
    """Install or upgrade the schema; returns the migrations applied by this call.
    Running it again applies nothing and re-applies the `sql/` definitions harmlessly."""
    before, after = manifest()
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (UPGRADE_LOCK_KEY,))
            try:
                _execute_files(conn, before)
                with _yoyo_backend(dsn) as backend:
                    migrations = read_migrations(MIGRATIONS_SOURCE)
                    with backend.lock():
                        pending = backend.to_apply(migrations)
                        backend.apply_migrations(pending)
                _execute_files(conn, after)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (UPGRADE_LOCK_KEY,))
    except psycopg.Error as exc:
        raise translate(exc) from None
    return [migration.id for migration in pending]


def status(dsn: str) -> SchemaStatus:
    """The installed version, applied and pending migrations, and whether pg_partman is used."""
    migrations = read_migrations(MIGRATIONS_SOURCE)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT to_regprocedure('pyevents.schema_version()') IS NOT NULL,"
                " to_regprocedure('pyevents.partman_schema()') IS NOT NULL"
            ).fetchone()
            assert row is not None
            version = conn.execute("SELECT pyevents.schema_version()").fetchone() if row[0] else None
            partman = conn.execute("SELECT pyevents.partman_schema() IS NOT NULL").fetchone() if row[1] else None
        if version is None:
            pending = {migration.id for migration in migrations}
        else:
            with _yoyo_backend(dsn) as backend:
                pending = {migration.id for migration in backend.to_apply(migrations)}
    except psycopg.Error as exc:
        raise translate(exc) from None
    return SchemaStatus(
        installed_version=None if version is None else str(version[0]),
        applied=[m.id for m in migrations if m.id not in pending],
        pending=[m.id for m in migrations if m.id in pending],
        partman=bool(partman and partman[0]),
    )
