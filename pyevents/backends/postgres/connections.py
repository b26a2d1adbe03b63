"""Connections to PostgreSQL that survive a restart or failover: a small pool, a circuit
breaker, and the retry policy of one call.

Every call has a deadline. Within it, work that is safe to repeat (reads, checkpoints, and
appends, which are idempotent by event id) is retried after a lost connection, a deadlock or a
serialization failure, with jittered exponential backoff. After a lost connection the idle
connections are dropped too (a restart kills them all), so no call after recovery fails on one.
Repeated failures to reach the server open the breaker: calls then fail at once, until after a
cool-down one call probes the server (half-open) and closes the breaker when it succeeds.

Connections are made in the calling thread, so a failure carries its cause ("connection
refused", "database ... does not exist", "password authentication failed").

The policy itself (`CallAttempts`) does no IO: the blocking client and the asyncio client run
the same decisions around their own connections, pools and sleeps.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeAlias

import psycopg

from pyevents.backends.postgres.errors import translate
from pyevents.errors import BackendUnavailable
from pyevents.metrics import PoolMetrics

Connection: TypeAlias = psycopg.Connection[tuple[Any, ...]]
AsyncConnection: TypeAlias = psycopg.AsyncConnection[tuple[Any, ...]]

# Failures to connect that waiting does not cure: unknown database, role or password, no access.
PERMANENT_CONNECT_SQLSTATES = frozenset({"3D000", "28000", "28P01", "42501"})
# The transaction lost a race; the same call again will most likely succeed.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
# What stands between the client and PostgreSQL. In transaction mode a session is not the
# client's: no prepared statements, no LISTEN (streams poll), no session settings.
TRANSACTION_POOLER = "pgbouncer-transaction"
POOLERS = ("none", "pgbouncer-session", TRANSACTION_POOLER)
FIRST_BACKOFF = 0.05
MAX_BACKOFF = 1.0
LIBPQ_MIN_CONNECT_TIMEOUT = 2  # libpq treats smaller connect_timeout values as 2 seconds


def cause_of(exc: psycopg.Error) -> str:
    """The server's or libpq's own words, on one line, without libpq's connection preamble."""
    message = exc.diag.message_primary or str(exc)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    # 'connection failed: connection to server at "h" (ip), port 5432 failed: FATAL:  database ...'
    return text.rsplit(" failed: ", 1)[-1].removeprefix("FATAL:").strip()


def is_connection_lost(exc: psycopg.Error, conn: Connection | AsyncConnection) -> bool:
    """Whether `exc` means the connection is gone (not that the statement failed)."""
    return conn.broken or conn.closed or (exc.sqlstate or "").startswith(("08", "57P"))


class CircuitBreaker:
    """Closed: calls go through. Open (after `threshold` consecutive failures to reach the
    server): calls fail at once. Half-open (after the cool-down): one call probes; success
    closes the breaker, failure opens it again for a longer, jittered cool-down."""

    def __init__(self, *, threshold: int = 5, cooldown: float = 1.0, max_cooldown: float = 10.0) -> None:
        self.threshold = threshold
        self.base_cooldown = cooldown
        self.max_cooldown = max_cooldown
        self._lock = threading.Lock()
        self._failures = 0
        self._cooldown = cooldown
        self._opened_at: float | None = None
        self._probing = False
        self._last_cause = ""
        self.times_opened = 0

    @property
    def state(self) -> str:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            return "half-open" if self._probing else "open"

    def admit(self) -> bool:
        """Let a call through (True: it is the half-open probe), or raise BackendUnavailable."""
        with self._lock:
            if self._opened_at is None:
                return False
            wait = self._opened_at + self._cooldown - time.monotonic()
            if self._probing or wait > 0:
                raise BackendUnavailable(
                    f"PostgreSQL is unavailable (circuit breaker open after {self._failures} failed attempts; "
                    f"last: {self._last_cause}); the next probe is in {max(wait, 0.0):.1f}s"
                )
            self._probing = True
            return True

    def succeeded(self, probe: bool) -> None:
        with self._lock:
            self._failures = 0
            if probe or not self._probing:
                self._opened_at = None
                self._probing = False
                self._cooldown = self.base_cooldown

    def failed(self, cause: str, probe: bool) -> None:
        with self._lock:
            self._failures += 1
            self._last_cause = cause
            if probe:
                self._probing = False
                self._opened_at = time.monotonic()
                self._cooldown = min(self.max_cooldown, self._cooldown * 2) * random.uniform(0.8, 1.2)
            elif self._opened_at is None and self._failures >= self.threshold:
                self._opened_at = time.monotonic()
                self._cooldown = self.base_cooldown * random.uniform(0.8, 1.2)
                self.times_opened += 1

    def release(self, probe: bool) -> None:
        """The probe ended without learning anything about the server (e.g. the pool was busy)."""
        if probe:
            with self._lock:
                self._probing = False


