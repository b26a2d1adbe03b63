"""The eventstore backend on the in-process server: paging across page boundaries and other
stores' streams, exact type filters, concurrent conditions, health, configuration, live wake-ups,
and what happens without kurrentdbclient."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from kurrentdbclient import KurrentDBClient, NewEvent

import pyevents
from pyevents import (
    AppendCondition,
    AppendConditionViolated,
    ConfigError,
    IntegrityError,
    Query,
    QueryItem,
    QueryOptions,
    RecordedEvent,
    StreamOptions,
    ValidationError,
)
from pyevents.backends.eventstore.mapping import exact_regex, to_server
from pyevents.backends.eventstore.store import KurrentEventStore
from pyevents.model import page_of

from ..conformance.events import make_event
from ..conformance.test_query import options_strategy, seeded_events
from .conftest import StoreFactory
from .server import TestServer


@pytest.fixture
def neighbours(make_store: StoreFactory) -> tuple[KurrentEventStore, list[RecordedEvent]]:
    """A store whose events interleave in `$all` with another store's, of the same types."""
    mine, theirs = make_store("orders"), make_store("orders-archive")
    for number, event in enumerate(seeded_events()):
        (mine if number % 3 else theirs).append(event)
        theirs.append(make_event(event.event_type, tags=event.tags))
    stored = page_of(mine._scan(None), QueryOptions(limit=1000)).events
    assert len(stored) == 53
    return mine, stored


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(options=options_strategy)
def test_pages_equal_a_plain_scan_of_the_store_alone(
    neighbours: tuple[KurrentEventStore, list[RecordedEvent]], options: QueryOptions
) -> None:
    store, stored = neighbours
    after = None if options.after_position is None else stored[0].position + options.after_position * 250
    options = QueryOptions(**{**vars(options), "after_position": after})
    expected = page_of(stored, options)
    page = store.get_events(options)
    assert [e.position for e in page.events] == [e.position for e in expected.events]
    assert page.has_more == expected.has_more


def test_dcb_reads_skip_the_other_stores_events(neighbours: tuple[KurrentEventStore, list[RecordedEvent]]) -> None:
    store, stored = neighbours
    for query in (
        Query([QueryItem(types=["OrderPaid", "OrderShipped"])]),
        Query([QueryItem(tags=["vip"])]),
        Query.all(),
    ):
        for after in (None, stored[10].position, stored[10].position + 1):
            expected = [e.position for e in stored if (after is None or e.position > after) and query.matches(e)]
            assert [e.position for e in store.read(query, after=after).events] == expected


TRICKY_TYPES = ["OrderPlaced", "Order.Placed", "OrderXPlaced", "Placed", "Order", "a|b", "a", "b", "b(x)", "ü ß#1"]


@pytest.mark.parametrize("wanted", TRICKY_TYPES)
def test_type_filters_match_whole_names_literally(make_store: StoreFactory, wanted: str) -> None:
    store = make_store()
    positions = store.append_batch([make_event(name) for name in TRICKY_TYPES])
    assert [e.position for e in store.get_events(QueryOptions(event_type=wanted)).events] == [
        positions[TRICKY_TYPES.index(wanted)]
    ]
    pair = QueryOptions(event_types=[wanted, "b"])
    assert {e.event_type for e in store.get_events(pair).events} == {wanted, "b"}


def test_concurrent_conditional_appends_let_one_win(make_store: StoreFactory) -> None:
    stores = [make_store() for _ in range(6)]
    seat = Query([QueryItem(types=["SeatBooked"], tags=["seat:1"])])
    barrier = threading.Barrier(len(stores))

    def book(store: KurrentEventStore) -> bool:
        barrier.wait()
        try:
            store.append(make_event("SeatBooked", tags=["seat:1"]), AppendCondition(seat))
        except AppendConditionViolated:
            return False
        return True

    with ThreadPoolExecutor(len(stores)) as pool:
        outcomes = list(pool.map(book, stores))
    assert outcomes.count(True) == 1
    assert len(stores[0].read(seat).events) == 1


def test_conditions_that_do_not_overlap_all_succeed(make_store: StoreFactory) -> None:
    stores = [make_store() for _ in range(6)]

    def book(number: int) -> int:
        seat = Query([QueryItem(tags=[f"seat:{number}"])])
        return stores[number].append(make_event("SeatBooked", tags=[f"seat:{number}"]), AppendCondition(seat))

    with ThreadPoolExecutor(len(stores)) as pool:
        positions = list(pool.map(book, range(len(stores))))
    assert len(set(positions)) == len(stores)


