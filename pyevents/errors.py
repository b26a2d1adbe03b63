"""The package's own exceptions: every backend translates its driver errors into these."""

from __future__ import annotations


class PyEventsError(Exception):
    """Base class of every error raised by pyevents."""


class ConfigError(PyEventsError):
    """The configuration is missing, malformed or names an unknown backend."""


class ValidationError(PyEventsError, ValueError):
    """An event, query or argument does not satisfy the contract; nothing was written."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class AppendConditionViolated(PyEventsError):
    """A conditional append found a matching event after the given position; nothing was written."""


class DuplicateEventError(PyEventsError):
    """An event with the same id but different content is already stored."""


class BackendUnavailable(PyEventsError):
    """The backend cannot be reached or is not ready."""


class IntegrityError(PyEventsError):
    """Stored data is corrupt or inconsistent, or an immutability rule was broken."""
