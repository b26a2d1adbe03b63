"""Backup and restore through the CLI: export, import, copy and big `append --file`, against
real stores (a fresh PostgreSQL database or data directory as the target)."""

from __future__ import annotations

import gzip
import json
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

import pyevents
from pyevents import transfer
from tests.cli.helpers import Cli, event
from tests.conftest import Cluster

EXECUTABLE = shutil.which("pyevents")
BIG = 50_000


def varied_events() -> list[dict[str, Any]]:
    """Events that exercise every field: back-dated months, causation, tags, Unicode, nesting."""
    correlation = str(uuid.uuid4())
    start = datetime(2023, 11, 30, 23, 59, 59, 999_999, tzinfo=UTC)
    found: list[dict[str, Any]] = []
    previous: str | None = None
    for number in range(25):
        event_id = str(uuid.uuid4())
        found.append(
            event(
                f"type.{number % 4}",
                actor_id=f"u-{number % 3}",
                event_id=event_id,
                timestamp=(start + timedelta(days=17 * number, microseconds=number)).isoformat(),
                correlation_id=correlation,
                causation_id=previous,
                schema_version="2.1",
                payload={"n": number, "text": "grüße ✓", "nested": {"list": [1, 2.5, None, True]}},
                metadata={"tags": [f"t:{number % 5}", "all"], "source": "test"},
            )
        )
        previous = event_id
    return found


def content(line: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in line.items() if key not in ("position", "recorded_at")}


