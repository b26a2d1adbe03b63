"""`pyevents demo`: a small order story on the configured store, showing batches, DCB
conditional appends (one accepted, one rejected) and queries, as readable tables."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import click

from pyevents.cli import output
from pyevents.cli.options import dsn_option, open_store
from pyevents.errors import AppendConditionViolated, BackendUnavailable
from pyevents.model import AppendCondition, Event, Query, QueryItem, QueryOptions, utc_now
from pyevents.store import EventStore


@dataclass(frozen=True)
class Step:
    event_type: str
    actor_type: str
    actor_id: str
    payload: dict[str, Any]
    tags: tuple[str, ...]


def story(order_id: str, customer_id: str) -> list[Step]:
    """An online order from registration to scheduled shipment."""
    order, customer = f"order:{order_id}", f"customer:{customer_id}"
    book = {"sku": "BOOK-001", "title": "Notes on the Analytical Engine", "quantity": 1, "unit_price": 24.0}
    pens = {"sku": "PEN-007", "title": "Fountain pen", "quantity": 2, "unit_price": 3.5}
    return [
        Step("customer.registered", "customer", customer_id, {"name": "Ada Lovelace"}, (customer,)),
        Step("cart.item_added", "customer", customer_id, book, (customer, f"cart:{order_id}")),
        Step("cart.item_added", "customer", customer_id, pens, (customer, f"cart:{order_id}")),
        Step("order.placed", "customer", customer_id, {"order_id": order_id, "total": 31.0}, (order, customer)),
        Step("payment.authorized", "service", "payments", {"order_id": order_id, "amount": 31.0}, (order, "payment")),
        Step("inventory.reserved", "service", "warehouse", {"order_id": order_id, "lines": 2}, (order, "warehouse")),
        Step("order.confirmed", "service", "orders", {"order_id": order_id}, (order,)),
        Step(
            "shipment.scheduled", "service", "shipping", {"order_id": order_id, "carrier": "DHL"}, (order, "shipment")
        ),
    ]


def chain(steps: Sequence[Step], correlation_id: uuid.UUID) -> list[Event]:
    """Events one minute apart, ending now, each caused by the one before."""
    start = utc_now() - timedelta(minutes=len(steps))
    events: list[Event] = []
    for index, step in enumerate(steps):
        events.append(
            Event(
                event_type=step.event_type,
                actor_type=step.actor_type,
                actor_id=step.actor_id,
                payload=step.payload,
                metadata={"tags": list(step.tags), "source": "pyevents demo"},
                correlation_id=correlation_id,
                causation_id=events[-1].event_id if events else None,
                timestamp=start + timedelta(minutes=index),
            )
        )
    return events


@click.command()
@dsn_option
def demo(dsn: str | None) -> None:
    """Run a short order story on the configured store and show what it wrote.

    Appends a batch of 8 events (one correlation id, tags per order and customer), then a
    conditional append that succeeds (ship: no cancellation so far) and one that is rejected
    (cancel: the order has shipped), then queries by type, by tag and by correlation.

    By default it uses the configured store (the file backend in ./.pyevents without a
    configuration); with --dsn it runs on PostgreSQL, whose schema must be installed first.

    \b
    Examples:
      pyevents demo
      pyevents db upgrade --dsn postgresql://postgres@localhost/events
      pyevents demo --dsn postgresql://postgres@localhost/events
    """
    with open_store(dsn) as store:
        health = store.health_check()
        if not health.healthy:
            hint = " Install the schema first: pyevents db upgrade" if store.backend_name == "postgresql" else ""
            raise BackendUnavailable(
                f"the {store.backend_name} store is not ready: {health.details.get('error', 'unhealthy')}.{hint}"
            )
        _run(store)


def _run(store: EventStore) -> None:
    order_id = f"A-{uuid.uuid4().hex[:6].upper()}"
    correlation_id = uuid.uuid4()
    order_tag = f"order:{order_id}"
    click.echo(f"pyevents demo on the {store.backend_name} store: order {order_id}, correlation {correlation_id}")

    events = chain(story(order_id, "c-42"), correlation_id)
    positions = store.append_batch(events)
    _heading(f"1. appended a batch of {len(events)} events atomically")
    click.echo(output.table(("position", "type", "actor"), _rows(events, positions)))

    decision = store.read(Query([QueryItem(tags=[order_tag])]))
    shipped = _follow_up(events[-1], "order.shipped", "service", "shipping", {"order_id": order_id}, order_tag)
    no_cancellation = AppendCondition(Query([QueryItem(types=["order.cancelled"], tags=[order_tag])]), decision.head)
    shipped_at = store.append(shipped, no_cancellation)
    _heading("2. conditional append accepted")
    click.echo(
        f"order.shipped at position {shipped_at}: no order.cancelled tagged {order_tag} "
        f"after position {decision.head} (the head of the decision read)"
    )

    cancel = _follow_up(shipped, "order.cancelled", "customer", "c-42", {"order_id": order_id}, order_tag)
    not_shipped = AppendCondition(Query([QueryItem(types=["order.shipped"], tags=[order_tag])]))
    _heading("3. conditional append rejected")
    try:
        store.append(cancel, not_shipped)
        click.echo("order.cancelled was appended (unexpected: the order had shipped)")
    except AppendConditionViolated as exc:
        click.echo(f"order.cancelled refused, nothing written: AppendConditionViolated: {exc}")

    first = positions[0]
    by_type = QueryOptions(event_types=["order.placed", "order.shipped"], after_position=first - 1 if first else None)
    _heading("4. query by type: order.placed, order.shipped (this run)")
    click.echo(output.events_table(store.get_events(by_type).events))
    _heading(f"5. query by tag: {order_tag}")
    click.echo(output.events_table(store.get_events(QueryOptions(tags=[order_tag])).events))
    _heading(f"6. the whole story, by correlation {correlation_id}")
    click.echo(output.events_table(store.get_events_by_correlation(correlation_id)))
    click.echo(
        f"\nTry: pyevents query --correlation-id {correlation_id} --format json\n     pyevents read --tag {order_tag}"
    )


def _follow_up(
    cause: Event, event_type: str, actor_type: str, actor_id: str, payload: dict[str, Any], tag: str
) -> Event:
    return Event(
        event_type=event_type,
        actor_type=actor_type,
        actor_id=actor_id,
        payload=payload,
        metadata={"tags": [tag], "source": "pyevents demo"},
        correlation_id=cause.correlation_id,
        causation_id=cause.event_id,
    )


def _rows(events: Sequence[Event], positions: Sequence[int]) -> list[list[object]]:
    return [[p, e.event_type, f"{e.actor_type}:{e.actor_id}"] for e, p in zip(events, positions, strict=True)]


def _heading(title: str) -> None:
    click.echo(f"\n== {title}")
