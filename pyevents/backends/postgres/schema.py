"""Installing and upgrading the SQL: yoyo migrations plus the re-applied `sql/` definitions;
and granting the store's roles to logins (`db grant`, `db revoke`).

Three routes give the same catalog: `upgrade()` (yoyo, then `sql/`), `bundle()` (one script for
`psql -v ON_ERROR_STOP=1 -f`), and both run the same files in the same order, rendered the same
way: `@NAME@` placeholders filled in, role names under the configured prefix (`roles.rename`).
Function bodies are never given to yoyo: it splits SQL with sqlparse, which breaks dollar quotes.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from yoyo import read_migrations
from yoyo.backends.core.postgresql import PostgresqlPsycopgBackend
from yoyo.connections import default_migration_table, parse_uri
from yoyo.migrations import get_migration_hash

from pyevents import __version__, limits
from pyevents.backends.postgres import roles
from pyevents.backends.postgres.audit import audit_database_sql as audit_database_sql  # the CLI's way to it
from pyevents.backends.postgres.audit import audit_server_conf as audit_server_conf  # the CLI's way to it
from pyevents.backends.postgres.errors import translate
from pyevents.backends.postgres.store import build_dsn
from pyevents.config import Config
from pyevents.errors import ConfigError, PyEventsError, ValidationError

MIGRATIONS_MARK = "@migrations"
MIGRATIONS_SOURCE = "package:pyevents.backends.postgres:migrations"  # yoyo reads them from the wheel
UPGRADE_LOCK_KEY = 7_311_146_285_407_021_825  # pg_advisory_lock key held while upgrading
# Re-applying sql/ to an unchanged schema takes no table lock. When it has work to do (a new
# version, migrations just applied, or a first attempt that met a lock), it first locks the
# tables in the order appends take them, so it never holds one that a running append waits for
# while it waits for another: no deadlock. A lock not had within UPGRADE_LOCK_TIMEOUT rolls the
# attempt back (the upgrade gives way, not the appends), and it tries again.
UPGRADE_LOCK_TIMEOUT = "500ms"
UPGRADE_ATTEMPTS = 20
UPGRADE_RETRY_PAUSE = 0.2  # seconds, doubled after each failed attempt up to 2 s
LOCK_IN_APPEND_ORDER = (
    "LOCK TABLE pyevents.dcb_gate, pyevents.event_ids, pyevents.partitions, pyevents.events,"
    " pyevents.event_tags, pyevents.subscriptions IN ACCESS EXCLUSIVE MODE"
)

WarningHandler = Callable[[str], None]
T = TypeVar("T")


def connection_string(config: Config) -> str:
    """The libpq connection string of the configuration's `[postgresql]` section."""
    return build_dsn(config.section("postgresql"))


def role_prefix(config: Config) -> str:
    """The configuration's `postgresql.role_prefix`, checked."""
    return roles.check_prefix(config.section("postgresql")["role_prefix"])


def _package_dir(name: str) -> Traversable:
    return resources.files("pyevents.backends.postgres").joinpath(name)


def latest_migration() -> str:
    """The newest migration this package ships: the schema version readiness expects."""
    return max(
        entry.name.removesuffix(".sql")
        for entry in _package_dir("migrations").iterdir()
        if entry.name.endswith(".sql") and not entry.name.endswith(".rollback.sql")
    )


# What `@NAME@` placeholders in the SQL become: the version and the limits, each defined once.
PLACEHOLDERS = {
    "PYEVENTS_VERSION": __version__,
    "PYEVENTS_MIGRATION": latest_migration(),
    "MAX_NAME_LENGTH": str(limits.MAX_NAME_LENGTH),
    "MAX_SCHEMA_VERSION_LENGTH": str(limits.MAX_SCHEMA_VERSION_LENGTH),
    "MAX_BATCH_SIZE": str(limits.MAX_BATCH_SIZE),
    "MAX_FUTURE_SKEW": limits.interval_text(limits.MAX_FUTURE_SKEW),
}
_PLACEHOLDER = re.compile(r"@([A-Z_]+)@")


