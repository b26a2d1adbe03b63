"""PostgresEventStore: a thin client over the stored functions of schema `pyevents`.

Every read and write is one call of a stored function (no ad-hoc SQL against the tables);
arrays travel in binary, so a batch of 1000 events is one round trip. Driver errors are
translated into pyevents errors at this boundary.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeAlias, TypeVar

import psycopg
from psycopg import pq
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb, set_json_loads

from pyevents.backends.postgres import sealing
from pyevents.backends.postgres.connections import (
    POOLERS,
    RETRYABLE_SQLSTATES,
    TRANSACTION_POOLER,
    CallAttempts,
    CircuitBreaker,
    Connection,
    Pool,
    cause_of,
    is_connection_lost,
)
from pyevents.backends.postgres.errors import translate
from pyevents.backends.postgres.follower import WAL_POSITION_SQL, PostgresFollower
from pyevents.backends.postgres.replicas import (
    REPLAYED_LSN_SQL,
    ReplicaFollower,
    ReplicaSet,
    ReplicaState,
    check_consistency,
    primary_only,
)
from pyevents.backends.postgres.roles import DEFAULT_PREFIX, check_prefix
from pyevents.config import Config, mask_dsn
from pyevents.errors import (
    BackendUnavailable,
    ConfigError,
    PyEventsError,
)
from pyevents.limits import DEFAULT_MAX_PAYLOAD_SIZE
from pyevents.metrics import PoolMetrics, StorageMetrics
from pyevents.model import (
    ENCODED_FIELDS,
    AppendCondition,
    Event,
    EventPage,
    HealthCheck,
    HealthStatus,
    Query,
    QueryOptions,
    RecordedEvent,
    Snapshot,
    check_uuid,
    decode_stored_json,
)
from pyevents.retention import Progress, RetentionPolicy, RetentionReport
from pyevents.sealing import DEFAULT_SEAL_EVENTS, SealedLeaf, check_seal_size
from pyevents.seals import Seal
from pyevents.store import EventStore
from pyevents.streams import Follower, PageReader

T = TypeVar("T")
AnyConnection: TypeAlias = psycopg.Connection[Any] | psycopg.AsyncConnection[Any]
EVENT_COLUMNS = (
    "position, event_id, timestamp, event_type, actor_type, actor_id, correlation_id, "
    "causation_id, schema_version, payload, metadata, recorded_at, appended_by"
)
APPEND_SQL = (
    "SELECT pyevents.append_events(%b::uuid[], %b::timestamptz[], %b::text[], %b::text[], %b::text[],"
    " %b::uuid[], %b::uuid[], %b::text[], %b::text[]::jsonb[], %b::text[]::jsonb[], %b::jsonb, %b::bigint)"
)
GET_EVENTS_SQL = (
    f"SELECT {EVENT_COLUMNS} FROM pyevents.get_events("
    "p_since => %s, p_until => %s, p_event_types => %s::text[], p_actor_id => %s, p_correlation_id => %s,"
    " p_tags => %s::text[], p_after_position => %s, p_limit => %s, p_offset => %s, p_order_by => %s,"
    " p_order_direction => %s, p_cursor_position => %s, p_cursor_value => %s)"
)


def build_dsn(settings: dict[str, Any]) -> str:
    """The libpq connection string from `[postgresql]`: `dsn`, with the separate keys on top."""
    extra = {
        "host": settings.get("host"),
        "port": settings.get("port"),
        "dbname": settings.get("database"),
        "user": settings.get("username"),
        "password": settings.get("password"),
        "sslmode": settings.get("ssl"),
    }
    extra = {key: value for key, value in extra.items() if value is not None}
    if not settings.get("dsn") and not extra:
        raise ConfigError("postgresql.dsn (or postgresql.host/database/...) is required for the postgresql backend")
    try:
        return make_conninfo(settings.get("dsn") or "", **extra)
    except psycopg.ProgrammingError as exc:
        raise ConfigError(f"postgresql.dsn is not a valid connection string: {exc}") from None


def client_arguments(config: Config) -> dict[str, Any]:
    """The arguments of PostgresEventStore and AsyncPostgresEventStore from a configuration."""
    settings = config.section("postgresql")
    return {
        "dsn": build_dsn(settings),
        "pool_size": settings["pool_size"],
        "connect_timeout": settings["connect_timeout"],
        "deadline": settings["deadline"],
        "application_name": settings["application_name"],
        "max_payload_size": config.section("limits")["max_payload_size"],
        "role_prefix": settings["role_prefix"],
        "pooler": settings["pooler"],
        "read_dsns": [build_dsn({"dsn": dsn}) for dsn in settings["read_dsns"]],
        "max_replica_lag": settings["max_replica_lag"],
    }


def append_params(events: Sequence[Event], condition: AppendCondition | None = None) -> tuple[Any, ...]:
    """The arguments of APPEND_SQL for a batch: parallel arrays, one element per event."""
    return (
        [e.event_id for e in events],
        [e.timestamp for e in events],
        [e.event_type for e in events],
        [e.actor_type for e in events],
        [e.actor_id for e in events],
        [e.correlation_id for e in events],
        [e.causation_id for e in events],
        [e.schema_version for e in events],
        [e.payload_json for e in events],  # encoded once, when the Event was built
        [e.metadata_json for e in events],
        None if condition is None else Jsonb(condition.fail_if_events_match.to_json()),
        None if condition is None else condition.after,
    )


def get_events_params(options: QueryOptions) -> tuple[Any, ...]:
    """The arguments of GET_EVENTS_SQL: one more row than the page holds, which tells whether
    another page exists."""
    cursor = options.decoded_cursor()
    return (
        options.since,
        options.until,
        list(options.event_types) if options.event_types else None,
        options.actor_id,
        options.correlation_id,
        list(options.tags) if options.tags else None,
        options.after_position,
        options.limit + 1,
        options.offset,
        options.order_by,
        options.order_direction,
        None if cursor is None else cursor.position,
        None if cursor is None or options.order_by == "position" else cursor.value,
    )


def fetch_page(conn: Connection, options: QueryOptions) -> EventPage:
    """One page of get_events on this connection."""
    rows = conn.execute(GET_EVENTS_SQL, get_events_params(options), binary=True).fetchall()
    return event_page([recorded_event(row) for row in rows], options)


def check_failure(exc: psycopg.Error | BackendUnavailable) -> str:
    """Why a replica's check failed, in the server's or libpq's words."""
    return cause_of(exc) if isinstance(exc, psycopg.Error) else str(exc)


