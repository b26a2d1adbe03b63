"""`pyevents health` and `pyevents metrics` on every backend; readiness checks that fail."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from tests.cli.helpers import Cli, event, invoke
from tests.conftest import Cluster


def test_health_lists_every_readiness_check(cli: Cli) -> None:
    document = cli.json("health")
    assert (document["healthy"], document["ready"], document["reachable"]) == (True, True, True)
    expected = {
        "file": {"storage", "writable", "disk_space"},
        "postgresql": {"reachable", "schema", "partitions", "horizon", "pool"},
        "eventstore": {"reachable", "leader", "stream"},
    }[cli.backend]
    assert set(document["checks"]) == expected
    assert all(check["ok"] for check in document["checks"].values())
    table = cli.run("health").stdout
    assert all(f"check {name}" in table for name in expected)


def test_health_without_the_schema_is_reachable_but_not_ready(pg_cluster: Cluster) -> None:
    dsn = pg_cluster.create_database(template=None)
    document = invoke(["health", "--dsn", dsn, "--format", "json"], code=1).stdout
    assert '"reachable": true' in document and '"ready": false' in document
    assert "pyevents db upgrade" in document


def test_growth_per_day_follows_appends(cli: Cli) -> None:
    def growth() -> float:
        value: float = cli.json("metrics")["storage"]["growth_bytes_per_day"]
        return value

    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    cli.append_lines([event("old", timestamp=two_days_ago)])
    if cli.backend != "eventstore":  # which goes by the server's recording time, not the timestamp
        assert growth() == 0  # nothing timestamped in the last day
    cli.append_lines([event("a"), event("a")])
    first = growth()
    assert first > 0
    cli.append_lines([event("b") for _ in range(3)])
    assert growth() > first


def test_metrics_count_what_is_stored(cli: Cli) -> None:
    cli.append_lines([event("a"), event("a"), event("b")])
    cli.run("tail", "--from-start", "--no-follow", "--subscription", "mailer")
    [last] = cli.append_lines([event("b")])
    document = cli.json("metrics")
    storage = document["storage"]
    assert storage["events_by_type"] == {"a": 2, "b": 2} and storage["events_total"] == 4
    assert storage["head"] == last and storage["subscription_lag"] == {"mailer": 1}
    assert storage["storage_bytes"] > 0 and storage["partitions"] >= 1
    assert document["process"]["appended_total"] == 0  # this process appended nothing
    table = cli.run("metrics").stdout
    assert "events a  2" in table.replace("events a          ", "events a  ")
    exposition = cli.run("metrics", "--format", "prometheus").stdout
    assert 'pyevents_events{event_type="a"} 2.0' in exposition
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (scripts/prometheus.sh install)")
    done = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