def test_health_reports_the_leader_and_the_stream(make_store: StoreFactory, server: TestServer) -> None:
    store = make_store()
    store.append_batch([make_event(), make_event()])
    status = store.health_check()
    assert status.healthy
    assert status.details["leader"] == f"127.0.0.1:{server.port}"
    assert status.details["events"] == 2 and status.details["last_position"] > 0
    server.stop()
    down = store.health_check()
    assert not down.healthy and "unavailable" in down.details["error"]


def test_health_without_a_leader_is_unhealthy() -> None:
    server = TestServer(leader=False)
    try:
        with KurrentEventStore(server.uri) as store:
            status = store.health_check()
    finally:
        server.stop()
    assert not status.healthy
    assert status.details["leader"] is None and "leader" in status.details["error"]


def test_unreachable_server_is_unavailable_not_a_crash() -> None:
    server = TestServer()
    uri = server.uri
    server.stop()
    with KurrentEventStore(uri) as store, pytest.raises(pyevents.BackendUnavailable, match="unavailable"):
        store.get_events()


def test_configuration(server: TestServer) -> None:
    section: dict[str, Any] = {
        "connection_string": server.uri,
        "stream": "billing",
        "default_credentials": {"username": "admin", "password": "changeit"},
    }
    with pyevents.open_store(config={"backend": "eventstore", "eventstore": section}) as store:
        assert isinstance(store, KurrentEventStore)
        assert store.stream == "billing"
        assert "admin:********@127.0.0.1" in repr(store) and "changeit" not in repr(store)
        assert store.health_check().healthy
    with pytest.raises(ConfigError, match="connection_string"):
        pyevents.open_store(config={"backend": "eventstore", "eventstore": {"connection_string": "http://x"}})
    bad = {**section, "default_credentials": {"username": "admin", "password": "pa@ss"}}
    with pytest.raises(ConfigError, match="default_credentials.password"):
        pyevents.open_store(config={"backend": "eventstore", "eventstore": bad})
    with pytest.raises(ConfigError, match="eventstore.stream"):
        pyevents.open_store(config={"backend": "eventstore", "eventstore": {"stream": 5}})


def test_live_events_wake_the_stream_through_the_subscription(make_store: StoreFactory) -> None:
    reader, writer = make_store(), make_store()
    # The poll interval is far longer than the wait below: only the subscription can deliver in time.
    stream = reader.stream_events(StreamOptions(poll_interval=30))
    received: list[int] = []
    thread = threading.Thread(target=lambda: received.extend(event.position for event in stream), daemon=True)
    thread.start()
    time.sleep(0.2)  # the stream is waiting now
    live = [writer.append(make_event("Live")) for _ in range(3)]
    deadline = time.monotonic() + 10
    while len(received) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert received == live
    stream.close()
    writer.append(make_event())  # wakes the waiting stream, which then sees it is closed
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_checkpoints_never_go_back_and_old_ones_may_be_scavenged(make_store: StoreFactory, server: TestServer) -> None:
    store = make_store()
    assert store._load_checkpoint("mailer") is None
    store._save_checkpoint("mailer", 500)
    store._save_checkpoint("mailer", 300)
    assert store._load_checkpoint("mailer") == 500
    assert store.get_events().events == []  # checkpoints live in their own stream
    with KurrentDBClient(server.uri) as client:
        assert client.get_stream_metadata("pyevents-subscription-mailer")[0] == {"$maxCount": 10}


def test_a_batch_over_the_servers_append_size_is_refused_whole(make_store: StoreFactory) -> None:
    store = make_store()
    batch = [make_event(payload={"blob": "x" * 400_000}) for _ in range(3)]
    with pytest.raises(ValidationError, match="maximum append size") as error:
        store.append_batch(batch)
    assert error.value.field == "events"
    assert store.get_events().events == []
    assert len(store.append_batch(batch[:2])) == 2