def replica_failure(exc: psycopg.Error, conn: AnyConnection) -> bool:
    """Whether a read that failed on a replica would likely succeed on the primary: the replica
    is gone, or recovery cancelled the query (a conflict with replay)."""
    sqlstate = exc.sqlstate or ""
    return (
        is_connection_lost(exc, conn)
        or isinstance(exc, psycopg.OperationalError)
        or sqlstate in RETRYABLE_SQLSTATES
        or sqlstate.startswith(("08", "57"))
    )


def event_page(events: list[RecordedEvent], options: QueryOptions) -> EventPage:
    """The page of the rows GET_EVENTS_SQL returned for `options`."""
    has_more = len(events) > options.limit
    del events[options.limit :]
    return EventPage(events, options.cursor_after(events[-1]) if has_more else None, has_more)


class _EncodedJsonbLoader(Loader):
    """jsonb in binary results as its UTF-8 text, undecoded: a version byte, then the text.
    Event rows are read in binary (uuids and timestamps load faster) and their payload and
    metadata are decoded only when a reader looks at them (RecordedEvent.from_stored)."""

    format = pq.Format.BINARY

    def load(self, data: Buffer) -> bytes:
        return bytes(data[1:])


def configure_connection(conn: AnyConnection) -> None:
    set_json_loads(decode_stored_json, conn)  # jsonb in text results: decoded, exactly
    conn.adapters.register_loader("jsonb", _EncodedJsonbLoader)


