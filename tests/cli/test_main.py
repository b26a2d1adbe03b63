"""The group itself and what needs no store: help, version, configuration resolution, exit
codes of the error paths, `init`, `verify` (through stand-in stores) and `db bundle`."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import click
import pytest

import pyevents
import pyevents.cli
from pyevents.cli import main
from pyevents.config import Config, leaf_keys, reference, template
from pyevents.errors import IntegrityError
from tests.cli.helpers import Cli, invoke


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
    return found


COMMANDS = _commands(main)


def test_every_command_is_there() -> None:
    expected = {"init", "db", "append", "query", "get", "read", "tail", "health", "metrics", "serve", "verify", "demo"}
    expected |= {"export", "import", "copy", "retention", "rebuild-index", "seal", "prove", "check-proof"}
    assert set(main.commands) == expected
    assert {("db", "upgrade"), ("db", "status"), ("db", "bundle")} <= set(COMMANDS)


def test_main_help_documents_exit_codes() -> None:
    text = invoke(["--help"]).stdout
    for line in ("0  success", "2  bad input", "3  conflict", "4  backend unavailable"):
        assert line in text
    assert "--config FILE" in text
    assert invoke(["-h"]).stdout == text


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_examples(command: tuple[str, ...]) -> None:
    text = invoke([*command, "--help"]).stdout
    assert text.startswith("Usage: ")
    if command != ("db",):
        assert "Examples:" in text
    store_commands = {
        "append",
        "query",
        "get",
        "read",
        "health",
        "metrics",
        "serve",
        "verify",
        "demo",
        "upgrade",
        "status",
    }
    if command[-1] in store_commands:
        assert "--dsn DSN" in text


def test_version() -> None:
    assert invoke(["--version"]).stdout == f"pyevents, version {pyevents.__version__}\n"


def test_usage_errors_exit_2() -> None:
    assert "No such command" in invoke(["frobnicate"], code=2).stderr
    assert "Invalid value for '--format'" in invoke(["query", "--format", "xml"], code=2).stderr
    assert "Invalid value for '--limit'" in invoke(["query", "--limit", "0"], code=2).stderr


def test_configuration_errors_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert invoke(["--config", "missing.toml", "query"], code=2).stderr == (
        "Error: configuration file missing.toml does not exist\n"
    )
    bad = tmp_path / "bad.toml"
    bad.write_text('backend = "postgresql"\n[postgresql]\ncolour = "blue"\n')
    assert "unknown configuration key postgresql.colour" in invoke(["--config", str(bad), "health"], code=2).stderr
    monkeypatch.setenv("PYEVENTS_CONFIG", str(bad))
    assert "postgresql.colour" in invoke(["query"], code=2).stderr
    monkeypatch.delenv("PYEVENTS_CONFIG")
    (tmp_path / "pyevents.toml").write_text('backend = "nosuch"\n')
    assert "unknown backend 'nosuch'" in invoke(["query"], code=2).stderr
    assert "is not a valid connection string" in invoke(["query", "--dsn", "host=a =b"], code=2).stderr


def test_db_commands_need_a_dsn() -> None:
    result = invoke(["db", "status"], code=2)
    assert "postgresql.dsn" in result.stderr and "--dsn" in result.stderr


def test_backend_unavailable_exits_4_and_masks_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    dsn = "postgresql://postgres:s3cret@127.0.0.1:1/nowhere"
    result = invoke(["db", "status", "--dsn", dsn], code=4)
    assert result.stderr.startswith("Error: PostgreSQL is unavailable")
    monkeypatch.setenv("PYEVENTS_POSTGRESQL__CONNECT_TIMEOUT", "1")
    result = invoke(["query", "--dsn", dsn], code=4)
    assert result.stderr.startswith("Error: PostgreSQL is unavailable") and "Connection refused" in result.stderr
    assert "password=********" in result.stderr
    assert "s3cret" not in result.output


def test_unreachable_backend_is_unhealthy_with_exit_4(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYEVENTS_POSTGRESQL__CONNECT_TIMEOUT", "1")
    dsn = "postgresql://postgres:s3cret@127.0.0.1:1/nowhere"
    document = json.loads(invoke(["health", "--dsn", dsn, "--format", "json"], code=4).stdout)
    assert document["healthy"] is False and document["backend"] == "postgresql"
    assert document["reachable"] is False and document["checks"]["reachable"]["ok"] is False
    assert "connection refused" in document["details"]["error"].lower()
    table = invoke(["health", "--dsn", dsn], code=4).stdout
    assert table.splitlines()[0].split() == ["healthy", "NO"]
    assert "s3cret" not in table + json.dumps(document)


# -- verify, through stand-in stores (the backends' own tests check what verify finds) ----------
class StandIn:
    backend_name = "standin"

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        return None


class Verifying(StandIn):
    def __init__(self, problems: list[str] | Exception) -> None:
        self.problems = problems

    def verify(self, progress: Callable[[int], None] | None = None) -> list[str]:
        if isinstance(self.problems, Exception):
            raise self.problems
        return self.problems


def _use(monkeypatch: pytest.MonkeyPatch, store: Any) -> None:
    monkeypatch.setattr("pyevents.cli.ops.open_store", lambda dsn=None: store)


def test_verify_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    _use(monkeypatch, Verifying([]))
    assert invoke(["verify"]).stdout == "ok: no problems found in the standin store\n"
    assert json.loads(invoke(["verify", "--format", "json"]).stdout) == {
        "backend": "standin",
        "ok": True,
        "problems": [],
    }


def test_verify_prints_every_problem_and_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    _use(monkeypatch, Verifying(["segment 3: bad checksum on line 7", "index: position 12 missing"]))
    assert invoke(["verify"], code=1).stdout.splitlines() == [
        "problem: segment 3: bad checksum on line 7",
        "problem: index: position 12 missing",
        "2 problems found in the standin store",
    ]
    assert json.loads(invoke(["verify", "--format", "json"], code=1).stdout)["ok"] is False


def test_verify_not_available_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    _use(monkeypatch, StandIn())
    assert invoke(["verify"], code=2).stderr == "Error: verification is not available for the standin backend\n"
    _use(monkeypatch, Verifying(NotImplementedError()))
    assert "not available" in invoke(["verify"], code=2).stderr


def test_other_pyevents_errors_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    _use(monkeypatch, Verifying(IntegrityError("segment 2 is corrupt at byte 77")))
    assert invoke(["verify"], code=1).stderr == "Error: segment 2 is corrupt at byte 77\n"


def test_verify_on_postgresql(pg: Cli) -> None:
    from pyevents.backends.postgres import PostgresEventStore

    if hasattr(PostgresEventStore, "verify"):
        assert pg.run("verify").stdout == "ok: no problems found in the postgresql store\n"
    else:
        assert "not available for the postgresql backend" in pg.run("verify", code=2).stderr


# -- init --------------------------------------------------------------------------------------
def test_init_writes_every_key_with_its_default(tmp_path: Path) -> None:
    assert invoke(["init"]).stdout.startswith("wrote pyevents.toml")
    text = (tmp_path / "pyevents.toml").read_text()
    parsed = tomllib.loads(text)
    assert Config(parsed).data == Config().data
    written: set[str] = set()
    section = ""
    for line in text.splitlines():
        if line.startswith("["):
            section = line.strip("[]") + "."
        elif match := re.match(r"(?:# )?(\w+) = ", line):
            written.add(section + match[1])
    assert set(leaf_keys()) <= written
    assert '# password = "..."' in text  # no default: shown commented out, with an example
    assert "# libpq sslmode (disable | allow | prefer | require | verify-ca | verify-full)" in text


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "pyevents.toml"
    target.write_text("# mine\n")
    result = invoke(["init"], code=1)
    assert result.stderr == "Error: pyevents.toml already exists; pass --force to overwrite it\n"
    assert target.read_text() == "# mine\n"
    invoke(["init", "--force", "--backend", "postgresql"])
    assert tomllib.loads(target.read_text())["backend"] == "postgresql"
    invoke(["init", "other/place.toml"], code=1)  # missing directory: an error, not a traceback
    invoke(["--config", "mine.toml", "init"])
    assert Config.load("mine.toml").backend == "file"


def test_template_is_valid_for_each_backend() -> None:
    for backend in ("file", "postgresql", "eventstore"):
        assert Config(tomllib.loads(template(backend))).backend == backend


def test_init_then_the_config_is_used(tmp_path: Path) -> None:
    invoke(["init", "--backend", "postgresql"])
    # ./pyevents.toml is found without --config; it selects postgresql but names no server
    assert "postgresql.dsn" in invoke(["query"], code=2).stderr


# -- db bundle (no connection) -----------------------------------------------------------------
def test_db_bundle(tmp_path: Path) -> None:
    script = invoke(["db", "bundle"]).stdout
    assert script.startswith("-- pyevents ")
    for name in ("append_events", "get_events", "read_events", "schema_version"):
        assert f"CREATE OR REPLACE FUNCTION pyevents.{name}(" in script
    assert "BEGIN;" in script and script.rstrip().endswith("COMMIT;")
    result = invoke(["db", "bundle", "-o", "pyevents.sql"])
    assert result.stdout == ""
    assert result.stderr.startswith("wrote pyevents.sql")
    assert (tmp_path / "pyevents.sql").read_text() == script


def test_init_keys_prints_the_key_list() -> None:
    assert invoke(["init", "--keys"]).stdout == reference()
    assert "eventstore" in invoke(["init", "--help"]).stdout


def test_the_cli_reaches_postgresql_only_through_the_schema_installer() -> None:
    """No driver import and no DSN parsing in the CLI: --dsn is a configuration override."""
    allowed = {"pyevents.backends.postgres.schema"}
    for source in Path(pyevents.cli.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                assert not name.startswith("psycopg"), f"{source.name} imports {name}"
                if name.startswith("pyevents.backends.postgres"):
                    assert name in allowed, f"{source.name} imports {name}"


def test_the_version_is_written_once() -> None:
    root = Path(__file__).parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert importlib.metadata.version("pyevents") == pyevents.__version__
    assert invoke(["--version"]).stdout.strip().endswith(pyevents.__version__)
