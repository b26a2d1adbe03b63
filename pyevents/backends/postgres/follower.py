"""The PostgreSQL side of a live stream: a LISTEN connection and the settled frontier.

Sequences hand out positions before commit, so position 7 can become visible before 6. The
frontier (see sql/functions/stream_frontier.sql) only advances past a gap once every
transaction that could still fill it has ended, judged by the xid8 horizon of an earlier
snapshot. Notifications only wake the follower; it always re-reads from its own position.
"""

from __future__ import annotations

import logging
import time
from collections import deque

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
OLDEST_TRANSACTION_SQL = (
    "SELECT pid, now() - xact_start, state FROM pg_stat_activity"
    " WHERE backend_xid IS NOT NULL OR backend_xmin IS NOT NULL ORDER BY xact_start LIMIT 1"
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
    ) -> None:
        self._role_prefix = role_prefix  # names the store's roles in errors
        self._scan_limit = scan_limit
        self._horizon_warning_after = horizon_warning_after
        # (visible_max, horizon, first seen): final once snapshot_xmin reaches the horizon
        self._observations: deque[tuple[int, int, float]] = deque()
        self._warned_about: int | None = None
        self.visible_max = 0
        self._frontier = 0
        try:
            self._conn = psycopg.connect(dsn, autocommit=True, application_name=APPLICATION_NAME)
            # Taking a horizon assigns an xid; its empty commit need not wait for a WAL flush.
            self._conn.execute("SET synchronous_commit = off")
            self._conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            raise translate(exc, self._role_prefix) from None

    def frontier(self, after: int) -> int:
        try:
            row = self._conn.execute(FRONTIER_SQL, (after, self._scan_limit)).fetchone()
        except psycopg.Error as exc:
            raise translate(exc, self._role_prefix) from None
        assert row is not None
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
        self.visible_max, self._frontier = visible_max, frontier
        self._warn_if_horizon_held()
        return frontier

    def settled(self) -> bool:
        return self._frontier >= self.visible_max

    def wait(self, timeout: float) -> None:
        # Behind a gap, a commit is usually a moment away and may not notify (only one append
        # at a time does): look again soon rather than after a whole poll interval.
        if not self.settled():
            timeout = min(timeout, GAP_RECHECK_SECONDS)
        try:
            for _ in self._conn.notifies(timeout=timeout, stop_after=1):
                break
        except psycopg.Error as exc:
            raise translate(exc, self._role_prefix) from None

    def _warn_if_horizon_held(self) -> None:
        """An open transaction anywhere in the cluster delays events behind a gap: say so."""
        if not self._observations:
            return
        position, _, since = self._observations[0]
        if time.monotonic() - since < self._horizon_warning_after or self._warned_about == position:
            return
        self._warned_about = position
        oldest = self._conn.execute(OLDEST_TRANSACTION_SQL).fetchone()
        log.warning(
            "events up to position %s have waited %.0fs for the visibility horizon; oldest open transaction: %s",
            position,
            time.monotonic() - since,
            "unknown" if oldest is None else f"pid {oldest[0]}, open for {oldest[1]}, {oldest[2]}",
        )

    def close(self) -> None:
        self._conn.close()
