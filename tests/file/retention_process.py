"""Helper process for the file retention tests:
`python -m tests.file.retention_process DIR CRASH_AT|pause`.

Opens the store, prints "ready", waits for a line on stdin, then applies a time policy (with
segment rewrites). With CRASH_AT > 0 it kills itself with SIGKILL at the CRASH_AT-th file
system step (write, fsync, rename or delete): every step of a run is a crash point. With
`pause` it prints "paused" when the run (journaled) is about to delete its first segment file, and waits
for another line on stdin before going on.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from pyevents.backends.file import FileEventStore
from pyevents.retention import RetentionPolicy

POLICY = RetentionPolicy.from_section(
    {
        "default_policy": "time",
        "time_policy": {"retain_days": 30},
        "rewrite_segments": True,
        "custom_policy": {"rules": [{"tags": ["legal-hold"], "keep": True}]},
    }
)


def crash_at(step: int) -> None:
    count = 0

    def counting(function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            nonlocal count
            count += 1
            if count == step:
                os.kill(os.getpid(), signal.SIGKILL)
            return function(*args, **kwargs)

        return wrapper

    for name in ("write", "fsync", "replace", "rename", "unlink", "link"):
        setattr(os, name, counting(getattr(os, name)))


def pause_at_first_segment_deletion() -> None:
    unlink = os.unlink
    paused = False

    def pausing(path: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal paused
        journaled = os.path.exists(os.path.join(os.path.dirname(path), "retention.journal"))
        if not paused and journaled and os.path.basename(path).startswith("events-"):
            paused = True
            print("paused", flush=True)
            sys.stdin.readline()
        unlink(path, *args, **kwargs)

    os.unlink = pausing


def main() -> None:
    directory, mode = sys.argv[1], sys.argv[2]
    with FileEventStore(directory) as store:
        print("ready", flush=True)
        sys.stdin.readline()
        if mode == "pause":
            pause_at_first_segment_deletion()
        elif int(mode):
            crash_at(int(mode))
        report = store.apply_retention(policy=POLICY)
        print(report.removed, flush=True)


if __name__ == "__main__":
    main()
