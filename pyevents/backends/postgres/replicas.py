"""Read replicas: which server a read goes to, and live streams that follow a standby.

A replica serves queries and catch-up reads while it is up and no further behind the primary
than `max_replica_lag` seconds; otherwise reads fail over to the primary. Its lag is measured
against the primary itself, not from replay timestamps (which grow on an idle primary): every
check samples the primary's WAL insert position, and a replica that has replayed a sample
taken at time t is at most now - t behind. When the primary cannot be sampled, replicas keep
serving reads, so reads outlive the primary.

A standby cannot assign a transaction id, so its follower cannot settle a gap in positions the
way the primary's does. A gap-free run after the stream's position is final anywhere; past a
gap, the follower asks the primary for its settled frontier and the primary's WAL position
after it, and uses that frontier once the standby has replayed up to that position: every
event up to it is then visible on the standby. NOTIFY does not reach a standby, so the
follower polls, and the stream reads its pages on the follower's own connection, from the
server whose frontier it is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

import psycopg

from pyevents.backends.postgres.connections import AsyncConnection, Connection
from pyevents.backends.postgres.errors import translate
from pyevents.backends.postgres.follower import (
    APPLICATION_NAME,
    FRONTIER_SQL,
    AsyncPostgresFollower,
    PostgresFollower,
    recheck_timeout,
)
from pyevents.config import mask_dsn
from pyevents.errors import BackendUnavailable, PyEventsError, ValidationError
from pyevents.model import EventPage, QueryOptions

log = logging.getLogger("pyevents.replicas")
P = TypeVar("P")

# NULL on a server that is not in recovery: a promoted replica is no longer one.
REPLAYED_LSN_SQL = "SELECT pg_last_wal_replay_lsn() - '0/0'"
CHECK_EVERY_SECONDS = 1.0  # how often a replica's lag is measured again
DOWN_FOR_SECONDS = 5.0  # a replica that failed is not tried again before this
SAMPLES_KEPT = 64
CONSISTENCIES = ("any", "primary")
# "primary" for the call running in this context (thread or task): read-your-writes.
primary_only: ContextVar[bool] = ContextVar("pyevents_primary_only", default=False)


def check_consistency(consistency: str) -> bool:
    """Whether a read with this consistency must go to the primary."""
    if consistency not in CONSISTENCIES:
        raise ValidationError(
            f"consistency must be one of {', '.join(CONSISTENCIES)}, not {consistency!r}", field="consistency"
        )
    return consistency == "primary" or primary_only.get()


class ReplicaState:
    """One replica's health, without IO: its lag from the primary's samples, and whether it
    failed recently. The store runs the checks this asks for."""

    def __init__(self, dsn: str, max_lag: float) -> None:
        self.dsn = dsn
        self.max_lag = max_lag
        self._samples: deque[tuple[float, int]] = deque(maxlen=SAMPLES_KEPT)  # (monotonic time, primary LSN)
        self._checked_at = -float("inf")
        self._down_until = -float("inf")
        self.lag: float | None = None  # seconds; None until measured, or when the primary is unknown
        self.problem: str | None = None

    def check_due(self, now: float) -> bool:
        return now >= self._down_until and now - self._checked_at >= CHECK_EVERY_SECONDS

    def primary_sampled(self, now: float, lsn: int | None) -> None:
        """A sample of the primary's WAL position, or None when the primary did not answer."""
        if lsn is None:
            self._samples.clear()
        else:
            self._samples.append((now, lsn))

    def replayed(self, now: float, lsn: int | None) -> None:
        """The replica's replayed WAL position, read after the primary's sample."""
        self._checked_at = now
        if lsn is None:
            self.failed(now, "not in recovery (promoted, or not a standby)")
            return
        self.problem = None
        if not self._samples:
            self.lag = None
            return
        caught_up = [taken for taken, sample in self._samples if sample <= lsn]
        self.lag = now - max(caught_up) if caught_up else now - self._samples[0][0]

    def failed(self, now: float, problem: str) -> None:
        if self.problem is None:
            log.warning("read replica %s is not used for %.0fs: %s", self.dsn, DOWN_FOR_SECONDS, problem)
        self.problem = problem
        self._checked_at = now
        self._down_until = now + DOWN_FOR_SECONDS

    def usable(self, now: float) -> bool:
        if self.problem is not None or now < self._down_until:
            return False
        return self.lag is None or self.lag <= self.max_lag


