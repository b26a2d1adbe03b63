"""CLI fixtures: a runner isolated in a temporary directory, and `cli`, which runs commands
against one backend: PostgreSQL through `--dsn`, or the file backend or the eventstore backend
(on the in-process KurrentDB test server) through `--config`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyevents.backends import available
from tests.cli.helpers import Cli
from tests.eventstore.server import TestServer

KEEP_ENV = ("PYEVENTS_TEST_DSN", "PYEVENTS_KURRENTDB_URI")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test in its own directory (./pyevents.toml, ./.pyevents) and without PYEVENTS_*
    configuration from the environment."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("PYEVENTS_") and name not in KEEP_ENV:
            monkeypatch.delenv(name)
    return tmp_path


@pytest.fixture(params=["postgresql", "file", "eventstore"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    if request.param == "postgresql":
        dsn = request.getfixturevalue("pg_dsn")
        yield Cli("postgresql", after=["--dsn", dsn], dsn=dsn)
    elif request.param == "eventstore":  # the in-process KurrentDB test server
        server = TestServer()
        config = tmp_path / "eventstore-backend.toml"
        config.write_text(f'backend = "eventstore"\n[eventstore]\nconnection_string = "{server.uri}"\n')
        yield Cli("eventstore", before=["--config", str(config)])
        server.stop()
    else:
        pytest.importorskip("pyevents.backends.file")
        if "file" not in available():
            pytest.skip("the file backend is not registered yet")
        config = tmp_path / "file-backend.toml"
        config.write_text(f'backend = "file"\n[file]\ndata_directory = "{tmp_path / "store"}"\n')
        yield Cli("file", before=["--config", str(config)])


@pytest.fixture
def pg(pg_dsn: str) -> Cli:
    """PostgreSQL only, for what only PostgreSQL has (db commands, DSN handling)."""
    return Cli("postgresql", after=["--dsn", pg_dsn], dsn=pg_dsn)
