"""`pyevents serve` over real HTTP: /healthz, /readyz and /metrics against a running process,
checked by promtool and scraped by a real Prometheus."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

import pyevents
from pyevents import Event
from tests.conftest import Cluster

from .conftest import NO_PROMETHEUS, PROMETHEUS, PROMTOOL, Served, free_port, get, wait_for


def sample(exposition: str, name: str, labels: str = "") -> float | None:
    """The value of one sample in a Prometheus text exposition, or None."""
    pattern = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else r"(\{[^}]*\})?") + r" (\S+)$"
    for line in exposition.splitlines():
        found = re.match(pattern, line)
        if found:
            return float(found.group(found.lastindex or 1))
    return None


def append(config: Mapping[str, Any], *types: str) -> None:
    with pyevents.open_store(config=config) as store:
        store.append_batch([Event(event_type=t, actor_type="svc", actor_id="test") for t in types])


def promtool_check(exposition: str) -> None:
    if PROMTOOL is None:
        pytest.skip(NO_PROMETHEUS)
    done = subprocess.run([PROMTOOL, "check", "metrics"], input=exposition, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(params=["postgresql", "file"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[dict[str, object], dict[str, tuple[str, ...]]]:
    """A store's configuration, and how `serve` selects it (`--config` before the command, `--dsn` after)."""
    if request.param == "postgresql":
        dsn = request.getfixturevalue("pg_dsn")
        return {"backend": "postgresql", "postgresql": {"dsn": dsn}}, {"args": ("--dsn", dsn)}
    directory = tmp_path / "store"
    config_file = tmp_path / "pyevents.toml"
    config_file.write_text(f'backend = "file"\n[file]\ndata_directory = "{directory}"\n')
    return {"backend": "file", "file": {"data_directory": str(directory)}}, {"before": ("--config", str(config_file))}


def test_endpoints_answer_and_metrics_follow_appends(
    serve: Callable[..., Served], target: tuple[dict[str, object], dict[str, tuple[str, ...]]]
) -> None:
    config, selection = target
    served = serve(*selection.get("args", ()), before=selection.get("before", ()))
    assert served.json("/healthz") == (200, {"live": True, "backend": config["backend"]})
    status, ready = served.json("/readyz")
    assert status == 200 and ready["ready"] is True, ready
    assert all(check["ok"] for check in ready["checks"].values())

    status, before = served.get("/metrics")
    assert status == 200
    assert sample(before, "pyevents_ready", f'backend="{config["backend"]}"') == 1
    assert sample(before, "pyevents_events") is None  # nothing stored yet
    append(config, "order.placed", "order.placed", "order.paid")
    status, after = served.get("/metrics")
    assert sample(after, "pyevents_events", 'event_type="order.placed"') == 2
    assert sample(after, "pyevents_events", 'event_type="order.paid"') == 1
    assert sample(after, "pyevents_head_position", f'backend="{config["backend"]}"') == 3
    assert (sample(after, "pyevents_storage_bytes") or 0) > 0
    assert (sample(after, "pyevents_storage_growth_bytes_per_day") or 0) > 0
    assert sample(after, "pyevents_append_duration_seconds_count") == 0  # appended by another process
    promtool_check(after)
    assert served.get("/nowhere")[0] == 404


def test_readiness_fails_while_postgresql_is_down_and_recovers(
    serve: Callable[..., Served], own_cluster: Cluster
) -> None:
    served = serve("--dsn", own_cluster.dsn)
    assert served.get("/readyz")[0] == 200
    own_cluster.run("stop")
    try:
        status, ready = served.json("/readyz")
        assert status == 503 and ready["ready"] is False and ready["reachable"] is False
        assert "connection refused" in ready["checks"]["reachable"]["detail"].lower()
        assert served.get("/healthz")[0] == 200  # the process lives on
        status, exposition = served.get("/metrics")
        assert status == 200
        assert sample(exposition, "pyevents_ready", 'backend="postgresql"') == 0
        assert sample(exposition, "pyevents_backend_reachable", 'backend="postgresql"') == 0
        assert (sample(exposition, "pyevents_connection_errors_total") or 0) >= 1
        promtool_check(exposition)
    finally:
        own_cluster.run("start")
    wait_for(lambda: served.get("/readyz")[0] == 200, "readiness after the restart")
    status, exposition = served.get("/metrics")
    assert sample(exposition, "pyevents_ready", 'backend="postgresql"') == 1


def test_prometheus_scrapes_serve(serve: Callable[..., Served], pg_dsn: str, tmp_path: Path) -> None:
    if PROMETHEUS is None:
        pytest.skip(NO_PROMETHEUS)
    config = {"backend": "postgresql", "postgresql": {"dsn": pg_dsn}}
    append(config, "a", "a", "b")
    served = serve("--dsn", pg_dsn)
    settings = tmp_path / "prometheus.yml"
    settings.write_text(
        "global:\n  scrape_interval: 500ms\n  scrape_timeout: 500ms\n"
        f"scrape_configs:\n  - job_name: pyevents\n    static_configs:\n      - targets: ['127.0.0.1:{served.port}']\n"
    )
    port = free_port()
    prometheus = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={settings}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def query(expression: str) -> float | None:
        status, body = get(f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expression}))
        results = json.loads(body)["data"]["result"] if status == 200 else []
        return float(results[0]["value"][1]) if results else None

    try:
        assert wait_for(lambda: query('up{job="pyevents"}'), "the target up in Prometheus", timeout=30) == 1
        assert wait_for(lambda: query('sum(pyevents_events{job="pyevents"})'), "the appended count") == 3
        append(config, "b")
        wait_for(lambda: query('pyevents_events{event_type="b"}') == 2, "the next append in Prometheus")
    finally:
        prometheus.terminate()
        prometheus.wait(timeout=30)