def export_lines(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


@pytest.fixture
def empty_target(cli: Cli, tmp_path: Path, pg_cluster: Cluster) -> Cli:
    """A second, empty store on the same backend as `cli`."""
    if cli.backend == "postgresql":
        dsn = pg_cluster.create_database()
        return Cli("postgresql", after=["--dsn", dsn], dsn=dsn)
    config = tmp_path / "target.toml"
    config.write_text(f'backend = "file"\n[file]\ndata_directory = "{tmp_path / "target"}"\n')
    return Cli("file", before=["--config", str(config)])


def test_export_then_import_into_a_new_store_gives_the_same_events_and_checksum(
    cli: Cli, empty_target: Cli, tmp_path: Path
) -> None:
    cli.append_lines(varied_events())
    backup = tmp_path / "backup.jsonl.gz"
    summary = cli.json("export", str(backup))
    manifest = json.loads(transfer.manifest_path(backup).read_text())
    assert summary["count"] == manifest["count"] == 25
    assert manifest["counts_by_type"] == {"type.0": 7, "type.1": 6, "type.2": 6, "type.3": 6}
    assert manifest["checksum"].startswith("sha256:")

    imported = empty_target.json("import", str(backup))
    assert (imported["count"], imported["stored"], imported["manifest_checked"]) == (25, 25, True)

    again = tmp_path / "again.jsonl.gz"
    assert empty_target.json("export", str(again))["checksum"] == manifest["checksum"]
    assert [content(line) for line in export_lines(again)] == [content(line) for line in export_lines(backup)]
    assert [line["position"] for line in export_lines(again)] == sorted(
        line["position"] for line in export_lines(again)
    )

    # Importing the same export again stores nothing.
    assert empty_target.json("import", str(backup))["stored"] == 0
    assert empty_target.json("export", str(tmp_path / "third.jsonl.gz"))["count"] == 25


def test_export_filters_and_plain_output(cli: Cli, tmp_path: Path) -> None:
    cli.append_lines(varied_events())
    plain = tmp_path / "t0.jsonl"
    summary = cli.json("export", "--type", "type.0", "--tag", "t:0", "--no-gzip", str(plain))
    lines = [json.loads(line) for line in plain.read_text().splitlines()]
    assert summary["count"] == len(lines) == 2  # numbers 0 and 20
    assert summary["filters"] == {"event_types": ["type.0"], "tags": ["t:0"]}
    streamed = cli.run("export", "--type", "type.0", "--tag", "t:0", "--no-gzip", "-").stdout
    assert [json.loads(line) for line in streamed.splitlines()] == lines


def test_import_checks_the_whole_file_before_writing(cli: Cli, tmp_path: Path) -> None:
    cli.append_lines(varied_events()[:3])
    backup = tmp_path / "backup.jsonl"
    cli.run("export", "--no-gzip", str(backup))
    target = tmp_path / "target.toml"
    target.write_text(f'backend = "file"\n[file]\ndata_directory = "{tmp_path / "restored"}"\n')
    restore = Cli("file", before=["--config", str(target)])

    lines = backup.read_text().splitlines()
    changed = json.loads(lines[2])
    changed["payload"]["n"] = 99
    backup.write_text("\n".join([*lines[:2], json.dumps(changed)]) + "\n")
    error = restore.run("import", str(backup), code=2).stderr
    assert "does not match the checksum of its manifest" in error

    third = {key: value for key, value in json.loads(lines[2]).items() if key != "actor_type"}
    backup.write_text("\n".join([*lines[:2], json.dumps(third)]) + "\n")
    assert restore.run("import", str(backup), "--manifest", "/dev/null", code=2).stderr.startswith("Error: cannot read")
    transfer.manifest_path(backup).unlink()
    assert restore.run("import", str(backup), code=2).stderr == f"Error: {backup}: line 3: actor_type is required\n"
    backup.write_text(json.dumps(event("x")) + "\n")
    error = restore.run("import", str(backup), code=2).stderr
    assert error.startswith(f"Error: {backup}: line 1: event_id is required to import")
    assert restore.json("query")["events"] == []


def big_lines(count: int) -> Iterator[str]:
    correlation = str(uuid.uuid4())
    start = datetime.now(UTC) - timedelta(days=3)
    for number in range(count):
        yield json.dumps(
            {
                "event_id": str(uuid.uuid4()),
                "timestamp": (start + timedelta(seconds=number)).isoformat(),
                "event_type": f"bulk.{number % 7}",
                "actor_type": "job",
                "actor_id": "loader",
                "correlation_id": correlation,
                "payload": {"n": number},
                "metadata": {"tags": [f"batch:{number // 1000}"]},
            }
        )


def stored_numbers(dsn: str) -> list[int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT (payload ->> 'n')::int FROM pyevents.events ORDER BY position").fetchall()
    return [row[0] for row in rows]


@pytest.mark.slow
@pytest.mark.skipif(EXECUTABLE is None, reason="the pyevents console script is not installed")
def test_an_interrupted_import_of_50000_events_resumes_without_storing_anything_twice(
    pg_dsn: str, tmp_path: Path
) -> None:
    source = tmp_path / "big.jsonl"
    source.write_text("\n".join(big_lines(BIG)) + "\n")
    assert EXECUTABLE is not None
    command = [EXECUTABLE, "import", str(source), "--batch-size", "500", "--dsn", pg_dsn, "--format", "json"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while len(stored_numbers(pg_dsn)) < 2000 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    # The server finishes the statement it was running when the client died: wait for it.
    # Autocommit: inside one transaction pg_stat_activity would keep showing its first snapshot.
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        while conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone() != (0,):
            time.sleep(0.05)
    interrupted_at = len(stored_numbers(pg_dsn))
    assert 0 < interrupted_at < BIG, "the import was not interrupted midway"

    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["count"], report["stored"]) == (BIG, BIG - interrupted_at)
    assert stored_numbers(pg_dsn) == list(range(BIG))
    with pyevents.open_store(config={"backend": "postgresql", "postgresql": {"dsn": pg_dsn}}) as store:
        assert store.verify() == []


@pytest.mark.slow
def test_append_file_takes_50000_lines_in_batches(pg: Cli, tmp_path: Path) -> None:
    source = tmp_path / "big.jsonl"
    source.write_text("\n".join(big_lines(BIG)) + "\n")
    positions = pg.json("append", "--file", str(source))["positions"]
    assert len(positions) == BIG and positions == sorted(positions)
    assert pg.dsn is not None and stored_numbers(pg.dsn) == list(range(BIG))


def test_append_file_validates_every_line_before_the_first_batch(tmp_path: Path) -> None:
    config = tmp_path / "files.toml"
    config.write_text(f'backend = "file"\n[file]\ndata_directory = "{tmp_path / "store"}"\n')
    cli = Cli("file", before=["--config", str(config)])  # reading and batching are the same on every backend
    source = tmp_path / "big.jsonl"
    source.write_text("\n".join([*big_lines(10_001), '{"event_type": "x", "actor_type": "job"}']) + "\n")
    error = cli.run("append", "--file", str(source), code=2).stderr
    assert error == f"Error: {source}: line 10002: actor_id is required\n"
    # A conditional append stays one atomic batch, so it is refused above the batch limit.
    source.write_text("\n".join(big_lines(10_001)) + "\n")
    error = cli.run("append", "--file", str(source), "--if-none-match", "all", code=2).stderr
    assert error == f"Error: a conditional append is one atomic batch of at most 10000 events; {source} holds 10001\n"
    assert cli.json("query")["events"] == []
    # Above the limit without a condition: batches, and the same file again stores nothing.
    first = [
        json.loads(line)["position"]
        for line in cli.run("append", "--file", str(source), "--format", "jsonl").stdout.splitlines()
    ]
    assert len(first) == 10_001 and first == sorted(first)
    again = cli.run("append", "--file", str(source)).stdout
    assert again == f"appended 10001 events in batches of 1000 (positions {first[0]}..{first[-1]}, 0 newly stored)\n"


def test_copy_file_to_postgresql_and_back_is_identical(pg_dsn: str, tmp_path: Path) -> None:
    files = tmp_path / "files.toml"
    files.write_text(f'backend = "file"\n[file]\ndata_directory = "{tmp_path / "a"}"\n')
    postgres = tmp_path / "postgres.toml"
    postgres.write_text(f'backend = "postgresql"\n[postgresql]\ndsn = "{pg_dsn}"\n')
    back = tmp_path / "back.toml"
    back.write_text(f'backend = "file"\n[file]\ndata_directory = "{tmp_path / "b"}"\n')
    origin = Cli("file", before=["--config", str(files)])
    origin.append_lines(varied_events())

    there = origin.json("copy", "--from", str(files), "--to", str(postgres))
    assert there["identical"] and there["stored"] == 25
    home = origin.json("copy", "--from", str(postgres), "--to", str(back))
    assert home["identical"] and home["source"] == there["source"] == home["target"]

    exports = []
    for config in (files, back):
        path = tmp_path / f"{config.stem}.jsonl.gz"
        Cli("file", before=["--config", str(config)]).run("export", str(path))
        exports.append([content(line) for line in export_lines(path)])
    assert exports[0] == exports[1]

    # Copying again stores nothing; a target with an extra event fails the check (exit 1).
    assert origin.json("copy", "--from", str(files), "--to", str(postgres))["stored"] == 0
    Cli("file", before=["--config", str(back)]).append_lines([event("extra")])
    mismatch = origin.run("copy", "--from", str(postgres), "--to", str(back), code=1)
    assert "identical  NO" in mismatch.stdout
    assert "does not hold exactly the source's events" in mismatch.stderr

    # A target holding another log is refused before anything is written.
    other = tmp_path / "other.toml"
    other.write_text(f'backend = "file"\n[file]\ndata_directory = "{tmp_path / "c"}"\n')
    Cli("file", before=["--config", str(other)]).append_lines([event("unrelated")])
    refused = origin.run("copy", "--from", str(files), "--to", str(other), code=2)
    assert "already holds other events" in refused.stderr
    refused = origin.run("copy", "--from", str(files), "--to", str(files), code=2)
    assert "name the same store" in refused.stderr
