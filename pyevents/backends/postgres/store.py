"""PostgresEventStore: a thin client over the stored functions of schema `pyevents`.

Every read and write is one call of a stored function (no ad-hoc SQL against the tables);
arrays travel in binary, so a batch of 1000 events is one round trip. Driver errors are
translated into pyevents errors at this boundary.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb, set_json_loads
from psycopg_pool import ConnectionPool, PoolTimeout

from pyevents.backends.postgres.errors import translate
from pyevents.backends.postgres.follower import PostgresFollower
from pyevents.config import Config, mask_dsn
from pyevents.errors import (
    BackendUnavailable,
    ConfigError,
    PyEventsError,
)
from pyevents.limits import DEFAULT_MAX_PAYLOAD_SIZE
from pyevents.model import (
    AppendCondition,
    Event,
    EventPage,
    HealthStatus,
    Query,
    QueryOptions,
    RecordedEvent,
    check_uuid,
)
from pyevents.retention import Progress, RetentionPolicy, RetentionReport
from pyevents.store import EventStore

APPEND_ATTEMPTS = 3
EVENT_COLUMNS = (
    "position, event_id, timestamp, event_type, actor_type, actor_id, correlation_id, "
    "causation_id, schema_version, payload, metadata, recorded_at"
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


def _recorded(row: tuple[Any, ...]) -> RecordedEvent:
    """Rows from our own functions are already valid: build without re-validating (fast reads)."""
    event = object.__new__(RecordedEvent)
    event.__dict__.update(zip(_ROW_FIELDS, row, strict=True))
    return event


def _configure(conn: psycopg.Connection[Any]) -> None:
    """orjson decodes payloads several times faster than the standard library."""
    set_json_loads(orjson.loads, conn)


_ROW_FIELDS = tuple(name.strip() for name in EVENT_COLUMNS.split(","))


class PostgresEventStore(EventStore):
    backend_name = "postgresql"

    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int = 10,
        connect_timeout: int = 10,
        application_name: str = "pyevents",
        max_payload_size: int = DEFAULT_MAX_PAYLOAD_SIZE,
    ) -> None:
        super().__init__(max_payload_size=max_payload_size)
        self.dsn = make_conninfo(dsn, application_name=application_name, connect_timeout=connect_timeout)
        self._pool = ConnectionPool(
            self.dsn,
            min_size=1,
            max_size=max(1, pool_size),
            timeout=connect_timeout,
            open=False,
            name="pyevents",
            # Every call is one stored function, atomic on its own: autocommit saves the
            # BEGIN/COMMIT round trips.
            kwargs={"autocommit": True},
            configure=_configure,
        )
        self._opened = False

    @classmethod
    def from_config(cls, config: Config) -> PostgresEventStore:
        settings = config.section("postgresql")
        store = cls(
            build_dsn(settings),
            pool_size=settings["pool_size"],
            connect_timeout=settings["connect_timeout"],
            application_name=settings["application_name"],
            max_payload_size=config.section("limits")["max_payload_size"],
        )
        store.retention_policy = config.retention
        return store

    def __repr__(self) -> str:
        return f"PostgresEventStore({mask_dsn(self.dsn)!r})"

    @contextmanager
    def _pool_connection(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """A pooled connection; driver errors pass through untranslated."""
        if not self._opened:
            self._pool.open(wait=False)
            self._opened = True
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout:
            raise BackendUnavailable(f"no PostgreSQL connection available ({mask_dsn(self.dsn)})") from None

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """A pooled connection; driver errors become pyevents errors."""
        try:
            with self._pool_connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise translate(exc) from None

    # -- writing -----------------------------------------------------------------------------
    def _append_batch(self, events: list[Event], condition: AppendCondition | None) -> list[int]:
        params = append_params(events, condition)
        for attempt in range(APPEND_ATTEMPTS):
            try:
                with self._pool_connection() as conn:
                    row = conn.execute(APPEND_SQL, params).fetchone()
                break
            except psycopg.errors.SerializationFailure as exc:
                # A concurrent append stored one of these ids first: the retry is idempotent.
                if attempt == APPEND_ATTEMPTS - 1:
                    raise translate(exc) from None
            except psycopg.Error as exc:
                raise translate(exc) from None
        assert row is not None
        positions: list[int] = row[0]
        return positions

    # -- reading -----------------------------------------------------------------------------
    def _get_events(self, options: QueryOptions) -> EventPage:
        cursor = options.decoded_cursor()
        params = (
            options.since,
            options.until,
            list(options.event_types) if options.event_types else None,
            options.actor_id,
            options.correlation_id,
            list(options.tags) if options.tags else None,
            options.after_position,
            options.limit + 1,  # one more than asked: tells whether another page exists
            options.offset,
            options.order_by,
            options.order_direction,
            None if cursor is None else cursor.position,
            None if cursor is None or options.order_by == "position" else cursor.value,
        )
        with self._connection() as conn:
            rows = conn.execute(GET_EVENTS_SQL, params).fetchall()
        events = [_recorded(row) for row in rows[: options.limit]]
        has_more = len(rows) > options.limit
        return EventPage(events, options.cursor_after(events[-1]) if has_more else None, has_more)

    def get_event(self, event_id: uuid.UUID | str) -> RecordedEvent | None:
        event_id = check_uuid(event_id, "event_id")
        with self._connection() as conn:
            row = conn.execute(f"SELECT {EVENT_COLUMNS} FROM pyevents.get_event(%s)", (event_id,)).fetchone()
        return None if row is None else _recorded(row)

    def get_events_by_correlation(self, correlation_id: uuid.UUID | str) -> list[RecordedEvent]:
        correlation_id = check_uuid(correlation_id, "correlation_id")
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {EVENT_COLUMNS} FROM pyevents.get_events_by_correlation(%s)", (correlation_id,)
            ).fetchall()
        return [_recorded(row) for row in rows]

    def _read(self, query: Query, after: int | None, limit: int | None) -> list[RecordedEvent]:
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {EVENT_COLUMNS} FROM pyevents.read_events(%s, %s, %s)",
                (Jsonb(query.to_json()), after, limit),
            ).fetchall()
        return [_recorded(row) for row in rows]

    # -- operations --------------------------------------------------------------------------
    def health_check(self) -> HealthStatus:
        try:
            with self._connection() as conn:
                row = conn.execute("SELECT pyevents.schema_version(), now()").fetchone()
        except PyEventsError as exc:
            return HealthStatus(False, self.backend_name, {"error": str(exc)})
        assert row is not None
        version, server_time = row
        return HealthStatus(
            True,
            self.backend_name,
            {"schema_version": version, "server_time": server_time.isoformat(), "dsn": mask_dsn(self.dsn)},
        )

    # -- live streams ------------------------------------------------------------------------
    def _open_follower(self) -> PostgresFollower:
        return PostgresFollower(self.dsn)

    def _load_checkpoint(self, subscription: str) -> int | None:
        with self._connection() as conn:
            row = conn.execute("SELECT pyevents.get_checkpoint(%s)", (subscription,)).fetchone()
        return None if row is None else row[0]

    def _save_checkpoint(self, subscription: str, position: int) -> None:
        with self._connection() as conn:
            conn.execute("SELECT pyevents.save_checkpoint(%s, %s)", (subscription, position))

    # -- retention ---------------------------------------------------------------------------
    def _apply_retention(self, policy: RetentionPolicy, dry_run: bool, progress: Progress | None) -> RetentionReport:
        """One call of pyevents.apply_retention: the removal and its record commit together.
        The login must be a member of pyevents_retention (or a superuser)."""
        try:
            with self._pool_connection() as conn:
                row = conn.execute(
                    "SELECT pyevents.apply_retention(%s, %s)", (Jsonb(policy.to_json()), dry_run)
                ).fetchone()
        except psycopg.errors.InsufficientPrivilege:
            raise PyEventsError("permission denied for retention: grant the login pyevents_retention") from None
        except psycopg.Error as exc:
            raise translate(exc) from None
        assert row is not None
        report = RetentionReport.from_json(row[0])
        if progress is not None:
            progress(len(report.units), len(report.units))
        return report

    def verify(self) -> list[str]:
        with self._connection() as conn:
            return [row[0] for row in conn.execute("SELECT * FROM pyevents.verify()")]

    def close(self) -> None:
        if self._opened:
            self._pool.close()
            self._opened = False
