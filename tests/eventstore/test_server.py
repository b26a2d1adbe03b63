"""The test server as the unmodified kurrentdbclient sees it: the server conventions the backend
relies on, each checked through the client's own API over 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from kurrentdbclient import CaughtUp, Checkpoint, KurrentDBClient, NewEvent, StreamState
from kurrentdbclient.exceptions import NotFoundError, WrongCurrentVersionError

from .server import TestServer


@pytest.fixture
def client(server: TestServer) -> Iterator[KurrentDBClient]:
    with KurrentDBClient(server.uri) as connected:
        yield connected


def events(*types: str) -> list[NewEvent]:
    return [NewEvent(type=name, data=b"{}") for name in types]


def test_wrong_expected_version_comes_back_in_band(client: KurrentDBClient) -> None:
    client.append_to_stream("s", events=events("A", "B"), current_version=StreamState.NO_STREAM)
    # BatchAppend answers with a Status in the response, Append with wrong_expected_version.
    with pytest.raises(WrongCurrentVersionError, match="last event is 1 not 0"):
        client.append_to_stream("s", events=events("C"), current_version=0)
    with pytest.raises(WrongCurrentVersionError, match="last event is 1 not StreamState.NO_STREAM"):
        client.append_to_stream("s", events=events("C")[0], current_version=StreamState.NO_STREAM)
    with pytest.raises(WrongCurrentVersionError, match="'new' does not exist"):
        client.append_to_stream("new", events=events("C"), current_version=StreamState.EXISTS)
    assert [e.type for e in client.get_stream("s")] == ["A", "B"]


def test_missing_stream_is_not_found(client: KurrentDBClient) -> None:
    with pytest.raises(NotFoundError):
        client.get_stream("nothing")


def test_retried_append_is_idempotent(client: KurrentDBClient) -> None:
    batch = events("A", "B")
    first = client.append_to_stream("s", events=batch, current_version=StreamState.NO_STREAM)
    assert client.append_to_stream("s", events=batch, current_version=StreamState.NO_STREAM) == first
    assert client.append_to_stream("s", events=batch, current_version=StreamState.ANY) == first
    assert len(client.get_stream("s")) == 2


def test_positions_created_and_all_reads(client: KurrentDBClient) -> None:
    before = datetime.now(UTC)
    client.append_to_stream("a", events=events("A", "B"), current_version=StreamState.ANY)
    client.append_to_stream("b", events=events("A"), current_version=StreamState.ANY)
    everything = client.read_all()
    positions = [e.commit_position for e in everything]
    assert positions == sorted(positions) and len(set(positions)) == 3
    assert all(e.recorded_at is not None and abs(e.recorded_at - before) < timedelta(seconds=5) for e in everything)
    assert [e.stream_name for e in client.read_all(commit_position=positions[1])] == ["a", "b"]  # from P: P included
    assert [e.commit_position for e in client.read_all(commit_position=positions[1], backwards=True)] == positions[:1]
    assert [e.stream_name for e in client.read_all(filter_include=["b"], filter_by_stream_name=True)] == ["b"]


def test_filters_are_regex_searches(client: KurrentDBClient) -> None:
    client.append_to_stream("s", events=events("xA", "xAz", "Ay", "B"), current_version=StreamState.ANY)
    # The client sends ^xA|B$ ungrouped and the server searches: "xAz" starts with xA, so it is in.
    assert [e.type for e in client.read_all(filter_include=["xA", "B"])] == ["xA", "xAz", "B"]
    assert [e.type for e in client.read_all(filter_include=["A.*"])] == ["Ay"]


def test_subscription_confirms_checkpoints_and_catches_up(client: KurrentDBClient) -> None:
    client.append_to_stream("s", events=events("A", "B", "C", "D"), current_version=StreamState.ANY)
    subscription = client.subscribe_to_all(
        filter_include=["Nothing"],
        include_checkpoints=True,
        include_caught_up=True,
        window_size=1,
        checkpoint_interval_multiplier=2,
    )
    assert subscription.subscription_id
    received = [next(subscription) for _ in range(3)]
    subscription.stop()
    assert [type(item) for item in received] == [Checkpoint, Checkpoint, CaughtUp]
    assert received[0].commit_position < received[1].commit_position
