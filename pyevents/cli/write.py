"""`pyevents append`: one event from options, or many from JSON / JSON Lines as one atomic batch,
optionally guarded by a DCB append condition."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

import click

from pyevents import transfer
from pyevents.cli import output
from pyevents.cli.backup import progress_bar
from pyevents.cli.inputs import event_from_options, parse_events, parse_query_specs
from pyevents.cli.options import dsn_option, format_option, open_store
from pyevents.errors import BackendUnavailable, ValidationError
from pyevents.limits import MAX_BATCH_SIZE
from pyevents.model import AppendCondition, Event
from pyevents.store import EventStore

APPEND_BATCH_SIZE = 1000
RETRY_DELAY = 0.05  # between attempts of `--wait`: a writer holds the lock for milliseconds
T = TypeVar("T")


@click.command()
@click.option(
    "--file",
    "events_file",
    type=click.File("r", encoding="utf-8"),
    metavar="FILE",
    help="Events as a JSON object, a JSON array or JSON Lines; `-` reads stdin.",
)
@click.option("--type", "event_type", metavar="TYPE", help="Event type of the single event to append.")
@click.option("--actor-type", metavar="TYPE", help="Who caused it: kind of actor (user, service...).")
@click.option("--actor-id", metavar="ID", help="Who caused it: the actor's id.")
@click.option("--payload", metavar="JSON", help="Payload as a JSON object (default {}).")
@click.option("--metadata", metavar="JSON", help="Metadata as a JSON object (default {}).")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Tag, merged into metadata.tags (repeatable).")
@click.option("--correlation-id", metavar="UUID", help="Correlation id (default: a new one).")
@click.option("--causation-id", metavar="UUID", help="Id of the event that caused this one.")
@click.option("--event-id", metavar="UUID", help="Event id (default: a new one).")
@click.option("--timestamp", metavar="ISO8601", help="When it happened, with an offset (default: now).")
@click.option(
    "--if-none-match",
    "conditions",
    multiple=True,
    metavar="SPEC",
    help="Fail (exit 3) if a matching event exists: `type:A,type:B,tag:x` is one query item "
    "(type is one of the types AND all tags); repeat to OR items; `all` matches any event.",
)
@click.option(
    "--after",
    type=click.IntRange(min=0),
    metavar="POSITION",
    help="With --if-none-match: only events after this position count (the head you read).",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=0,
    metavar="SECONDS",
    help="While the store is unavailable (another process holds the file backend's writer lock, or the "
    "database is down), keep trying for up to SECONDS; the same events are sent, so this is safe. "
    "Applies to atomic appends (up to 10,000 events), not to longer JSON Lines appended batch by batch.",
)
@format_option()
@dsn_option
def append(
    events_file: IO[str] | None,
    event_type: str | None,
    actor_type: str | None,
    actor_id: str | None,
    payload: str | None,
    metadata: str | None,
    tags: tuple[str, ...],
    correlation_id: str | None,
    causation_id: str | None,
    event_id: str | None,
    timestamp: str | None,
    conditions: tuple[str, ...],
    after: int | None,
    wait: float,
    output_format: str,
    dsn: str | None,
) -> None:
    """Append events; up to 10,000 are stored as one atomic batch (all or nothing).

    Events come from --file (JSON object, JSON array or JSON Lines; `-` for stdin), from stdin
    when it is piped, or as one event from the options. Prints the positions. Appending an
    event whose event_id is already stored with the same content (timestamp and correlation_id
    included) stores nothing and prints its position: retries are safe.

    JSON Lines of any length are read in bounded memory: every line is validated first, then
    more than 10,000 events are appended in order in batches of 1,000 (each atomic). If that is
    interrupted, running the same command again stores the rest and nothing twice.

    \b
    Examples:
      pyevents append --type order.placed --actor-type user --actor-id u-1 \\
          --payload '{"total": 42}' --tag order:A-1
      pyevents append --file events.jsonl
      cat events.json | pyevents append --format json
      pyevents append --file decision.json --if-none-match type:order.cancelled,tag:order:A-1 --after 17
    """
    flags_given = any(
        (event_type, actor_type, actor_id, payload, metadata, tags, correlation_id, causation_id, event_id, timestamp)
    )
    if events_file is not None and flags_given:
        raise click.UsageError("give events either with --file or with the event options, not both")
    if after is not None and not conditions:
        raise click.UsageError("--after needs --if-none-match")
    condition = AppendCondition(parse_query_specs(conditions), after) if conditions else None
    if flags_given:
        events = [
            event_from_options(
                event_type=event_type,
                actor_type=actor_type,
                actor_id=actor_id,
                payload=payload,
                metadata=metadata,
                tags=tags,
                correlation_id=correlation_id,
                causation_id=causation_id,
                event_id=event_id,
                timestamp=timestamp,
            )
        ]
        _show(events, _waiting(wait, dsn, lambda store: store.append_batch(events, condition)), output_format)
        return
    stream, name = _input_stream(events_file)
    first_line = _first_content_line(stream, name)
    if not _is_json_object(first_line):
        # One JSON document (an object over several lines, or an array): parsed whole.
        events = parse_events(first_line + _read_rest(stream, name), name)
        _show(events, _waiting(wait, dsn, lambda store: store.append_batch(events, condition)), output_format)
        return
    with tempfile.TemporaryDirectory(prefix="pyevents-append-") as directory:
        spool = Path(directory) / "events.jsonl"
        _spool_lines(first_line, stream, name, spool)
        count = transfer.check_file(spool, None, source=name).count  # everything valid before any write
        if count <= MAX_BATCH_SIZE:
            events = list(transfer.read_events(spool, name))
            _show(events, _waiting(wait, dsn, lambda store: store.append_batch(events, condition)), output_format)
        elif condition is not None:
            raise ValidationError(
                f"a conditional append is one atomic batch of at most {MAX_BATCH_SIZE} events; {name} holds {count}"
            )
        else:
            # Not retried by --wait: events without an event_id would get new ids on a second pass.
            with open_store(dsn) as store:
                _append_in_batches(store, spool, name, count, output_format)


def _waiting(wait: float, dsn: str | None, work: Callable[[EventStore], T]) -> T:
    """`work` on an open store; while the store is unavailable (another process holds the file
    backend's writer lock, or the database is down), tried again until `wait` seconds are over."""
    give_up = time.monotonic() + wait
    while True:
        try:
            with open_store(dsn) as store:
                return work(store)
        except BackendUnavailable:
            if time.monotonic() + RETRY_DELAY > give_up:
                raise
            time.sleep(RETRY_DELAY)


def _input_stream(events_file: IO[str] | None) -> tuple[IO[str], str]:
    if events_file is None:
        events_file = click.open_file("-", encoding="utf-8")
        if events_file.isatty():
            raise click.UsageError(
                "nothing to append: pipe events to stdin, use --file FILE, or give --type, --actor-type and --actor-id"
            )
        return events_file, "stdin"
    name = str(getattr(events_file, "name", "input"))
    return events_file, "stdin" if name in ("-", "<stdin>") else name


def _not_utf8(name: str, exc: UnicodeDecodeError) -> ValidationError:
    return ValidationError(f"{name} is not UTF-8 text (byte {exc.start})")


def _first_content_line(stream: IO[str], name: str) -> str:
    """The input up to and including its first line that is not blank."""
    skipped = ""
    try:
        for line in stream:
            if line.strip():
                return skipped + line
            skipped += line
    except UnicodeDecodeError as exc:
        raise _not_utf8(name, exc) from None
    return skipped


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _read_rest(stream: IO[str], name: str) -> str:
    try:
        return stream.read()
    except UnicodeDecodeError as exc:
        raise _not_utf8(name, exc) from None


def _spool_lines(first: str, stream: IO[str], name: str, spool: Path) -> None:
    """JSON Lines copied to a file line by line, so any number is validated, then appended,
    in bounded memory (stdin cannot be read twice)."""
    with open(spool, "w", encoding="utf-8") as copy:
        copy.write(first)
        try:
            for line in stream:
                copy.write(line)
        except UnicodeDecodeError as exc:
            raise _not_utf8(name, exc) from None


def _append_in_batches(store: EventStore, spool: Path, name: str, count: int, output_format: str) -> None:
    """More events than one batch holds: appended in order, batch by batch (each atomic), the
    output streamed as they are stored. Appends are idempotent, so after an interruption the
    same command completes the work without storing anything twice."""
    if output_format == "json":
        click.echo('{\n  "positions": [', nl=False)
    separator = "\n    "

    def show(batch: list[Event], positions: list[int]) -> None:
        nonlocal separator
        if output_format == "json":
            click.echo(separator + ",\n    ".join(map(str, positions)), nl=False)
            separator = ",\n    "
        elif output_format == "jsonl":
            for event, position in zip(batch, positions, strict=True):
                click.echo(output.dumps_line({"position": position, "event_id": str(event.event_id)}))

    with progress_bar("appending", count) as progress:
        report = transfer.import_events(
            store, transfer.read_events(spool, name), batch_size=APPEND_BATCH_SIZE, progress=progress, on_batch=show
        )
    if output_format == "json":
        click.echo("\n  ]\n}")
    elif output_format == "table":
        click.echo(
            f"appended {report.count} events in batches of {APPEND_BATCH_SIZE} "
            f"(positions {report.first_position}..{report.last_position}, {report.stored} newly stored)"
        )


def _show(events: list[Event], positions: list[int], output_format: str) -> None:
    if output_format == "json":
        click.echo(output.dumps({"positions": positions}))
    elif output_format == "jsonl":
        for event, position in zip(events, positions, strict=True):
            click.echo(output.dumps_line({"position": position, "event_id": str(event.event_id)}))
    else:
        rows = [[p, e.event_id, e.event_type] for e, p in zip(events, positions, strict=True)]
        click.echo(output.table(("position", "event_id", "type"), rows))
        click.echo(f"appended {len(events)} event{'s' if len(events) != 1 else ''}")
