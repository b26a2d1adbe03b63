"""Guard against regressions: this checkout's benchmarks against a stated base commit's.

    python benchmarks/compare.py BASE [--rounds 3] [--scale smoke] [--only append,dcb,...]

Each commit runs its own harness (the base from a temporary git worktree) on one shared
throwaway cluster, base and head alternating for `--rounds` rounds so that both see the same
machine. For every figure of pyevents that both report, the median over the rounds is compared,
oriented so that a drop means worse (fewer events/s, more milliseconds or bytes). Every figure
more than `--threshold` (10%) worse is named, and the exit status is 1 when there is one.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.cluster import BenchCluster  # noqa: E402

Figure = tuple[str, str, str]  # scenario, case, metric


def parse_results(markdown: str) -> dict[Figure, float]:
    """pyevents' figures from the Results table of a rendered report."""
    figures: dict[Figure, float] = {}
    lines = markdown.splitlines()
    try:
        start = lines.index("## Results")
    except ValueError:
        return figures
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or cells[0] in ("scenario", "") or set(cells[0]) <= {"-"}:
            continue
        try:
            figures[(cells[0], cells[1], cells[2])] = float(cells[3].replace(",", ""))
        except ValueError:
            continue  # not measured (— or n/a)
    return figures


def higher_is_better(metric: str) -> bool:
    return metric.endswith("/s")


def change(metric: str, base: float, head: float) -> float:
    """Head relative to base, oriented: below 1 is worse, whatever the metric's direction."""
    if higher_is_better(metric):
        return head / base if base else float("inf")
    return base / head if head else float("inf")


def run_harness(checkout: Path, dsn: str, scale: str, only: str | None, work: Path) -> dict[Figure, float]:
    # The report goes to a file of our own: the full scale would otherwise overwrite BENCHMARKS.md.
    output = work / "report.md"
    command = [sys.executable, str(checkout / "benchmarks" / "run.py"), "--scale", scale, "--dsn", dsn]
    command += ["--output", str(output)]
    if only:
        command += ["--only", only]
    done = subprocess.run(command, cwd=checkout, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the harness of {checkout} failed:\n{done.stderr[-3000:]}")
    return parse_results(output.read_text())


def compare(base: str, *, rounds: int, scale: str, only: str | None, threshold: float) -> int:
    work = Path(tempfile.mkdtemp(prefix="pyevents-compare-"))
    worktree = work / "base"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), base], check=True)
    cluster = BenchCluster.start()
    try:
        runs: dict[str, dict[Figure, list[float]]] = {"base": defaultdict(list), "head": defaultdict(list)}
        for round_number in range(rounds):
            order = [("base", worktree), ("head", ROOT)]
            for label, checkout in order if round_number % 2 == 0 else reversed(order):
                print(f"round {round_number + 1}/{rounds}: {label}", file=sys.stderr, flush=True)
                for figure, value in run_harness(checkout, cluster.dsn, scale, only, work).items():
                    runs[label][figure].append(value)
    finally:
        cluster.close()
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=False)
        shutil.rmtree(work, ignore_errors=True)
    return report(base, runs, rounds, threshold)


def report(base: str, runs: dict[str, dict[Figure, list[float]]], rounds: int, threshold: float) -> int:
    print(f"pyevents figures, median of {rounds} rounds: base {base} against this checkout")
    print("| scenario | case | metric | base | head | head vs base |")
    print("|---|---|---|---:|---:|---:|")
    worse: list[str] = []
    for figure in runs["head"]:
        if figure not in runs["base"]:
            continue
        scenario, case, metric = figure
        base_value = statistics.median(runs["base"][figure])
        head_value = statistics.median(runs["head"][figure])
        ratio = change(metric, base_value, head_value)
        print(f"| {scenario} | {case} | {metric} | {base_value:,.2f} | {head_value:,.2f} | {ratio:.2f}x |")
        if ratio < 1 - threshold:
            worse.append(f"{scenario} / {case} / {metric}: {ratio:.2f}x of base")
    print()
    if worse:
        print(f"{len(worse)} figures more than {threshold:.0%} worse than {base}:")
        for line in worse:
            print(f"- {line}")
        return 1
    print(f"no figure more than {threshold:.0%} worse than {base}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", help="the commit to compare against (any git revision)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", choices=("smoke", "full"), default="smoke")
    parser.add_argument("--only", default="append,dcb,big,follow", help="harness parts to run (see run.py --only)")
    parser.add_argument("--threshold", type=float, default=0.10, help="worse by more than this is named")
    args = parser.parse_args(argv)
    return compare(args.base, rounds=args.rounds, scale=args.scale, only=args.only, threshold=args.threshold)


if __name__ == "__main__":
    raise SystemExit(main())