def _render(text: str, prefix: str) -> str:
    return roles.rename(_PLACEHOLDER.sub(lambda match: PLACEHOLDERS[match[1]], text), prefix)


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


def read_sql(relative: str, prefix: str = roles.DEFAULT_PREFIX) -> str:
    return _render(_package_dir("sql").joinpath(relative).read_text(), prefix)


def migration_files() -> list[tuple[str, str]]:
    """(id, SQL) of every migration, in id order."""
    directory = _package_dir("migrations")
    files = sorted(
        entry.name
        for entry in directory.iterdir()
        if entry.name.endswith(".sql") and not entry.name.endswith(".rollback.sql")
    )
    return [(name[: -len(".sql")], directory.joinpath(name).read_text()) for name in files]


def _yoyo_bookkeeping() -> str:
    """SQL recording every migration as applied in yoyo's own tables (its internal schema
    version 2), as `upgrade()` leaves them: `db status` then reports nothing pending after a
    bundle install, and a later `db upgrade` applies only what is new."""
    rows = ",\n    ".join(
        f"('{get_migration_hash(mid)}', '{mid}', now() AT TIME ZONE 'UTC')" for mid, _ in migration_files()
    )
    return f"""-- yoyo's bookkeeping: the migrations above are applied
CREATE TABLE IF NOT EXISTS pyevents._yoyo_migration (
    migration_hash VARCHAR(64), migration_id VARCHAR(255), applied_at_utc TIMESTAMP, PRIMARY KEY (migration_hash)
);
CREATE TABLE IF NOT EXISTS pyevents._yoyo_log (
    id VARCHAR(36), migration_hash VARCHAR(64), migration_id VARCHAR(255), operation VARCHAR(10),
    username VARCHAR(255), hostname VARCHAR(255), comment VARCHAR(255), created_at_utc TIMESTAMP, PRIMARY KEY (id)
);
CREATE TABLE IF NOT EXISTS pyevents._yoyo_version (version INT NOT NULL PRIMARY KEY, installed_at_utc TIMESTAMP);
INSERT INTO pyevents._yoyo_version VALUES (2, now() AT TIME ZONE 'UTC') ON CONFLICT DO NOTHING;
INSERT INTO pyevents._yoyo_migration VALUES
    {rows}
ON CONFLICT DO NOTHING;"""


def bundle(prefix: str = roles.DEFAULT_PREFIX) -> str:
    """One script that installs or upgrades the schema in a single transaction, its roles named
    with `prefix`."""
    before, after = manifest()
    parts = [
        f"-- pyevents {__version__}: complete schema install/upgrade script, roles {prefix}owner, {prefix}writer, ...",
        "-- Run as a superuser (or a managed service's master user): psql -v ON_ERROR_STOP=1 -f pyevents.sql",
        "SET client_min_messages = warning;",
        "BEGIN;",
    ]
    parts += [f"-- sql/{name}\n{read_sql(name, prefix)}" for name in before]
    parts += [f"-- migrations/{mid}.sql\n{_render(text, prefix)}" for mid, text in migration_files()]
    parts += [f"-- sql/{name}\n{read_sql(name, prefix)}" for name in after]
    parts.append(_yoyo_bookkeeping())
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


class _YoyoBackend(PostgresqlPsycopgBackend):  # type: ignore[misc]
    """yoyo's PostgreSQL backend without the statements that fail by design, each of which writes
    an error to the server log on every run: creating its lock table when it exists, and dropping
    a table rolled back to probe for transactional DDL (which PostgreSQL has)."""

    create_lock_table_sql = PostgresqlPsycopgBackend.create_lock_table_sql.replace(
        "CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1
    )

    def _check_transactional_ddl(self) -> bool:
        return True


