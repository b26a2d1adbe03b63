"""What a store that keeps seals offers, and what is built on it for any backend: checking the
log against an exported seal, and inclusion and consistency proofs (documents: pyevents.seals).

Both start from the store's sealed leaves: every sealed position with the leaf it was sealed with
and the checksum of what the log holds there now. The database seals and checks itself
(PostgreSQL: seal_events(), verify_seals()); these need the tree outside it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from pyevents import merkle
from pyevents.errors import ValidationError
from pyevents.model import RecordedEvent, utc_now
from pyevents.seals import ProofError, Seal, consistency_document, inclusion_document
from pyevents.transfer import canonical

DEFAULT_SEAL_EVENTS = 100_000  # per seal: its leaves (32 bytes each) are one value of a row
MAX_SEAL_EVENTS = 1_000_000


def check_seal_size(max_events: object) -> None:
    if type(max_events) is not int or not 1 <= max_events <= MAX_SEAL_EVENTS:
        raise ValidationError(f"a seal holds 1 to {MAX_SEAL_EVENTS:,} events, got {max_events!r}")


HASH_SIZE = 32  # a leaf, a node, a root: SHA-256


def field_checksum(event: RecordedEvent) -> bytes:
    """The checksum an event's leaf hashes where the store records none (files, KurrentDB):
    SHA-256 over its position, canonical content (pyevents.transfer), recorded_at and
    appended_by, joined by 0x1F. Computed from the fields, not the stored bytes, so an event
    stored anew with the same fields (a segment rewritten or compressed) keeps it."""
    fields = (
        str(event.position).encode(),
        canonical(event),
        event.recorded_at.isoformat().encode(),
        (event.appended_by or "").encode(),
    )
    return hashlib.sha256(b"\x1f".join(fields)).digest()


@dataclass(frozen=True)
class StoredSeal:
    """A seal as a backend keeps it: the seal, its leaves (32 bytes each) for the events at
    `positions`, and the tree's frontier after it (merkle.extend), laid end to end."""

    seal: Seal
    leaves: bytes
    frontier: bytes
    positions: Sequence[int]

    def leaf_hashes(self) -> list[bytes]:
        return split_hashes(self.leaves)


def split_hashes(data: bytes) -> list[bytes]:
    """Hashes laid end to end (leaves, a frontier), one by one."""
    return [data[start : start + HASH_SIZE] for start in range(0, len(data), HASH_SIZE)]


@dataclass(frozen=True)
class SealedLeaf:
    """A row of sealed_leaves(): `checksum` of the event there now (None: no event), the leaf it
    was sealed with (None: no event was sealed there), `removed` by retention."""

    seal: int
    position: int
    event_id: uuid.UUID | None
    checksum: bytes | None
    sealed_leaf: bytes | None
    removed: bool

    def problem(self) -> str | None:
        """What is wrong at this position, worded as verify_seals() words it."""
        if self.sealed_leaf is None:
            return (
                f"event {self.event_id} at position {self.position} was inserted after seal {self.seal},"
                " which holds no event there"
            )
        if self.checksum is None:
            if self.removed:
                return None
            return (
                f"the event at position {self.position}, sealed by seal {self.seal}, is gone,"
                " and no retention run removed it"
            )
        if merkle.leaf_hash(self.checksum) != self.sealed_leaf:
            return (
                f"event {self.event_id} at position {self.position} is not what seal {self.seal} sealed: it was changed"
            )
        return None

    def leaf_now(self) -> bytes | None:
        """The leaf the log gives at this position now: an event's, or the sealed one of an
        event retention removed (retention keeps the leaves); None where an event vanished."""
        if self.checksum is not None:
            return merkle.leaf_hash(self.checksum)
        return self.sealed_leaf if self.removed else None


def check_against(exported: Seal, stored: Seal | None, leaves: Sequence[SealedLeaf]) -> list[str]:
    """What checking the log as it is now against `exported` (a seal kept outside the database)
    finds beyond verify_seals(), which names each changed position: the database's seal of that
    number (`stored`) must be the exported one, and the tree the events give now must have the
    exported root. `leaves` are the sealed_leaves() rows up to that seal."""
    if stored is None:
        return [
            f"the database holds no seal {exported.seal}: its seals were removed, or the export is of another store"
        ]
    problems = []
    if stored.seal_hash != exported.seal_hash:
        problems.append(
            f"seal {exported.seal} in the database is not the exported one (seal hash {stored.seal_hash.hex()},"
            f" exported {exported.seal_hash.hex()}): the seals were rewritten"
        )
    now = [leaf for row in leaves if (leaf := row.leaf_now()) is not None]
    root = merkle.tree_root(now)
    if len(now) != exported.tree_size or root != exported.root:
        located = any(leaf.problem() is not None for leaf in leaves)
        problems.append(
            f"the events up to position {exported.last_position} give a tree of {len(now)} events with root"
            f" {root.hex()}, not the exported seal {exported.seal}'s {exported.tree_size} events with root"
            f" {exported.root.hex()}: the history was changed"
            + ("" if located else ", and the seals in the database were rewritten to hide where")
        )
    return problems


