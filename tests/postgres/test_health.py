"""Readiness checks of the PostgreSQL backend that fail: a transaction holding the horizon back,
an exhausted pool, partitions not premade far enough; and what an application role sees."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources

import psycopg
import pytest

import pyevents
from pyevents.backends.postgres import PostgresEventStore, schema
from pyevents.model import HealthStatus


def checks(status: HealthStatus) -> dict[str, bool]:
    return {check.name: check.ok for check in status.checks}


@pytest.mark.parametrize("as_application", [False, True], ids=["superuser", "application-role"])
def test_a_long_transaction_holds_the_horizon_back(pg_dsn: str, app_role: str, as_application: bool) -> None:
    config = {"backend": "postgresql", "postgresql": {"dsn": app_role if as_application else pg_dsn}}
    with pyevents.open_store(config=config) as store, psycopg.connect(pg_dsn) as holder:
        assert isinstance(store, PostgresEventStore)
        assert store.health_check(max_horizon_seconds=0.2).healthy
        holder.execute("SELECT pg_current_xact_id()")  # an open transaction with an xid, as the superuser
        time.sleep(0.4)
        status = store.health_check(max_horizon_seconds=0.2)
        assert not status.healthy and status.reachable
        assert checks(status) == {"reachable": True, "schema": True, "partitions": True, "horizon": False, "pool": True}
        assert status.details["oldest_transaction_seconds"] >= 0.4
        holder.rollback()
        assert store.health_check(max_horizon_seconds=0.2).healthy


@contextmanager
def _holding_the_only_connection(store: PostgresEventStore) -> Iterator[None]:
    conn = store._pool.acquire(5.0)
    try:
        yield
    finally:
        store._pool.release(conn)


def test_an_exhausted_pool_is_not_ready(pg_dsn: str) -> None:
    config = {"backend": "postgresql", "postgresql": {"dsn": pg_dsn, "pool_size": 1}}
    with pyevents.open_store(config=config) as store:
        assert isinstance(store, PostgresEventStore)
        store.get_events()
        waiter = threading.Thread(target=store.get_events)
        with _holding_the_only_connection(store):
            waiter.start()
            deadline = time.monotonic() + 5
            while store._pool_metrics().waiting == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            status = store.health_check()
            assert not status.healthy and status.reachable
            assert checks(status)["pool"] is False and all(ok for name, ok in checks(status).items() if name != "pool")
            assert store._pool_metrics().exhausted
        waiter.join()
        assert store.health_check().healthy


def test_partitions_premade_ahead(pg_store: PostgresEventStore) -> None:
    status = pg_store.health_check()
    assert status.details["months_premade_ahead"] == 3  # ensure_partitions() at install
    short = pg_store.health_check(min_months_premade=4)
    assert checks(short)["partitions"] is False and not short.healthy
    assert "premade 3 months ahead (at least 4 wanted" in {c.name: c.detail for c in short.checks}["partitions"]


@pytest.mark.parametrize(
    ("installed", "detail"),
    [
        ("pyevents-0005-dcb-gate", "expected {latest}: run db upgrade"),
        ("pyevents-9999-later", "newer than this client"),
    ],
)
def test_a_schema_at_another_migration_is_not_ready(
    pg_dsn: str, pg_store: PostgresEventStore, installed: str, detail: str
) -> None:
    """As if another release had installed the schema: its health_report names its own newest migration."""
    source = resources.files("pyevents.backends.postgres").joinpath("sql/functions/health_report.sql").read_text()
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(source.replace("@PYEVENTS_MIGRATION@", installed).encode())
    status = pg_store.health_check()
    assert not status.healthy and status.reachable
    found = {check.name: check for check in status.checks}
    assert not found["schema"].ok and detail.format(latest=schema.latest_migration()) in found["schema"].detail
    assert all(check.ok for name, check in found.items() if name != "schema")
    schema.upgrade(pg_dsn)
    assert pg_store.health_check().healthy