@contextmanager
def _yoyo_backend(dsn: str, *, lock_timeout: str | None = None) -> Iterator[Any]:
    """A yoyo backend whose connection is closed afterwards (yoyo itself keeps it open). With
    `lock_timeout`, every connection it opens (yoyo runs each migration on one of its own)
    gives up waiting for a lock after that long."""
    if lock_timeout is not None:
        options = conninfo_to_dict(dsn).get("options") or ""
        dsn = make_conninfo(dsn, options=f"{options} -c lock_timeout={lock_timeout}".strip())
    backend = _YoyoBackend(parse_uri(yoyo_url(dsn)), default_migration_table)
    backend.init_database()
    try:
        yield backend
    finally:
        backend.connection.close()


@contextmanager
def _rendered_migrations(prefix: str) -> Iterator[str]:
    """A directory holding the migrations as rendered for this install, for yoyo to read (ids,
    and so yoyo's bookkeeping, are the file names: the same for every prefix)."""
    with tempfile.TemporaryDirectory(prefix="pyevents-migrations-") as directory:
        for mid, text in migration_files():
            with open(f"{directory}/{mid}.sql", "w", encoding="utf-8") as handle:
                handle.write(_render(text, prefix))
        yield directory


def _refused(exc: psycopg.Error, needed: str) -> PyEventsError:
    """A database error as pyevents' own; a refused privilege also says what `needed`."""
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return PyEventsError(f"permission denied: {exc.diag.message_primary}; {needed}")
    return translate(exc)


def _retrying_on_locks(action: Callable[[int], T]) -> T:
    """Runs `action(attempt)` until it is not refused a lock in time (UPGRADE_LOCK_TIMEOUT): the
    upgrade gives way to the store's users, not they to it, and tries again."""
    pause = UPGRADE_RETRY_PAUSE
    attempt = 1
    while True:
        try:
            return action(attempt)
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
            if attempt == UPGRADE_ATTEMPTS:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
            attempt += 1


def _execute_files(
    conn: psycopg.Connection[tuple[object, ...]], names: list[str], prefix: str, *, lock_up_front: bool = False
) -> None:
    """Runs the files in one transaction, retried (locking up front) while a lock is not granted
    in time."""

    def attempt(number: int) -> None:
        with conn.transaction():
            conn.execute(f"SET LOCAL lock_timeout = '{UPGRADE_LOCK_TIMEOUT}'")
            if lock_up_front or number > 1:
                conn.execute(LOCK_IN_APPEND_ORDER)
            for name in names:
                conn.execute(read_sql(name, prefix).encode())

    _retrying_on_locks(attempt)


def _apply_migrations(dsn: str, prefix: str) -> list[str]:
    """Applies the pending migrations, each in its own transaction; returns their ids. A
    migration that changes a table waits for the statements using it, and meanwhile every new
    statement on that table queues behind it: so it waits at most UPGRADE_LOCK_TIMEOUT, rolls
    back, and is tried again."""
    with _yoyo_backend(dsn, lock_timeout=UPGRADE_LOCK_TIMEOUT) as backend, _rendered_migrations(prefix) as source:
        migrations = read_migrations(source)
        with backend.lock():
            pending = [migration.id for migration in backend.to_apply(migrations)]

        def attempt(_: int) -> None:
            with backend.lock():
                backend.apply_migrations(backend.to_apply(migrations))

        _retrying_on_locks(attempt)
    return pending


def _warnings_to(conn: psycopg.Connection[tuple[object, ...]], on_warning: WarningHandler | None) -> None:
    """Passes the server's WARNINGs on this connection to `on_warning`, each text once."""
    if on_warning is None:
        return
    seen: set[str] = set()

    def handle(diagnostic: psycopg.errors.Diagnostic) -> None:
        message = diagnostic.message_primary or ""
        if diagnostic.severity_nonlocalized == "WARNING" and message not in seen:
            seen.add(message)
            on_warning(message)

    conn.add_notice_handler(handle)


