"""Helpers for the CLI tests: run `pyevents` in-process and check its exit code."""

from __future__ import annotations

import json
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pyevents.cli import main


def invoke(args: Sequence[str], *, input: str | None = None, code: int = 0) -> Result:
    """Run `pyevents ARGS` in-process and check the exit code, showing everything on mismatch."""
    result = CliRunner().invoke(main, list(args), input=input)
    if result.exit_code != code:
        detail = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        if result.exc_info and not isinstance(result.exception, SystemExit):
            detail += "\n" + "".join(traceback.format_exception(*result.exc_info))
        pytest.fail(f"pyevents {' '.join(args)}: exit {result.exit_code}, expected {code}\n{detail}")
    if code != 0:
        assert "Traceback" not in result.output
    return result


@dataclass
class Cli:
    """Commands against one store: `before` goes before the command (--config), `after` at
    the end (--dsn)."""

    backend: str
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    dsn: str | None = None

    def run(self, *args: str, input: str | None = None, code: int = 0) -> Result:
        return invoke([*self.before, *args, *self.after], input=input, code=code)

    def json(self, *args: str, input: str | None = None) -> Any:
        return json.loads(self.run(*args, "--format", "json", input=input).stdout)

    def append_lines(self, events: Sequence[dict[str, Any]]) -> list[int]:
        text = "\n".join(json.dumps(event) for event in events) + "\n"
        positions: list[int] = self.json("append", input=text)["positions"]
        return positions


def event(event_type: str, actor_id: str = "u-1", **extra: Any) -> dict[str, Any]:
    return {"event_type": event_type, "actor_type": "user", "actor_id": actor_id, **extra}
