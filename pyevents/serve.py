"""The monitoring endpoints of `pyevents serve`: Prometheus metrics at /metrics, liveness at
/healthz and readiness at /readyz, over one store.

Metrics are gathered at scrape time from `store.get_metrics()` and `store.health_check()` and
written by prometheus_client. A scrape never fails because the backend is down: it then reports
`pyevents_ready 0`, `pyevents_backend_reachable 0` and the process's own counters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from pyevents.metrics import HistogramSnapshot
from pyevents.store import EventStore

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _by_label(
    family: type[CounterMetricFamily | GaugeMetricFamily],
    name: str,
    documentation: str,
    label: str,
    values: Mapping[str, float],
) -> Metric:
    """One metric family with a sample per key of `values`, labelled `label`, in key order."""
    metric = family(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        metric.add_metric([key], value)
    return metric


def _buckets(snapshot: HistogramSnapshot) -> list[tuple[str, float]]:
    return [("+Inf" if bound == float("inf") else repr(bound), float(count)) for bound, count in snapshot.buckets]


class StoreCollector(Collector):
    """Turns one store's health and metrics into Prometheus metric families at each scrape."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        health = self.store.health_check()
        metrics = self.store.get_metrics()
        backend = [metrics.backend]

        def gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
            family = GaugeMetricFamily(name, documentation, labels=["backend"])
            family.add_metric(backend, value)
            return family

        yield gauge("pyevents_ready", "1 when every readiness check passes", float(health.healthy))
        yield gauge("pyevents_backend_reachable", "1 when the backend answers", float(health.reachable))
        checks = GaugeMetricFamily("pyevents_health_check", "1 per passing readiness check", labels=["check"])
        for check in health.checks:
            checks.add_metric([check.name], float(check.ok))
        yield checks

        storage = metrics.storage
        if storage is not None:
            yield gauge("pyevents_head_position", "Highest position in the log", storage.head)
            yield _by_label(
                GaugeMetricFamily, "pyevents_events", "Events stored, by type", "event_type", storage.events_by_type
            )
            yield gauge("pyevents_storage_bytes", "Bytes the store occupies, indexes included", storage.storage_bytes)
            yield gauge(
                "pyevents_storage_growth_bytes_per_day",
                "Estimated bytes added per day (events of the last day times bytes per event)",
                storage.growth_bytes_per_day,
            )
            yield gauge(
                "pyevents_partitions", "Partitions (PostgreSQL) or segments (files) of the log", storage.partitions
            )
            yield _by_label(
                GaugeMetricFamily,
                "pyevents_subscription_lag_events",
                "Events between the head and a subscription",
                "subscription",
                storage.subscription_lag,
            )

        yield _by_label(
            CounterMetricFamily,
            "pyevents_events_appended",
            "Events appended through this process, by type",
            "event_type",
            metrics.appended_by_type,
        )
        yield _by_label(
            CounterMetricFamily,
            "pyevents_failed_writes",
            "Appends refused or failed, by cause",
            "cause",
            metrics.failed_writes,
        )
        errors = CounterMetricFamily("pyevents_connection_errors", "Operations that found the backend unavailable")
        errors.add_metric([], metrics.connection_errors)
        yield errors
        yield _by_label(
            CounterMetricFamily,
            "pyevents_retention_runs",
            "Retention runs, by outcome",
            "outcome",
            metrics.retention_runs,
        )

        append = HistogramMetricFamily("pyevents_append_duration_seconds", "Latency of appends (one call, any size)")
        append.add_metric([], _buckets(metrics.append_latency), metrics.append_latency.sum)
        yield append
        query = HistogramMetricFamily(
            "pyevents_query_duration_seconds", "Latency of queries, by operation", labels=["operation"]
        )
        for operation, snapshot in metrics.query_latency.items():
            query.add_metric([operation], _buckets(snapshot), snapshot.sum)
        yield query

        if metrics.pool is not None:
            pool = GaugeMetricFamily("pyevents_pool_connections", "Client pool connections, by state", labels=["state"])
            pool.add_metric(["in_use"], metrics.pool.size - metrics.pool.available)
            pool.add_metric(["idle"], metrics.pool.available)
            yield pool
            yield gauge("pyevents_pool_max_connections", "Most connections the pool may open", metrics.pool.max_size)
            yield gauge("pyevents_pool_requests_waiting", "Requests waiting for a connection", metrics.pool.waiting)


def registry_for(store: EventStore) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store))
    return registry


def exposition(store: EventStore) -> bytes:
    """The store's metrics in the Prometheus text format, as /metrics serves them."""
    return generate_latest(registry_for(store))


def application(store: EventStore) -> WSGIApp:
    """The WSGI application: /metrics, /healthz (the process serves), /readyz (the store is ready)."""
    metrics_app = make_wsgi_app(registry_for(store))

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics_app(environ, start_response)  # type: ignore[no-any-return]
        if path == "/healthz":
            return _json(start_response, "200 OK", {"live": True, "backend": store.backend_name})
        if path == "/readyz":
            health = store.health_check()
            status = "200 OK" if health.healthy else "503 Service Unavailable"
            return _json(start_response, status, health.to_dict())
        return _json(start_response, "404 Not Found", {"error": f"no such endpoint: {path}"})

    return app


def _json(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body, default=str).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """One thread per request: a slow readiness probe never holds up a scrape."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Probes and scrapes every few seconds would flood the terminal."""


class MonitoringServer:
    """The HTTP server of `pyevents serve`; `port=0` picks a free port (see `.port`)."""

    def __init__(self, store: EventStore, host: str = "127.0.0.1", port: int = 9464) -> None:
        self.httpd = make_server(
            host, port, application(store), server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.host = host
        self.port: int = self.httpd.server_address[1]

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def close(self) -> None:
        self.httpd.server_close()
