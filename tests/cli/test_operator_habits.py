"""What DBAs and operators expect of a command line: CSV/TSV, --no-header, --wide, -V,
PYEVENTS_DSN and libpq's environment instead of --dsn, and quiet exits into closed pipes."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

import pyevents
from tests.cli.helpers import Cli, event, invoke

EXECUTABLE = shutil.which("pyevents")
LONG = {"text": "x" * 80, "quote": 'say "hi", then go'}


def test_csv_and_tsv_carry_every_field(cli: Cli) -> None:
    positions = cli.append_lines([event("a", payload=LONG, metadata={"tags": ["t,1", "t2"]}), event("b")])
    rows = list(csv.reader(io.StringIO(cli.run("query", "--format", "csv").stdout)))
    assert rows[0][:4] == ["position", "event_id", "timestamp", "event_type"] and len(rows) == 3
    first = dict(zip(rows[0], rows[1], strict=True))
    assert int(first["position"]) == positions[0]
    assert json.loads(first["payload"]) == LONG and first["tags"] == "t,1,t2"
    assert list(csv.reader(io.StringIO(cli.run("query", "--format", "csv", "--no-header").stdout))) == rows[1:]

    tsv = cli.run("query", "--format", "tsv").stdout.splitlines()
    assert [line.split("\t") for line in tsv] == rows


def test_wide_tables_do_not_truncate_and_no_header_drops_the_header(cli: Cli) -> None:
    cli.append_lines([event("a", payload=LONG)])
    narrow = cli.run("query").stdout
    assert "..." in narrow and "x" * 80 not in narrow
    wide = cli.run("query", "--wide").stdout
    assert "x" * 80 in wide and wide.splitlines()[0].startswith("position")
    bare = cli.run("query", "--wide", "--no-header").stdout.splitlines()
    assert bare == wide.splitlines()[2:]
    result = cli.run("read", "--no-header")
    assert "head:" not in result.stdout and result.stderr.startswith("head: ")


def test_short_version_flag() -> None:
    assert invoke(["-V"]).stdout == invoke(["--version"]).stdout == f"pyevents, version {pyevents.__version__}\n"


def test_pyevents_dsn_and_libpq_environment_replace_dsn(
    pg: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert pg.dsn is not None
    parts = conninfo_to_dict(pg.dsn)
    pg.append_lines([event("a")])

    monkeypatch.setenv("PYEVENTS_DSN", pg.dsn)
    assert len(json.loads(invoke(["query", "--format", "json"]).stdout)["events"]) == 1

    # Only the database named: libpq takes host, port and user from PGHOST, PGPORT, PGUSER.
    monkeypatch.setenv("PYEVENTS_DSN", f"dbname={parts['dbname']}")
    for key, variable in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER")):
        monkeypatch.setenv(variable, str(parts[key]))
    assert len(json.loads(invoke(["query", "--format", "json"]).stdout)["events"]) == 1

    # A service from a pg_service.conf.
    for variable in ("PGHOST", "PGPORT", "PGUSER"):
        monkeypatch.delenv(variable)
    services = tmp_path / "pg_service.conf"
    services.write_text(
        f"[events]\nhost={parts['host']}\nport={parts['port']}\nuser={parts['user']}\ndbname={parts['dbname']}\n"
    )
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    monkeypatch.setenv("PYEVENTS_DSN", "service=events")
    assert len(json.loads(invoke(["query", "--format", "json"]).stdout)["events"]) == 1
    # --dsn still wins over the environment.
    monkeypatch.setenv("PYEVENTS_DSN", "service=missing")
    assert len(json.loads(invoke(["query", "--format", "json", "--dsn", pg.dsn]).stdout)["events"]) == 1


@pytest.mark.skipif(EXECUTABLE is None, reason="the pyevents console script is not installed")
def test_a_closed_pipe_ends_the_command_quietly(pg: Cli) -> None:
    assert EXECUTABLE is not None and pg.dsn is not None
    pg.append_lines([event("a", payload=LONG)] * 500)  # more than a pipe buffer holds
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYEVENTS_")}
    command = f"'{EXECUTABLE}' query --all --format jsonl --dsn '{pg.dsn}' | head -n 1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, env=env)
    assert json.loads(done.stdout)["event_type"] == "a"
    assert done.stderr == ""
