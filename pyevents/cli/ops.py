"""Operator commands: `health` (exit 1 when unhealthy), `verify` (exit 1 on problems) and
`init` (write a commented configuration template)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

import pyevents
from pyevents.cli import output
from pyevents.cli.options import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    CliError,
    CliState,
    dsn_option,
    format_option,
    load_config,
    open_store,
)
from pyevents.config import CONFIG_FILE_NAME, SCHEMA, mask_secrets
from pyevents.errors import ConfigError, PyEventsError
from pyevents.model import HealthStatus


@click.command()
@format_option("table", "json")
@dsn_option
def health(output_format: str, dsn: str | None) -> None:
    """Check that the store is reachable and usable; exit 1 when it is not.

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
        status = HealthStatus(False, config.backend, {"error": str(exc)})
    details: dict[str, Any] = mask_secrets(status.details)
    if output_format == "json":
        click.echo(output.dumps({"healthy": status.healthy, "backend": status.backend, "details": details}))
    else:
        pairs: list[tuple[str, object]] = [
            ("healthy", "yes" if status.healthy else "NO"),
            ("backend", status.backend),
        ]
        pairs += [(name, value) for name, value in details.items()]
        click.echo(output.key_values(pairs))
    if not status.healthy:
        click.get_current_context().exit(EXIT_FAILURE)


@click.command()
@format_option("table", "json")
@dsn_option
def verify(output_format: str, dsn: str | None) -> None:
    """Check stored data for corruption and inconsistency; print every problem, exit 1 if any.

    \b
    Examples:
      pyevents verify
      pyevents verify --format json
    """
    with open_store(dsn) as store:
        backend = store.backend_name
        unavailable = CliError(f"verification is not available for the {backend} backend", EXIT_BAD_INPUT)
        check: Callable[[], list[str]] | None = getattr(store, "verify", None)
        if check is None:
            raise unavailable
        try:
            problems = check()
        except NotImplementedError:
            raise unavailable from None
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


# Comments for the template: one line per key, shown above it.
KEY_HELP = {
    "backend": "file (local JSONL segments + SQLite index) | postgresql | eventstore",
    "limits.max_payload_size": "largest accepted payload, in bytes of compact JSON",
    "postgresql.dsn": 'libpq DSN or URL, e.g. "postgresql://pyevents_app@localhost:5432/events"',
    "postgresql.host": "or give the connection in parts (these override the DSN's)",
    "postgresql.password": "better set as PYEVENTS_POSTGRESQL__PASSWORD than written here",
    "postgresql.ssl": "disable | allow | prefer | require | verify-ca | verify-full",
    "postgresql.pool_size": "connections kept by the client pool",
    "postgresql.connect_timeout": "seconds",
    "file.data_directory": "where segments and the index live",
    "file.fsync": "always (each append durable) | batch | never",
    "file.rotation.max_size": "start a new segment after this many bytes",
    "file.rotation.max_files": "0 = keep every segment",
    "file.rotation.compression": "gzip | none (for closed segments)",
    "file.indexing.enabled": "SQLite index for fast queries (rebuildable from the segments)",
    "eventstore.connection_string": "kurrentdb:// or esdb:// URL; cluster strings pass through",
    "eventstore.default_credentials.password": "better set as PYEVENTS_EVENTSTORE__DEFAULT_CREDENTIALS__PASSWORD",
    "retention.default_policy": "infinite | time | count | custom",
    "retention.custom_policy.rules": (
        'e.g. [{ event_types = ["debug.*"], retain_days = 7 }, { tags = ["legal-hold"], keep = true }]'
    ),
}
# Keys without a default are written commented out, with an example value.
EXAMPLES = {
    "postgresql.dsn": '"postgresql://pyevents_app@localhost:5432/events"',
    "postgresql.host": '"localhost"',
    "postgresql.port": "5432",
    "postgresql.database": '"events"',
    "postgresql.username": '"pyevents_app"',
    "postgresql.password": '"..."',
    "postgresql.ssl": '"prefer"',
    "eventstore.default_credentials.username": '"admin"',
    "eventstore.default_credentials.password": '"..."',
}


def toml_value(value: object) -> str:
    """A default value written as TOML (only the kinds SCHEMA uses)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list) and not value:
        return "[]"
    raise TypeError(f"no TOML form for {value!r}")


def template(backend: str = "file") -> str:
    """A pyevents.toml listing every configuration key with its default, commented."""
    lines = [
        "# pyevents configuration. Every key is shown with its default; keys without a default are",
        "# commented out. Any key can be overridden from the environment as PYEVENTS_<SECTION>__<KEY>,",
        "# e.g. PYEVENTS_POSTGRESQL__PASSWORD or PYEVENTS_FILE__ROTATION__MAX_SIZE.",
        "",
    ]
    lines += _template_lines(SCHEMA, "", {"backend": backend})
    return "\n".join(lines).rstrip() + "\n"


def _template_lines(schema: dict[str, Any], prefix: str, overrides: dict[str, str]) -> Iterator[str]:
    leaves = [(name, spec) for name, spec in schema.items() if not isinstance(spec, dict)]
    sections = [(name, spec) for name, spec in schema.items() if isinstance(spec, dict)]
    if prefix and leaves:
        yield f"[{prefix.rstrip('.')}]"
    for name, (_kind, default, _choices) in leaves:
        key = prefix + name
        if key in KEY_HELP:
            yield f"# {KEY_HELP[key]}"
        if key in overrides:
            yield f"{name} = {toml_value(overrides[key])}"
        elif default is None:
            yield f"# {name} = {EXAMPLES.get(key, '...')}"
        else:
            yield f"{name} = {toml_value(default)}"
    if leaves:
        yield ""
    for name, spec in sections:
        yield from _template_lines(spec, f"{prefix}{name}.", overrides)


@click.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option(
    "--backend",
    type=click.Choice(["file", "postgresql", "eventstore"]),
    default="file",
    show_default=True,
    help="The backend the new configuration selects.",
)
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
def init(path: Path | None, backend: str, force: bool) -> None:
    """Write a commented configuration template listing every key with its default, to PATH
    (default: the --config file, else ./pyevents.toml); refuses to overwrite unless --force.

    \b
    Examples:
      pyevents init
      pyevents init --backend postgresql config/pyevents.toml
    """
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
