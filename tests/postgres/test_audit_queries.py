"""docs/audit-queries.md: every example, run through psql against a real database, prints
exactly the output the document shows; the examples after the first (which appends) run as
pyevents_auditor, so the grants are checked too, except sealing (a writer's right) and the
owner's setting of the redacted paths; every audit object is commented."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import psycopg
import pytest

from tests.conftest import ROOT

DOCUMENT = ROOT / "docs" / "audit-queries.md"
EXAMPLE = re.compile(r"```sql\n(?P<sql>.*?)```\n\n```text\n(?P<output>.*?)```", re.DOTALL)
AUDIT_OBJECTS = (
    "pyevents.daily_event_counts",
    "pyevents.latest_events",
    "pyevents.event_checksums",
    "pyevents.redacted_paths",
    "pyevents.seals",
)
AUDIT_FUNCTIONS = (
    "pyevents.correlation_timeline(uuid)",
    "pyevents.actor_activity(text, timestamptz, timestamptz)",
    "pyevents.verify_events()",
    "pyevents.backfill_checksums()",
    "pyevents.redact(jsonb, text, text[])",
    "pyevents.redacted_path_list()",
    "pyevents.set_redacted_paths(text[])",
    "pyevents.seal_history()",
    "pyevents.verify_seals()",
    "pyevents.sealed_leaves(bigint)",
    "pyevents.merkle_root(bytea[])",
)


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def psql(dsn: str, sql: str, *, role: str | None) -> str:
    env = dict(os.environ, PGTZ="UTC", PGDATESTYLE="ISO", PGOPTIONS=f"-c role={role}" if role else "")
    done = subprocess.run(
        ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
def test_the_documented_examples_print_what_the_document_shows(pg_dsn: str) -> None:
    examples = list(EXAMPLE.finditer(DOCUMENT.read_text(encoding="utf-8")))
    assert len(examples) >= 6
    for number, example in enumerate(examples):
        owners = number == 0 or "set_redacted_paths" in example["sql"] or "seal_events" in example["sql"]
        role = None if owners else "pyevents_auditor"
        printed = psql(pg_dsn, example["sql"], role=role)
        assert lines(printed) == lines(example["output"]), example["sql"]


def test_every_audit_object_is_commented(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn) as conn:
        for name in AUDIT_OBJECTS:
            row = conn.execute("SELECT obj_description(%s::regclass, 'pg_class')", (name,)).fetchone()
            assert row is not None and row[0], name
        for signature in AUDIT_FUNCTIONS:
            row = conn.execute("SELECT obj_description(%s::regprocedure, 'pg_proc')", (signature,)).fetchone()
            assert row is not None and row[0], signature
