"""The single-writer lock of a data directory: an exclusive `flock` on `writer.lock`.

The lock file holds the pid of the process that holds it, so a refused writer can name the
holder. The lock is shared by every store in one process (keyed by the directory's device and
inode), because `flock` locks belong to open file descriptions: two stores of one process on one
directory would otherwise lock each other out. Readers never take it.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from typing import ClassVar

from pyevents.errors import BackendUnavailable

LOCK_FILE_NAME = "writer.lock"


class WriterLock:
    """Holds the directory's flock for as long as at least one store of this process writes."""

    _registry: ClassVar[dict[tuple[int, int], WriterLock]] = {}
    _registry_guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, directory: Path, key: tuple[int, int]) -> None:
        self.directory = directory
        self.key = key
        self.path = directory / LOCK_FILE_NAME
        self.fd: int | None = None
        self.users = 0
        self.recovered = False  # whether a store of this process has recovered the directory
        # Serialises appends of every store of this process on this directory.
        self.mutex = threading.RLock()

    @classmethod
    def acquire(cls, directory: Path) -> WriterLock:
        """The process's lock on `directory`, taking the flock if nobody here holds it yet."""
        stat = directory.stat()
        key = (stat.st_dev, stat.st_ino)
        with cls._registry_guard:
            lock = cls._registry.get(key)
            if lock is None:
                lock = cls(directory, key)
                lock._take()
                cls._registry[key] = lock
            lock.users += 1
            return lock

    def release(self) -> None:
        with self._registry_guard:
            self.users -= 1
            if self.users > 0 or self.fd is None:
                return
            del self._registry[self.key]
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = None

    def _take(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise BackendUnavailable(
                f"{self.directory} is locked by another writer ({holder_description(self.path)}); "
                "only one process may append to a data directory at a time"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise BackendUnavailable(f"cannot lock {self.path}: {exc.strerror}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd


def holder_description(path: Path) -> str:
    """'pid N' of the lock holder; it writes its pid right after locking, so wait a moment for it."""
    for _ in range(50):
        try:
            text = path.read_text().strip()
        except OSError:
            text = ""
        if text.isdigit():
            return f"pid {text}"
        time.sleep(0.01)
    return "pid unknown"
