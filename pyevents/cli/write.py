"""`pyevents append`: one event from options, or many from JSON / JSON Lines as one atomic batch,
optionally guarded by a DCB append condition."""

from __future__ import annotations

import time
from typing import IO

import click

from pyevents.cli import output
from pyevents.cli.inputs import event_from_options, parse_events, parse_query_specs
from pyevents.cli.options import dsn_option, format_option, open_store
from pyevents.errors import BackendUnavailable, ValidationError
from pyevents.model import AppendCondition, Event

RETRY_DELAY = 0.05  # between attempts of `--wait`: a writer holds the lock for milliseconds


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
    "database is down), keep trying for up to SECONDS; the same events are sent, so this is safe.",
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
    """Append events; several are stored as one atomic batch (all or nothing).

    Events come from --file (JSON object, JSON array or JSON Lines; `-` for stdin), from stdin
    when it is piped, or as one event from the options. Prints the positions. Appending an
    event whose event_id is already stored with the same content (timestamp and correlation_id
    included) stores nothing and prints its position: retries are safe.

    \b
    Examples:
      pyevents append --type order.placed --actor-type user --actor-id u-1 \\
          --payload '{"total": 42}' --tag order:A-1
      pyevents append --file events.jsonl
      cat events.json | pyevents append --format json
      pyevents append --file decision.json --if-none-match type:order.cancelled,tag:order:A-1 --after 17
      pyevents append --file events.jsonl --wait 10
    """
    flags_given = any(
        (event_type, actor_type, actor_id, payload, metadata, tags, correlation_id, causation_id, event_id, timestamp)
    )
    if events_file is not None and flags_given:
        raise click.UsageError("give events either with --file or with the event options, not both")
    if after is not None and not conditions:
        raise click.UsageError("--after needs --if-none-match")
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
    else:
        events = _read_events(events_file)
    condition = AppendCondition(parse_query_specs(conditions), after) if conditions else None
    give_up = time.monotonic() + wait
    while True:
        try:
            with open_store(dsn) as store:
                positions = store.append_batch(events, condition)
            break
        except BackendUnavailable:
            if time.monotonic() + RETRY_DELAY > give_up:
                raise
            time.sleep(RETRY_DELAY)
    _show(events, positions, output_format)


def _read_events(events_file: IO[str] | None) -> list[Event]:
    if events_file is None:
        events_file = click.open_file("-", encoding="utf-8")
        if events_file.isatty():
            raise click.UsageError(
                "nothing to append: pipe events to stdin, use --file FILE, or give --type, --actor-type and --actor-id"
            )
    name = str(getattr(events_file, "name", "input"))
    name = "stdin" if name in ("-", "<stdin>") else name
    try:
        text = events_file.read()
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{name} is not UTF-8 text (byte {exc.start})") from None
    return parse_events(text, name)


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