def configure_pooled_connection(conn: AnyConnection) -> None:
    """configure_connection behind a pooler in transaction mode: nothing is prepared, since the
    next statement may run on another server connection, which does not know it."""
    configure_connection(conn)
    conn.prepare_threshold = None


def connection_setup(pooler: str) -> Callable[[AnyConnection], None]:
    if pooler not in POOLERS:
        raise ConfigError(f"postgresql.pooler must be one of {', '.join(POOLERS)}, not {pooler!r}")
    return configure_pooled_connection if pooler == TRANSACTION_POOLER else configure_connection


def recorded_event(row: tuple[Any, ...]) -> RecordedEvent:
    return RecordedEvent.from_stored(zip(_ROW_FIELDS, row, strict=True))


# Payload and metadata stay encoded until first use (see _EncodedJsonbLoader).
_ROW_FIELDS = tuple(ENCODED_FIELDS.get(name, name) for name in (column.strip() for column in EVENT_COLUMNS.split(",")))

# Readiness: a transaction older than this holds back the horizon, stalling followers and vacuum.
MAX_HORIZON_SECONDS = 300.0
# Readiness: at least the next month's partition must exist, so no append creates one at the turn.
MIN_MONTHS_PREMADE = 1


def _months_ahead(premade_until: datetime) -> int:
    """Whole months premade after the current UTC month."""
    now = datetime.now(UTC)
    until = premade_until.astimezone(UTC)
    return (until.year - now.year) * 12 + until.month - now.month - 1


def unavailable_error(message: str, dsn: str, deadline: float, *, append: bool, sent: bool) -> BackendUnavailable:
    """The error of a call that gave up, saying what became of an append."""
    if append and sent:
        message += (
            "; the outcome of this append is unknown (it may have been stored): retrying it with the same "
            "event ids is safe, events already stored are not stored again"
        )
    elif append:
        message += "; nothing was appended"
    return BackendUnavailable(f"{message} ({mask_dsn(dsn)}, deadline {deadline:g}s)")


HEALTH_SQL = "SELECT pyevents.health_report()"
STORAGE_METRICS_SQL = "SELECT pyevents.storage_metrics()"
# One request: the server checks the whole log, so there is nothing to report on the way.
VERIFY_SQL = (
    "SELECT * FROM pyevents.verify() UNION ALL SELECT * FROM pyevents.verify_events()"
    " UNION ALL SELECT * FROM pyevents.verify_seals()"
)


def unhealthy(
    exc: psycopg.Error, backend_name: str, details: dict[str, Any], role_prefix: str
) -> tuple[PyEventsError, HealthStatus]:
    """The error and the health of a store whose health report could not be read."""
    error = translate(exc, role_prefix)
    # A server that answers with an error (no schema, no privilege) is reachable.
    reachable = not isinstance(exc, psycopg.OperationalError)
    details["error"] = str(error)
    check = HealthCheck("schema" if reachable else "reachable", False, str(error))
    return error, HealthStatus(False, backend_name, details, (check,), reachable=reachable)


