"""`pyevents tail`: follow the log live (catch-up first), one event per line, flushed."""

from __future__ import annotations

import sys

import click

from pyevents.cli import output
from pyevents.cli.options import (
    EXIT_BAD_INPUT,
    CliError,
    dsn_option,
    filter_fields,
    format_option,
    open_store,
    redact_option,
    redaction,
)
from pyevents.model import QueryOptions, StreamOptions
from pyevents.store import EventStore


@click.command()
@click.option("--type", "event_types", multiple=True, metavar="TYPE", help="Event type (repeatable: any of them).")
@click.option("--actor-id", metavar="ID", help="Only this actor's events.")
@click.option("--correlation-id", metavar="UUID", help="Only events of this correlation.")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Tag the event must carry (repeatable: all of them).")
@click.option("--from-start", is_flag=True, help="Start with the first event of the log.")
@click.option("--since", metavar="ISO8601", help="Start with events whose timestamp is at or after this time.")
@click.option(
    "--after", "after_position", type=click.IntRange(min=0), metavar="POSITION", help="Start after this position."
)
@click.option(
    "--subscription",
    metavar="NAME",
    help="Durable subscription: resume after its checkpoint, and save the checkpoint as events are shown.",
)
@click.option("--no-follow", is_flag=True, help="Stop at the end of the log instead of waiting for new events.")
@format_option("jsonl", "table", default="jsonl")
@redact_option
@dsn_option
def tail(
    event_types: tuple[str, ...],
    actor_id: str | None,
    correlation_id: str | None,
    tags: tuple[str, ...],
    from_start: bool,
    since: str | None,
    after_position: int | None,
    subscription: str | None,
    no_follow: bool,
    output_format: str,
    redact: bool,
    dsn: str | None,
) -> None:
    """Follow events as they are appended, in position order, none skipped. Without a start
    option (or subscription), only events appended from now on are shown. Ctrl-C stops.

    \b
    Examples:
      pyevents tail                                   new events, as JSON lines
      pyevents tail --from-start --no-follow          the whole log, then stop
      pyevents tail --type order.paid --format table
      pyevents tail --subscription shipper            resume where `shipper` stopped
    """
    if sum((from_start, since is not None, after_position is not None)) > 1:
        raise CliError("choose one of --from-start, --since and --after", EXIT_BAD_INPUT)
    with open_store(dsn) as store:
        masked = redaction(store, dsn, redact)
        start = after_position
        if start is None and not from_start and since is None and subscription is None:
            start = _head(store)
        options = StreamOptions(
            after_position=start,
            **filter_fields(since, event_types, actor_id, correlation_id, tags),
            follow=not no_follow,
        )
        with store.stream_events(options, subscription=subscription) as stream:
            if output_format == "table":
                click.echo(output.events_header())
            try:
                for recorded in stream:
                    event = masked(recorded)
                    line = output.dumps_line(event.to_dict()) if output_format == "jsonl" else output.event_line(event)
                    click.echo(line)
                    sys.stdout.flush()
            except KeyboardInterrupt:
                pass  # the stream's context manager saves the subscription checkpoint


def _head(store: EventStore) -> int:
    """The last position right now: where "only new events" starts."""
    latest = store.get_events(QueryOptions(order_direction="desc", limit=1)).events
    return latest[0].position if latest else 0
