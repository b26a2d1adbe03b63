"""Several processes on one directory: one writer, readers that never lock, crashes (SIGKILL)."""

from __future__ import annotations

import os
import random
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from pyevents import BackendUnavailable, Query, QueryItem
from pyevents.backends.file import FileEventStore

from .conftest import event, everything, helper


def test_a_second_writer_is_refused_naming_the_holder(directory: Path, open_file_store: Any) -> None:
    holder = helper("hold", str(directory))
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        store = open_file_store()
        assert len(everything(store)) == 1  # reading works while another process writes
        with pytest.raises(BackendUnavailable, match=rf"locked by another writer \(pid {holder.pid}\)"):
            store.append(event())
        assert len(everything(store)) == 1
    finally:
        holder.communicate("")
    assert holder.returncode == 0
    store.append(event())  # the lock is free once the holder is gone
    assert len(everything(store)) == 2


def test_readers_never_lock_and_see_appends_of_another_process(directory: Path, open_file_store: Any) -> None:
    reader = open_file_store()
    assert everything(reader) == []
    assert reader.health_check().healthy
    assert reader.verify() == []
    appender = helper("append", str(directory), "12")
    output, _ = appender.communicate()
    assert appender.returncode == 0  # the open reader held no lock
    written = [uuid.UUID(line) for line in output.split()]
    assert [e.event_id for e in everything(reader)] == written
    assert [e.event_id for e in reader.read(Query([QueryItem(types=["Type1"])])).events] == written[1::3]
    assert any(name.endswith(".jsonl.gz") for name in os.listdir(directory))
    assert reader.get_event(written[0]) is not None
    assert reader.verify() == []


def test_stores_of_one_process_share_the_writer_and_see_each_other(open_file_store: Any) -> None:
    first, second = open_file_store(max_size=600), open_file_store(max_size=600)
    for number in range(10):
        (first if number % 2 else second).append(event(tags=[f"n{number}"]))
    assert [e.tags for e in everything(first)] == [[f"n{n}"] for n in range(10)]
    assert everything(second) == everything(first)
    assert first.verify() == [] and second.verify() == []


@pytest.mark.parametrize("fsync", ["always", "batch", "never"])
def test_threads_appending_at_once_each_get_their_own_positions(open_file_store: Any, fsync: str) -> None:
    store = open_file_store(fsync=fsync, max_size=3000)
    batches = [[event(f"T{n}") for _ in range(3)] for n in range(24)]
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(store.append_batch, batches))
    positions = sorted(p for result in results for p in result)
    assert positions == list(range(1, 73))
    for batch, result in zip(batches, results, strict=True):
        assert result == list(range(result[0], result[0] + 3))  # a batch is contiguous
        assert [store.get_event(e.event_id).position for e in batch] == result
    assert store.verify() == []


@pytest.mark.slow
def test_acknowledged_appends_survive_sigkill(directory: Path) -> None:
    rng = random.Random(20260115)
    acknowledged: list[uuid.UUID] = []
    for round_number in range(16):
        writer = helper("write", str(directory), str(round_number))
        assert writer.stdout is not None
        for _ in range(rng.randint(1, 150)):
            line = writer.stdout.readline()
            assert line, "the writer died on its own"
            acknowledged.append(uuid.UUID(line.strip()))
        time.sleep(rng.random() / 50)  # kill at a random moment of a later append
        writer.send_signal(signal.SIGKILL)
        rest, _ = writer.communicate()
        acknowledged.extend(uuid.UUID(line) for line in rest.splitlines() if len(line) == 36)
        with FileEventStore(directory) as store:
            stored = everything(store) if len(acknowledged) < 10_000 else []
            ids = [e.event_id for e in stored]
            assert len(ids) == len(set(ids))
            assert set(acknowledged) <= set(ids), f"round {round_number}: acknowledged events lost"
            positions = [e.position for e in stored]
            assert positions == sorted(positions)
            assert store.verify() == []
    with FileEventStore(directory) as store:
        store.append(event())  # a writer recovers after the last kill
        assert store.verify() == []
