"""`pyevents bench`: the benchmark harness (pyevents against raw PostgreSQL and peers)."""

from __future__ import annotations

import click

from pyevents.cli.options import dsn_option


@click.command()
@click.option(
    "--scale",
    type=click.Choice(["smoke", "full"]),
    default="smoke",
    show_default=True,
    help="smoke: seconds, to see it work; full: the published figures (tens of minutes).",
)
@click.option("--output", type=click.Path(dir_okay=False), metavar="FILE", help="Write the Markdown report here.")
@click.option("--no-peers", is_flag=True, help="Do not install or measure eventsourcing and message-db.")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the generated events.")
@dsn_option
def bench(scale: str, output: str | None, no_peers: bool, seed: int, dsn: str | None) -> None:
    """Measure appends, queries, live following, DCB and storage side by side with raw SQL
    (and peers) on the same cluster, and print the table of ratios.

    --dsn must be a superuser connection: databases named bench_* are created and dropped.
    Without it, a throwaway cluster is started (needs scripts/pgcluster.sh from a checkout).

    \b
    Examples:
      pyevents bench --dsn postgresql://postgres@localhost/postgres --no-peers
      pyevents bench --scale full --output BENCHMARKS.md
    """
    from pyevents.bench import run_benchmarks
    from pyevents.bench.report import render

    report = run_benchmarks(
        scale,
        dsn=dsn,
        output=output,
        seed=seed,
        install_peers=not no_peers,
        command=f"pyevents bench --scale {scale}" + (" --no-peers" if no_peers else ""),
        progress=lambda message: click.echo(message, err=True),
    )
    if output is None:
        click.echo(render(report))