class CallAttempts:
    """The retry policy of one call within its deadline, without the IO. The caller loops:
    `admit()` (the time left to get a connection), then one of `connect_failed(exc)` or
    `work_failed(exc, lost)` (each the delay before the next attempt, or raises the error to
    give up with), `succeeded()`, or `abandoned()` when anything else ends the call."""

    def __init__(
        self,
        breaker: CircuitBreaker,
        deadline: float,
        role_prefix: str,
        unavailable: Callable[[str, bool], BackendUnavailable],
    ) -> None:
        self._breaker = breaker
        self._give_up = time.monotonic() + deadline
        self._role_prefix = role_prefix
        self._unavailable = unavailable  # (message, whether the server may have run the work)
        self._attempt = 0
        self._probe = False
        self.sent = False

    def admit(self) -> float:
        try:
            self._probe = self._breaker.admit()
        except BackendUnavailable as exc:
            raise self._unavailable(str(exc), self.sent) from None
        return max(0.0, self._give_up - time.monotonic())

    def connect_failed(self, exc: psycopg.OperationalError) -> float:
        cause = cause_of(exc)
        if exc.sqlstate in PERMANENT_CONNECT_SQLSTATES:
            self._breaker.release(self._probe)
            raise self._unavailable(f"cannot connect to PostgreSQL: {cause}", self.sent) from None
        self._breaker.failed(cause, self._probe)
        return self._delay(cause, retry_now=False)

    def work_failed(self, exc: psycopg.Error, lost: bool) -> float:
        """After the work raised: `lost` when the connection is gone (the caller drops its idle
        connections too)."""
        cause = cause_of(exc)
        self.sent = True
        if lost:
            self._breaker.failed(cause, self._probe)
            # The first loss may just be a connection the server dropped long ago.
            return self._delay(cause, retry_now=self._attempt == 0)
        self._breaker.succeeded(self._probe)
        if exc.sqlstate in RETRYABLE_SQLSTATES:
            return self._delay(cause, retry_now=False)
        raise translate(exc, self._role_prefix) from None

    def succeeded(self) -> None:
        self._breaker.succeeded(self._probe)

    def abandoned(self) -> None:
        self._breaker.release(self._probe)

    def _delay(self, cause: str, *, retry_now: bool) -> float:
        delay = 0.0 if retry_now else backoff(self._attempt)
        self._attempt += 1
        if time.monotonic() + delay >= self._give_up:
            raise self._unavailable(f"PostgreSQL is unavailable: {cause}", self.sent)
        return delay


