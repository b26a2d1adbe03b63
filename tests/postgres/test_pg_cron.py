"""The scheduled route of retention: pg_cron calls pyevents.retention_maintenance() as a role
granted pyevents_retention. pg_cron must be preloaded, so this test starts its own cluster."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest

from pyevents import Event, QueryOptions
from pyevents.backends.postgres import PostgresEventStore, schema
from pyevents.model import utc_now
from pyevents.retention import APPLIED_EVENT_TYPE, RetentionPolicy
from tests.postgres.conftest import configured_cluster, extension_installed

POLICY = RetentionPolicy.from_section({"default_policy": "time", "time_policy": {"retain_days": 30}})


@pytest.fixture
def cron_dsn() -> Iterator[str]:
    """A cluster with pg_cron preloaded, its jobs running in database `events`."""
    if not extension_installed("pg_cron"):
        pytest.skip("pg_cron is not installed (scripts/pgcluster.sh install installs postgresql-<major>-cron)")
    # ALTER SYSTEM refuses cron.* settings before pg_cron is loaded: they go in the file.
    settings = "shared_preload_libraries = 'pg_cron'\ncron.database_name = 'events'\ncron.use_background_workers = on\n"
    with configured_cluster("cron", settings) as (_directory, dsn):
        yield dsn


def old_events(count: int) -> list[Event]:
    moment = utc_now() - timedelta(days=100)
    return [Event(event_type="old", actor_type="svc", actor_id="a", timestamp=moment) for _ in range(count)]


@pytest.mark.slow  # pg_cron 1.4 runs jobs on minute boundaries: up to a minute of waiting
def test_pg_cron_applies_the_stored_policy(cron_dsn: str) -> None:
    schema.upgrade(cron_dsn)
    with psycopg.connect(cron_dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pg_cron")
        conn.execute("CREATE ROLE retention_job LOGIN IN ROLE pyevents_retention, pyevents_reader")
        conn.execute("GRANT USAGE ON SCHEMA cron TO retention_job")
    with PostgresEventStore(cron_dsn) as store:
        store.append_batch(old_events(2))
        assert store.apply_retention(policy=POLICY).removed == 2  # stores the policy for the schedule
        store.append_batch(old_events(3))
        job_dsn = psycopg.conninfo.make_conninfo(cron_dsn, user="retention_job")
        with psycopg.connect(job_dsn, autocommit=True) as conn:
            conn.execute(
                "SELECT cron.schedule('pyevents-retention', '* * * * *', 'CALL pyevents.retention_maintenance()')"
            )
        deadline = time.monotonic() + 90
        runs: list[tuple[str, str]] = []
        while time.monotonic() < deadline and not runs:
            time.sleep(1)
            with psycopg.connect(cron_dsn) as conn:
                runs = conn.execute(
                    "SELECT status, coalesce(return_message, '') FROM cron.job_run_details"
                    " WHERE status IN ('succeeded', 'failed')"
                ).fetchall()
        assert runs and runs[0][0] == "succeeded", runs
        assert store.get_events(QueryOptions(event_type="old")).events == []
        records = store.get_events(QueryOptions(event_type=APPLIED_EVENT_TYPE)).events
        assert [e.payload["removed"] for e in records] == [2, 3]
        assert records[1].payload["policy"]["default_policy"] == "time"
