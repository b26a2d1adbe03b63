"""Seals on KurrentDB (pyevents.sealing): the tree and chained seals of the other backends, as
events of a stream of the store's own, `<stream>-seals`.

The store is one stream, whose revisions are dense and whose events the server never changes: a
seal covers the next revisions of it, every event. It records no gaps (positions are offsets in
the server's log, not a count), and it keeps each event's position beside its leaf, so an event
gone from the stream ($tb, $maxCount, deletion) or changed in the server's files is named where
it was. A leaf hashes sealing.field_checksum. A seal event holds at most MAX_EVENTS leaves, well
within the server's default 1 MiB append. Sealers take turns through the seal stream's expected
revision.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterable, Sequence

import orjson

from pyevents.errors import IntegrityError
from pyevents.model import RecordedEvent
from pyevents.sealing import SealedLeaf, StoredSeal, field_checksum
from pyevents.seals import ProofError, Seal

SEAL_TYPE = "pyevents.seal"
MAX_EVENTS = 10_000  # per seal event: 32 + 8 bytes an event, base64 in JSON: about 540 KB


def seal_stream(stream: str) -> str:
    return f"{stream}-seals"


def to_record(stored: StoredSeal) -> bytes:
    """The data of the seal's event: its document, and its leaves, positions and frontier."""
    positions = struct.pack(f">{len(stored.positions)}q", *stored.positions)
    return orjson.dumps(
        {
            **stored.seal.to_document(),
            "leaves": base64.b64encode(stored.leaves).decode(),
            "positions": base64.b64encode(positions).decode(),
            "frontier": base64.b64encode(stored.frontier).decode(),
        }
    )


def from_record(data: bytes, where: str) -> StoredSeal:
    """The seal an event of the seal stream holds; its hash is checked by chain_problems."""
    try:
        document = orjson.loads(data)
        seal = Seal.from_document(document, check_hash=False)
        raw_positions = base64.b64decode(document["positions"], validate=True)
        positions = list(struct.unpack(f">{len(raw_positions) // 8}q", raw_positions))
        leaves = base64.b64decode(document["leaves"], validate=True)
        frontier = base64.b64decode(document["frontier"], validate=True)
    except (orjson.JSONDecodeError, ProofError, KeyError, TypeError, ValueError, struct.error) as exc:
        raise IntegrityError(f"{where} is not a pyevents seal ({exc})") from None
    return StoredSeal(seal, leaves, frontier, positions)


def sealed_leaves(stored: Sequence[StoredSeal], events: Iterable[tuple[int, RecordedEvent]]) -> list[SealedLeaf]:
    """Every event the seals `stored` cover, as sealed and as the stream holds it now (`events`:
    (revision, event) pairs): the rows of PostgreSQL's sealed_leaves(), at the sealed positions."""
    # Ids and checksums only: a million events kept whole would be gigabytes.
    now = {revision: (event.event_id, field_checksum(event)) for revision, event in events}
    rows = []
    revision = 0
    for item in stored:
        for position, leaf in zip(item.positions, item.leaf_hashes(), strict=False):
            found = now.get(revision)
            rows.append(
                SealedLeaf(
                    seal=item.seal.seal,
                    position=position,
                    event_id=None if found is None else found[0],
                    checksum=None if found is None else found[1],
                    sealed_leaf=leaf,
                    removed=False,  # the store removes nothing: retention is not offered here
                )
            )
            revision += 1
    return rows