def test_integers_beyond_64_bits_written_by_another_client_are_named(
    make_store: StoreFactory, server: TestServer
) -> None:
    """pyevents never writes them (appends refuse them: the conformance suite), so an event holding
    them came from another client: it is named as foreign, never misread as a float."""
    store = make_store()
    store.append(make_event())
    foreign = make_event()
    written = to_server(foreign, "another-client")
    big = {"big": 2**70 + 1, "small": -(2**65) - 3, "float": 0.1}
    raw = NewEvent(type=written.type, data=json.dumps(big).encode(), metadata=written.metadata, id=written.id)
    with KurrentDBClient(server.uri) as client:
        client.append_to_stream("pyevents", events=[raw], current_version=0)
    with pytest.raises(IntegrityError, match="event 1 is not a pyevents event .*payload.big is an integer beyond 64"):
        store.get_event(foreign.event_id)


def test_a_foreign_event_in_the_stream_is_named(make_store: StoreFactory, server: TestServer) -> None:
    store = make_store()
    store.append(make_event())
    with KurrentDBClient(server.uri) as client:
        client.append_to_stream("pyevents", events=[NewEvent(type="Other", data=b"[]")], current_version=0)
    with pytest.raises(IntegrityError, match="revision 1|event 1"):
        store.get_events()
    assert any("is not a pyevents event" in problem for problem in store.verify())


def test_pyevents_imports_without_kurrentdbclient_and_names_the_extra(tmp_path: Path) -> None:
    script = (
        "import sys; sys.modules['kurrentdbclient'] = None\n"
        "import pyevents\n"
        "from pyevents.backends import available\n"
        "assert 'eventstore' in available()\n"
        "with pyevents.open_store(config={'backend': 'file', 'file': {'data_directory': sys.argv[1]}}):\n"
        "    pass\n"
        "try:\n"
        "    pyevents.open_store(config={'backend': 'eventstore'})\n"
        "except pyevents.ConfigError as exc:\n"
        "    print(exc)\n"
    )
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True)
    assert "pip install 'pyevents[eventstore]'" in run.stdout


def test_retry_after_a_lost_acknowledgement_stores_nothing_new(make_store: StoreFactory, server: TestServer) -> None:
    store = make_store()
    first = store.append(make_event())
    batch = [make_event() for _ in range(3)]
    # What a client sees when the server stored the batch but the answer was lost: the events are
    # there, under the expected revision it sent.
    with KurrentDBClient(server.uri) as client:
        written = [to_server(event, store.login) for event in batch]
        client.append_to_stream("pyevents", events=written, current_version=0)
    positions = store.append_batch(batch)
    assert positions == [event.position for event in store.get_events().events[1:]]
    assert positions[0] > first and len(store.get_events().events) == 4


@pytest.mark.parametrize("wanted", [["Order.Placed"], ["a|b", "b"], ["Order", "Placed"], ["b(x)"], TRICKY_TYPES])
def test_type_regex_selects_exactly_the_wanted_names_on_the_server(wanted: list[str]) -> None:
    """The server searches the client's `^...$` unanchored: only grouping keeps it exact."""
    regex = re.compile("^" + exact_regex(wanted) + "$")
    candidates = [*TRICKY_TYPES, "xb", "OrderPlacedX", "a|bb", "Order.PlacedOrder"]
    assert [name for name in candidates if regex.search(name)] == [name for name in candidates if name in wanted]


def test_cluster_connection_strings_discover_the_leader_through_gossip(server: TestServer) -> None:
    unreachable = TestServer()
    dead_port = unreachable.port
    unreachable.stop()
    for uri in (
        f"kurrentdb+discover://127.0.0.1:{server.port}?Tls=false",
        f"esdb://127.0.0.1:{dead_port},127.0.0.1:{server.port}?Tls=false&MaxDiscoverAttempts=2",
    ):
        with KurrentEventStore(uri) as store:
            position = store.append(make_event())
            assert store.get_events().events[-1].position == position
            assert store.health_check().details["leader"] == f"127.0.0.1:{server.port}"


def test_a_cluster_without_a_leader_cannot_be_opened() -> None:
    server = TestServer(leader=False)
    try:
        with pytest.raises(pyevents.BackendUnavailable, match="cannot reach"):
            KurrentEventStore(f"kurrentdb+discover://127.0.0.1:{server.port}?Tls=false&MaxDiscoverAttempts=1")
    finally:
        server.stop()


def test_events_removed_from_the_stream_are_named(make_store: StoreFactory, server: TestServer) -> None:
    make_store().append_batch([make_event() for _ in range(3)])
    with server.log.changed:  # what truncating the stream ($tb) looks like to a reader
        del server.log.streams["pyevents"][0]
    with pytest.raises(IntegrityError, match="events were removed"):
        make_store().get_events()
