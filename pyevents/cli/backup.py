"""Backup and restore: `export` (JSON Lines, gzip, with a manifest), `import` (validated first,
idempotent, resumable) and `copy` between two configured stores, checked by count and checksum."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

import pyevents
from pyevents import transfer
from pyevents.cli import output
from pyevents.cli.options import (
    CliError,
    dsn_option,
    filter_fields,
    format_option,
    open_store,
    redact_option,
    redaction,
)
from pyevents.config import Config
from pyevents.errors import ValidationError
from pyevents.limits import MAX_BATCH_SIZE
from pyevents.model import QueryOptions, check_timestamp
from pyevents.redaction import Redaction


@contextmanager
def progress_bar(label: str, length: int) -> Iterator[transfer.Progress]:
    """A progress bar on stderr when it is a terminal; nothing at all in pipes and logs. The
    callback takes the amount done so far (not an increment)."""
    if length <= 0 or not sys.stderr.isatty():
        yield lambda _done: None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True) as bar:
        state = {"done": 0}

        def advance(done: int) -> None:
            if done > state["done"]:
                bar.update(done - state["done"])
                state["done"] = done

        yield advance


def _summary(pairs: list[tuple[str, object]], output_format: str, document: dict[str, Any]) -> None:
    if output_format == "json":
        click.echo(output.dumps(document))
    else:
        click.echo(output.key_values(pairs))


# Shared by import and copy, which both append in atomic batches.
batch_size_option = click.option(
    "--batch-size",
    type=click.IntRange(1, MAX_BATCH_SIZE),
    default=transfer.DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Events appended per atomic batch.",
)


@click.command("export")
@click.argument("destination", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--since", metavar="ISO8601", help="Events at or after this time.")
@click.option("--until", metavar="ISO8601", help="Events strictly before this time.")
@click.option("--type", "event_types", multiple=True, metavar="TYPE", help="Event type (repeatable: any of them).")
@click.option("--actor-id", metavar="ID", help="Only this actor's events.")
@click.option("--correlation-id", metavar="UUID", help="Only events of this correlation.")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Tag the event must carry (repeatable: all).")
@click.option("--after", "after_position", type=click.IntRange(min=0), metavar="POSITION", help="Only after this.")
@click.option("--no-gzip", is_flag=True, help="Write plain JSON Lines (default: gzip, also to stdout).")
@click.option(
    "--manifest",
    "manifest_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Where to write the manifest (default: DESTINATION.manifest.json; none for stdout unless given).",
)
@redact_option
@format_option("table", "json")
@dsn_option
def export(
    destination: Path,
    since: str | None,
    until: str | None,
    event_types: tuple[str, ...],
    actor_id: str | None,
    correlation_id: str | None,
    tags: tuple[str, ...],
    after_position: int | None,
    no_gzip: bool,
    manifest_file: Path | None,
    redact: bool,
    output_format: str,
    dsn: str | None,
) -> None:
    """Export events in position order as JSON Lines (gzip by default) to DESTINATION (`-` for
    stdout), with a manifest holding the counts and a checksum over the canonical encoding.
    The export is written under a temporary name and renamed when complete.

    \b
    Examples:
      pyevents export backup.jsonl.gz
      pyevents export --type order.placed --since 2024-01-01T00:00:00Z orders.jsonl.gz
      pyevents export --no-gzip - | jq .event_type
      pyevents export --redact for-review.jsonl.gz     sensitive paths masked (not a backup)
    """
    filters: dict[str, Any] = {
        "since": since,
        "until": until,
        "event_types": list(event_types) or None,
        "actor_id": actor_id,
        "correlation_id": correlation_id,
        "tags": list(tags) or None,
        "after_position": after_position,
    }
    options = QueryOptions(
        **filter_fields(since, event_types, actor_id, correlation_id, tags),
        until=None if until is None else check_timestamp(until, "until"),
        after_position=after_position,
    )
    to_stdout = str(destination) == "-"
    if to_stdout and not no_gzip and sys.stdout.isatty():
        raise CliError("refusing to write gzip to a terminal; redirect it, or pass --no-gzip")
    if manifest_file is None and not to_stdout:
        manifest_file = transfer.manifest_path(destination)
    with open_store(dsn) as store:
        backend = store.backend_name
        masked = redaction(store, dsn, redact)
        with progress_bar("exporting", transfer.head(store)) as progress:
            if to_stdout:
                digest = _export_to_stdout(store, options, compress=not no_gzip, progress=progress, redaction=masked)
            else:
                try:
                    with transfer.export_file(destination, compress=not no_gzip) as stream:
                        digest = transfer.export_events(store, stream, options, progress=progress, redaction=masked)
                except OSError as exc:
                    raise CliError(f"cannot write {destination}: {exc.strerror}") from None
    manifest = transfer.Manifest.of(
        digest,
        source_backend=backend,
        filters={key: value for key, value in filters.items() if value is not None},
        compression="none" if no_gzip else "gzip",
        redacted=list(masked.paths),
    )
    if manifest_file is not None:
        try:
            manifest.write(manifest_file)
        except OSError as exc:
            raise CliError(f"cannot write {manifest_file}: {exc.strerror}") from None
    if to_stdout:
        return
    _summary(
        [
            ("exported", digest.count),
            ("file", destination),
            ("manifest", manifest_file),
            ("positions", f"{digest.first_position}..{digest.last_position}" if digest.count else ""),
            ("checksum", digest.checksum),
        ],
        output_format,
        {"file": str(destination), "manifest": str(manifest_file), **manifest.to_json()},
    )


def _export_to_stdout(
    store: pyevents.EventStore,
    options: QueryOptions,
    *,
    compress: bool,
    progress: transfer.Progress,
    redaction: Redaction,
) -> transfer.Digest:
    stdout = sys.stdout.buffer
    if not compress:
        return transfer.export_events(store, stdout, options, progress=progress, redaction=redaction)
    import gzip

    with gzip.GzipFile(fileobj=stdout, mode="wb", mtime=0) as zipped:
        return transfer.export_events(store, zipped, options, progress=progress, redaction=redaction)  # type: ignore[arg-type]


@click.command("import")
@click.argument("source", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option(
    "--manifest",
    "manifest_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    metavar="FILE",
    help="Manifest to check the file against (default: SOURCE.manifest.json when it exists).",
)
@click.option(
    "--allow-redacted",
    is_flag=True,
    help='Import an export made with --redact anyway: its masked values are stored as "[REDACTED]".',
)
@batch_size_option
@format_option("table", "json")
@dsn_option
def import_(
    source: Path,
    manifest_file: Path | None,
    allow_redacted: bool,
    batch_size: int,
    output_format: str,
    dsn: str | None,
) -> None:
    """Import events from an export or any JSON Lines file (gzip or plain; `-` for stdin).

    Every line is validated (each needs its event_id, timestamp and correlation_id), and the file checked
    against its manifest (counts and checksum), before anything is written. Events are
    appended in the file's order, in batches; events already stored with the same id and
    content are skipped, so an interrupted import is resumed by running it again, and nothing
    is stored twice. An export made with --redact (its manifest says so) is refused unless
    --allow-redacted is given. Each event records the importing login as its appended_by.

    \b
    Examples:
      pyevents import backup.jsonl.gz
      pyevents --config restore.toml import backup.jsonl.gz --format json
      zcat backup.jsonl.gz | pyevents import -
    """
    if str(source) == "-":
        with transfer.seekable_copy(sys.stdin.buffer) as spooled:
            _import_file(spooled, "stdin", manifest_file, allow_redacted, batch_size, output_format, dsn)
        return
    if manifest_file is None and transfer.manifest_path(source).exists():
        manifest_file = transfer.manifest_path(source)
    _import_file(source, str(source), manifest_file, allow_redacted, batch_size, output_format, dsn)


def _import_file(
    path: Path,
    name: str,
    manifest_file: Path | None,
    allow_redacted: bool,
    batch_size: int,
    output_format: str,
    dsn: str | None,
) -> None:
    manifest = None if manifest_file is None else transfer.Manifest.read(manifest_file)
    if manifest is not None and manifest.redacted and not allow_redacted:
        raise ValidationError(
            f"{name} was exported with --redact ({', '.join(manifest.redacted)} masked): importing it would store "
            '"[REDACTED]" in place of those values; pass --allow-redacted if that is meant'
        )
    digest = transfer.check_file(path, manifest, source=name, require=transfer.IMPORT_REQUIRES)
    with open_store(dsn) as store, progress_bar("importing", digest.count) as progress:
        report = transfer.import_events(
            store,
            transfer.read_events(path, name, require=transfer.IMPORT_REQUIRES),
            batch_size=batch_size,
            progress=progress,
        )
    skipped = report.count - report.stored
    _summary(
        [
            ("imported", report.count),
            ("stored", report.stored),
            ("already present", skipped),
            ("positions", f"{report.first_position}..{report.last_position}"),
            ("checksum", digest.checksum),
            ("manifest", "checked" if manifest is not None else "none"),
        ],
        output_format,
        {
            "count": report.count,
            "stored": report.stored,
            "already_present": skipped,
            "first_position": report.first_position,
            "last_position": report.last_position,
            "checksum": digest.checksum,
            "manifest_checked": manifest is not None,
        },
    )


@click.command("copy")
@click.option(
    "--from",
    "source_config",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    metavar="FILE",
    help="Configuration of the store to copy from.",
)
@click.option(
    "--to",
    "target_config",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    metavar="FILE",
    help="Configuration of the store to copy into (empty, or holding an interrupted copy).",
)
@batch_size_option
@format_option("table", "json")
def copy(source_config: Path, target_config: Path, batch_size: int, output_format: str) -> None:
    """Copy every event from one store to another (any backends), in order, then check both
    by count and checksum; exit 1 when they differ. Running it again after an interruption
    completes the copy without storing anything twice.

    \b
    Examples:
      pyevents copy --from files.toml --to postgres.toml
    """
    source_settings, target_settings = Config.load(source_config), Config.load(target_config)
    with pyevents.open_store(config=source_settings) as source, pyevents.open_store(config=target_settings) as target:
        if source.backend_name == target.backend_name and _same_place(source_settings, target_settings):
            raise ValidationError(f"{source_config} and {target_config} name the same store")
        with (
            progress_bar("copying", transfer.head(source)) as progress,
            progress_bar("verifying", transfer.head(source)) as verify_progress,
        ):
            report = transfer.copy_events(
                source, target, batch_size=batch_size, progress=progress, verify_progress=verify_progress
            )
    identical = (report.source.count, report.source.checksum) == (report.target.count, report.target.checksum)
    _summary(
        [
            ("copied", report.source.count),
            ("stored", report.stored),
            ("source", f"{source_settings.backend}: {report.source.count} events, {report.source.checksum}"),
            ("target", f"{target_settings.backend}: {report.target.count} events, {report.target.checksum}"),
            ("identical", "yes" if identical else "NO"),
        ],
        output_format,
        {
            "stored": report.stored,
            "source": {"count": report.source.count, "checksum": report.source.checksum},
            "target": {"count": report.target.count, "checksum": report.target.checksum},
            "identical": identical,
        },
    )
    if not identical:
        raise CliError("the target does not hold exactly the source's events (see the counts and checksums above)")


def _same_place(first: Config, second: Config) -> bool:
    if first.backend == "file":
        one = Path(first.section("file")["data_directory"]).resolve()
        return one == Path(second.section("file")["data_directory"]).resolve()
    return first.section(first.backend) == second.section(second.backend)
