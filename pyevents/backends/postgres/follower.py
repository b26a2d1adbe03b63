"""The PostgreSQL side of a live stream: a LISTEN connection and the settled frontier.

Sequences hand out positions before commit, so position 7 can become visible before 6. The
frontier (see sql/functions/stream_frontier.sql) only advances past a gap once every
transaction that could still fill it has ended, judged by the xid8 horizon of an earlier
snapshot. Notifications only wake the follower; it always re-reads from its own position.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

import psycopg

from pyevents.backends.postgres.errors import translate
from pyevents.backends.postgres.roles import DEFAULT_PREFIX

log = logging.getLogger("pyevents.streams")

CHANNEL = "pyevents_events"
APPLICATION_NAME = "pyevents-follower"  # how operators spot stream connections in pg_stat_activity
GAP_RECHECK_SECONDS = 0.005
FRONTIER_SQL = (
    "SELECT contiguous_until, visible_max, snapshot_xmin::text, horizon::text FROM pyevents.stream_frontier(%s, %s)"
)
SETUP_SQL = (
    # Taking a horizon assigns an xid; its empty commit need not wait for a WAL flush.
    "SET synchronous_commit = off",
    f"LISTEN {CHANNEL}",
)
# Read after a frontier: every event up to it was committed before this point of the WAL.
WAL_POSITION_SQL = "SELECT pg_current_wal_insert_lsn() - '0/0'"
OLDEST_TRANSACTION_SQL = (
    "SELECT pid, now() - xact_start, state FROM pg_stat_activity"
    " WHERE backend_xid IS NOT NULL OR backend_xmin IS NOT NULL ORDER BY xact_start LIMIT 1"
)


def recheck_timeout(settled: bool, timeout: float) -> float:
    """How long a follower waits: behind a gap, a commit is usually a moment away and may not
    notify (only one append at a time does), so it looks again soon rather than after a whole
    poll interval."""
    return timeout if settled else min(timeout, GAP_RECHECK_SECONDS)


class FrontierTracker:
    """The frontier's bookkeeping, without IO, for both followers: which gaps were seen behind
    which horizon, and when one has waited long enough to warn about."""

    def __init__(self, horizon_warning_after: float) -> None:
        self._horizon_warning_after = horizon_warning_after
        # (visible_max, horizon, first seen): final once snapshot_xmin reaches the horizon
        self._observations: deque[tuple[int, int, float]] = deque()
        self._warned_about: int | None = None
        self.visible_max = 0
        self.frontier = 0

    def update(self, row: tuple[Any, ...]) -> int:
        """The frontier from a row of FRONTIER_SQL."""
        contiguous, visible_max, xmin_text, horizon_text = row
        xmin = int(xmin_text)
        frontier: int = contiguous
        while self._observations and self._observations[0][1] <= xmin:
            frontier = max(frontier, self._observations.popleft()[0])
        while self._observations and self._observations[0][0] <= frontier:
            self._observations.popleft()
        new_gap = not self._observations or self._observations[-1][0] < visible_max
        if visible_max > frontier and horizon_text is not None and new_gap:
            self._observations.append((visible_max, int(horizon_text), time.monotonic()))
        self.visible_max, self.frontier = visible_max, frontier
        return frontier

    def settled(self) -> bool:
        return self.frontier >= self.visible_max

    def wait_timeout(self, timeout: float) -> float:
        return recheck_timeout(self.settled(), timeout)

    def held_back(self) -> tuple[int, float] | None:
        """The position held back by the visibility horizon and for how many seconds, once per
        gap that has waited longer than the warning threshold."""
        if not self._observations:
            return None
        position, _, since = self._observations[0]
        waited = time.monotonic() - since
        if waited < self._horizon_warning_after or self._warned_about == position:
            return None
        self._warned_about = position
        return position, waited


def warn_held_back(held: tuple[int, float], oldest: tuple[Any, ...] | None) -> None:
    """An open transaction anywhere in the cluster delays events behind a gap: say so."""
    log.warning(
        "events up to position %s have waited %.0fs for the visibility horizon; oldest open transaction: %s",
        held[0],
        held[1],
        "unknown" if oldest is None else f"pid {oldest[0]}, open for {oldest[1]}, {oldest[2]}",
    )


class PostgresFollower:
    """One stream's connection: LISTENs for wake-ups and computes the settled frontier."""

    def __init__(
        self,
        dsn: str,
        *,
        scan_limit: int = 10_000,
        horizon_warning_after: float = 30.0,
        role_prefix: str = DEFAULT_PREFIX,
        listen: bool = True,
    ) -> None:
        """Without `listen` (behind a pooler in transaction mode) it polls, and keeps no state
        in the session: the next statement may run on another server connection."""
        self._role_prefix = role_prefix  # names the store's roles in errors
        self._scan_limit = scan_limit
        self._tracker = FrontierTracker(horizon_warning_after)
        self._listen = listen
        try:
            self._conn = psycopg.connect(dsn, autocommit=True, application_name=APPLICATION_NAME)
            if listen:
                for statement in SETUP_SQL:
                    self._conn.execute(statement)
            else:
                self._conn.prepare_threshold = None
        except psycopg.Error as exc:
            raise translate(exc, self._role_prefix) from None

    def frontier(self, after: int) -> int:
        try:
            row = self._conn.execute(FRONTIER_SQL, (after, self._scan_limit)).fetchone()
            assert row is not None
            frontier = self._tracker.update(row)
            held = self._tracker.held_back()
            if held is not None:
                warn_held_back(held, self._conn.execute(OLDEST_TRANSACTION_SQL).fetchone())
        except psycopg.Error as exc:
            raise translate(exc, self._role_prefix) from None
        return frontier

    def settled(self) -> bool:
        return self._tracker.settled()

    def wal_position(self) -> int:
        """The server's WAL insert position now, as a number (for replicas.ReplicaFollower)."""
        try:
            row = self._conn.execute(WAL_POSITION_SQL).fetchone()
        except psycopg.Error as exc:
            raise translate(exc, self._role_prefix) from None
        assert row is not None
        return int(row[0])

    def wait(self, timeout: float) -> None:
        if not self._listen:
            time.sleep(self._tracker.wait_timeout(timeout))
            return
        try:
            for _ in self._conn.notifies(timeout=self._tracker.wait_timeout(timeout), stop_after=1):
                break
        except psycopg.Error as exc:
            raise translate(exc, self._role_prefix) from None

    def close(self) -> None:
        self._conn.close()


