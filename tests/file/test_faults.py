"""Faults of the file backend's surroundings and data: a full disk, a read-only file system, a
flipped byte in a gzipped segment, and the cost of verifying many tagged events."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyevents import BackendUnavailable, QueryOptions
from pyevents.backends.file import FileEventStore

from ..cli.helpers import invoke
from .conftest import event, everything

BLOB = "y" * 2000


def _mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True
        )
    except FileNotFoundError:
        pytest.skip("mount(8) is not installed: a small file system cannot be made here")
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not allowed here ({mounted.stderr.strip()})")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs, unmounted at the end."""
    path = tmp_path / "disk"
    _mount_tmpfs(path, "2m")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(store: FileEventStore) -> tuple[list[int], BackendUnavailable]:
    positions: list[int] = []
    while True:
        try:
            positions.append(store.append(event(payload={"blob": BLOB, "n": len(positions)})))
        except BackendUnavailable as exc:
            return positions, exc


def test_a_full_disk_refuses_the_append_and_nothing_else(small_disk: Path) -> None:
    directory = small_disk / "events"
    with FileEventStore(directory) as store:
        acknowledged, error = _fill(store)
        assert "no space left" in str(error) and "nothing was appended" in str(error)
        assert [e.position for e in everything(store)] == acknowledged  # reads work; nothing half-written
        assert store.verify() == []
        health = store.health_check()  # answers: the store is sound, only the disk is full
        assert "error" not in health.details
        assert {check.name: check.ok for check in health.checks} == {
            "storage": True,
            "writable": True,
            "disk_space": False,
        }
        again = event(payload={"blob": BLOB})
        with pytest.raises(BackendUnavailable, match="no space left"):
            store.append(again)
    with FileEventStore(directory) as reopened:  # opening needs no space when the index is whole
        assert [e.position for e in everything(reopened)] == acknowledged

    for index in directory.glob("index-*"):
        index.unlink()
    filler = os.open(small_disk / "filler", os.O_WRONLY | os.O_CREAT)  # leave no room for a new index
    try:
        while True:
            os.write(filler, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(filler)
    for _ in range(2):
        with pytest.raises(BackendUnavailable, match="no space left"):
            FileEventStore(directory)
    assert sorted(p.name for p in directory.iterdir() if ".tmp" in p.name) == []
    (small_disk / "filler").unlink()
    with FileEventStore(directory) as rebuilt:
        assert [e.position for e in everything(rebuilt)] == acknowledged
        assert rebuilt.append(again) == acknowledged[-1] + 1


def test_a_read_only_directory_is_unavailable_not_damaged(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "4m")
    try:
        with FileEventStore(disk / "events") as store:
            store.append(event())
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        with (
            pytest.raises(BackendUnavailable, match="not writable|readonly|read-only") as error,
            FileEventStore(disk / "events") as store,
        ):
            store.append(event())
        assert "damaged" not in str(error.value)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_repair_keeps_every_intact_gzip_member_and_verify_sees_the_gap(directory: Path, tmp_path: Path) -> None:
    with FileEventStore(directory, max_size=4_000_000) as store:
        for start in range(0, 3000, 500):
            store.append_batch([event(payload={"blob": "z" * 300, "n": n}) for n in range(start, start + 500)])
        store.rotate()
        store.append(event("Later"))
    (compressed,) = directory.glob("*.jsonl.gz")
    raw = bytearray(compressed.read_bytes())
    raw[len(raw) // 3] ^= 0xFF  # inside one member, near the start of the segment
    compressed.write_bytes(bytes(raw))

    invoke(["--config", str(_file_config(tmp_path, directory)), "verify"], code=1)
    repaired = invoke(["--config", str(_file_config(tmp_path, directory)), "verify", "--repair"], code=1)
    assert "are missing" in repaired.stdout
    with FileEventStore(directory) as store:
        kept = [e.position for e in store.get_events(QueryOptions(limit=10_000)).events]
        lost = sorted(set(range(1, 3002)) - set(kept))
        assert 0 < len(lost) <= 1000, f"repair dropped {len(lost)} events"  # whole appends, of the damaged member
        assert kept[-1] == 3001  # members after the damage are kept
        problems = store.verify()
        assert any(f"positions {lost[0]}-" in problem and "are missing" in problem for problem in problems), problems
    assert (directory / (compressed.name + ".corrupt")).exists()


def _file_config(tmp_path: Path, directory: Path) -> Path:
    config = tmp_path / "pyevents.toml"
    config.write_text(f'backend = "file"\n[file]\ndata_directory = "{directory}"\n')
    return config


def _verify_steps(directory: Path, count: int) -> int:
    """SQLite virtual-machine steps (in thousands) that reading the index for verify takes."""
    with FileEventStore(directory) as store:
        store.append_batch([event(tags=[f"t{n % 7}", f"u{n}"]) for n in range(count - store.index.count())])
        steps = 0

        def count_step() -> int:
            nonlocal steps
            steps += 1
            return 0

        db: Any = store.index.db  # type: ignore[attr-defined]
        db.set_progress_handler(count_step, 1000)
        for _row in store.index.verification_rows() or ():
            pass
        db.set_progress_handler(None, 0)
    return steps


def test_verify_reads_the_index_in_linear_work(directory: Path) -> None:
    small = _verify_steps(directory, 2000)
    large = _verify_steps(directory, 8000)
    assert large < small * 6, f"4x the events cost {large / small:.1f}x the work"


def test_file_checkpoints_never_move_backwards(directory: Path, open_file_store: Any) -> None:
    store = open_file_store()
    name = f"mailer-{uuid.uuid4()}"
    store._save_checkpoint(name, 10)
    store._save_checkpoint(name, 5)
    assert store._load_checkpoint(name) == 10
    store._save_checkpoint(name, 11)
    assert open_file_store()._load_checkpoint(name) == 11
    assert os.listdir(directory / "checkpoints")
