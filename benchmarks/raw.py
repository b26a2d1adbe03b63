"""The raw baseline: the same rows written and read with hand-written SQL, no stored functions.

The raw database is a clone of the pyevents template, so its `pyevents.events` table is
identical by construction (same columns, indexes, partitions, triggers); only the position
column gets `DEFAULT nextval(...)` so that COPY can leave it out. Raw writes touch that one
table only: no `event_ids` uniqueness row, no `event_tags` rows, no validation, no locks
(except in the raw conditional append, which does the minimum by hand).
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from benchmarks.clients import CONFLICT
from benchmarks.data import EventPool
from benchmarks.targets import dcb_tags, tagged
from pyevents.model import Event

RAW_COLUMNS = (
    "event_id, timestamp, event_type, actor_type, actor_id, correlation_id, causation_id, schema_version,"
    " payload, metadata"
)
INSERT_SQL = (
    f"INSERT INTO pyevents.events (position, {RAW_COLUMNS}) "
    "VALUES (nextval('pyevents.events_position_seq'), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
COPY_SQL = f"COPY pyevents.events ({RAW_COLUMNS}) FROM STDIN"
LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
CONDITIONAL_INSERT_SQL = f"""
WITH ins AS (
    INSERT INTO pyevents.events (position, {RAW_COLUMNS})
    SELECT nextval('pyevents.events_position_seq'), %(id)s, %(ts)s, %(type)s, %(atype)s, %(aid)s, %(corr)s,
           %(caus)s, %(sv)s, %(payload)s, %(meta)s
    WHERE NOT EXISTS (
        SELECT 1 FROM pyevents.event_tags t WHERE t.tag = %(tag)s AND t.position > %(after)s
    )
    RETURNING position, event_type, timestamp
)
INSERT INTO pyevents.event_tags (tag, position, event_type, timestamp)
SELECT %(tag)s, position, event_type, timestamp FROM ins
RETURNING position
"""
READ_TAG_HEAD_SQL = "SELECT max(position) FROM pyevents.event_tags WHERE tag = %s AND position > %s"


def prepare_raw_database(dsn: str) -> None:
    """Let COPY omit the position (the only change to the cloned table)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "ALTER TABLE pyevents.events ALTER COLUMN position SET DEFAULT nextval('pyevents.events_position_seq')"
        )


def row(event: Event) -> tuple[Any, ...]:
    return (
        event.event_id,
        event.timestamp,
        event.event_type,
        event.actor_type,
        event.actor_id,
        event.correlation_id,
        event.causation_id,
        event.schema_version,
        Jsonb(event.payload),
        Jsonb(event.metadata),
    )


class RawAppend:
    """Batch 1: one INSERT per transaction (autocommit). Batch n: COPY of n rows in one transaction."""

    def __init__(self, dsn: str, client: int, params: dict[str, Any]) -> None:
        self.dsn = dsn
        self.batch = int(params.get("batch", 1))
        self.pool = EventPool.for_appends(params, client)
        self.conn: psycopg.Connection[tuple[Any, ...]] | None = None

    def setup(self) -> None:
        self.conn = psycopg.connect(self.dsn, autocommit=True, application_name="raw-bench")

    def op(self) -> int:
        assert self.conn is not None
        if self.batch == 1:
            self.conn.execute(INSERT_SQL, row(self.pool.take()))
            return 1
        with self.conn.transaction(), self.conn.cursor() as cur, cur.copy(COPY_SQL) as copy:
            for event in self.pool.batch(self.batch):
                copy.write_row(row(event))
        return self.batch

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


class RawConditional:
    """The least a hand-written DCB append does: an advisory lock on the tag, then one statement
    that inserts the event and its tag row only if no row of that tag lies after `after`."""

    def __init__(self, dsn: str, client: int, params: dict[str, Any]) -> None:
        import random

        self.dsn = dsn
        self.mode = str(params.get("mode", "disjoint"))
        self.tags = dcb_tags(self.mode, client, str(params.get("run", "r")))
        self.rng = random.Random(int(params.get("seed", 42)) * 31 + client)
        self.pool = EventPool.for_dcb(params, client)
        self.known: dict[str, int] = dict.fromkeys(self.tags, 0)
        self.conn: psycopg.Connection[tuple[Any, ...]] | None = None
        self.count = 0

    def setup(self) -> None:
        self.conn = psycopg.connect(self.dsn, autocommit=True, application_name="raw-bench")

    def op(self) -> int:
        assert self.conn is not None
        tag = self.tags[self.count % len(self.tags)] if self.mode == "disjoint" else self.rng.choice(self.tags)
        self.count += 1
        after = self.known[tag]
        if self.mode != "disjoint":
            head = self.conn.execute(READ_TAG_HEAD_SQL, (tag, after)).fetchone()
            after = head[0] if head and head[0] is not None else after
        event = tagged(self.pool.take(), tag)
        with self.conn.transaction():
            self.conn.execute(LOCK_SQL, (tag,))
            result = self.conn.execute(
                CONDITIONAL_INSERT_SQL,
                {
                    "id": event.event_id,
                    "ts": event.timestamp,
                    "type": event.event_type,
                    "atype": event.actor_type,
                    "aid": event.actor_id,
                    "corr": event.correlation_id,
                    "caus": event.causation_id,
                    "sv": event.schema_version,
                    "payload": Jsonb(event.payload),
                    "meta": Jsonb(event.metadata),
                    "tag": tag,
                    "after": after,
                },
            ).fetchone()
        if result is None:
            return CONFLICT
        self.known[tag] = int(result[0])
        return 1

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
