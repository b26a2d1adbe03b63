"""`pyevents db grant` and `db revoke`: the store's roles, all but the owner, for logins."""

from __future__ import annotations

import psycopg
from psycopg import sql

from pyevents.backends.postgres.errors import translate
from pyevents.backends.postgres.roles import DEFAULT_PREFIX, GRANTABLE, ROLES, role_name
from pyevents.errors import PyEventsError, ValidationError

Connection = psycopg.Connection[tuple[object, ...]]


def _grantable(role: str, prefix: str) -> str:
    """The full name of a role that may be granted; bad input is refused before connecting."""
    if role == "owner":
        raise ValidationError(
            f"{role_name('owner', prefix)} is granted to nobody: every function of the store runs as it, so a member"
            " could become it (SET ROLE) and change or remove events past every guard",
            field="role",
        )
    if role not in GRANTABLE:
        raise ValidationError(f"unknown role {role!r}: one of {', '.join(GRANTABLE)}", field="role")
    return role_name(role, prefix)


def _check_exist(conn: Connection, name: str, user: str, prefix: str) -> None:
    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is None:
        raise ValidationError(
            f"role {name} does not exist: install the store first (pyevents db upgrade),"
            " or check postgresql.role_prefix",
            field="role",
        )
    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone() is None:
        raise ValidationError(f"login {user} does not exist: create it first (CREATE ROLE ... LOGIN)", field="user")
    if user in {role_name(other, prefix) for other in ROLES}:
        raise ValidationError(f"{user} is one of the store's own roles: grant {name} to a login", field="user")


def _refused(exc: psycopg.Error, name: str) -> PyEventsError:
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return PyEventsError(
            f"permission denied: {exc.diag.message_primary}; granting {name} needs a superuser, or a role with"
            " ADMIN OPTION on it (CREATEROLE before PostgreSQL 16)"
        )
    return translate(exc)


def grant(dsn: str, role: str, user: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Make the login `user` a member of the store's role `role` (writer, reader, ...); returns
    the role's full name. Granting it again changes nothing."""
    name = _grantable(role, prefix)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            _check_exist(conn, name, user, prefix)
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(name), sql.Identifier(user)))
    except psycopg.Error as exc:
        raise _refused(exc, name) from None
    return name


def revoke(dsn: str, role: str, user: str, prefix: str = DEFAULT_PREFIX) -> tuple[str, bool]:
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
        raise _refused(exc, name) from None
    return name, bool(grantors)
