"""Progress bars of `verify` and `rebuild-index`: on stderr when it is a terminal (a real
pseudo-terminal here), nothing at all in pipes and logs (CliRunner, a subprocess with pipes)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

import pyevents
from pyevents import Event
from tests.cli.helpers import Cli

PYEVENTS = Path(sys.executable).with_name("pyevents")
EVENTS = 2500  # several batches of the segment scans, so the bar moves on the way
pytestmark = pytest.mark.skipif(not PYEVENTS.exists(), reason="the pyevents console script is not installed")


@pytest.fixture
def file_config(tmp_path: Path) -> Path:
    config = tmp_path / "pyevents.toml"
    config.write_text(f'backend = "file"\n[file]\ndata_directory = "{tmp_path / "store"}"\n')
    with pyevents.open_store(str(config)) as store:
        store.append_batch([Event(event_type="t", actor_type="user", actor_id=f"u-{n}") for n in range(EVENTS)])
    return config


def environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("PYEVENTS_")}


def run_piped(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PYEVENTS), *args], capture_output=True, text=True, env=environment(), check=False)


def run_on_a_terminal(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout (a pipe) and what was written to stderr, a pseudo-terminal."""
    controller, terminal = pty.openpty()
    with subprocess.Popen(
        [str(PYEVENTS), *args], stdout=subprocess.PIPE, stderr=terminal, env=environment()
    ) as process:
        os.close(terminal)
        shown = bytearray()
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        os.close(controller)
        assert process.stdout is not None
        stdout = process.stdout.read().decode()
    return process.returncode, stdout, shown.decode()


@pytest.mark.parametrize("command", ["verify", "rebuild-index"])
def test_quiet_in_pipes(file_config: Path, command: str) -> None:
    done = run_piped("--config", str(file_config), command)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("ok: ")
    in_process = Cli("file", before=["--config", str(file_config)]).run(command)
    assert in_process.stderr == ""


@pytest.mark.parametrize(("command", "label"), [("verify", "verifying"), ("rebuild-index", "indexing")])
def test_a_bar_on_a_terminal(file_config: Path, command: str, label: str) -> None:
    code, stdout, shown = run_on_a_terminal("--config", str(file_config), command)
    assert code == 0, shown
    assert stdout.startswith("ok: ")
    assert label in shown
    assert f"{EVENTS}/{EVENTS}" in shown  # the bar reaches the head


def test_postgresql_verify_shows_its_bar_on_a_terminal(pg_dsn: str) -> None:
    with pyevents.open_store(config={"backend": "postgresql", "postgresql": {"dsn": pg_dsn}}) as store:
        store.append_batch([Event(event_type="t", actor_type="user", actor_id="u-1") for _ in range(3)])
    code, stdout, shown = run_on_a_terminal("verify", "--dsn", pg_dsn)
    assert (code, stdout.startswith("ok: ")) == (0, True), shown
    assert "verifying" in shown and "3/3" in shown
    assert run_piped("verify", "--dsn", pg_dsn).stderr == ""


def test_rebuild_index_is_for_the_file_backend(pg_dsn: str, tmp_path: Path) -> None:
    config = tmp_path / "postgres.toml"
    config.write_text(f'backend = "postgresql"\n[postgresql]\ndsn = "{pg_dsn}"\n')
    result = Cli("postgresql", before=["--config", str(config)]).run("rebuild-index", code=2)
    assert result.stderr == "Error: the postgresql backend keeps no index to rebuild\n"
