"""pyevents itself as a benchmark target: appends, batch appends and DCB conditional appends,
all through the public client (`PostgresEventStore`), exactly as an application calls it."""

from __future__ import annotations

import dataclasses
import random
import uuid
from typing import Any

from benchmarks.clients import CONFLICT
from benchmarks.data import EventPool
from pyevents.backends.postgres.store import PostgresEventStore
from pyevents.errors import AppendConditionViolated
from pyevents.model import AppendCondition, Event, Query, QueryItem


class PyeventsAppend:
    """`store.append(event)` (batch 1) or `store.append_batch(events)`."""

    def __init__(self, dsn: str, client: int, params: dict[str, Any]) -> None:
        self.dsn = dsn
        self.batch = int(params.get("batch", 1))
        self.pool = EventPool.for_appends(params, client)
        self.store = PostgresEventStore(dsn, pool_size=1, application_name="pyevents-bench")

    def setup(self) -> None:
        self.store.health_check()

    def op(self) -> int:
        if self.batch == 1:
            self.store.append(self.pool.take())
        else:
            self.store.append_batch(self.pool.batch(self.batch))
        return self.batch

    def close(self) -> None:
        self.store.close()


def dcb_tags(mode: str, client: int, run: str, per_client: int = 100, shared: int = 4) -> list[str]:
    """Disjoint: each client owns its tags. Overlapping: every client shares a few tags."""
    if mode == "disjoint":
        return [f"account:{run}-{client}-{k}" for k in range(per_client)]
    return [f"account:{run}-shared-{k}" for k in range(shared)]


def tagged(event: Event, tag: str) -> Event:
    """The event carrying exactly one DCB tag (a new, validated Event, as an application builds)."""
    return dataclasses.replace(event, metadata={**event.metadata, "tags": [tag]})


class PyeventsConditional:
    """DCB decision cycle on one tag. Disjoint: the client alone writes its tags, so it knows the
    last position and only appends (`after` = that position). Overlapping: read what is new for
    the tag (`store.read(query, after=known)`), then append with `after` = the head just read;
    a refusal (another client appended first) counts as a conflict."""

    def __init__(self, dsn: str, client: int, params: dict[str, Any]) -> None:
        self.mode = str(params.get("mode", "disjoint"))
        self.tags = dcb_tags(self.mode, client, str(params.get("run", "r")))
        self.rng = random.Random(int(params.get("seed", 42)) * 31 + client)
        self.pool = EventPool.for_dcb(params, client)
        self.known: dict[str, int | None] = dict.fromkeys(self.tags)
        self.store = PostgresEventStore(dsn, pool_size=1, application_name="pyevents-bench")
        self.count = 0

    def setup(self) -> None:
        self.store.health_check()

    def op(self) -> int:
        tag = self.tags[self.count % len(self.tags)] if self.mode == "disjoint" else self.rng.choice(self.tags)
        self.count += 1
        query = Query([QueryItem(tags=[tag])])
        after = self.known[tag]
        if self.mode != "disjoint":
            after = self.store.read(query, after=after).head
        try:
            position = self.store.append(tagged(self.pool.take(), tag), AppendCondition(query, after))
        except AppendConditionViolated:
            return CONFLICT
        self.known[tag] = position
        return 1

    def close(self) -> None:
        self.store.close()


def run_id() -> str:
    return uuid.uuid4().hex[:8]
