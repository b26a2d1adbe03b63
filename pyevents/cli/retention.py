"""`pyevents retention show | apply`: explain the policy, print the plan, remove what it says,
once or on a schedule (`--every 1h`)."""

from __future__ import annotations

import re
import sys
import time

import click

from pyevents.cli import output
from pyevents.cli.options import EXIT_BAD_INPUT, CliError, dsn_option, format_option, load_config, open_store
from pyevents.errors import PyEventsError
from pyevents.retention import RetentionReport

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(value: str) -> float:
    """`30s`, `15m`, `1h`, `1d` -> seconds."""
    match = _DURATION.match(value)
    if match is None or int(match.group(1)) == 0:
        raise CliError(f"--every must be a positive duration such as 30s, 15m, 1h or 1d, got {value!r}", EXIT_BAD_INPUT)
    return int(match.group(1)) * _SECONDS[match.group(2)]


@click.group()
def retention() -> None:
    """Retention: the only way events leave the store (infinite unless configured).

    \b
    Examples:
      pyevents retention show
      pyevents retention apply --dry-run
      pyevents retention apply --every 1h
    """


@retention.command()
@format_option("table", "json")
@dsn_option
def show(output_format: str, dsn: str | None) -> None:
    """Explain the configured retention policy (`[retention]`) in words.

    \b
    Examples:
      pyevents retention show
      pyevents --config prod.toml retention show --format json
    """
    config = load_config(dsn)
    policy = config.retention
    max_files = config.section("file")["rotation"]["max_files"] if config.backend == "file" else 0
    lines = policy.describe()
    if max_files:
        lines.append(f"Files: at most {max_files} segments are kept (file.rotation.max_files); held events stay.")
    if config.backend == "file" and policy.default_policy != "infinite":
        lines.append(
            "Files: partly expired segments are rewritten without their expired events."
            if policy.rewrite_segments
            else "Files: a segment is removed once all its events have expired (retention.rewrite_segments = false)."
        )
    if output_format == "json":
        click.echo(output.dumps({"backend": config.backend, "policy": policy.to_json(), "explanation": lines}))
    else:
        click.echo("\n".join(lines))


def _print_report(report: RetentionReport, output_format: str) -> None:
    if output_format == "json":
        click.echo(output.dumps(report.to_json()))
        return
    verb = "would remove" if report.dry_run else "removed"
    rows: list[list[object]] = [
        [
            unit.name,
            unit.action,
            unit.events,
            output.timestamp(unit.oldest) if unit.oldest else "",
            output.timestamp(unit.newest) if unit.newest else "",
            ", ".join(f"{name}={count}" for name, count in unit.by_type.items()),
        ]
        for unit in report.units
    ]
    if rows:
        click.echo(output.table(["unit", "action", "events", "oldest", "newest", "types"], rows))
    cutoff = f" (cutoff {report.cutoff.isoformat()})" if report.cutoff else ""
    click.echo(f"{verb} {report.removed} events{cutoff}")
    if report.deferred:
        click.echo(f"{report.deferred} expired events stay until their segment has fully expired")
    if report.applied_position is not None:
        click.echo(f"recorded as pyevents.retention.applied at position {report.applied_position}")


@retention.command()
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option(
    "--every", metavar="DURATION", help="Keep running, applying the policy every DURATION (30s, 15m, 1h, 1d)."
)
@format_option("table", "json")
@dsn_option
def apply(dry_run: bool, every: str | None, output_format: str, dsn: str | None) -> None:
    """Apply the retention policy: remove what it says must go and record the run as a
    pyevents.retention.applied event. On PostgreSQL the login needs the store's retention role
    (pyevents_retention, or <role_prefix>retention: `pyevents db grant retention LOGIN`).

    \b
    Examples:
      pyevents retention apply --dry-run
      pyevents retention apply
      pyevents retention apply --every 1h      (a long-running process; stop it with Ctrl-C)
    """
    interval = parse_every(every) if every is not None else None
    while True:
        try:
            report = _run_once(dsn, dry_run=dry_run, show_progress=sys.stderr.isatty() and output_format == "table")
        except PyEventsError as exc:
            if interval is None:
                raise
            # A scheduler outlives a failed run (a restarting server, a busy lock): say so, go on.
            click.echo(f"Error: {exc}; next attempt in {every}", err=True)
        else:
            _print_report(report, output_format)
        if interval is None:
            return
        time.sleep(interval)


def _run_once(dsn: str | None, *, dry_run: bool, show_progress: bool) -> RetentionReport:
    with open_store(dsn) as store:
        if not show_progress:
            return store.apply_retention(dry_run=dry_run)
        with click.progressbar(length=1, label="retention", file=sys.stderr) as bar:

            def progress(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            return store.apply_retention(dry_run=dry_run, progress=progress)
