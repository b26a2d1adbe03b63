"""Translation of driver errors into pyevents errors, at the boundary of the backend."""

from __future__ import annotations

import psycopg

from pyevents.backends.postgres.roles import DEFAULT_PREFIX, GRANTABLE
from pyevents.errors import (
    AppendConditionViolated,
    BackendUnavailable,
    DuplicateEventError,
    IntegrityError,
    PyEventsError,
    ValidationError,
)

# SQLSTATEs raised by pyevents.raise_error in the stored functions
ERRORS_BY_SQLSTATE: dict[str, type[PyEventsError]] = {
    "PE001": ValidationError,
    "PE002": DuplicateEventError,
    "PE003": AppendConditionViolated,
    "PE004": IntegrityError,
    "PE005": IntegrityError,
}


def translate(exc: psycopg.Error, role_prefix: str = DEFAULT_PREFIX) -> PyEventsError:
    """The pyevents error for a driver error; the message keeps the server's own words and
    names the store's roles with their prefix."""
    sqlstate = exc.sqlstate or ""
    message = exc.diag.message_primary or str(exc)
    if sqlstate in ERRORS_BY_SQLSTATE:
        if ERRORS_BY_SQLSTATE[sqlstate] is ValidationError:
            return ValidationError(message, field=exc.diag.column_name)
        return ERRORS_BY_SQLSTATE[sqlstate](message)
    if sqlstate in ("3F000", "42883", "42P01"):
        return BackendUnavailable(f"the pyevents schema is missing or outdated ({message}); run `pyevents db upgrade`")
    if sqlstate == "42501":
        roles = ", ".join(role_prefix + role for role in GRANTABLE[:-1])
        return PyEventsError(
            f"permission denied: {message} (grant {roles} or {role_prefix}{GRANTABLE[-1]}, as the call needs)"
        )
    if sqlstate.startswith("22") or sqlstate in ("23502", "23514"):  # bad data, NOT NULL, CHECK
        return ValidationError(message)
    if isinstance(exc, psycopg.OperationalError) or sqlstate.startswith(("08", "57")):
        return BackendUnavailable(f"PostgreSQL is unavailable: {message}")
    return PyEventsError(f"PostgreSQL error {sqlstate}: {message}")