@dataclass(frozen=True)
class SchemaStatus:
    installed_version: str | None
    applied: list[str]
    pending: list[str]
    partman: bool
    missing_protection: list[str]  # what this install does not guard (see pyevents.missing_protection())
    role_prefix: str | None  # the store's role names are <role_prefix>owner, ...; None without a store


def _installed_version(conn: psycopg.Connection[tuple[object, ...]]) -> str | None:
    row = conn.execute("SELECT to_regprocedure('pyevents.schema_version()') IS NOT NULL").fetchone()
    if not (row and row[0]):
        return None
    version = conn.execute("SELECT pyevents.schema_version()").fetchone()
    return None if version is None else str(version[0])


def installed_role_prefix(conn: psycopg.Connection[tuple[object, ...]]) -> str | None:
    """The role prefix the store in this database was installed with; None without a store."""
    if _installed_version(conn) is None:
        return None
    recorded = None
    if conn.execute("SELECT to_regclass('pyevents.store_settings') IS NOT NULL").fetchone() == (True,):
        recorded = conn.execute("SELECT role_prefix FROM pyevents.store_settings").fetchone()
    return roles.DEFAULT_PREFIX if recorded is None else str(recorded[0])  # made before it was recorded


def upgrade(dsn: str, on_warning: WarningHandler | None = None, prefix: str = roles.DEFAULT_PREFIX) -> list[str]:
    """Install or upgrade the schema, its roles named with `prefix`; returns the migrations
    applied by this call. Running it again applies nothing and re-applies the `sql/`
    definitions harmlessly, taking no table lock when nothing changed, so it is safe while the
    store is in use. The server's WARNINGs (such as protection that a non-superuser install
    lacks) go to `on_warning`. A store installed with another prefix is refused (ConfigError)."""
    roles.check_prefix(prefix)
    before, after = manifest()
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            _warnings_to(conn, on_warning)
            conn.execute("SELECT pg_advisory_lock(%s)", (UPGRADE_LOCK_KEY,))
            try:
                installed_prefix = installed_role_prefix(conn)
                if installed_prefix not in (None, prefix):
                    raise ConfigError(
                        f"this store was installed with role prefix {installed_prefix!r} (roles"
                        f" {installed_prefix}owner, {installed_prefix}writer, ...), not {prefix!r}: set"
                        f" postgresql.role_prefix = {installed_prefix!r}, or install into another database"
                    )
                installed = _installed_version(conn)
                _execute_files(conn, before, prefix)
                pending = _apply_migrations(dsn, prefix)
                _execute_files(conn, after, prefix, lock_up_front=bool(pending) or installed != __version__)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (UPGRADE_LOCK_KEY,))
    except psycopg.Error as exc:
        raise _refused(
            exc,
            "installing needs a superuser, or a managed service's master user with CREATEROLE and CREATE on the"
            " database (README: PostgreSQL)",
        ) from None
    return pending


def status(dsn: str) -> SchemaStatus:
    """The installed version, applied and pending migrations, whether pg_partman is used, and the
    prefix of the store's role names."""
    migrations = read_migrations(MIGRATIONS_SOURCE)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT to_regprocedure('pyevents.schema_version()') IS NOT NULL,"
                " to_regprocedure('pyevents.partman_schema()') IS NOT NULL,"
                " to_regprocedure('pyevents.missing_protection()') IS NOT NULL"
            ).fetchone()
            assert row is not None
            version = conn.execute("SELECT pyevents.schema_version()").fetchone() if row[0] else None
            partman = conn.execute("SELECT pyevents.partman_schema() IS NOT NULL").fetchone() if row[1] else None
            missing = (
                [str(text) for (text,) in conn.execute("SELECT * FROM pyevents.missing_protection()")] if row[2] else []
            )
            prefix = installed_role_prefix(conn)
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
        missing_protection=missing,
        role_prefix=prefix,
    )


