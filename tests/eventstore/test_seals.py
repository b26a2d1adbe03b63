"""Seals on KurrentDB: a seal stream of the store's own, and every change to the store's stream
that only someone with the server's files could make found and named by position."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import uuid
from pathlib import Path

import orjson
import pytest
from kurrentdbclient import KurrentDBClient, NewEvent, StreamState

from pyevents import Event
from pyevents.backends.eventstore import sealing as kurrent_sealing
from pyevents.backends.eventstore.store import KurrentEventStore
from pyevents.sealing import check_against, prove_inclusion
from pyevents.seals import ProofError, check_document

from ..cli.helpers import invoke
from .conftest import StoreFactory
from .server import Record, TestServer


def events(count: int) -> list[Event]:
    return [Event(event_type="t", actor_type="svc", actor_id="a", payload={"n": n}) for n in range(count)]


def forge(server: TestServer, revision: int, **changes: object) -> None:
    """Change the store's event at `revision` in the server's own log, as only someone with the
    server's files could: the API offers no way to change an event."""
    with server.log.changed:
        stream = server.log.streams["pyevents"]
        old = stream[revision]
        new = dataclasses.replace(old, **changes)  # type: ignore[arg-type]
        stream[revision] = new
        server.log.records[server.log.records.index(old)] = new


def _retimed(record: Record) -> bytes:
    fields = json.loads(record.custom_metadata)
    fields["timestamp"] = fields["timestamp"].replace("+00:00", "+00:01")
    return json.dumps(fields).encode()


@pytest.fixture
def sealed(make_store: StoreFactory) -> KurrentEventStore:
    store = make_store()
    store.append_batch(events(5))
    store.append_batch(events(5))
    store.seal(max_events=4)
    return store


def seal_problems(store: KurrentEventStore) -> list[str]:
    return [problem for problem in store.verify() if "seal" in problem]


def test_the_seals_are_events_of_a_stream_of_their_own(sealed: KurrentEventStore, server: TestServer) -> None:
    seals = sealed.seals()
    positions = [event.position for event in sealed.get_events().events]
    assert [(s.first_position, s.last_position, s.gaps, s.tree_size) for s in seals] == [
        (1, positions[3], (), 4),
        (positions[3] + 1, positions[7], (), 8),
        (positions[7] + 1, positions[9], (), 10),
    ]
    assert [record.type for record in server.log.streams["pyevents-seals"]] == ["pyevents.seal"] * 3
    assert len(server.log.streams["pyevents"]) == 10  # the store's own stream holds only events
    assert sealed.verify() == []


@pytest.mark.parametrize("change", ["payload", "type", "timestamp"])
def test_an_event_changed_in_the_servers_files_is_named_by_position(
    sealed: KurrentEventStore, server: TestServer, change: str
) -> None:
    exported = sealed.seals()[-1]
    record = server.log.streams["pyevents"][6]
    if change == "payload":
        forge(server, 6, data=b'{"n": 99}')
    elif change == "type":
        forge(server, 6, type="forged")
    else:
        forge(server, 6, custom_metadata=_retimed(record))
    problems = seal_problems(sealed)
    assert problems == [f"event {record.id} at position {record.position} is not what seal 2 sealed: it was changed"]
    assert check_against(exported, sealed.seals()[-1], sealed.sealed_leaves(exported.seal))
    with pytest.raises(ProofError, match=f"position {record.position} is not what seal 2 sealed"):
        prove_inclusion(uuid.UUID(record.id), exported, sealed.sealed_leaves())


def test_a_seal_stream_that_holds_something_else_is_named(sealed: KurrentEventStore, server: TestServer) -> None:
    client = KurrentDBClient(server.uri)
    try:
        client.append_to_stream(
            "pyevents-seals", events=[NewEvent(type="pyevents.seal", data=b"{}")], current_version=StreamState.ANY
        )
    finally:
        client.close()
    (problem,) = seal_problems(sealed)
    assert re.fullmatch(
        r"the seals were not checked: stream 'pyevents-seals' revision 3 is not a pyevents seal .*", problem
    )


def test_a_seal_event_holds_at_most_its_share_of_the_append_limit(
    make_store: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kurrent_sealing, "MAX_EVENTS", 4)
    store = make_store()
    store.append_batch(events(10))
    assert [s.tree_size for s in store.seal()] == [4, 8, 10]
    assert len(kurrent_sealing.to_record(store._stored_seals()[0])) < 1000
    assert store.verify() == []


def test_sealers_take_turns(make_store: StoreFactory) -> None:
    writer = make_store()
    writer.append_batch(events(30))
    sealers = [make_store() for _ in range(4)]
    threads = [threading.Thread(target=sealer.seal, kwargs={"max_events": 3}) for sealer in sealers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seals = writer.seals()
    assert [s.seal for s in seals] == list(range(1, 11)) and seals[-1].tree_size == 30
    assert writer.verify() == []


def test_the_cli_seals_exports_and_proves(sealed: KurrentEventStore, server: TestServer, tmp_path: Path) -> None:
    config = tmp_path / "pyevents.toml"
    config.write_text(f'backend = "eventstore"\n[eventstore]\nconnection_string = "{server.uri}"\n')
    sealed.append_batch(events(2))
    exported, proof = tmp_path / "seal.json", tmp_path / "proof.json"
    result = invoke(["--config", str(config), "seal", "--export", str(exported)])
    assert "12 events sealed" in result.stdout
    invoke(["--config", str(config), "verify", "--against", str(exported)])
    target = sealed.get_events().events[8]
    invoke(["--config", str(config), "prove", str(target.event_id), "--output", str(proof)])
    assert f"event {target.event_id} at position {target.position}" in check_document(orjson.loads(proof.read_bytes()))
    forge(server, 8, data=b'{"n": "forged"}')
    failed = invoke(["--config", str(config), "verify", "--against", str(exported)], code=1)
    assert "the history was changed" in failed.stdout + failed.stderr
