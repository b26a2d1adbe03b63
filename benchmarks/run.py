"""Run the pyevents benchmarks and write BENCHMARKS.md.

    python benchmarks/run.py --scale full|smoke [--runs 3] [--dsn DSN] [--output BENCHMARKS.md]

Without --dsn a throwaway PostgreSQL cluster is started (scripts/pgcluster.sh) and destroyed.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.report import render  # noqa: E402
from benchmarks.runner import PARTS, run_benchmarks  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=("smoke", "full"), default="smoke")
    parser.add_argument("--dsn", help="superuser DSN of a cluster to use (default: a throwaway one)")
    parser.add_argument("--output", default=None, help="report file (default: BENCHMARKS.md for full, none for smoke)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--events", type=int, default=None, help="size of the big store (default: the scale's)")
    parser.add_argument("--only", default=None, help=f"comma-separated parts to run, of: {', '.join(PARTS)}")
    parser.add_argument("--no-peers", action="store_true", help="do not run the peers")
    parser.add_argument("--runs", type=int, default=1, help="run everything this many times; report medians and ranges")
    args = parser.parse_args(argv)
    output = args.output or (str(ROOT / "BENCHMARKS.md") if args.scale == "full" else None)
    only = set(args.only.split(",")) if args.only else None
    if only is not None and args.no_peers:
        only.discard("peers")
    elif args.no_peers:
        only = set(PARTS) - {"peers"}
    command = "python benchmarks/run.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    report = run_benchmarks(
        args.scale,
        dsn=args.dsn,
        output=output,
        seed=args.seed,
        events=args.events,
        only=only,
        command=command.strip(),
        runs=args.runs,
    )
    if output is None:
        print(render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
