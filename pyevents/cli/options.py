"""What every command shares: exit codes, the user-facing error, option decorators, and how a
command turns `--config`/`--dsn` into a Config, a store or a PostgreSQL DSN."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

import pyevents
from pyevents.config import Config, mask_dsn
from pyevents.errors import (
    AppendConditionViolated,
    BackendUnavailable,
    ConfigError,
    DuplicateEventError,
    PyEventsError,
    ValidationError,
)
from pyevents.model import check_timestamp, check_uuid
from pyevents.redaction import Redaction, redaction_for
from pyevents.store import EventStore

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILURE = 1  # not found, unhealthy, problems found, any other error
EXIT_BAD_INPUT = 2  # invalid event, query, option or configuration (click's usage errors too)
EXIT_CONFLICT = 3  # append condition violated, same event id with other content
EXIT_UNAVAILABLE = 4  # the backend cannot be reached or is not ready

EXIT_CODES_HELP = """\b
Exit codes:
  0  success
  1  not found, unhealthy, verification problems, other errors
  2  bad input: invalid event, query, option or configuration
  3  conflict: append condition violated, or same event id with other content
  4  backend unavailable (cannot connect, schema not installed)"""


class CliError(click.ClickException):
    """A user-facing failure: `Error: <message>` on stderr, no traceback, a meaningful exit code.
    Passwords in the message are masked."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(mask_dsn(message))
        self.exit_code = exit_code

    # click declares exit_code a class constant; ours varies per error
    @property
    def exit_code(self) -> int:
        return self._exit_code

    @exit_code.setter
    def exit_code(self, value: int) -> None:
        self._exit_code = value


def exit_code_for(exc: PyEventsError) -> int:
    if isinstance(exc, (ValidationError, ConfigError)):
        return EXIT_BAD_INPUT
    if isinstance(exc, (AppendConditionViolated, DuplicateEventError)):
        return EXIT_CONFLICT
    if isinstance(exc, BackendUnavailable):
        return EXIT_UNAVAILABLE
    return EXIT_FAILURE


@dataclass
class CliState:
    """Group-level settings handed to every command through the click context."""

    config_path: str | None = None


def dsn_option(func: F) -> F:
    """`--dsn DSN`: use PostgreSQL at this DSN instead of the configured backend."""
    decorator = click.option(
        "--dsn",
        metavar="DSN",
        envvar="PYEVENTS_DSN",
        help="PostgreSQL connection string (libpq DSN or URL; libpq's PGHOST, PGSERVICE, PGPASSFILE... "
        "fill in what it leaves out); overrides the configured backend. Default: $PYEVENTS_DSN.",
    )
    return decorator(func)


def listing_options(func: F) -> F:
    """`--format table|csv|tsv|json|jsonl`, `--no-header` and `--wide` for commands that list events."""
    func = click.option("--wide", is_flag=True, help="Table: show ids, tags and payloads whole (no truncation).")(func)
    func = click.option("--no-header", is_flag=True, help="Table, CSV, TSV: print the rows only.")(func)
    decorator = click.option(
        "--format",
        "output_format",
        type=click.Choice(("table", "csv", "tsv", "json", "jsonl")),
        default="table",
        show_default=True,
        help="A readable table; CSV or TSV with every field; JSON or JSON Lines for machines.",
    )
    return decorator(func)


def format_option(*choices: str, default: str = "table") -> Callable[[F], F]:
    """`--format` with the given choices (table, json, jsonl...)."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices or ("table", "json", "jsonl")),
        default=default,
        show_default=True,
        help="Output format: a readable table, or JSON for machines.",
    )


def load_config(dsn: str | None = None) -> Config:
    """The configuration for this invocation: `--config`, else $PYEVENTS_CONFIG, else
    ./pyevents.toml, else defaults; with `--dsn` the backend becomes postgresql at that DSN."""
    state = click.get_current_context().find_object(CliState) or CliState()
    overrides = None if dsn is None else {"backend": "postgresql", "postgresql": {"dsn": dsn}}
    return Config.load(state.config_path, overrides=overrides)


def open_store(dsn: str | None = None) -> EventStore:
    """The configured store (see load_config); use it as a context manager."""
    return pyevents.open_store(config=load_config(dsn))


def redact_option(func: F) -> F:
    """`--redact`: mask the sensitive paths in what the command prints or writes."""
    decorator = click.option(
        "--redact",
        is_flag=True,
        help='Mask the sensitive paths as "[REDACTED]": [security] redact, and with PostgreSQL the paths of '
        "pyevents.redacted_paths too.",
    )
    return decorator(func)


def redaction(store: EventStore, dsn: str | None, enabled: bool) -> Redaction:
    """What `--redact` masks for this invocation (nothing without it)."""
    return redaction_for(store, load_config(dsn)) if enabled else Redaction()


def filter_fields(
    since: str | None,
    event_types: tuple[str, ...],
    actor_id: str | None,
    correlation_id: str | None,
    tags: tuple[str, ...],
) -> dict[str, Any]:
    """The filter options that `query`, `export` and `tail` share, as fields of QueryOptions and
    StreamOptions (an option not given: no filter), timestamps and ids checked."""
    return {
        "since": None if since is None else check_timestamp(since, "since"),
        "event_types": event_types or None,
        "actor_id": actor_id,
        "correlation_id": None if correlation_id is None else check_uuid(correlation_id, "correlation_id"),
        "tags": tags or None,
    }
