"""Seals on PostgreSQL: the SQL of sql/functions/seal_events.sql, seal_history.sql and
sealed_leaves.sql, and their rows as pyevents.sealing's types."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyevents.sealing import SealedLeaf
from pyevents.seals import Seal

SEAL_COLUMNS = "seal, first_position, last_position, gaps, tree_size, root, previous_hash, sealed_at, seal_hash"
SEAL_EVENTS_SQL = f"SELECT {SEAL_COLUMNS} FROM pyevents.seal_events(%s)"
SEALS_SQL = f"SELECT {SEAL_COLUMNS} FROM pyevents.seal_history()"
SEALED_LEAVES_SQL = (
    "SELECT seal, position, event_id, checksum, sealed_leaf, removed FROM pyevents.sealed_leaves(%s) ORDER BY position"
)


def to_seal(row: Sequence[Any]) -> Seal:
    number, first, last, gaps, size, root, previous, sealed_at, seal_hash = row
    return Seal(
        seal=number,
        first_position=first,
        last_position=last,
        gaps=tuple((gap[0], gap[1]) for gap in gaps),
        tree_size=size,
        root=bytes(root),
        previous_hash=None if previous is None else bytes(previous),
        sealed_at=sealed_at,
        seal_hash=bytes(seal_hash),
    )


def to_sealed_leaf(row: Sequence[Any]) -> SealedLeaf:
    number, position, event_id, checksum, sealed_leaf, removed = row
    return SealedLeaf(
        number,
        position,
        event_id,
        None if checksum is None else bytes(checksum),
        None if sealed_leaf is None else bytes(sealed_leaf),
        removed,
    )
