"""`db upgrade` and `db status` against real databases (the throwaway cluster of tests/conftest.py)."""

from __future__ import annotations

import json

from tests.cli.helpers import Cli, invoke
from tests.conftest import Cluster


def test_upgrade_installs_then_is_a_no_op(pg_cluster: Cluster) -> None:
    dsn = pg_cluster.create_database(template=None)
    before = json.loads(invoke(["db", "status", "--dsn", dsn, "--format", "json"]).stdout)
    assert before["installed_version"] is None and before["applied"] == [] and before["pending"]

    first = invoke(["db", "upgrade", "--dsn", dsn]).stdout.splitlines()
    assert first[0] == f"applied {len(before['pending'])} migrations:"
    assert [line.strip() for line in first[1:-1]] == before["pending"]
    assert first[-1].startswith("schema version: ")

    second = invoke(["db", "upgrade", "--dsn", dsn]).stdout.splitlines()
    assert second[0].startswith("schema is up to date")
    assert second[-1] == first[-1]
    assert json.loads(invoke(["db", "upgrade", "--dsn", dsn, "--format", "json"]).stdout)["applied"] == []

    after = json.loads(invoke(["db", "status", "--dsn", dsn, "--format", "json"]).stdout)
    assert after["applied"] == before["pending"] and after["pending"] == []
    assert after["installed_version"] == first[-1].removeprefix("schema version: ")
    assert isinstance(after["partman"], bool)


def test_status_table(pg: Cli) -> None:
    text = pg.run("db", "status").stdout
    assert "installed version" in text and "pending migrations     0" in text
    assert "partitions managed by" in text
    assert "applied:\n  pyevents-0001" in text


def test_status_masks_the_password(pg_cluster: Cluster) -> None:
    dsn = pg_cluster.dsn_for("postgres") + " password=s3cret"  # trust authentication ignores it
    document = json.loads(invoke(["db", "status", "--dsn", dsn, "--format", "json"]).stdout)
    assert "s3cret" not in json.dumps(document) and "********" in document["dsn"]


def test_db_uses_the_configured_dsn(pg_dsn: str) -> None:
    with open("pyevents.toml", "w", encoding="utf-8") as handle:
        handle.write(f'backend = "postgresql"\n[postgresql]\ndsn = "{pg_dsn}"\n')
    assert "pending migrations     0" in invoke(["db", "status"]).stdout


def test_dsn_replaces_the_configured_server(pg_dsn: str) -> None:
    with open("other.toml", "w", encoding="utf-8") as handle:
        handle.write('backend = "file"\n[postgresql]\nhost = "db.invalid"\nport = 1\ndatabase = "nope"\n')
    invoke(["--config", "other.toml", "append", "--type", "a", "--actor-type", "u", "--actor-id", "1", "--dsn", pg_dsn])
    assert invoke(["--config", "other.toml", "health", "--dsn", pg_dsn]).stdout.startswith("healthy")


def test_demo_says_when_the_schema_is_missing(pg_cluster: Cluster) -> None:
    dsn = pg_cluster.create_database(template=None)
    result = invoke(["demo", "--dsn", dsn], code=4)
    assert result.stderr.startswith("Error: the postgresql store is not ready")
    assert "pyevents db upgrade" in result.stderr
    assert result.stdout == ""
