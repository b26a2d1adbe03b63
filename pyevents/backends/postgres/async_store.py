"""AsyncPostgresEventStore: the PostgreSQL client on psycopg's async connections.

The same stored functions, arguments, row mapping, errors, deadline, retries and circuit
breaker as PostgresEventStore (shared from its module and from connections.CallAttempts); only
the waiting is asynchronous, streams' included: a live stream LISTENs on an async connection.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb

from pyevents.aio import AsyncEventStore, AsyncFollower
from pyevents.backends.postgres.connections import (
    TRANSACTION_POOLER,
    AsyncConnection,
    AsyncPool,
    CallAttempts,
    CircuitBreaker,
    cause_of,
    is_connection_lost,
)
from pyevents.backends.postgres.errors import translate
from pyevents.backends.postgres.follower import WAL_POSITION_SQL, AsyncPostgresFollower
from pyevents.backends.postgres.replicas import (
    REPLAYED_LSN_SQL,
    AsyncReplicaFollower,
    ReplicaSet,
    ReplicaState,
    check_consistency,
    primary_only,
)
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
    check_failure,
    client_arguments,
    connection_setup,
    event_page,
    get_events_params,
    health_status,
    recorded_event,
    replica_failure,
    storage_metrics,
    unavailable_error,
    unhealthy,
)
from pyevents.config import Config, mask_dsn
from pyevents.errors import BackendUnavailable, PyEventsError
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
        read_dsns: Sequence[str] = (),
        max_replica_lag: float = 5.0,
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
        self._replicas = ReplicaSet.of(
            read_dsns,
            max_replica_lag,
            lambda replica: AsyncPool(
                make_conninfo(replica, application_name=application_name, connect_timeout=connect_timeout),
                max_size=pool_size,
                connect_timeout=connect_timeout,
                configure=connection_setup(pooler),
            ),
        )

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

    async def _fetch_events(self, sql: str, params: Sequence[Any], consistency: str = "primary") -> list[RecordedEvent]:
        async def work(conn: AsyncConnection) -> list[tuple[Any, ...]]:
            return await (await conn.execute(sql, params, binary=True)).fetchall()

        return [recorded_event(row) for row in await self._read_call(work, consistency)]

    # -- read replicas: PostgresEventStore's rules, awaited ------------------------------------
    async def _read_call(self, work: Callable[[AsyncConnection], Awaitable[T]], consistency: str) -> T:
        replica = None if check_consistency(consistency) else await self._usable_replica()
        if replica is None:
            return await self._call(work)
        state, pool = replica
        try:
            conn = await pool.acquire(self.deadline)
        except psycopg.OperationalError as exc:
            state.failed(time.monotonic(), cause_of(exc))
            return await self._call(work)
        except BackendUnavailable:  # every replica connection busy: the primary answers
            return await self._call(work)
        try:
            result = await work(conn)
        except psycopg.Error as exc:
            failover = replica_failure(exc, conn)
            lost = is_connection_lost(exc, conn)
            await pool.release(conn)
            if lost:
                await pool.discard_idle()
            if not failover:
                raise translate(exc, self.role_prefix) from None
            state.failed(time.monotonic(), cause_of(exc))
            return await self._call(work)
        except BaseException:
            await pool.release(conn)
            raise
        await pool.release(conn)
        return result

    async def _usable_replica(self) -> tuple[ReplicaState, AsyncPool] | None:
        for state, pool in self._replicas.in_turn():
            if state.check_due(time.monotonic()):
                await self._check_replica(state, pool)
            if state.usable(time.monotonic()):
                self._replicas.chose(state)
                return state, pool
        return None

    async def _check_replica(self, state: ReplicaState, pool: AsyncPool) -> None:
        try:
            primary = await self._wal_position(self._pool, WAL_POSITION_SQL)
        except (psycopg.Error, BackendUnavailable):
            primary = None  # unknown: the replicas go on serving
        state.primary_sampled(time.monotonic(), primary)
        try:
            replayed = await self._wal_position(pool, REPLAYED_LSN_SQL)
        except (psycopg.Error, BackendUnavailable) as exc:
            state.failed(time.monotonic(), check_failure(exc))
            return
        state.replayed(time.monotonic(), replayed)

    async def _wal_position(self, pool: AsyncPool, sql: str) -> int | None:
        """One attempt, no retries: a check must not hold a read up."""
        conn = await pool.acquire(self.deadline)
        try:
            row = await (await conn.execute(sql)).fetchone()
        finally:
            await pool.release(conn)
        return None if row is None or row[0] is None else int(row[0])

    def replica_status(self) -> list[dict[str, Any]]:
        """Each replica's state as last measured: its lag in seconds and why it is not used."""
        return self._replicas.status()

    # -- writing -----------------------------------------------------------------------------
    async def _append_batch(self, events: list[Event], condition: AppendCondition | None) -> list[int]:
        row = await self._fetchone(APPEND_SQL, append_params(events, condition), append=True)
        assert row is not None
        positions: list[int] = row[0]
        return positions

    # -- reading -----------------------------------------------------------------------------
    # Queries may go to a read replica; `consistency="primary"` reads your own writes.
    async def get_events(self, options: QueryOptions | None = None, *, consistency: str = "any") -> EventPage:
        token = primary_only.set(check_consistency(consistency))
        try:
            return await super().get_events(options)
        finally:
            primary_only.reset(token)

    async def _get_events(self, options: QueryOptions) -> EventPage:
        async def page(conn: AsyncConnection) -> EventPage:
            return await fetch_page(conn, options)

        return await self._read_call(page, "any")

    async def get_event(self, event_id: uuid.UUID | str, *, consistency: str = "any") -> RecordedEvent | None:
        event_id = check_uuid(event_id, "event_id")
        events = await self._fetch_events(
            f"SELECT {EVENT_COLUMNS} FROM pyevents.get_event(%s)", (event_id,), consistency
        )
        return events[0] if events else None

    async def get_events_by_correlation(
        self, correlation_id: uuid.UUID | str, *, consistency: str = "any"
    ) -> list[RecordedEvent]:
        correlation_id = check_uuid(correlation_id, "correlation_id")
        return await self._fetch_events(
            f"SELECT {EVENT_COLUMNS} FROM pyevents.get_events_by_correlation(%s)", (correlation_id,), consistency
        )

    async def _read(self, query: Query, after: int | None, limit: int | None) -> list[RecordedEvent]:
        # Always the primary: the head it returns must account for appends in flight there.
        return await self._fetch_events(
            f"SELECT {EVENT_COLUMNS} FROM pyevents.read_events(%s, %s, %s)", (Jsonb(query.to_json()), after, limit)
        )

    async def _stream_page(self, options: QueryOptions) -> EventPage:
        return await self.get_events(options, consistency="primary")

    async def _open_follower(self) -> AsyncFollower:
        """A stream follows a usable replica (polling, its pages read there too), else the primary."""
        replica = await self._usable_replica()
        if replica is not None:
            state, pool = replica
            try:
                return await AsyncReplicaFollower.connect(
                    pool.dsn,
                    self.dsn,
                    role_prefix=self.role_prefix,
                    configure=connection_setup(self.pooler),
                    read_page=fetch_page,
                )
            except PyEventsError as exc:
                state.failed(time.monotonic(), str(exc))
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
        if self._replicas.replicas:
            details["replicas"] = self.replica_status()
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
        for _, pool in self._replicas.replicas:
            await pool.close()


async def fetch_page(conn: AsyncConnection, options: QueryOptions) -> EventPage:
    """One page of get_events on this connection."""
    rows = await (await conn.execute(GET_EVENTS_SQL, get_events_params(options), binary=True)).fetchall()
    return event_page([recorded_event(row) for row in rows], options)
