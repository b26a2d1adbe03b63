"""The seeded, realistic event of every benchmark: one shape for pyevents, raw SQL and the peers.

An event looks like an order-processing event of a multi-tenant shop: a nested JSON payload of
about 300-500 bytes (order, lines, customer, address) and metadata carrying tags
(`tenant:N`, `order:HEX`, `region:R`) plus tracing fields. Everything derives from one seed, so
two runs with the same seed write the same content (event ids aside, which must be unique).
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pyevents.model import Event, encode_json

EVENT_TYPES = (
    "OrderPlaced",
    "OrderPaid",
    "OrderPacked",
    "OrderShipped",
    "OrderDelivered",
    "OrderCancelled",
    "PaymentAuthorized",
    "PaymentCaptured",
    "RefundRequested",
    "RefundIssued",
    "CustomerRegistered",
    "AddressChanged",
    "CartUpdated",
    "InvoiceIssued",
    "StockReserved",
    "StockReleased",
)
ACTOR_TYPES = ("user", "service", "admin")
REGIONS = ("eu", "us", "apac", "latam")
CITIES = ("Lyon", "Porto", "Gdansk", "Austin", "Osaka", "Recife", "Tartu", "Perth", "Leeds", "Turin")
STREETS = ("Harbour Road", "Rue des Lilas", "Main Street", "Calle Mayor", "Ringstrasse", "Elm Avenue")
WORDS = ("gift", "express", "fragile", "weekend", "office", "repeat", "promo", "bulk", "returnable", "priority")
CURRENCIES = ("EUR", "USD", "GBP", "JPY")


@dataclass(frozen=True)
class DataShape:
    """How the generated log is spread: cardinalities of the filter columns."""

    actors: int = 10_000
    tenants: int = 100
    events_per_correlation: int = 5


class EventFactory:
    """Deterministic events from a seed. `event(i)` is the i-th event of the seeded sequence."""

    def __init__(self, seed: int, shape: DataShape | None = None) -> None:
        self.seed = seed
        self.shape = shape or DataShape()
        self._rng = random.Random(seed)

    def _payload(self, rng: random.Random, order_id: str) -> dict[str, Any]:
        currency = rng.choice(CURRENCIES)
        lines = [
            {
                "sku": f"SKU-{rng.randrange(100_000):05d}",
                "qty": rng.randint(1, 5),
                "price": {"amount": round(rng.uniform(1, 250), 2), "currency": currency},
            }
            for _ in range(rng.randint(1, 3))
        ]
        return {
            "order": {
                "id": order_id,
                "lines": lines,
                "total": round(sum(line["price"]["amount"] * line["qty"] for line in lines), 2),  # type: ignore[index]
                "currency": currency,
            },
            "customer": {
                "id": f"cus_{rng.getrandbits(40):010x}",
                "email": f"customer{rng.randrange(1_000_000)}@example.com",
                "address": {
                    "street": f"{rng.randint(1, 300)} {rng.choice(STREETS)}",
                    "city": rng.choice(CITIES),
                    "postcode": f"{rng.randrange(100_000):05d}",
                    "country": rng.choice(("FR", "PT", "PL", "US", "JP", "BR", "EE", "AU", "GB", "IT")),
                },
            },
            "channel": rng.choice(("web", "mobile", "pos", "api")),
            "notes": " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))),
        }

    def fields(self, index: int, rng: random.Random | None = None) -> dict[str, Any]:
        """The i-th event's fields as plain values (no Event object: fast for bulk loads)."""
        rng = rng or random.Random(self.seed * 1_000_003 + index)
        shape = self.shape
        correlation_index = index // shape.events_per_correlation
        correlation_id = uuid.UUID(int=random.Random(self.seed * 7_919 + correlation_index).getrandbits(128), version=4)
        order_id = f"{correlation_index:x}"
        tenant = rng.randrange(shape.tenants)
        payload = self._payload(rng, order_id)
        metadata = {
            "tags": sorted([f"tenant:{tenant}", f"order:{order_id}", f"region:{REGIONS[tenant % len(REGIONS)]}"]),
            "source": "bench",
            "trace_id": f"{rng.getrandbits(128):032x}",
            "client": {"app": "checkout", "version": f"2.{rng.randint(0, 9)}.{rng.randint(0, 20)}"},
        }
        return {
            "event_type": EVENT_TYPES[rng.randrange(len(EVENT_TYPES))],
            "actor_type": ACTOR_TYPES[rng.randrange(len(ACTOR_TYPES))],
            "actor_id": f"user-{rng.randrange(shape.actors)}",
            "correlation_id": correlation_id,
            "causation_id": None,
            "schema_version": "1.0",
            "payload": payload,
            "metadata": metadata,
        }

    def event(self, index: int, *, timestamp: datetime | None = None, tags: list[str] | None = None) -> Event:
        """The i-th event as a validated pyevents Event (a new event_id every call)."""
        fields = self.fields(index)
        if tags is not None:
            fields["metadata"] = {**fields["metadata"], "tags": tags}
        if timestamp is not None:
            fields["timestamp"] = timestamp
        return Event(**fields)

    def events(self, start: int, count: int) -> list[Event]:
        return [self.event(i) for i in range(start, start + count)]


