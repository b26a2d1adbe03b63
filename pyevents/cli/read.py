"""Reading commands: `query` (filtered, paginated), `get` (one event by id) and `read` (DCB)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import cast

import click

from pyevents.cli import output
from pyevents.cli.inputs import parse_query_json
from pyevents.cli.options import (
    CliError,
    dsn_option,
    filter_fields,
    format_option,
    listing_options,
    open_store,
    redact_option,
    redaction,
)
from pyevents.model import (
    EventPage,
    OrderBy,
    Query,
    QueryItem,
    QueryOptions,
    RecordedEvent,
    check_timestamp,
)
from pyevents.redaction import Redaction
from pyevents.store import EventStore

DEFAULT_LIMIT = 100
DEFAULT_PAGE_SIZE_ALL = 1000


@click.command()
@click.option("--since", metavar="ISO8601", help="Events at or after this time (with an offset, or Z).")
@click.option("--until", metavar="ISO8601", help="Events strictly before this time.")
@click.option("--type", "event_types", multiple=True, metavar="TYPE", help="Event type (repeatable: any of them).")
@click.option("--actor-id", metavar="ID", help="Only this actor's events.")
@click.option("--correlation-id", metavar="UUID", help="Only events of this correlation.")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Tag the event must carry (repeatable: all of them).")
@click.option(
    "--after", "after_position", type=click.IntRange(min=0), metavar="POSITION", help="Only after this position."
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    metavar="N",
    help=f"Events per page (default {DEFAULT_LIMIT}; {DEFAULT_PAGE_SIZE_ALL} with --all).",
)
@click.option("--offset", type=click.IntRange(min=0), default=0, metavar="N", help="Skip this many matches first.")
@click.option(
    "--order-by",
    type=click.Choice(["position", "timestamp", "event_id"]),
    default="position",
    show_default=True,
    help="Sort key (ties broken by position).",
)
@click.option("--desc", is_flag=True, help="Newest (largest key) first.")
@click.option("--cursor", metavar="CURSOR", help="Continue after a previous page (its next cursor).")
@click.option("--all", "fetch_all", is_flag=True, help="Follow the cursor through every page.")
@listing_options
@redact_option
@dsn_option
def query(
    since: str | None,
    until: str | None,
    event_types: tuple[str, ...],
    actor_id: str | None,
    correlation_id: str | None,
    tags: tuple[str, ...],
    after_position: int | None,
    limit: int | None,
    offset: int,
    order_by: str,
    desc: bool,
    cursor: str | None,
    fetch_all: bool,
    output_format: str,
    no_header: bool,
    wide: bool,
    redact: bool,
    dsn: str | None,
) -> None:
    """Query events: every filter must hold; one page at a time, or --all.

    \b
    Examples:
      pyevents query --type order.placed --type order.shipped --limit 20
      pyevents query --tag order:A-1 --format json
      pyevents query --since 2024-05-01T00:00:00Z --order-by timestamp --desc
      pyevents query --cursor eyJ... (the next cursor printed by the previous page)
      pyevents query --all --format jsonl > events.jsonl
      pyevents query --all --format csv > events.csv
      pyevents query --type order.placed --wide --no-header | less -S
      pyevents query --all --redact --format csv > for-review.csv
    """
    options = QueryOptions(
        **filter_fields(since, event_types, actor_id, correlation_id, tags),
        until=None if until is None else check_timestamp(until, "until"),
        after_position=after_position,
        limit=limit or (DEFAULT_PAGE_SIZE_ALL if fetch_all else DEFAULT_LIMIT),
        offset=offset,
        order_by=cast(OrderBy, order_by),  # click.Choice checked it
        order_direction="desc" if desc else "asc",
        cursor=cursor,
    )
    listing = Listing(output_format, header=not no_header, wide=wide)
    with open_store(dsn) as store:
        masked = redaction(store, dsn, redact)
        if not fetch_all:
            page = store.get_events(options)
            _show_page(EventPage([masked(event) for event in page.events], page.next_cursor, page.has_more), listing)
            return
        if output_format == "jsonl":  # stream: constant memory however long the log
            for event in _every_event(store, options):
                click.echo(output.dumps_line(masked(event).to_dict()))
            return
        _show_page(EventPage([masked(event) for event in _every_event(store, options)], None, False), listing)


def _every_event(store: EventStore, options: QueryOptions) -> Iterator[RecordedEvent]:
    """Every page after the first continues by cursor, so the offset applies once."""
    while True:
        page = store.get_events(options)
        yield from page.events
        if not page.has_more:
            return
        options = dataclasses.replace(options, offset=0, cursor=page.next_cursor)


@dataclasses.dataclass(frozen=True)
class Listing:
    """How a list of events is printed: --format, --no-header, --wide."""

    output_format: str
    header: bool = True
    wide: bool = False

    def rows(self, events: list[RecordedEvent]) -> str:
        """The events as a table, CSV or TSV."""
        if self.output_format in ("csv", "tsv"):
            return output.events_delimited(events, self.output_format, header=self.header)
        return output.events_table(events, header=self.header, wide=self.wide)


def _show_page(page: EventPage, listing: Listing) -> None:
    output_format = listing.output_format
    if output_format == "json":
        document = {
            "events": [event.to_dict() for event in page.events],
            "next_cursor": page.next_cursor,
            "has_more": page.has_more,
        }
        click.echo(output.dumps(document))
    elif output_format == "jsonl":
        for event in page.events:
            click.echo(output.dumps_line(event.to_dict()))
    else:
        text = listing.rows(page.events)
        if text:
            click.echo(text)
        if page.has_more and output_format == "table":
            click.echo(f"more events: add --cursor {page.next_cursor} (or use --all)", err=not listing.header)


@click.command()
@click.argument("event_id")
@format_option()
@redact_option
@dsn_option
def get(event_id: str, output_format: str, redact: bool, dsn: str | None) -> None:
    """Show one event by its id; exit 1 when there is none.

    \b
    Examples:
      pyevents get 6f1c2a9e-0d5b-4c1e-9a53-2f4b8f0e7d11
      pyevents get 6f1c2a9e-0d5b-4c1e-9a53-2f4b8f0e7d11 --format json
    """
    with open_store(dsn) as store:
        event = store.get_event(event_id)
        if event is None:
            raise CliError(f"event {event_id} not found")
        event = redaction(store, dsn, redact)(event)
    if output_format == "table":
        click.echo(output.event_details(event))
    elif output_format == "json":
        click.echo(output.dumps(event.to_dict()))
    else:
        click.echo(output.dumps_line(event.to_dict()))


@click.command()
@click.option("--type", "types", multiple=True, metavar="TYPE", help="Event type (repeatable: any of them).")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Tag (repeatable: all of them).")
@click.option(
    "--query",
    "query_json",
    metavar="JSON",
    help='The whole query: {"items": [{"types": [...], "tags": [...]}, ...]} or {"all": true}.',
)
@click.option("--after", type=click.IntRange(min=0), metavar="POSITION", help="Only events after this position.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="At most this many events.")
@listing_options
@redact_option
@dsn_option
def read(
    types: tuple[str, ...],
    tags: tuple[str, ...],
    query_json: str | None,
    after: int | None,
    limit: int | None,
    output_format: str,
    no_header: bool,
    wide: bool,
    redact: bool,
    dsn: str | None,
) -> None:
    """DCB read: events matching a query, in order, and the head to decide on.

    --type and --tag form one query item (type is any of the types AND the event carries all
    the tags); --query gives several items (OR'ed). With neither, every event matches. Pass the
    printed head as `append --after` to append only if nothing relevant happened since.
    (With --format jsonl, csv or tsv, or --no-header, the head goes to stderr.)

    \b
    Examples:
      pyevents read --tag order:A-1
      pyevents read --type order.placed --type order.cancelled --tag customer:c-42 --after 100
      pyevents read --query '{"items": [{"types": ["order.shipped"]}, {"tags": ["vip"]}]}'
    """
    if query_json is not None and (types or tags):
        raise click.UsageError("give either --query or --type/--tag, not both")
    if query_json is not None:
        dcb_query = parse_query_json(query_json)
    elif types or tags:
        dcb_query = Query([QueryItem(types=types, tags=tags)])
    else:
        dcb_query = Query.all()
    with open_store(dsn) as store:
        result = store.read(dcb_query, after=after, limit=limit)
        masked: Redaction = redaction(store, dsn, redact)
    result = dataclasses.replace(result, events=[masked(event) for event in result.events])
    if output_format == "json":
        document = {"events": [event.to_dict() for event in result.events], "head": result.head}
        click.echo(output.dumps(document))
    elif output_format == "jsonl":
        for event in result.events:
            click.echo(output.dumps_line(event.to_dict()))
        click.echo(f"head: {_head(result.head)}", err=True)
    else:
        listing = Listing(output_format, header=not no_header, wide=wide)
        text = listing.rows(result.events)
        if text:
            click.echo(text)
        click.echo(f"head: {_head(result.head)}", err=output_format != "table" or no_header)


def _head(head: int | None) -> str:
    return "none (no events)" if head is None else str(head)
