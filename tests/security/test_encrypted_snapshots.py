"""Snapshots of an encrypted store: their state is sealed like a payload, bound to its correlation."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import pyevents
from pyevents.encryption.store import DecryptionError, generate_key

SECRET = "correct horse battery staple"


def test_snapshot_state_is_stored_encrypted_and_read_back(tmp_path: Path) -> None:
    directory = tmp_path / "events"
    config = {"backend": "file", "file": {"data_directory": str(directory)}}
    keyed = {**config, "security": {"encryption": {"keys": f"k1:{generate_key()}"}}}
    correlation = uuid.uuid4()
    with pyevents.open_store(config=keyed) as store:
        made = store.create_snapshot(correlation, {"card": SECRET})
        assert made.state == {"card": SECRET}
        loaded = store.get_snapshot(correlation)
        assert loaded is not None and loaded.state == {"card": SECRET}
    assert all(SECRET.encode() not in path.read_bytes() for path in directory.glob("snapshots.sqlite*"))
    with pyevents.open_store(config=config) as plain:
        stored = plain.get_snapshot(correlation)
        assert stored is not None and SECRET not in str(stored.state)
    other = {**config, "security": {"encryption": {"keys": f"k1:{generate_key()}"}}}
    with pyevents.open_store(config=other) as store, pytest.raises(DecryptionError):
        store.get_snapshot(correlation)
