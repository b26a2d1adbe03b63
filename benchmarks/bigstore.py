"""The big store of the query, catch-up, DCB-at-scale and size scenarios, loaded fast.

How it is loaded (and reported): the seeded events are streamed with COPY into a temporary
table and moved into `pyevents.events` by INSERT ... SELECT, which adds what `append_events`
adds to each row (the login in `appended_by`, the checksum); positions run 1..N, timestamps
spread evenly over the last `span`, increasing with position, their partitions made first with
`pyevents.ensure_partition_for`. Then `event_ids` and `event_tags` are filled from the loaded
rows with INSERT ... SELECT, the position sequence is set, and the tables are VACUUM ANALYZEd.
The stored rows are exactly what `append_events` would have stored; only the path differs (it is
several times faster than batched appends).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from benchmarks.data import EventFactory, copy_lines

COPY_COLUMNS = (
    "position, event_id, timestamp, event_type, actor_type, actor_id, correlation_id, schema_version, payload, metadata"
)
CHUNK = 200_000
STAGED_INSERT_SQL = (
    f"INSERT INTO pyevents.events ({COPY_COLUMNS}, appended_by, checksum)"
    f" SELECT {COPY_COLUMNS}, session_user, pyevents.event_checksum(position, event_id, timestamp, event_type,"
    " actor_type, actor_id, correlation_id, NULL, schema_version, payload, metadata, session_user) FROM staged"
)


@dataclass(frozen=True)
class LoadInfo:
    events: int
    seconds: float
    copy_seconds: float
    side_tables_seconds: float
    vacuum_seconds: float
    first_time: datetime
    last_time: datetime
    method: str

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def load(
    dsn: str,
    events: int,
    factory: EventFactory,
    *,
    span: timedelta = timedelta(days=90),
    progress: Callable[[str], None] | None = None,
) -> LoadInfo:
    say = progress or (lambda _message: None)
    now = datetime.now(UTC).replace(microsecond=0)
    first_time = now - span - timedelta(hours=1)
    step = span / max(1, events)
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        months = []
        month = first_time
        while month <= now + timedelta(days=31):
            months.append(month)
            month += timedelta(days=28)
        conn.execute("SELECT pyevents.ensure_partition_for(%s::timestamptz[])", (months,))
        conn.execute(f"CREATE TEMPORARY TABLE staged AS SELECT {COPY_COLUMNS} FROM pyevents.events WITH NO DATA")
        for start in range(0, events, CHUNK):
            count = min(CHUNK, events - start)
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy(f"COPY staged ({COPY_COLUMNS}) FROM STDIN") as copy:
                    buffer: list[str] = []
                    for line in copy_lines(factory, start, count, start + 1, first_time + step * start, step):
                        buffer.append(line)
                        if len(buffer) >= 2_000:
                            copy.write("".join(buffer))
                            buffer.clear()
                    if buffer:
                        copy.write("".join(buffer))
                cur.execute(STAGED_INSERT_SQL)
                cur.execute("TRUNCATE staged")
            say(f"copied {start + count:,}/{events:,} events ({time.perf_counter() - started:.0f}s)")
        copied = time.perf_counter()
        conn.execute(
            "INSERT INTO pyevents.event_ids (event_id, position, timestamp)"
            " SELECT event_id, position, timestamp FROM pyevents.events"
        )
        conn.execute(
            "INSERT INTO pyevents.event_tags (tag, position, event_type, timestamp)"
            " SELECT DISTINCT t.tag, e.position, e.event_type, e.timestamp FROM pyevents.events e,"
            " jsonb_array_elements_text(coalesce(e.metadata -> 'tags', '[]')) AS t(tag)"
        )
        conn.execute("SELECT setval('pyevents.events_position_seq', %s)", (max(1, events),))
        sided = time.perf_counter()
        say(f"event_ids and event_tags filled ({sided - copied:.0f}s)")
        conn.execute("VACUUM ANALYZE pyevents.events")
        conn.execute("VACUUM ANALYZE pyevents.event_ids")
        conn.execute("VACUUM ANALYZE pyevents.event_tags")
        finished = time.perf_counter()
        say(f"vacuum analyze ({finished - sided:.0f}s)")
    return LoadInfo(
        events=events,
        seconds=finished - started,
        copy_seconds=copied - started,
        side_tables_seconds=sided - copied,
        vacuum_seconds=finished - sided,
        first_time=first_time,
        last_time=first_time + step * max(0, events - 1),
        method=(
            "COPY into a temporary table, INSERT ... SELECT into pyevents.events with appended_by and checksum"
            f" (seeded rows, positions 1..N, timestamps evenly over {span.days} days), then event_ids/event_tags"
            " by INSERT ... SELECT, setval, VACUUM ANALYZE"
        ),
    )


def relation_sizes(dsn: str) -> dict[str, int]:
    """Bytes on disk of every part of the store: heap (+TOAST) of the events partitions, each
    index of the events table summed over partitions, and the side tables with their indexes."""
    sizes: dict[str, int] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        heap = conn.execute(
            "SELECT coalesce(sum(pg_table_size(inhrelid)), 0) FROM pg_inherits"
            " WHERE inhparent = 'pyevents.events'::regclass"
        ).fetchone()
        sizes["events heap + TOAST"] = int(heap[0]) if heap else 0
        for name, size in conn.execute(
            "SELECT pi.relname, coalesce(sum(pg_relation_size(ci.inhrelid)), 0)"
            " FROM pg_index x JOIN pg_class pi ON pi.oid = x.indexrelid"
            " LEFT JOIN pg_inherits ci ON ci.inhparent = x.indexrelid"
            " WHERE x.indrelid = 'pyevents.events'::regclass GROUP BY pi.relname ORDER BY 1"
        ):
            sizes[f"events index {name}"] = int(size)
        for table in ("event_ids", "event_tags", "event_checksums"):
            row = conn.execute(
                "SELECT pg_table_size(%s::regclass), pg_indexes_size(%s::regclass)",
                (f"pyevents.{table}", f"pyevents.{table}"),
            ).fetchone()
            assert row is not None
            sizes[f"{table} heap"] = int(row[0])
            sizes[f"{table} indexes"] = int(row[1])
    return sizes


def count_events(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pyevents.events").fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class Variant:
    name: str
    bytes_per_event: float
    detail: str


def storage_variants(dsn: str, sample: int) -> list[Variant]:
    """The heap of a sample of the log stored other ways (a scratch copy; pyevents is untouched):
    lz4 or pglz compression forced with toast_tuple_target=128, and index alternatives."""
    variants: list[Variant] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS bench_variants CASCADE")
        conn.execute("CREATE SCHEMA bench_variants")
        conn.execute(
            f"CREATE TABLE bench_variants.sample AS SELECT * FROM pyevents.events ORDER BY position LIMIT {int(sample)}"
        )
        rows = conn.execute("SELECT count(*) FROM bench_variants.sample").fetchone()
        n = int(rows[0]) if rows else 0
        if n == 0:
            return variants

        def heap(name: str, options: str, compression: str | None, detail: str) -> None:
            conn.execute(f"CREATE TABLE bench_variants.{name} (LIKE pyevents.events) {options}")
            if compression:
                for column in ("payload", "metadata"):
                    conn.execute(
                        f"ALTER TABLE bench_variants.{name} ALTER COLUMN {column} SET COMPRESSION {compression}"
                    )
            conn.execute(f"INSERT INTO bench_variants.{name} SELECT * FROM bench_variants.sample")
            conn.execute(f"VACUUM bench_variants.{name}")
            size = conn.execute(f"SELECT pg_table_size('bench_variants.{name}')").fetchone()
            variants.append(Variant(name, (int(size[0]) if size else 0) / n, detail))

        heap("heap_default", "", None, "heap + TOAST as pyevents stores it (pglz, toast_tuple_target 2032)")
        heap("heap_pglz_128", "WITH (toast_tuple_target = 128)", "pglz", "pglz, toast_tuple_target = 128")
        try:
            heap("heap_lz4_128", "WITH (toast_tuple_target = 128)", "lz4", "lz4, toast_tuple_target = 128")
        except psycopg.Error as exc:
            variants.append(Variant("heap_lz4_128", float("nan"), f"lz4 unavailable: {exc}"))
        conn.execute(
            "CREATE TABLE bench_variants.heap_json AS SELECT position, event_id, timestamp, event_type, actor_type,"
            " actor_id, correlation_id, causation_id, schema_version, payload::json AS payload,"
            " metadata::json AS metadata, recorded_at, transaction_id FROM bench_variants.sample"
        )
        size = conn.execute("SELECT pg_table_size('bench_variants.heap_json')").fetchone()
        variants.append(
            Variant("heap_json", (int(size[0]) if size else 0) / n, "payload and metadata as json text, not jsonb")
        )
        payloads = [str(p) for (p,) in conn.execute("SELECT payload::text FROM bench_variants.sample LIMIT 20000")]
        variants += client_side_compression(payloads)
        conn.execute("CREATE INDEX sample_ts_brin ON bench_variants.heap_default USING brin (timestamp)")
        conn.execute("CREATE INDEX sample_ts_btree ON bench_variants.heap_default (timestamp, position)")
        for index, detail in (
            ("sample_ts_btree", "btree (timestamp, position), as events_timestamp_idx"),
            ("sample_ts_brin", "BRIN (timestamp): timestamps grow with position"),
        ):
            size = conn.execute("SELECT pg_relation_size(%s::regclass)", (f"bench_variants.{index}",)).fetchone()
            variants.append(Variant(index, (int(size[0]) if size else 0) / n, detail))
        conn.execute("DROP SCHEMA bench_variants CASCADE")
    return variants


def query_parameters(factory: EventFactory, info: LoadInfo, count: int, seed: int) -> list[dict[str, Any]]:
    """Seeded query arguments drawn from what the big store holds."""
    import random

    from benchmarks.data import EVENT_TYPES

    rng = random.Random(seed)
    span = info.last_time - info.first_time
    params: list[dict[str, Any]] = []
    for _ in range(count):
        index = rng.randrange(info.events)
        since = info.first_time + span * rng.random() * 0.6
        params.append(
            {
                "event_type": rng.choice(EVENT_TYPES),
                "after": rng.randrange(max(1, info.events // 2)),
                "correlation_id": factory.fields(index)["correlation_id"],
                "actor_id": f"user-{rng.randrange(factory.shape.actors)}",
                "since": since,
                "until": since + span * 0.33,
                "tag": f"tenant:{rng.randrange(factory.shape.tenants)}",
            }
        )
    return params


def client_side_compression(payloads: list[str]) -> list[Variant]:
    """What compressing the payload before storing it would save (bytes of the payload only):
    zlib alone, and zlib with a preset dictionary trained on the first 1,000 payloads (a stand-in
    for zstd dictionaries): PostgreSQL never compresses a ~600-byte row by itself."""
    import zlib

    if not payloads:
        return []
    raw = [p.encode() for p in payloads]
    plain = sum(len(p) for p in raw) / len(raw)
    dictionary = b"".join(raw[:1000])[-32768:]
    tested = raw[1000:] or raw

    def with_dictionary(data: bytes) -> int:
        compressor = zlib.compressobj(6, zdict=dictionary)
        return len(compressor.compress(data) + compressor.flush())

    plain_zlib = sum(len(zlib.compress(p, 6)) for p in raw) / len(raw)
    dict_zlib = sum(with_dictionary(p) for p in tested) / len(tested)
    return [
        Variant("payload_text", plain, "payload as JSON text (client side, for reference)"),
        Variant("payload_zlib", plain_zlib, "payload zlib-compressed client side (bytes of the payload)"),
        Variant("payload_zlib_dict", dict_zlib, "payload zlib-compressed with a 32 KB preset dictionary"),
    ]
