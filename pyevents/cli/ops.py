"""Operator commands: `health` (exit 1 when not ready, 4 when unreachable), `verify` (exit 1 on problems) and
`init` (write a commented configuration template)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

import pyevents
from pyevents import transfer
from pyevents.backends import available
from pyevents.cli import output
from pyevents.cli.backup import progress_bar
from pyevents.cli.options import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_UNAVAILABLE,
    CliError,
    CliState,
    dsn_option,
    format_option,
    load_config,
    open_store,
)
from pyevents.cli.seal import check_exported
from pyevents.config import CONFIG_FILE_NAME, mask_secrets, reference, template
from pyevents.errors import BackendUnavailable, ConfigError, PyEventsError
from pyevents.model import HealthCheck, HealthStatus


@click.command()
@format_option("table", "json")
@dsn_option
def health(output_format: str, dsn: str | None) -> None:
    """Check that the store is live and ready: the backend is reachable and every readiness
    check passes (schema version, partitions premade, disk space, horizon, pool). Exit 0 when
    ready, 1 when reachable but not ready, 4 when the backend cannot be reached.

    \b
    Examples:
      pyevents health
      pyevents health --dsn postgresql://pyevents_app@db/events --format json
    """
    config = load_config(dsn)
    try:
        with pyevents.open_store(config=config) as store:
            status = store.health_check()
    except ConfigError:
        raise
    except PyEventsError as exc:  # a store that cannot even be opened is unhealthy, not a crash
        check = HealthCheck("open", False, str(exc))
        status = HealthStatus(
            False, config.backend, {"error": str(exc)}, (check,), not isinstance(exc, BackendUnavailable)
        )
    document: dict[str, Any] = mask_secrets(status.to_dict())
    if output_format == "json":
        click.echo(output.dumps(document))
    else:
        pairs: list[tuple[str, object]] = [
            ("healthy", "yes" if status.healthy else "NO"),
            ("backend", status.backend),
        ]
        pairs += [
            (f"check {check.name}", f"{'ok' if check.ok else 'FAILED'}: {check.detail}") for check in status.checks
        ]
        pairs += list(document["details"].items())
        click.echo(output.key_values(pairs))
    if not status.reachable:
        click.get_current_context().exit(EXIT_UNAVAILABLE)
    if not status.healthy:
        click.get_current_context().exit(EXIT_FAILURE)


@click.command()
@format_option("table", "json")
@click.option(
    "--repair",
    is_flag=True,
    help="file backend: first keep the intact records of damaged segments and set the originals aside "
    "(<segment>.corrupt), then verify",
)
@click.option(
    "--against",
    "exported_seal",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="postgresql: also prove the history up to this exported seal (pyevents seal --export) unchanged",
)
@click.option(
    "--public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="with --against: require the exported seal to be signed by this Ed25519 public key (PEM)",
)
@dsn_option
def verify(
    output_format: str, repair: bool, exported_seal: Path | None, public_key: Path | None, dsn: str | None
) -> None:
    """Check stored data for corruption and inconsistency; print every problem, exit 1 if any.
    With PostgreSQL this includes the seals; --against checks the log against a seal kept
    outside the database, which even a superuser who rewrote the seals cannot match.

    \b
    Examples:
      pyevents verify
      pyevents verify --format json
      pyevents verify --repair
      pyevents verify --against seal.json --public-key seal-key.pub
    """
    if public_key is not None and exported_seal is None:
        raise CliError("--public-key checks the seal of --against: give --against FILE too", EXIT_BAD_INPUT)
    with _repaired_store(dsn) if repair else open_store(dsn) as store:
        backend = store.backend_name
        unavailable = CliError(f"verification is not available for the {backend} backend", EXIT_BAD_INPUT)
        check: Callable[[transfer.Progress], list[str]] | None = getattr(store, "verify", None)
        if check is None:
            raise unavailable
        head = _head_for_progress(store)
        try:
            with progress_bar("verifying", head) as progress:
                problems = check(progress)
                progress(head)  # backends that check in one request report nothing on the way
        except NotImplementedError:
            raise unavailable from None
        if exported_seal is not None:
            problems += check_exported(store, exported_seal, public_key)
    if output_format == "json":
        click.echo(output.dumps({"backend": backend, "ok": not problems, "problems": problems}))
    elif problems:
        for problem in problems:
            click.echo(f"problem: {problem}")
        click.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found in the {backend} store")
    else:
        click.echo(f"ok: no problems found in the {backend} store")
    if problems:
        click.get_current_context().exit(EXIT_FAILURE)


def _head_for_progress(store: pyevents.EventStore) -> int:
    """The length of verify's progress bar: read only for a terminal (pipes get no bar), and 0
    (no bar) when even the last event cannot be read, which verify itself then reports."""
    if not sys.stderr.isatty():
        return 0
    try:
        return transfer.head(store)
    except PyEventsError:
        return 0


@click.command("rebuild-index")
def rebuild_index() -> None:
    """Rebuild the file backend's index from its segments. The index is derived data, so nothing
    is lost; rebuild when verify reports the index wrong (a damaged index is also rebuilt when
    the store opens). Writers wait until it is done.

    \b
    Examples:
      pyevents rebuild-index
    """
    with open_store() as store:
        rebuild: Callable[[transfer.Progress], None] | None = getattr(store, "rebuild_index", None)
        if rebuild is None:
            raise CliError(f"the {store.backend_name} backend keeps no index to rebuild", EXIT_BAD_INPUT)
        head = transfer.head(store)
        with progress_bar("indexing", head) as progress:
            rebuild(progress)
    click.echo(f"ok: the index was rebuilt from the segments (head position {head})")


def _repaired_store(dsn: str | None) -> pyevents.EventStore:
    """The file store, opened with damaged segments repaired (their originals set aside)."""
    config = load_config(dsn)
    if config.backend != "file":
        raise CliError(f"--repair is for the file backend, not {config.backend}", EXIT_BAD_INPUT)
    from pyevents.backends.file import FileEventStore

    return FileEventStore.from_config(config, repair=True)


@click.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option(
    "--backend",
    type=click.Choice(sorted(available())),
    default="file",
    show_default=True,
    help="The backend the new configuration selects.",
)
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@click.option("--keys", is_flag=True, help="Print every configuration key as a Markdown table instead.")
def init(path: Path | None, backend: str, force: bool, keys: bool) -> None:
    """Write a commented configuration template listing every key with its default, to PATH
    (default: the --config file, else ./pyevents.toml); refuses to overwrite unless --force.

    \b
    Examples:
      pyevents init
      pyevents init --backend postgresql config/pyevents.toml
      pyevents init --keys
    """
    if keys:
        click.echo(reference(), nl=False)
        return
    if path is None:
        state = click.get_current_context().find_object(CliState)
        path = Path(state.config_path if state and state.config_path else CONFIG_FILE_NAME)
    if path.exists() and not force:
        raise CliError(f"{path} already exists; pass --force to overwrite it")
    try:
        path.write_text(template(backend), encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror}") from None
    click.echo(f"wrote {path} (backend = {backend!r}); edit it, then try: pyevents health")