def health_status(
    backend_name: str,
    details: dict[str, Any],
    report: dict[str, Any],
    pool: PoolMetrics,
    max_horizon_seconds: float,
    min_months_premade: int,
) -> HealthStatus:
    """Ready when the schema is the one this client expects, partitions are premade ahead, no
    transaction holds the horizon back too long, and the pool is not exhausted."""
    details.update(report)
    checks = [HealthCheck("reachable", True, "PostgreSQL answers")]
    from pyevents.backends.postgres.schema import latest_migration  # schema imports this module

    expected = latest_migration()
    installed = report["schema_migration"]
    if installed == expected:
        schema_check = HealthCheck("schema", True, f"schema at {installed}")
    elif installed < expected:
        schema_check = HealthCheck("schema", False, f"schema at {installed}, expected {expected}: run db upgrade")
    else:
        schema_check = HealthCheck("schema", False, f"schema at {installed}, newer than this client ({expected})")
    checks.append(schema_check)
    premade = report["partitions_premade_until"]
    months = _months_ahead(datetime.fromisoformat(premade)) if premade else -1
    details["months_premade_ahead"] = months
    checks.append(
        HealthCheck(
            "partitions",
            months >= min_months_premade,
            f"partitions premade {months} months ahead (at least {min_months_premade} wanted;"
            " run pyevents.ensure_partitions())",
        )
    )
    held = max(report["oldest_transaction_seconds"] or 0.0, report["oldest_prepared_seconds"] or 0.0)
    checks.append(
        HealthCheck(
            "horizon",
            held <= max_horizon_seconds,
            f"the oldest transaction holding the xmin horizon is {held:.0f} s old"
            f" (at most {max_horizon_seconds:.0f} s allowed)",
        )
    )
    checks.append(
        HealthCheck(
            "pool",
            not pool.exhausted,
            f"{pool.size - pool.available} of {pool.max_size} connections in use, {pool.waiting} requests waiting",
        )
    )
    return HealthStatus(all(check.ok for check in checks), backend_name, details, tuple(checks))


def storage_metrics(report: dict[str, Any]) -> StorageMetrics:
    by_type: dict[str, int] = report["events_by_type"]
    total = sum(by_type.values())
    stored: int = report["storage_bytes"]
    return StorageMetrics(
        head=report["head"],
        events_by_type=by_type,
        storage_bytes=stored,
        growth_bytes_per_day=stored / total * report["events_last_day"] if total else 0.0,
        partitions=report["partitions"],
        subscription_lag=report["subscription_lag"],
    )


