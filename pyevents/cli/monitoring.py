"""Monitoring commands: `metrics` (one reading, for people or scripts) and `serve` (Prometheus
metrics, liveness and readiness over HTTP)."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import click

from pyevents.cli import output
from pyevents.cli.options import dsn_option, format_option, open_store
from pyevents.cli.seal import PeriodicSealer, sealable
from pyevents.serve import MonitoringServer, exposition


@click.command()
@format_option("table", "json", "prometheus")
@dsn_option
def metrics(output_format: str, dsn: str | None) -> None:
    """Print the store's metrics: events by type, bytes, growth per day, partitions or segments,
    subscription lag (and, for this process, latencies and failures). `--format prometheus`
    prints what `pyevents serve` exposes at /metrics.

    \b
    Examples:
      pyevents metrics
      pyevents metrics --format json
      pyevents metrics --format prometheus | promtool check metrics
    """
    with open_store(dsn) as store:
        if output_format == "prometheus":
            click.echo(exposition(store).decode(), nl=False)
            return
        reading = store.get_metrics()
    if output_format == "json":
        click.echo(output.dumps(reading.to_dict()))
        return
    pairs: list[tuple[str, object]] = [("backend", reading.backend)]
    storage = reading.storage
    if storage is None:
        pairs.append(("error", reading.error))
    else:
        pairs += [
            ("head", storage.head),
            ("events", storage.events_total),
            *((f"events {name}", count) for name, count in sorted(storage.events_by_type.items())),
            ("storage bytes", storage.storage_bytes),
            ("growth bytes/day", round(storage.growth_bytes_per_day)),
            ("partitions" if reading.backend == "postgresql" else "segments", storage.partitions),
            *((f"lag {name}", behind) for name, behind in sorted(storage.subscription_lag.items())),
        ]
    if reading.pool is not None:
        pairs.append(("pool", f"{reading.pool.size - reading.pool.available} of {reading.pool.max_size} in use"))
    click.echo(output.key_values(pairs))


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=9464,
    show_default=True,
    help="Port to listen on (0: any free port, printed at start).",
)
@click.option(
    "--seal-every",
    type=click.FloatRange(min=0.1),
    metavar="SECONDS",
    help="postgresql: also seal the final events every SECONDS (see pyevents seal).",
)
@dsn_option
def serve(host: str, port: int, seal_every: float | None, dsn: str | None) -> None:
    """Serve Prometheus metrics at /metrics, liveness at /healthz and readiness at /readyz
    (503 while the store is not ready), until interrupted (Ctrl-C or SIGTERM).

    \b
    Examples:
      pyevents serve
      pyevents serve --host 0.0.0.0 --port 9464 --dsn postgresql://pyevents_app@db/events
      pyevents serve --seal-every 60
    """
    with open_store(dsn) as store:
        sealer = PeriodicSealer(sealable(store), seal_every) if seal_every is not None else None
        try:
            server = MonitoringServer(store, host, port)
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        signal.signal(signal.SIGTERM, _stop)
        click.echo(f"serving {store.backend_name} store metrics on http://{host}:{server.port}/metrics", err=True)
        sys.stderr.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
            if sealer is not None:
                sealer.close()
