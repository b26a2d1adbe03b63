"""The `pyevents` command line: the `main` click group, its error handling and exit codes.

Commands live in topic modules (db, write, read, ops, backup, demo); shared option decorators and
config/store resolution in `options`, formatting in `output`.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click

from pyevents import __version__
from pyevents.cli.backup import copy, export, import_
from pyevents.cli.db import db
from pyevents.cli.demo import demo
from pyevents.cli.monitoring import metrics, serve
from pyevents.cli.ops import health, init, rebuild_index, verify
from pyevents.cli.options import (
    EXIT_CODES_HELP,
    EXIT_FAILURE,
    CliError,
    CliState,
    dsn_option,
    exit_code_for,
    format_option,
)
from pyevents.cli.read import get, query, read
from pyevents.cli.retention import retention
from pyevents.cli.seal import check_proof, prove, seal
from pyevents.cli.tail import tail
from pyevents.cli.write import append
from pyevents.errors import PyEventsError

_QUIET = logging.NullHandler()


class PyEventsGroup(click.Group):
    """A group that turns pyevents errors into `Error: ...` and their exit code (no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PyEventsError as exc:
            raise CliError(str(exc), exit_code_for(exc)) from None
        except BrokenPipeError:
            # The reader went away (`pyevents query --all | head`): stop quietly.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(EXIT_FAILURE)


@click.group(cls=PyEventsGroup, epilog=EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Configuration file (default: $PYEVENTS_CONFIG, else ./pyevents.toml, else the file backend in ./.pyevents).",
)
@click.version_option(__version__, "-V", "--version", prog_name="pyevents")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """pyevents: an append-only event store (PostgreSQL or local files).

    \b
    Examples:
      pyevents init                       write ./pyevents.toml
      pyevents demo                       a short story on the configured store
      pyevents db upgrade --dsn DSN       install the PostgreSQL schema
      pyevents append --type user.registered --actor-type user --actor-id u-1
      pyevents query --type user.registered --format json
    """
    ctx.obj = CliState(config_path=config_path)
    # The connection pool logs every failed attempt while it retries; the command reports the
    # outcome once (`Error: ...`), so keep the driver's log records off the terminal.
    logging.getLogger("psycopg").addHandler(_QUIET)


for command in (
    init,
    db,
    append,
    query,
    get,
    read,
    tail,
    health,
    metrics,
    serve,
    verify,
    rebuild_index,
    retention,
    seal,
    prove,
    check_proof,
    export,
    import_,
    copy,
    demo,
):
    main.add_command(command)

__all__ = ["CliError", "dsn_option", "format_option", "main"]