class Pool:
    """Up to `max_size` autocommit connections, made on demand in the calling thread."""

    def __init__(
        self,
        dsn: str,
        *,
        max_size: int,
        connect_timeout: float,
        configure: Callable[[Connection], None],
    ) -> None:
        self.dsn = dsn
        self.max_size = max(1, max_size)
        self.connect_timeout = connect_timeout
        self._configure = configure
        self._idle: list[Connection] = []
        self._size = 0
        self._waiting = 0
        self._closed = False
        self._available = threading.Condition()

    def acquire(self, timeout: float) -> Connection:
        """An idle connection or a new one; psycopg.OperationalError if connecting fails,
        BackendUnavailable if every connection stays busy for `timeout` seconds."""
        give_up = time.monotonic() + timeout
        with self._available:
            while True:
                if self._closed:
                    raise BackendUnavailable("the store is closed")
                if self._idle:
                    return self._idle.pop()
                if self._size < self.max_size:
                    self._size += 1
                    break
                left = give_up - time.monotonic()
                if left <= 0:
                    raise BackendUnavailable(
                        f"all {self.max_size} PostgreSQL connections stayed busy for {timeout:.1f}s"
                    )
                self._waiting += 1
                try:
                    self._available.wait(left)
                finally:
                    self._waiting -= 1
        try:
            seconds = max(LIBPQ_MIN_CONNECT_TIMEOUT, math.ceil(min(self.connect_timeout, give_up - time.monotonic())))
            conn: Connection = psycopg.connect(self.dsn, autocommit=True, connect_timeout=seconds)
            self._configure(conn)
            return conn
        except BaseException:
            self._forget()
            raise

    def release(self, conn: Connection) -> None:
        usable = not (conn.closed or conn.broken) and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with self._available:
            if usable and not self._closed:
                self._idle.append(conn)
                self._available.notify()
                return
        conn.close()
        self._forget()

    def metrics(self) -> PoolMetrics:
        with self._available:
            return PoolMetrics(
                size=self._size, available=len(self._idle), max_size=self.max_size, waiting=self._waiting
            )

    def _forget(self) -> None:
        with self._available:
            self._size -= 1
            self._available.notify()

    def discard_idle(self) -> None:
        """Close every idle connection: after one was found dead, the others are suspect too."""
        with self._available:
            idle, self._idle = self._idle, []
            self._size -= len(idle)
            self._available.notify_all()
        for conn in idle:
            conn.close()

    def close(self) -> None:
        with self._available:
            self._closed = True
        self.discard_idle()


class AsyncPool:
    """Pool for the asyncio client: the same rules, on one event loop."""

    def __init__(
        self,
        dsn: str,
        *,
        max_size: int,
        connect_timeout: float,
        configure: Callable[[AsyncConnection], None],
    ) -> None:
        self.dsn = dsn
        self.max_size = max(1, max_size)
        self.connect_timeout = connect_timeout
        self._configure = configure
        self._idle: list[AsyncConnection] = []
        self._size = 0
        self._waiting = 0
        self._closed = False
        self._available = asyncio.Condition()

    async def acquire(self, timeout: float) -> AsyncConnection:
        give_up = time.monotonic() + timeout
        async with self._available:
            while True:
                if self._closed:
                    raise BackendUnavailable("the store is closed")
                if self._idle:
                    return self._idle.pop()
                if self._size < self.max_size:
                    self._size += 1
                    break
                left = give_up - time.monotonic()
                if left <= 0:
                    raise BackendUnavailable(
                        f"all {self.max_size} PostgreSQL connections stayed busy for {timeout:.1f}s"
                    )
                self._waiting += 1
                try:
                    await asyncio.wait_for(self._available.wait(), left)
                except TimeoutError:
                    continue
                finally:
                    self._waiting -= 1
        try:
            seconds = max(LIBPQ_MIN_CONNECT_TIMEOUT, math.ceil(min(self.connect_timeout, give_up - time.monotonic())))
            conn: AsyncConnection = await psycopg.AsyncConnection.connect(
                self.dsn, autocommit=True, connect_timeout=seconds
            )
            self._configure(conn)
            return conn
        except BaseException:
            await self._forget()
            raise

    async def release(self, conn: AsyncConnection) -> None:
        usable = not (conn.closed or conn.broken) and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        async with self._available:
            if usable and not self._closed:
                self._idle.append(conn)
                self._available.notify()
                return
        await conn.close()
        await self._forget()

    def metrics(self) -> PoolMetrics:
        return PoolMetrics(size=self._size, available=len(self._idle), max_size=self.max_size, waiting=self._waiting)

    async def _forget(self) -> None:
        async with self._available:
            self._size -= 1
            self._available.notify()

    async def discard_idle(self) -> None:
        async with self._available:
            idle, self._idle = self._idle, []
            self._size -= len(idle)
            self._available.notify_all()
        for conn in idle:
            await conn.close()

    async def close(self) -> None:
        async with self._available:
            self._closed = True
        await self.discard_idle()


def backoff(attempt: int) -> float:
    """Full-jitter exponential backoff: callers retrying together spread out."""
    return random.uniform(0, min(MAX_BACKOFF, FIRST_BACKOFF * 2**attempt))