class ReplicaFrontier:
    """The settled frontier on a standby, without IO: a gap-free run is final at once; a
    frontier settled by the primary counts once the standby has replayed the primary's WAL
    position taken after it."""

    def __init__(self) -> None:
        self._pending: deque[tuple[int, int]] = deque()  # (primary's frontier, primary LSN after it)
        self.visible_max = 0
        self.frontier = 0

    def update(self, replayed: tuple[Any, ...] | None, row: tuple[Any, ...] | None) -> int:
        """The frontier from a row of REPLAYED_LSN_SQL, read before the standby's row of
        FRONTIER_SQL (so that row's snapshot sees everything replayed up to it)."""
        assert replayed is not None and row is not None
        if replayed[0] is None:
            raise BackendUnavailable("the read replica left recovery (promoted); the stream reconnects elsewhere")
        replayed_lsn, visible_max = int(replayed[0]), row[1]
        frontier: int = row[0]  # contiguous_until
        while self._pending and self._pending[0][1] <= replayed_lsn:
            frontier = max(frontier, self._pending.popleft()[0])
        self.visible_max, self.frontier = max(visible_max, frontier), frontier
        return frontier

    def settled(self) -> bool:
        return self.frontier >= self.visible_max

    def wait_timeout(self, timeout: float) -> float:
        # NOTIFY does not reach a standby: poll every `timeout` (the stream's poll_interval),
        # and sooner behind a gap, which the next commit or the primary's horizon settles.
        return recheck_timeout(self.settled(), timeout)

    def primary_settled(self, frontier: int, lsn: int) -> None:
        if frontier > self.frontier and (not self._pending or frontier > self._pending[-1][0]):
            self._pending.append((frontier, lsn))


class ReplicaSet(Generic[P]):
    """The replicas of a store and their pools, taken in turn."""

    def __init__(self, replicas: list[tuple[ReplicaState, P]]) -> None:
        self.replicas = replicas
        self._next = 0

    @classmethod
    def of(cls, read_dsns: Sequence[str], max_lag: float, open_pool: Callable[[str], P]) -> ReplicaSet[P]:
        """One pool per replica DSN (`open_pool`), each with its health."""
        return cls([(ReplicaState(mask_dsn(dsn), max_lag), open_pool(dsn)) for dsn in read_dsns])

    def in_turn(self) -> Iterator[tuple[ReplicaState, P]]:
        """Every replica once, starting after the one used last; `chose` the one used."""
        count = len(self.replicas)
        for offset in range(count):
            yield self.replicas[(self._next + offset) % count]

    def chose(self, state: ReplicaState) -> None:
        self._next = next(i for i, (s, _) in enumerate(self.replicas) if s is state) + 1

    def status(self) -> list[dict[str, Any]]:
        """Each replica's state as last measured: its lag in seconds and why it is not used."""
        return [{"dsn": state.dsn, "lag_seconds": state.lag, "problem": state.problem} for state, _ in self.replicas]


