"""The `[postgresql]` configuration section of the PostgreSQL backend."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from pyevents.backends.postgres.connections import POOLERS
from pyevents.config import Key, register_section

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
CONNECTION_PARTS = ("host", "port", "database", "username", "ssl")


def _replaced_by_dsn(dsn: Any) -> tuple[str, ...]:
    """A DSN given later (environment, --dsn) is the whole connection: it replaces the parts set
    before it. A password set apart stays, so it can live in the environment instead of the
    command line, unless the DSN brings its own."""
    try:
        has_password = isinstance(dsn, str) and "password" in conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        has_password = False  # opening the store names the bad DSN
    return (*CONNECTION_PARTS, "password") if has_password else CONNECTION_PARTS


register_section(
    "postgresql",
    {
        "dsn": Key(
            str,
            "libpq connection string or URL; the keys below, when set, override its parts",
            example="postgresql://pyevents_app@localhost:5432/events",
            supersedes=_replaced_by_dsn,
        ),
        "host": Key(str, "server host name, or the directory of its Unix socket", example="localhost"),
        "port": Key(int, "server port", example=5432, minimum=1),
        "database": Key(str, "database name", example="events"),
        "username": Key(
            str,
            "login role (granted the store's writer and/or reader role, e.g. pyevents_writer)",
            example="pyevents_app",
        ),
        "password": Key(
            str, "better set as PYEVENTS_POSTGRESQL__PASSWORD than written here", example="...", secret=True
        ),
        "ssl": Key(str, "libpq sslmode", example="prefer", choices=SSL_MODES),
        "pool_size": Key(int, "connections kept by the client pool", default=10, minimum=1),
        "connect_timeout": Key(int, "seconds to wait for a connection", default=10, minimum=1),
        "deadline": Key(
            int,
            "seconds one call may take, retries after a lost connection included, before BackendUnavailable",
            default=10,
            minimum=1,
        ),
        "application_name": Key(str, "shown in pg_stat_activity", default="pyevents"),
        "pooler": Key(
            str,
            "what stands between the client and PostgreSQL: none, pgbouncer-session, or pgbouncer-transaction"
            " (nothing is prepared, and live streams poll instead of LISTENing, which needs session mode)",
            default="none",
            choices=POOLERS,
        ),
        "read_dsns": Key(
            list,
            "streaming replicas (hot standbys) of the server above: queries, catch-up reads and live streams go to"
            " them, appends, conditional appends and DCB reads to the primary",
            default=[],
            example=["postgresql://pyevents_app@replica1:5432/events"],
        ),
        "max_replica_lag": Key(
            int,
            "seconds a replica may be behind the primary and still serve reads; beyond that, or when it is down,"
            " reads fail over to the primary",
            default=5,
            minimum=1,
        ),
        "role_prefix": Key(
            str,
            "prefix of the store's role names (the default gives pyevents_owner, pyevents_writer, ...), fixed at"
            " install; roles are cluster-wide, so give each database's store its own to keep grants apart",
            default="pyevents_",
        ),
    },
)
