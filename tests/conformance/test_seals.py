"""Seals on every backend: chained seals over the whole log whose inclusion and consistency
proofs check without the store."""

from __future__ import annotations

import pytest

from pyevents.sealing import SealingStore, check_against, prove_consistency, prove_inclusion
from pyevents.seals import check_document
from pyevents.store import EventStore

from .events import make_event


def test_seals_prove_every_event_and_extend_each_other(store: EventStore, client: str) -> None:
    if client == "async":
        pytest.skip("sealing is a call of the blocking store only")
    assert isinstance(store, SealingStore)
    assert store.seal() == [] and store.seals() == []
    store.append_batch([make_event("A") for _ in range(5)])
    (first,) = store.seal()
    store.append_batch([make_event("B") for _ in range(3)])
    later = store.seal(max_events=2)
    events = store.get_events().events
    positions = [event.position for event in events]
    assert (first.seal, first.last_position, first.tree_size) == (1, positions[4], 5)
    assert [(s.seal, s.first_position, s.last_position, s.tree_size) for s in later] == [
        (2, positions[4] + 1, positions[6], 7),
        (3, positions[6] + 1, positions[7], 8),
    ]
    assert store.seal() == []
    assert store.seals() == [first, *later]

    newest = later[-1]
    leaves = store.sealed_leaves()
    assert [leaf.position for leaf in leaves] == positions
    for event in events:
        assert check_document(prove_inclusion(event.event_id, newest, leaves)).startswith(f"event {event.event_id}")
    consistency = prove_consistency(first.to_document(), newest.to_document(), leaves)
    assert check_document(consistency).endswith("begin with the 5 events under seal 1, unchanged")
    assert check_against(newest, store.seals()[-1], leaves) == []
    assert [problem for problem in store.verify() if "seal" in problem] == []
