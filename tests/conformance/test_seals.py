"""Seals on every backend that keeps them (PostgreSQL and files): chained seals over the whole
log whose inclusion and consistency proofs check without the store. KurrentDB keeps none, and
says so (pyevents seal refuses it)."""

from __future__ import annotations

import pytest

from pyevents.sealing import SealingStore, check_against, prove_consistency, prove_inclusion
from pyevents.seals import check_document
from pyevents.store import EventStore

from .events import make_event


def test_seals_prove_every_event_and_extend_each_other(store: EventStore, client: str) -> None:
    if client == "async":
        pytest.skip("sealing is a call of the blocking store only")
    if store.backend_name == "eventstore":
        assert not isinstance(store, SealingStore)
        return
    assert isinstance(store, SealingStore)
    assert store.seal() == [] and store.seals() == []
    store.append_batch([make_event("A") for _ in range(5)])
    (first,) = store.seal()
    store.append_batch([make_event("B") for _ in range(3)])
    later = store.seal(max_events=2)
    assert [(s.seal, s.first_position, s.tree_size) for s in later] == [(2, 6, 7), (3, 8, 8)]
    assert store.seal() == []
    assert store.seals() == [first, *later]

    newest = later[-1]
    leaves = store.sealed_leaves()
    assert [leaf.position for leaf in leaves] == list(range(1, 9))
    for event in store.get_events().events:
        assert check_document(prove_inclusion(event.event_id, newest, leaves)).startswith(f"event {event.event_id}")
    consistency = prove_consistency(first.to_document(), newest.to_document(), leaves)
    assert check_document(consistency).endswith("begin with the 5 events under seal 1, unchanged")
    assert check_against(newest, store.seals()[-1], leaves) == []
    assert [problem for problem in store.verify() if "seal" in problem] == []
