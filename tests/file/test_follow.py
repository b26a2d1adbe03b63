"""A writer process and a follower process on one data directory: the follower sees every
acknowledged event exactly once, in position order, across rotations and compression."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from pyevents import StreamOptions
from pyevents.backends.file import FileEventStore

ROOT = Path(__file__).resolve().parents[2]


def test_follower_process_sees_every_acknowledged_event(tmp_path: Path) -> None:
    directory = tmp_path / "events"
    FileEventStore(directory).close()  # the directory exists before the follower opens it
    follower_store = FileEventStore(directory)
    stream = follower_store.stream_events(StreamOptions(poll_interval=0.01))
    delivered: list[tuple[int, uuid.UUID]] = []

    def follow() -> None:
        for event in stream:
            delivered.append((event.position, event.event_id))

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.file.processes", "write", str(directory), "5"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    acknowledged: list[uuid.UUID] = []
    assert writer.stdout is not None
    for line in writer.stdout:
        acknowledged.append(uuid.UUID(line.strip()))
        if len(acknowledged) >= 400:
            break
    writer.terminate()
    writer.wait(timeout=10)
    writer.stdout.close()
    deadline = time.monotonic() + 20
    while len(delivered) < len(acknowledged) and time.monotonic() < deadline:
        time.sleep(0.01)
    stream.close()
    thread.join(timeout=10)
    follower_store.close()

    positions = [position for position, _ in delivered]
    assert positions == sorted(set(positions)), "out of order or repeated"
    assert positions[0] == 1 and positions == list(range(1, len(positions) + 1)), "a gap in what was delivered"
    delivered_ids = {event_id for _, event_id in delivered}
    assert set(acknowledged) <= delivered_ids
