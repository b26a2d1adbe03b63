"""`pyevents tail`: catch-up, live following as a real process, Ctrl-C, subscriptions."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time

import pytest

from tests.cli.helpers import Cli, event

EXECUTABLE = shutil.which("pyevents")


def test_tail_from_start_without_following(cli: Cli) -> None:
    positions = cli.append_lines([event("a"), event("b"), event("a")])
    lines = cli.run("tail", "--from-start", "--no-follow").stdout.splitlines()
    assert [json.loads(line)["position"] for line in lines] == positions
    only_b = cli.run("tail", "--from-start", "--no-follow", "--type", "b").stdout.splitlines()
    assert [json.loads(line)["event_type"] for line in only_b] == ["b"]
    table = cli.run("tail", "--after", str(positions[0]), "--no-follow", "--format", "table").stdout
    assert table.splitlines()[0].startswith("position") and len(table.splitlines()) == 3


def test_tail_rejects_two_starting_points(cli: Cli) -> None:
    result = cli.run("tail", "--from-start", "--after", "3", code=2)
    assert "choose one" in result.stderr


def read_lines(process: subprocess.Popen[str], count: int, timeout: float = 20.0) -> list[str]:
    """Up to `count` lines of the process's output, waiting at most `timeout` seconds."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    received: list[str] = []
    deadline = time.monotonic() + timeout
    while len(received) < count and time.monotonic() < deadline:
        try:
            received.append(lines.get(timeout=0.1))
        except queue.Empty:
            continue
    return received


@pytest.mark.skipif(EXECUTABLE is None, reason="the pyevents console script is not installed")
def test_tail_follows_live_and_resumes_its_subscription(pg: Cli) -> None:
    assert EXECUTABLE is not None and pg.dsn is not None
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYEVENTS_")}
    command = [EXECUTABLE, "tail", "--subscription", "shipper", "--dsn", pg.dsn]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(1.0)  # let it reach the live phase
        first = pg.append_lines([event("live", actor_id=f"u-{i}") for i in range(3)])
        lines = read_lines(process, 3)
        assert [json.loads(line)["position"] for line in lines] == first
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr

    later = pg.append_lines([event("later")])
    resumed = pg.run("tail", "--subscription", "shipper", "--no-follow").stdout.splitlines()
    assert [json.loads(line)["position"] for line in resumed] == later