def next_seal(
    previous: Seal | None,
    frontier: bytes,
    events: Sequence[tuple[int, bytes]],
    gaps: tuple[tuple[int, int], ...] = (),
) -> StoredSeal:
    """The seal after `previous` (None: the first), whose tree has `frontier`, over `events`,
    (position, checksum) pairs in position order; `gaps` as the seal records them."""
    size = previous.tree_size if previous else 0
    leaves = [merkle.leaf_hash(checksum) for _position, checksum in events]
    grown = merkle.extend(split_hashes(frontier), size, leaves)
    unhashed = Seal(
        seal=previous.seal + 1 if previous else 1,
        first_position=(previous.last_position if previous else 0) + 1,
        last_position=events[-1][0],
        gaps=gaps,
        tree_size=size + len(leaves),
        root=merkle.frontier_root(grown),
        previous_hash=previous.seal_hash if previous else None,
        sealed_at=utc_now(),
        seal_hash=b"",
    )
    seal = dataclasses.replace(unhashed, seal_hash=unhashed.computed_hash())
    return StoredSeal(seal, b"".join(leaves), b"".join(grown), [position for position, _checksum in events])


def chain_problems(stored: Sequence[StoredSeal]) -> list[str]:
    """What is wrong with the seals themselves, worded as PostgreSQL's verify_seals() words it:
    numbering, contiguity, the chain of hashes, and each tree recomputed from the leaves (a
    backend whose database does not check its own seals: files, KurrentDB)."""
    problems = []
    expected, after, size = 1, 0, 0
    frontier: list[bytes] = []
    previous_hash: bytes | None = None
    for item in stored:
        seal = item.seal
        if seal.seal != expected:
            problems.append(f"seal {expected} is missing: seal {seal.seal} follows seal {expected - 1}")
        if seal.first_position != after + 1:
            problems.append(
                f"seal {seal.seal} starts at position {seal.first_position},"
                f" but the seal before it ended at position {after}"
            )
        if seal.previous_hash != previous_hash:
            problems.append(f"seal {seal.seal} does not record the hash of the seal before it: one of them was changed")
        if seal.computed_hash() != seal.seal_hash:
            problems.append(f"seal {seal.seal} does not match its seal_hash: the seal was changed")
        leaves = item.leaf_hashes()
        if len(item.leaves) % HASH_SIZE or len(leaves) != len(item.positions):
            problems.append(
                f"seal {seal.seal} holds {len(item.leaves)} bytes of leaves, not a 32-byte hash for each event"
                " of its range: the seal was changed"
            )
            return problems
        frontier = merkle.extend(frontier, size, leaves)
        size += len(leaves)
        root = merkle.frontier_root(frontier)
        if seal.tree_size != size or item.frontier != b"".join(frontier) or seal.root != root:
            problems.append(
                f"seal {seal.seal} records a tree of {seal.tree_size} events with root {seal.root.hex()}, but its"
                f" leaves and those of the seals before it give {size} events with root {root.hex()}:"
                " a seal was changed"
            )
        expected, after, previous_hash = seal.seal + 1, seal.last_position, seal.seal_hash
    return problems


def _sealed(leaves: Sequence[SealedLeaf], seal: Seal) -> list[bytes]:
    """The leaves of the tree of `seal`, as sealed; ProofError when the seals do not give its root."""
    sealed = [leaf.sealed_leaf for leaf in leaves if leaf.sealed_leaf is not None]
    if len(sealed) != seal.tree_size or merkle.tree_root(sealed) != seal.root:
        raise ProofError(f"the stored seals do not give the root of seal {seal.seal}: run pyevents verify")
    return sealed


def prove_inclusion(
    event_id: uuid.UUID, seal: Seal, leaves: Sequence[SealedLeaf], document: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The inclusion proof of event `event_id` under `seal`, as a document (pyevents.seals).
    `document` is the seal as exported, kept in the proof with its signature."""
    sealed = _sealed(leaves, seal)
    index = 0
    for leaf in leaves:
        if leaf.sealed_leaf is None:
            continue
        if leaf.event_id == event_id:
            if leaf.problem() is not None or leaf.checksum is None:
                raise ProofError(leaf.problem() or f"event {event_id} was removed by retention: only its leaf is kept")
            proof = merkle.inclusion_proof(sealed, index)
            return inclusion_document(
                document or seal.to_document(), str(event_id), leaf.position, leaf.checksum, index, proof
            )
        index += 1
    raise ValidationError(f"event {event_id} is not under seal {seal.seal}: it is newer, or not in this store")


def prove_consistency(old: dict[str, Any], new: dict[str, Any], leaves: Sequence[SealedLeaf]) -> dict[str, Any]:
    """The proof that the history of seal document `old` is the start of that of `new`."""
    older, newer = Seal.from_document(old), Seal.from_document(new)
    if older.tree_size > newer.tree_size:
        raise ValidationError(f"seal {older.seal} is newer than seal {newer.seal}: give the older one first")
    sealed = _sealed(leaves, newer)
    if merkle.tree_root(sealed[: older.tree_size]) != older.root:
        raise ProofError(
            f"the history under seal {newer.seal} does not begin with that of seal {older.seal}:"
            " one of them was changed"
        )
    return consistency_document(old, new, merkle.consistency_proof(sealed, older.tree_size))


@runtime_checkable
class SealingStore(Protocol):
    """A store that keeps seals: PostgreSQL, files, KurrentDB."""

    def seal(self, max_events: int = DEFAULT_SEAL_EVENTS) -> list[Seal]:
        """Seal every final event, in seals of at most `max_events`; the new seals."""
        ...

    def seals(self) -> list[Seal]:
        """Every seal, oldest first."""
        ...

    def sealed_leaves(self, seal: int | None = None) -> list[SealedLeaf]:
        """Every position the seals up to `seal` (None: all) cover, as sealed and as it is now."""
        ...
