"""The installed `pyevents` console script, run as a real process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

import pyevents

EXECUTABLE = shutil.which("pyevents")
pytestmark = pytest.mark.skipif(EXECUTABLE is None, reason="the pyevents console script is not installed")


def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    assert EXECUTABLE is not None
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYEVENTS_")}
    return subprocess.run([EXECUTABLE, *args], input=input, capture_output=True, text=True, env=env, check=False)


def test_version() -> None:
    done = run("--version")
    assert (done.returncode, done.stdout) == (0, f"pyevents, version {pyevents.__version__}\n")


def test_append_and_query_as_a_process(pg_dsn: str) -> None:
    lines = [{"event_type": "a", "actor_type": "user", "actor_id": "u-1"}] * 2
    done = run("append", "--dsn", pg_dsn, "--format", "json", input="\n".join(map(json.dumps, lines)))
    assert done.returncode == 0, done.stderr
    positions = json.loads(done.stdout)["positions"]
    done = run("query", "--dsn", pg_dsn, "--format", "jsonl")
    assert [json.loads(line)["position"] for line in done.stdout.splitlines()] == positions


def test_bad_input_as_a_process(pg_dsn: str) -> None:
    done = run("append", "--dsn", pg_dsn, input='{"event_type": "a"}\n{"event_type": "b"}\n')
    assert done.returncode == 2
    assert done.stderr == "Error: stdin: line 1: actor_type is required\n"
    assert "Traceback" not in done.stderr and done.stdout == ""