def sync_redacted_paths(dsn: str, paths: list[str]) -> list[tuple[str, str]]:
    """Make table pyevents.redacted_paths hold exactly `paths` (as its owner or a superuser);
    returns each (path, "added" or "removed")."""
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            rows = conn.execute("SELECT path, change FROM pyevents.set_redacted_paths(%s::text[])", (paths,)).fetchall()
    except psycopg.Error as exc:
        raise _refused(
            exc,
            "the redacted paths are managed by the owner of the schema (a superuser, or the installing master user)",
        ) from None
    return [(str(path), str(change)) for path, change in rows]


def redacted_paths(dsn: str) -> list[str]:
    """The paths in table pyevents.redacted_paths, sorted."""
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute("SELECT pyevents.redacted_path_list()").fetchone()
    except psycopg.Error as exc:
        raise translate(exc) from None
    assert row is not None
    return list(row[0])


# -- grants: the store's roles, all but the owner, for logins ----------------------------------
def _grantable(role: str, prefix: str) -> str:
    """The full name of a role that may be granted; bad input is refused before connecting."""
    if role == "owner":
        raise ValidationError(
            f"{roles.role_name('owner', prefix)} is granted to nobody: every function of the store runs as it,"
            " so a member could become it (SET ROLE) and change or remove events past every guard",
            field="role",
        )
    if role not in roles.GRANTABLE:
        raise ValidationError(f"unknown role {role!r}: one of {', '.join(roles.GRANTABLE)}", field="role")
    return roles.role_name(role, prefix)


def _check_exist(conn: psycopg.Connection[tuple[object, ...]], name: str, user: str, prefix: str) -> None:
    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is None:
        raise ValidationError(
            f"role {name} does not exist: install the store first (pyevents db upgrade),"
            " or check postgresql.role_prefix",
            field="role",
        )
    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone() is None:
        raise ValidationError(f"login {user} does not exist: create it first (CREATE ROLE ... LOGIN)", field="user")
    if user in {roles.role_name(other, prefix) for other in roles.ROLES}:
        raise ValidationError(f"{user} is one of the store's own roles: grant {name} to a login", field="user")


def grant_role(dsn: str, role: str, user: str, prefix: str = roles.DEFAULT_PREFIX) -> str:
    """Make the login `user` a member of the store's role `role` (writer, reader, ...); returns
    the role's full name. Granting it again changes nothing."""
    name = _grantable(role, prefix)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            _check_exist(conn, name, user, prefix)
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(name), sql.Identifier(user)))
    except psycopg.Error as exc:
        raise _refused(
            exc,
            f"granting {name} needs a superuser, or a role with ADMIN OPTION on it (CREATEROLE before PostgreSQL 16)",
        ) from None
    return name


def revoke_role(dsn: str, role: str, user: str, prefix: str = roles.DEFAULT_PREFIX) -> tuple[str, bool]:
    """Take the store's role `role` back from the login `user`; returns the role's full name and
    whether `user` was a member. From PostgreSQL 16 on, a membership is one grant per grantor,
    each revoked on behalf of whoever made it."""
    name = _grantable(role, prefix)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            _check_exist(conn, name, user, prefix)
            grantors = [
                str(grantor)
                for (grantor,) in conn.execute(
                    "SELECT pg_get_userbyid(m.grantor) FROM pg_auth_members AS m"
                    " JOIN pg_roles AS r ON r.oid = m.roleid JOIN pg_roles AS u ON u.oid = m.member"
                    " WHERE r.rolname = %s AND u.rolname = %s",
                    (name, user),
                )
            ]
            statement = sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(name), sql.Identifier(user))
            for grantor in grantors:
                if conn.info.server_version >= 160000:
                    conn.execute(statement + sql.SQL(" GRANTED BY {}").format(sql.Identifier(grantor)))
                else:
                    conn.execute(statement)
    except psycopg.Error as exc:
        raise _refused(
            exc,
            f"granting {name} needs a superuser, or a role with ADMIN OPTION on it (CREATEROLE before PostgreSQL 16)",
        ) from None
    return name, bool(grantors)
