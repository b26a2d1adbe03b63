"""The README's command lines are real: every `pyevents ...` line of its shell blocks names
commands and options that exist (parsed by the CLI itself, with --help so nothing runs), and
the operator's path lists its steps in order."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import invoke
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
SHELL_BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)
SHELL_OPERATORS = {"|", ">", "<", "&&", ";", "2>"}


def pyevents_lines() -> list[list[str]]:
    found = []
    for block in SHELL_BLOCK.findall(README):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] != ["pyevents"]:
                continue
            cut = next((n for n, word in enumerate(words) if word in SHELL_OPERATORS), len(words))
            found.append(words[1:cut])
    return found


LINES = pyevents_lines()


def test_the_readme_shows_commands() -> None:
    assert len(LINES) >= 20


@pytest.mark.parametrize("args", LINES, ids=[" ".join(args) for args in LINES])
def test_every_readme_command_and_option_exists(args: list[str]) -> None:
    # --help is eager: the line's commands and options are parsed (an unknown one exits 2), nothing runs.
    assert invoke([*args, "--help"]).stdout.startswith("Usage: ")


def test_an_unknown_command_or_option_fails_the_check() -> None:
    invoke(["verify", "--no-such-option", "--help"], code=2)
    invoke(["no-such-command", "--help"], code=2)


def test_the_operators_path_is_in_order() -> None:
    section = README.split("## Operator's path", 1)[1].split("\n## ", 1)[0]
    steps = re.findall(r"# (\d)\. (\w+)", section)
    assert steps == [
        ("1", "install"),
        ("2", "migrate"),
        ("3", "run"),
        ("4", "monitor"),
        ("5", "back"),
        ("6", "restore"),
        ("7", "audit"),
    ]


def test_the_asyncio_example_runs_as_written(tmp_path: Path) -> None:
    """The README's asyncio block, run as a script in an empty directory (the file backend)."""
    blocks = [block for block in re.findall(r"```python\n(.*?)```", README, re.DOTALL) if "asyncio.run(" in block]
    assert len(blocks) == 1
    script = tmp_path / "example.py"
    script.write_text(blocks[0], encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 8 and all(" OrderPlaced worker-" in line for line in lines), done.stdout
