"""Subscription checkpoints: the last position a named subscription has processed.

One small JSON file per subscription under `checkpoints/` (named by the SHA-256 of the
subscription name, which may hold any character), replaced atomically. Consumers in any
process may save checkpoints; they never take the writer lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from pathlib import Path

from pyevents.backends.file.segments import fsync_directory
from pyevents.errors import IntegrityError


class Checkpoints:
    def __init__(self, directory: Path, *, durable: bool) -> None:
        self.directory = directory / "checkpoints"
        self.durable = durable

    def _file(self, subscription: str) -> Path:
        return self.directory / f"{hashlib.sha256(subscription.encode()).hexdigest()}.json"

    def load(self, subscription: str) -> int | None:
        path = self._file(subscription)
        try:
            data = json.loads(path.read_bytes())
            position = data["position"]
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            raise IntegrityError(f"checkpoint file {path} of subscription {subscription!r} is damaged") from None
        if not isinstance(position, int):
            raise IntegrityError(f"checkpoint file {path} of subscription {subscription!r} is damaged")
        return position

    def all(self) -> dict[str, int]:
        """Every subscription's checkpoint, by name."""
        found: dict[str, int] = {}
        for path in sorted(self.directory.glob("*.json")):
            try:
                data = json.loads(path.read_bytes())
                found[str(data["subscription"])] = int(data["position"])
            except FileNotFoundError:
                continue
            except (ValueError, KeyError, TypeError):
                raise IntegrityError(f"checkpoint file {path} is damaged") from None
        return found

    def save(self, subscription: str, position: int) -> None:
        """Checkpoints only move forward: a lower position than the saved one is ignored. The
        directory's lock file makes load-compare-replace atomic across processes."""
        self.directory.mkdir(exist_ok=True)
        with open(self.directory / "checkpoints.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            saved = self.load(subscription)
            if saved is None or position > saved:
                self._write(subscription, position)

    def _write(self, subscription: str, position: int) -> None:
        path = self._file(subscription)
        temp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump({"subscription": subscription, "position": position}, handle)
            handle.flush()
            if self.durable:
                os.fsync(handle.fileno())
        os.replace(temp, path)
        if self.durable:
            fsync_directory(self.directory)