def fresh_copy(event: Event) -> Event:
    """The same content under a new event_id and the current time, without re-validating
    (the content was validated when `event` was built): cheap enough to run inside timed loops."""
    clone = object.__new__(Event)
    clone.__dict__.update(event.__dict__)
    object.__setattr__(clone, "event_id", uuid.uuid4())
    object.__setattr__(clone, "timestamp", datetime.now(UTC))
    return clone


class EventPool:
    """A cycle over a few thousand pre-built events, each handed out under a fresh id."""

    def __init__(self, factory: EventFactory, start: int, size: int = 2_000) -> None:
        self._events = factory.events(start, size)
        self._next = 0

    @classmethod
    def for_appends(cls, params: Mapping[str, Any], client: int) -> EventPool:
        """The events an append client writes: seeded by the run and client, `pool` of them."""
        return cls(EventFactory(int(params.get("seed", 42)) + client), 0, int(params.get("pool", 2_000)))

    @classmethod
    def for_dcb(cls, params: Mapping[str, Any], client: int) -> EventPool:
        """The events a DCB client writes: seeded apart from the append clients', 500 of them."""
        return cls(EventFactory(int(params.get("seed", 42)) + 100 + client), 0, 500)

    def take(self) -> Event:
        event = self._events[self._next % len(self._events)]
        self._next += 1
        return fresh_copy(event)

    def batch(self, size: int) -> list[Event]:
        return [self.take() for _ in range(size)]


def payload_bytes(event: Event) -> int:
    return len(encode_json(event.payload).encode())


def event_bytes(event: Event) -> int:
    """Payload plus metadata, as JSON: the 'event size' quoted in the report."""
    return payload_bytes(event) + len(encode_json(event.metadata).encode())


def peer_state(event: Event) -> bytes:
    """The bytes a peer stores for the event: everything pyevents stores, as one JSON document."""
    return json.dumps(
        {
            "actor_type": event.actor_type,
            "actor_id": event.actor_id,
            "correlation_id": str(event.correlation_id),
            "timestamp": event.timestamp.isoformat(),
            "schema_version": event.schema_version,
            "payload": event.payload,
            "metadata": event.metadata,
        },
        separators=(",", ":"),
    ).encode()


def copy_lines(
    factory: EventFactory, start: int, count: int, first_position: int, first_time: datetime, step: timedelta
) -> Iterator[str]:
    """COPY text lines (position, event_id, timestamp, event_type, actor_type, actor_id,
    correlation_id, schema_version, payload, metadata) for a bulk load; timestamps increase
    with position by `step`, as in a real log."""
    for offset in range(count):
        index = start + offset
        fields = factory.fields(index)
        row = (
            str(first_position + offset),
            str(uuid.UUID(int=random.Random(factory.seed ^ 0x5EED ^ index).getrandbits(128), version=4)),
            (first_time + step * offset).isoformat(),
            fields["event_type"],
            fields["actor_type"],
            fields["actor_id"],
            str(fields["correlation_id"]),
            "1.0",
            _copy_escape(encode_json(fields["payload"])),
            _copy_escape(encode_json(fields["metadata"])),
        )
        yield "\t".join(row) + "\n"


def _copy_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
