"""`pyevents retention show | apply`: the policy in words, the plan, the run, the schedule."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from pyevents.model import utc_now
from tests.cli.helpers import Cli, event, invoke

ROOT = Path(__file__).resolve().parents[2]
POLICY = """
[retention]
default_policy = "custom"
custom_policy = { rules = [
    { name = "noise", event_types = ["debug.*"], retain_days = 7 },
    { tags = ["legal-hold"], keep = true },
] }
"""


def file_config(tmp_path: Path, extra: str = POLICY) -> Path:
    config = tmp_path / "pyevents.toml"
    config.write_text(f'backend = "file"\n[file]\ndata_directory = "{tmp_path / "store"}"\n{extra}')
    return config


def old(event_type: str, days: float, **extra: Any) -> dict[str, Any]:
    return event(event_type, timestamp=(utc_now() - timedelta(days=days)).isoformat(), **extra)


def test_show_explains_the_default_and_a_custom_policy(tmp_path: Path) -> None:
    assert "infinite. No event is ever removed." in invoke(["retention", "show"]).stdout
    text = invoke(["--config", str(file_config(tmp_path)), "retention", "show"]).stdout
    assert "rule 1 'noise' (event_types debug.*): kept for 7 days." in text
    assert "rule 2 (tags legal-hold): kept forever." in text
    data = json.loads(invoke(["--config", str(file_config(tmp_path)), "retention", "show", "--format", "json"]).stdout)
    assert data["policy"]["default_policy"] == "custom"


def test_a_bad_rule_is_named(tmp_path: Path) -> None:
    bad = (
        '[retention]\ndefault_policy = "custom"\n'
        'custom_policy = { rules = [{ event_types = ["a.*"], retain_days = 1, keep = true }] }\n'
    )
    result = invoke(["--config", str(file_config(tmp_path, bad)), "retention", "show"], code=2)
    assert "rule 1 (event_types a.*) sets retain_days and keep" in result.output


def test_dry_run_then_apply(tmp_path: Path) -> None:
    cli = Cli("file", before=["--config", str(file_config(tmp_path))])
    cli.append_lines(
        [old("debug.trace", 30), old("debug.trace", 30, metadata={"tags": ["legal-hold"]}), old("order", 30)]
    )
    invoke([*cli.before, "verify"])
    plan = cli.run("retention", "apply", "--dry-run").stdout
    assert "would remove 0 events" in plan and "1 expired events stay" in plan  # one segment, partly expired
    assert len(cli.json("query")["events"]) == 3
    done = cli.json("retention", "apply")
    assert done["removed"] == 0 and done["applied_position"] == 4


def test_apply_removes_on_postgresql(pg_dsn: str) -> None:
    cli = Cli("postgresql", after=["--dsn", pg_dsn], dsn=pg_dsn)
    cli.append_lines([old("order", 400), old("order", 1)])
    # the configured policy is infinite: nothing goes, the run is recorded
    assert "removed 0 events" in cli.run("retention", "apply").stdout
    assert [e["event_type"] for e in cli.json("query")["events"]] == ["order", "order", "pyevents.retention.applied"]


def test_every_needs_a_duration() -> None:
    result = invoke(["retention", "apply", "--every", "soon"], code=2)
    assert "--every must be a positive duration" in result.output


def test_every_keeps_applying(tmp_path: Path) -> None:
    config = file_config(tmp_path, '[retention]\ndefault_policy = "time"\ntime_policy = { retain_days = 7 }\n')
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from pyevents.cli import main; main()",
            "--config",
            str(config),
            "retention",
            "apply",
            "--every",
            "1s",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert [line for line in lines if line.startswith("removed 0 events")] == [lines[0], lines[2]]
    assert lines[1].startswith("recorded as pyevents.retention.applied at position 1")
    assert lines[3].startswith("recorded as pyevents.retention.applied at position 2")
