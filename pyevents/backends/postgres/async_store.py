"""AsyncPostgresEventStore: the PostgreSQL client on psycopg's async connections.

The same stored functions, arguments, row mapping, errors, deadline, retries and circuit
breaker as PostgresEventStore (shared from its module and from connections.CallAttempts); only
the waiting is asynchronous, streams' included: a live stream LISTENs on an async connection.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb

from pyevents.aio import AsyncEventStore
from pyevents.backends.postgres.connections import (
    TRANSACTION_POOLER,
    AsyncConnection,
    AsyncPool,
    CallAttempts,
    CircuitBreaker,
    is_connection_lost,
)
from pyevents.backends.postgres.follower import AsyncPostgresFollower
from pyevents.backends.postgres.roles import DEFAULT_PREFIX, check_prefix
from pyevents.backends.postgres.store import (
    APPEND_SQL,
    EVENT_COLUMNS,
    GET_EVENTS_SQL,
    HEALTH_SQL,
    MAX_HORIZON_SECONDS,
    MIN_MONTHS_PREMADE,
    STORAGE_METRICS_SQL,
    VERIFY_SQL,
    append_params,
    client_arguments,
    connection_setup,
    event_page,
    get_events_params,
    health_status,
    recorded_event,
    storage_metrics,
    unavailable_error,
    unhealthy,
)
from pyevents.config import Config, mask_dsn
from pyevents.limits import DEFAULT_MAX_PAYLOAD_SIZE
from pyevents.metrics import PoolMetrics, StorageMetrics
from pyevents.model import (
    AppendCondition,
    Event,
    EventPage,
    HealthStatus,
    Query,
    QueryOptions,
    RecordedEvent,
    Snapshot,
    check_uuid,
)
from pyevents.retention import Progress, RetentionPolicy, RetentionReport

T = TypeVar("T")


class AsyncPostgresEventStore(AsyncEventStore):
    backend_name = "postgresql"

    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int = 10,
        connect_timeout: int = 10,
        deadline: float = 10.0,
        application_name: str = "pyevents",
        max_payload_size: int = DEFAULT_MAX_PAYLOAD_SIZE,
        breaker: CircuitBreaker | None = None,
        role_prefix: str = DEFAULT_PREFIX,
        pooler: str = "none",
    ) -> None:
        """The arguments of PostgresEventStore; connections are made when first needed."""
        super().__init__(max_payload_size=max_payload_size)
        self.role_prefix = check_prefix(role_prefix)
        self.dsn = make_conninfo(dsn, application_name=application_name, connect_timeout=connect_timeout)
        self.deadline = deadline
        self.connect_timeout = connect_timeout
        self._pool = AsyncPool(
            self.dsn, max_size=pool_size, connect_timeout=connect_timeout, configure=connection_setup(pooler)
        )
        self.pooler = pooler
        self.breaker = breaker or CircuitBreaker()

    @classmethod
    def from_config(cls, config: Config) -> AsyncPostgresEventStore:
        store = cls(**client_arguments(config))
        store.retention_policy = config.retention
        return store

    def __repr__(self) -> str:
        return f"AsyncPostgresEventStore({mask_dsn(self.dsn)!r})"

    async def _call(self, work: Callable[[AsyncConnection], Awaitable[T]], *, append: bool = False) -> T:
        """PostgresEventStore._call on the event loop: the same CallAttempts decisions."""
        attempts = CallAttempts(
            self.breaker,
            self.deadline,
            self.role_prefix,
            lambda message, sent: unavailable_error(message, self.dsn, self.deadline, append=append, sent=sent),
        )
        while True:
            timeout = attempts.admit()
            try:
                conn = await self._pool.acquire(timeout)
            except psycopg.OperationalError as exc:
                delay = attempts.connect_failed(exc)
            except BaseException:
                attempts.abandoned()
                raise
            else:
                try:
                    result = await work(conn)
                except psycopg.Error as exc:
                    lost = is_connection_lost(exc, conn)
                    await self._pool.release(conn)
                    if lost:
                        await self._pool.discard_idle()
                    delay = attempts.work_failed(exc, lost)
                except BaseException:
                    await self._pool.release(conn)
                    attempts.abandoned()
                    raise
                else:
                    await self._pool.release(conn)
                    attempts.succeeded()
                    return result
            await asyncio.sleep(delay)

    async def _fetchone(self, sql: str, params: Sequence[Any], *, append: bool = False) -> tuple[Any, ...] | None:
        async def work(conn: AsyncConnection) -> tuple[Any, ...] | None:
            return await (await conn.execute(sql, params)).fetchone()

        return await self._call(work, append=append)

    async def _fetchall(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        async def work(conn: AsyncConnection) -> list[tuple[Any, ...]]:
            return await (await conn.execute(sql, params)).fetchall()

        return await self._call(work)

    async def _fetch_events(self, sql: str, params: Sequence[Any]) -> list[RecordedEvent]:
        async def work(conn: AsyncConnection) -> list[tuple[Any, ...]]:
            return await (await conn.execute(sql, params, binary=True)).fetchall()

        return [recorded_event(row) for row in await self._call(work)]

    # -- writing -----------------------------------------------------------------------------
    async def _append_batch(self, events: list[Event], condition: AppendCondition | None) -> list[int]:
        row = await self._fetchone(APPEND_SQL, append_params(events, condition), append=True)
        assert row is not None
        positions: list[int] = row[0]
        return positions

    # -- reading -----------------------------------------------------------------------------
    async def _get_events(self, options: QueryOptions) -> EventPage:
        return event_page(await self._fetch_events(GET_EVENTS_SQL, get_events_params(options)), options)

    async def get_event(self, event_id: uuid.UUID | str) -> RecordedEvent | None:
        event_id = check_uuid(event_id, "event_id")
        events = await self._fetch_events(f"SELECT {EVENT_COLUMNS} FROM pyevents.get_event(%s)", (event_id,))
        return events[0] if events else None

    async def _read(self, query: Query, after: int | None, limit: int | None) -> list[RecordedEvent]:
        return await self._fetch_events(
            f"SELECT {EVENT_COLUMNS} FROM pyevents.read_events(%s, %s, %s)", (Jsonb(query.to_json()), after, limit)
        )

    async def _open_follower(self) -> AsyncPostgresFollower:
        return await AsyncPostgresFollower.connect(
            self.dsn, role_prefix=self.role_prefix, listen=self.pooler != TRANSACTION_POOLER
        )

    # -- snapshots and checkpoints -----------------------------------------------------------
    async def _create_snapshot(self, correlation_id: uuid.UUID, encoded: str, position: int | None) -> Snapshot:
        row = await self._fetchone(
            "SELECT position, created_at FROM pyevents.create_snapshot(%s, %s::jsonb, %s)",
            (correlation_id, encoded, position),
        )
        assert row is not None
        return Snapshot(correlation_id, json.loads(encoded), row[0], row[1])

    async def _get_snapshot(self, correlation_id: uuid.UUID) -> Snapshot | None:
        row = await self._fetchone(
            "SELECT position, state, created_at FROM pyevents.get_snapshot(%s)", (correlation_id,)
        )
        return None if row is None else Snapshot(correlation_id, row[1], row[0], row[2])

    async def _load_checkpoint(self, subscription: str) -> int | None:
        row = await self._fetchone("SELECT pyevents.get_checkpoint(%s)", (subscription,))
        return None if row is None else row[0]

    async def _save_checkpoint(self, subscription: str, position: int) -> None:
        await self._fetchone("SELECT pyevents.save_checkpoint(%s, %s)", (subscription, position))

    # -- operations --------------------------------------------------------------------------
    async def _apply_retention(
        self, policy: RetentionPolicy, dry_run: bool, progress: Progress | None
    ) -> RetentionReport:
        row = await self._fetchone("SELECT pyevents.apply_retention(%s, %s)", (Jsonb(policy.to_json()), dry_run))
        assert row is not None
        report = RetentionReport.from_json(row[0])
        if progress is not None:
            progress(len(report.units), len(report.units))
        return report

    async def health_check(
        self, *, max_horizon_seconds: float = MAX_HORIZON_SECONDS, min_months_premade: int = MIN_MONTHS_PREMADE
    ) -> HealthStatus:
        """As PostgresEventStore.health_check, on a connection of its own."""
        details: dict[str, Any] = {"dsn": mask_dsn(self.dsn), "breaker": self.breaker.state}
        try:
            async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
                row = await (await conn.execute(HEALTH_SQL)).fetchone()
        except psycopg.Error as exc:
            error, status = unhealthy(exc, self.backend_name, details, self.role_prefix)
            self.instruments.error(error)
            return status
        assert row is not None
        return health_status(
            self.backend_name, details, row[0], self._pool_metrics(), max_horizon_seconds, min_months_premade
        )

    async def _storage_metrics(self) -> StorageMetrics:
        row = await self._fetchone(STORAGE_METRICS_SQL, ())
        assert row is not None
        return storage_metrics(row[0])

    def _pool_metrics(self) -> PoolMetrics:
        return self._pool.metrics()

    async def verify(self, progress: Callable[[int], None] | None = None) -> list[str]:
        return [row[0] for row in await self._fetchall(VERIFY_SQL, ())]

    async def close(self) -> None:
        await self._pool.close()
