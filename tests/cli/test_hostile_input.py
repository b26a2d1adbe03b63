"""Input a hostile-but-fair user types: every bad value gets a clear error naming it (exit 2),
never a traceback, and nothing is stored."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.helpers import Cli, event

BASE = ["append", "--type", "a", "--actor-type", "user", "--actor-id", "u-1"]


def _deep(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def test_numbers_nesting_and_timestamps_out_of_range_are_named(cli: Cli) -> None:
    cases = [
        (["--payload", _deep(10_000)], "nested"),
        (["--payload", '{"n": 1' + "0" * 5000 + "}"], "too long"),
        (["--payload", '{"n": ' + str(10**400) + "}"], "payload.n is an integer beyond 64 bits"),
        (["--timestamp", "0001-01-01T00:00:00+01:00"], "timestamp 0001-01-01T00:00:00+01:00 is outside"),
        (["--payload", '{"total": 1, "total": 2}'], "the key 'total' appears twice"),
        (["--metadata", '{"tags": ["a"], "tags": []}'], "the key 'tags' appears twice"),
    ]
    for options, message in cases:
        assert message in cli.run(*BASE, *options, code=2).stderr, message
    twice = '{"event_type": "b", "event_type": "c", "actor_type": "u", "actor_id": "1"}'
    lines = json.dumps(event("a")) + "\n" + twice + "\n"
    assert "line 2: the key 'event_type' appears twice" in cli.run("append", input=lines, code=2).stderr
    assert cli.json("query")["events"] == []


def test_positions_and_cursors_out_of_range_are_named(cli: Cli) -> None:
    cli.append_lines([event("a")])
    huge = str(10**30)
    assert "after_position must be at most" in cli.run("query", "--after", huge, code=2).stderr
    assert "offset must be at most" in cli.run("query", "--offset", huge, code=2).stderr
    assert "after must be at most" in cli.run("read", "--after", huge, code=2).stderr
    assert "limit must be an integer from 1 to" in cli.run("read", "--limit", huge, code=2).stderr
    assert (
        "since 9999-12-31T23:00:00-14:00 is outside"
        in cli.run("query", "--since", "9999-12-31T23:00:00-14:00", code=2).stderr
    )
    for order, value in (("position", 10**30), ("timestamp", "not a time"), ("event_id", "not a uuid")):
        raw = json.dumps([order, "asc", 10**30 if order == "position" else 1, value]).encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        args = ["query", "--order-by", order, "--cursor", cursor]
        assert "cursor is not a cursor returned by get_events" in cli.run(*args, code=2).stderr


def test_append_waits_for_the_writer_lock(tmp_path: Path, cli: Cli) -> None:
    if cli.backend != "file":
        return
    directory = tmp_path / "store"
    program = (
        "import time; from pyevents.backends.file import FileEventStore\n"
        "from pyevents import Event\n"
        f"s = FileEventStore({str(directory)!r}); s.append(Event(event_type='x', actor_type='u', actor_id='1'))\n"
        "print('locked', flush=True); time.sleep(1.5); s.close()"
    )
    with subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, text=True) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert "locked by another writer" in cli.run(*BASE, code=4).stderr
        started = time.monotonic()
        assert cli.json(*BASE, "--wait", "30")["positions"] == [2]
        assert time.monotonic() - started < 30