class AsyncPostgresFollower:
    """PostgresFollower on an async connection: async LISTEN (or polling), the same frontier."""

    def __init__(
        self,
        conn: psycopg.AsyncConnection[tuple[Any, ...]],
        scan_limit: int,
        tracker: FrontierTracker,
        role_prefix: str,
        listen: bool,
    ) -> None:
        self._conn = conn
        self._listen = listen
        self._scan_limit = scan_limit
        self._tracker = tracker
        self._role_prefix = role_prefix

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        scan_limit: int = 10_000,
        horizon_warning_after: float = 30.0,
        role_prefix: str = DEFAULT_PREFIX,
        listen: bool = True,
    ) -> AsyncPostgresFollower:
        try:
            conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True, application_name=APPLICATION_NAME)
            if listen:
                for statement in SETUP_SQL:
                    await conn.execute(statement)
            else:
                conn.prepare_threshold = None
        except psycopg.Error as exc:
            raise translate(exc, role_prefix) from None
        return cls(conn, scan_limit, FrontierTracker(horizon_warning_after), role_prefix, listen)

    async def frontier(self, after: int) -> int:
        try:
            row = await (await self._conn.execute(FRONTIER_SQL, (after, self._scan_limit))).fetchone()
            assert row is not None
            frontier = self._tracker.update(row)
            held = self._tracker.held_back()
            if held is not None:
                warn_held_back(held, await (await self._conn.execute(OLDEST_TRANSACTION_SQL)).fetchone())
        except psycopg.Error as exc:
            raise translate(exc, self._role_prefix) from None
        return frontier

    def settled(self) -> bool:
        return self._tracker.settled()

    async def wal_position(self) -> int:
        """PostgresFollower.wal_position, awaited."""
        try:
            row = await (await self._conn.execute(WAL_POSITION_SQL)).fetchone()
        except psycopg.Error as exc:
            raise translate(exc, self._role_prefix) from None
        assert row is not None
        return int(row[0])

    async def wait(self, timeout: float) -> None:
        if not self._listen:
            await asyncio.sleep(self._tracker.wait_timeout(timeout))
            return
        try:
            async for _ in self._conn.notifies(timeout=self._tracker.wait_timeout(timeout), stop_after=1):
                break
        except psycopg.Error as exc:
            raise translate(exc, self._role_prefix) from None

    async def close(self) -> None:
        await self._conn.close()