class PostgresEventStore(EventStore):
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
        """`deadline`: the longest one call may take, retries included, before it raises
        BackendUnavailable. `role_prefix` names the store's roles in errors. `pooler`: what
        stands in front of the server (POOLERS). `read_dsns`: streaming replicas for queries,
        catch-up reads and followers, used while no more than `max_replica_lag` seconds behind
        (pyevents.backends.postgres.replicas)."""
        super().__init__(max_payload_size=max_payload_size)
        self.role_prefix = check_prefix(role_prefix)
        self.dsn = make_conninfo(dsn, application_name=application_name, connect_timeout=connect_timeout)
        self.deadline = deadline
        # Every call is one stored function, atomic on its own: autocommit saves the
        # BEGIN/COMMIT round trips.
        self._pool = Pool(
            self.dsn, max_size=pool_size, connect_timeout=connect_timeout, configure=connection_setup(pooler)
        )
        self.breaker = breaker or CircuitBreaker()
        self.pooler = pooler
        self._replicas = ReplicaSet.of(
            read_dsns,
            max_replica_lag,
            lambda replica: Pool(
                make_conninfo(replica, application_name=application_name, connect_timeout=connect_timeout),
                max_size=pool_size,
                connect_timeout=connect_timeout,
                configure=connection_setup(pooler),
            ),
        )
        self._checking = threading.Lock()

    @classmethod
    def from_config(cls, config: Config) -> PostgresEventStore:
        store = cls(**client_arguments(config))
        store.retention_policy = config.retention
        return store

    def __repr__(self) -> str:
        return f"PostgresEventStore({mask_dsn(self.dsn)!r})"

    def _call(self, work: Callable[[Connection], T], *, append: bool = False) -> T:
        """Run `work` on a pooled connection within the deadline. Every call the store makes is
        safe to repeat, so lost connections, deadlocks and serialization failures are retried
        (CallAttempts); driver errors become pyevents errors."""
        attempts = self._attempts(append)
        while True:
            timeout = attempts.admit()
            try:
                conn = self._pool.acquire(timeout)
            except psycopg.OperationalError as exc:
                delay = attempts.connect_failed(exc)
            except BaseException:
                attempts.abandoned()
                raise
            else:
                try:
                    result = work(conn)
                except psycopg.Error as exc:
                    lost = is_connection_lost(exc, conn)
                    self._pool.release(conn)
                    if lost:
                        self._pool.discard_idle()
                    delay = attempts.work_failed(exc, lost)
                except BaseException:
                    self._pool.release(conn)
                    attempts.abandoned()
                    raise
                else:
                    self._pool.release(conn)
                    attempts.succeeded()
                    return result
            time.sleep(delay)

    def _attempts(self, append: bool) -> CallAttempts:
        return CallAttempts(
            self.breaker,
            self.deadline,
            self.role_prefix,
            lambda message, sent: unavailable_error(message, self.dsn, self.deadline, append=append, sent=sent),
        )

    def _fetchall(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self._call(lambda conn: conn.execute(sql, params).fetchall())

    def _fetchone(self, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        return self._call(lambda conn: conn.execute(sql, params).fetchone())

    def _fetch_events(self, sql: str, params: Sequence[Any], consistency: str = "primary") -> list[RecordedEvent]:
        """Rows of EVENT_COLUMNS, read in binary, as events (payload and metadata decoded lazily)."""
        rows = self._read_call(lambda conn: conn.execute(sql, params, binary=True).fetchall(), consistency)
        return [recorded_event(row) for row in rows]

    # -- read replicas -----------------------------------------------------------------------
    def _read_call(self, work: Callable[[Connection], T], consistency: str) -> T:
        """`work` on a usable replica, unless the read must see the primary; on the primary
        when no replica is usable or the replica fails it (failover within the call)."""
        replica = None if check_consistency(consistency) else self._usable_replica()
        if replica is None:
            return self._call(work)
        state, pool = replica
        try:
            conn = pool.acquire(self.deadline)
        except psycopg.OperationalError as exc:
            state.failed(time.monotonic(), cause_of(exc))
            return self._call(work)
        except BackendUnavailable:  # every replica connection busy: the primary answers
            return self._call(work)
        try:
            result = work(conn)
        except psycopg.Error as exc:
            failover = replica_failure(exc, conn)
            lost = is_connection_lost(exc, conn)
            pool.release(conn)
            if lost:
                pool.discard_idle()
            if not failover:
                raise translate(exc, self.role_prefix) from None
            state.failed(time.monotonic(), cause_of(exc))
            return self._call(work)
        except BaseException:
            pool.release(conn)
            raise
        pool.release(conn)
        return result

    def _usable_replica(self) -> tuple[ReplicaState, Pool] | None:
        """The next replica, in turn, that is up and within the lag bound (measured again
        when its last measure is older than a second)."""
        for state, pool in self._replicas.in_turn():
            if state.check_due(time.monotonic()):
                with self._checking:
                    if state.check_due(time.monotonic()):
                        self._check_replica(state, pool)
            if state.usable(time.monotonic()):
                self._replicas.chose(state)
                return state, pool
        return None

    def _check_replica(self, state: ReplicaState, pool: Pool) -> None:
        try:
            primary = self._wal_position(self._pool, WAL_POSITION_SQL)
        except (psycopg.Error, BackendUnavailable):
            primary = None  # unknown: the replicas go on serving
        state.primary_sampled(time.monotonic(), primary)
        try:
            replayed = self._wal_position(pool, REPLAYED_LSN_SQL)
        except (psycopg.Error, BackendUnavailable) as exc:
            state.failed(time.monotonic(), check_failure(exc))
            return
        state.replayed(time.monotonic(), replayed)

    def _wal_position(self, pool: Pool, sql: str) -> int | None:
        """One attempt, no retries: a check must not hold a read up."""
        conn = pool.acquire(self.deadline)
        try:
            row = conn.execute(sql).fetchone()
        finally:
            pool.release(conn)
        return None if row is None or row[0] is None else int(row[0])

    def replica_status(self) -> list[dict[str, Any]]:
        """Each replica's state as last measured: its lag in seconds and why it is not used."""
        return self._replicas.status()

    # -- writing -----------------------------------------------------------------------------
    def _append_batch(self, events: list[Event], condition: AppendCondition | None) -> list[int]:
        # A retry after a lost connection or a race is idempotent: events already stored with
        # the same content return their positions, before any condition is checked.
        params = append_params(events, condition)
        row = self._call(lambda conn: conn.execute(APPEND_SQL, params).fetchone(), append=True)
        assert row is not None
        positions: list[int] = row[0]
        return positions

    # -- reading -----------------------------------------------------------------------------
    # Queries may go to a read replica; `consistency="primary"` reads your own writes.
    def get_events(self, options: QueryOptions | None = None, *, consistency: str = "any") -> EventPage:
        token = primary_only.set(check_consistency(consistency))
        try:
            return super().get_events(options)
        finally:
            primary_only.reset(token)

    def _get_events(self, options: QueryOptions) -> EventPage:
        return self._read_call(lambda conn: fetch_page(conn, options), "any")

    def get_event(self, event_id: uuid.UUID | str, *, consistency: str = "any") -> RecordedEvent | None:
        event_id = check_uuid(event_id, "event_id")
        events = self._fetch_events(f"SELECT {EVENT_COLUMNS} FROM pyevents.get_event(%s)", (event_id,), consistency)
        return events[0] if events else None

    def get_events_by_correlation(
        self, correlation_id: uuid.UUID | str, *, consistency: str = "any"
    ) -> list[RecordedEvent]:
        correlation_id = check_uuid(correlation_id, "correlation_id")
        return self._fetch_events(
            f"SELECT {EVENT_COLUMNS} FROM pyevents.get_events_by_correlation(%s)", (correlation_id,), consistency
        )

    def _read(self, query: Query, after: int | None, limit: int | None) -> list[RecordedEvent]:
        # Always the primary: the head it returns must account for appends in flight there.
        return self._fetch_events(
            f"SELECT {EVENT_COLUMNS} FROM pyevents.read_events(%s, %s, %s)", (Jsonb(query.to_json()), after, limit)
        )

    def redacted_paths(self) -> list[str]:
        """The paths of table pyevents.redacted_paths, which the audit views mask; the CLI's
        --redact masks them too (pyevents.redaction)."""
        row = self._fetchone("SELECT pyevents.redacted_path_list()", ())
        assert row is not None
        return list(row[0])

    # -- snapshots ---------------------------------------------------------------------------
    def _create_snapshot(self, correlation_id: uuid.UUID, encoded: str, position: int | None) -> Snapshot:
        row = self._fetchone(
            "SELECT position, created_at FROM pyevents.create_snapshot(%s, %s::jsonb, %s)",
            (correlation_id, encoded, position),
        )
        assert row is not None
        return Snapshot(correlation_id, json.loads(encoded), row[0], row[1])

    def _get_snapshot(self, correlation_id: uuid.UUID) -> Snapshot | None:
        row = self._fetchone("SELECT position, state, created_at FROM pyevents.get_snapshot(%s)", (correlation_id,))
        return None if row is None else Snapshot(correlation_id, row[1], row[0], row[2])

    # -- operations --------------------------------------------------------------------------
    def health_check(
        self, *, max_horizon_seconds: float = MAX_HORIZON_SECONDS, min_months_premade: int = MIN_MONTHS_PREMADE
    ) -> HealthStatus:
        """Ready when PostgreSQL answers, the schema is the one this client expects, partitions
        are premade ahead, no transaction holds the horizon back too long, and the pool is not
        exhausted."""
        details: dict[str, Any] = {"dsn": mask_dsn(self.dsn), "breaker": self.breaker.state}
        if self._replicas.replicas:
            details["replicas"] = self.replica_status()
        # Its own connection, not the pool's: an exhausted pool must not hide a reachable server.
        try:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                row = conn.execute(HEALTH_SQL).fetchone()
        except psycopg.Error as exc:
            error, status = unhealthy(exc, self.backend_name, details, self.role_prefix)
            self.instruments.error(error)
            return status
        assert row is not None
        return health_status(
            self.backend_name, details, row[0], self._pool_metrics(), max_horizon_seconds, min_months_premade
        )

    def _storage_metrics(self) -> StorageMetrics:
        row = self._fetchone(STORAGE_METRICS_SQL, ())
        assert row is not None
        return storage_metrics(row[0])

    def _pool_metrics(self) -> PoolMetrics:
        return self._pool.metrics()

    # -- live streams ------------------------------------------------------------------------
    def _stream_pages(self) -> PageReader:
        return _PrimaryPages(self) if self._replicas.replicas else self

    def _open_follower(self) -> Follower:
        """A stream follows a usable replica (polling, its pages read there too), else the
        primary."""
        replica = self._usable_replica()
        if replica is not None:
            state, pool = replica
            try:
                return ReplicaFollower(
                    pool.dsn,
                    self.dsn,
                    role_prefix=self.role_prefix,
                    configure=connection_setup(self.pooler),
                    read_page=fetch_page,
                )
            except PyEventsError as exc:
                state.failed(time.monotonic(), str(exc))
        return PostgresFollower(self.dsn, role_prefix=self.role_prefix, listen=self.pooler != TRANSACTION_POOLER)

    def _load_checkpoint(self, subscription: str) -> int | None:
        row = self._fetchone("SELECT pyevents.get_checkpoint(%s)", (subscription,))
        return None if row is None else row[0]

    def _save_checkpoint(self, subscription: str, position: int) -> None:
        # Checkpoints only move forward: saving one again is harmless.
        self._fetchone("SELECT pyevents.save_checkpoint(%s, %s)", (subscription, position))

    # -- retention ---------------------------------------------------------------------------
    def _apply_retention(self, policy: RetentionPolicy, dry_run: bool, progress: Progress | None) -> RetentionReport:
        """One call of pyevents.apply_retention: the removal and its record commit together.
        The login must be a member of the store's retention role (or a superuser)."""
        row = self._fetchone("SELECT pyevents.apply_retention(%s, %s)", (Jsonb(policy.to_json()), dry_run))
        assert row is not None
        report = RetentionReport.from_json(row[0])
        if progress is not None:
            progress(len(report.units), len(report.units))
        return report

    def verify(self, progress: Callable[[int], None] | None = None) -> list[str]:
        return [row[0] for row in self._fetchall(VERIFY_SQL, ())]

    # -- seals (sealing.py) ------------------------------------------------------------------
    def seal(self, max_events: int = DEFAULT_SEAL_EVENTS) -> list[Seal]:
        """Seal every event that is final, in seals of at most `max_events`; the new seals.
        Each seal commits on its own, and writers never wait for them."""
        check_seal_size(max_events)
        sealed: list[Seal] = []
        while rows := self._fetchall(sealing.SEAL_EVENTS_SQL, (max_events,)):
            sealed.extend(sealing.to_seal(row) for row in rows)
        return sealed

    def seals(self) -> list[Seal]:
        """Every seal, oldest first."""
        return [sealing.to_seal(row) for row in self._fetchall(sealing.SEALS_SQL, ())]

    def sealed_leaves(self, seal: int | None = None) -> list[SealedLeaf]:
        """Every position the seals up to `seal` (None: all) cover, as sealed and as it is now."""
        rows = self._call(lambda conn: conn.execute(sealing.SEALED_LEAVES_SQL, (seal,), binary=True).fetchall())
        return [sealing.to_sealed_leaf(row) for row in rows]

    def close(self) -> None:
        self._pool.close()
        for _, pool in self._replicas.replicas:
            pool.close()


class _PrimaryPages:
    """A stream's pages from the primary: its follower's frontier is the primary's, and a
    replica may not have replayed up to it yet."""

    def __init__(self, store: PostgresEventStore) -> None:
        self._store = store

    def get_events(self, options: QueryOptions | None = None) -> EventPage:
        return self._store.get_events(options, consistency="primary")
