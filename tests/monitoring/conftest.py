"""`pyevents serve` as a real process, and plain HTTP against it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pyevents.backends.postgres import schema
from tests.conftest import PGCLUSTER, Cluster

EXECUTABLE = shutil.which("pyevents")
PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
NO_PROMETHEUS = "Debian's prometheus package is not installed (scripts/prometheus.sh install, as root, brings it)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get(url: str, timeout: float = 15) -> tuple[int, str]:
    """Status and body; error statuses (503...) are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


class Served:
    """A running `pyevents serve`; `url(path)` addresses it."""

    def __init__(self, args: list[str], before: list[str]) -> None:
        if EXECUTABLE is None:
            pytest.skip("the pyevents console script is not installed")
        self.port = free_port()
        env = {name: value for name, value in os.environ.items() if not name.startswith("PYEVENTS_")}
        env["PYEVENTS_POSTGRESQL__CONNECT_TIMEOUT"] = "2"  # a stopped server answers readiness quickly
        self.process = subprocess.Popen(
            [EXECUTABLE, *before, "serve", "--port", str(self.port), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(lambda: self.process.poll() is not None or get(self.url("/healthz"), 1)[0] == 200, "pyevents serve")
        if self.process.poll() is not None:
            pytest.fail(f"pyevents serve exited: {self.process.stderr.read() if self.process.stderr else ''}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> tuple[int, str]:
        return get(self.url(path))

    def json(self, path: str) -> tuple[int, Any]:
        status, body = self.get(path)
        return status, json.loads(body)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(*args: str, before: tuple[str, ...] = ()) -> Served:
        served = Served(list(args), list(before))
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


@pytest.fixture
def own_cluster(pg_cluster: Cluster) -> Iterator[Cluster]:
    """A small cluster of its own with the schema installed, to stop and start: stopping the
    shared one would wait for a checkpoint of everything the other tests wrote."""
    if pg_cluster.directory is None:
        pytest.skip("the cluster is external (PYEVENTS_TEST_DSN); no cluster can be started here")
    directory = Path(tempfile.mkdtemp(prefix="pyevents-pg-"))
    try:
        started = subprocess.run([str(PGCLUSTER), "start", str(directory)], check=True, capture_output=True, text=True)
        cluster = Cluster(directory, started.stdout.strip())
        schema.upgrade(cluster.dsn)
        yield cluster
    finally:
        subprocess.run([str(PGCLUSTER), "destroy", str(directory)], check=False, capture_output=True)
