"""docker/compose.yml is a valid Compose file: `config` (which needs no Docker engine) accepts it,
it has PostgreSQL and, under the profile `eventstore`, KurrentDB; the PostgreSQL image it builds
has pg_partman, pgTAP, pg_cron and pgAudit, the last two preloaded."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import ROOT

DOCKER = ROOT / "docker"


def compose_command() -> list[str]:
    """`docker compose` (the plugin) when it works, else the standalone `docker-compose`."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("neither `docker compose` nor `docker-compose` is installed (scripts/compose.sh install, as root)")


def config(*arguments: str) -> list[str]:
    done = subprocess.run(
        [*compose_command(), "-f", str(DOCKER / "compose.yml"), "--profile", "eventstore", "config", *arguments],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return sorted(done.stdout.split())


def test_compose_accepts_the_file_with_its_services_and_profile() -> None:
    assert config("--services") == ["kurrentdb", "postgres"]
    assert config("--profiles") == ["eventstore"]


def test_the_postgres_image_has_the_extensions_and_preloads_what_needs_it() -> None:
    dockerfile = (DOCKER / "postgres.Dockerfile").read_text(encoding="utf-8")
    major = dockerfile.split("FROM postgres:", 1)[1].split("-", 1)[0]
    for extension in ("partman", "pgtap", "cron", "pgaudit"):
        assert f"postgresql-{major}-{extension}" in dockerfile
    assert "shared_preload_libraries=pg_cron,pgaudit" in config()
    assert (DOCKER / "init-partman.sql").read_text(encoding="utf-8").count(
        "CREATE EXTENSION IF NOT EXISTS pg_partman"
    ) == 1