class ReplicaFollower:
    """One stream on a standby: its frontier (ReplicaFrontier) and its pages, both from the
    standby, by polling; the primary is asked only to settle gaps."""

    def __init__(
        self,
        replica_dsn: str,
        primary_dsn: str,
        *,
        role_prefix: str,
        configure: Callable[[Connection], None],
        read_page: Callable[[Connection, QueryOptions], EventPage],
        scan_limit: int = 10_000,
    ) -> None:
        self._primary_dsn = primary_dsn
        self._role_prefix = role_prefix
        self._scan_limit = scan_limit
        self._read_page = read_page
        self._primary: PostgresFollower | None = None
        self._state = ReplicaFrontier()
        try:
            self._conn: Connection = psycopg.connect(replica_dsn, autocommit=True, application_name=APPLICATION_NAME)
            configure(self._conn)
        except psycopg.Error as exc:
            raise translate(exc, role_prefix) from None

    def frontier(self, after: int) -> int:
        try:
            replayed = self._conn.execute(REPLAYED_LSN_SQL).fetchone()
            row = self._conn.execute(FRONTIER_SQL, (after, self._scan_limit)).fetchone()
        except psycopg.Error as exc:
            raise translate(exc, self._role_prefix) from None
        frontier = self._state.update(replayed, row)
        if not self._state.settled():
            self._settle_on_primary(after)
        return frontier

    def _settle_on_primary(self, after: int) -> None:
        """Ask the primary how far the log is settled; without it, gap-free runs still flow."""
        try:
            if self._primary is None:
                self._primary = PostgresFollower(self._primary_dsn, role_prefix=self._role_prefix, listen=False)
            frontier = self._primary.frontier(after)
            self._state.primary_settled(frontier, self._primary.wal_position())
        except PyEventsError as exc:
            log.warning("the primary cannot settle a gap for a replica stream (%s); retrying", exc)
            self._close_primary()

    def settled(self) -> bool:
        return self._state.settled()

    def wait(self, timeout: float) -> None:
        time.sleep(self._state.wait_timeout(timeout))

    def get_events(self, options: QueryOptions | None = None) -> EventPage:
        """A page of the stream, from this standby: everything up to its frontier is here."""
        try:
            return self._read_page(self._conn, options or QueryOptions())
        except psycopg.Error as exc:
            raise translate(exc, self._role_prefix) from None

    def _close_primary(self) -> None:
        if self._primary is not None:
            self._primary.close()
        self._primary = None

    def close(self) -> None:
        self._close_primary()
        self._conn.close()


class AsyncReplicaFollower:
    """ReplicaFollower on async connections."""

    def __init__(
        self,
        conn: AsyncConnection,
        primary_dsn: str,
        role_prefix: str,
        read_page: Callable[[AsyncConnection, QueryOptions], Awaitable[EventPage]],
        scan_limit: int,
    ) -> None:
        self._conn = conn
        self._primary_dsn = primary_dsn
        self._role_prefix = role_prefix
        self._read_page = read_page
        self._scan_limit = scan_limit
        self._primary: AsyncPostgresFollower | None = None
        self._state = ReplicaFrontier()

    @classmethod
    async def connect(
        cls,
        replica_dsn: str,
        primary_dsn: str,
        *,
        role_prefix: str,
        configure: Callable[[AsyncConnection], None],
        read_page: Callable[[AsyncConnection, QueryOptions], Awaitable[EventPage]],
        scan_limit: int = 10_000,
    ) -> AsyncReplicaFollower:
        try:
            conn = await psycopg.AsyncConnection.connect(
                replica_dsn, autocommit=True, application_name=APPLICATION_NAME
            )
            configure(conn)
        except psycopg.Error as exc:
            raise translate(exc, role_prefix) from None
        return cls(conn, primary_dsn, role_prefix, read_page, scan_limit)

    async def frontier(self, after: int) -> int:
        try:
            replayed = await (await self._conn.execute(REPLAYED_LSN_SQL)).fetchone()
            row = await (await self._conn.execute(FRONTIER_SQL, (after, self._scan_limit))).fetchone()
        except psycopg.Error as exc:
            raise translate(exc, self._role_prefix) from None
        frontier = self._state.update(replayed, row)
        if not self._state.settled():
            await self._settle_on_primary(after)
        return frontier

    async def _settle_on_primary(self, after: int) -> None:
        try:
            if self._primary is None:
                self._primary = await AsyncPostgresFollower.connect(
                    self._primary_dsn, role_prefix=self._role_prefix, listen=False
                )
            frontier = await self._primary.frontier(after)
            self._state.primary_settled(frontier, await self._primary.wal_position())
        except PyEventsError as exc:
            log.warning("the primary cannot settle a gap for a replica stream (%s); retrying", exc)
            await self._close_primary()

    def settled(self) -> bool:
        return self._state.settled()

    async def wait(self, timeout: float) -> None:
        await asyncio.sleep(self._state.wait_timeout(timeout))

    async def get_events(self, options: QueryOptions | None = None) -> EventPage:
        try:
            return await self._read_page(self._conn, options or QueryOptions())
        except psycopg.Error as exc:
            raise translate(exc, self._role_prefix) from None

    async def _close_primary(self) -> None:
        if self._primary is not None:
            await self._primary.close()
        self._primary = None

    async def close(self) -> None:
        await self._close_primary()
        await self._conn.close()
