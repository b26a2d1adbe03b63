"""Every event records who appended it (`appended_by`), next to the `actor_id` the caller
claims: the backend's login (PostgreSQL: the session's database login; KurrentDB: the server
user, else the OS login; files: the OS login). It is read back on every path, and no caller
sets it: a read-back event appended again records the login of whoever appends it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg

import pyevents
from pyevents import Query, QueryOptions, RecordedEvent, StreamOptions
from pyevents.logins import os_login
from pyevents.model import Event
from pyevents.store import EventStore

from .events import make_event


def expected_login(config: dict[str, Any]) -> str | None:
    if config["backend"] == "postgresql":
        with psycopg.connect(config["postgresql"]["dsn"]) as conn:
            row = conn.execute("SELECT session_user::text").fetchone()
        assert row is not None
        return str(row[0])
    if config["backend"] == "eventstore":
        user = urlsplit(config["eventstore"]["connection_string"]).username
        if user:
            return unquote(user)
    return os_login()


def test_every_read_path_gives_the_appending_login(store: EventStore, store_config: dict[str, Any]) -> None:
    login = expected_login(store_config)
    assert login
    event = make_event("OrderPlaced", tags=["order:1"], actor_id="claimed-actor")
    store.append(event)
    with store.stream_events(StreamOptions(follow=False)) as stream:
        streamed = list(stream)
    by_id = store.get_event(event.event_id)
    assert by_id is not None
    read_back: dict[str, list[RecordedEvent]] = {
        "get_events": store.get_events(QueryOptions()).events,
        "get_event": [by_id],
        "get_events_by_correlation": store.get_events_by_correlation(event.correlation_id),
        "read": store.read(Query.all()).events,
        "stream_events": streamed,
    }
    for path, events in read_back.items():
        assert [(e.actor_id, e.appended_by) for e in events] == [("claimed-actor", login)], path
        assert [e.to_dict()["appended_by"] for e in events] == [login], path


def test_a_claimed_appended_by_is_not_stored(store: EventStore, store_config: dict[str, Any], tmp_path: Path) -> None:
    """An event read from another store carries that store's appended_by; appending it here
    records this store's login."""
    config = {"backend": "file", "file": {"data_directory": str(tmp_path / "source")}}
    with pyevents.open_store(config=config) as source:
        source.append(make_event("OrderPlaced"))
        recorded = source.get_events(QueryOptions()).events[0]
    forged = dataclasses.replace(recorded, appended_by="someone-else")
    store.append(forged)
    assert store.append(forged) == store.get_events(QueryOptions()).events[0].position  # still idempotent
    assert [e.appended_by for e in store.get_events(QueryOptions()).events] == [expected_login(store_config)]


def test_input_naming_appended_by_is_ignored() -> None:
    """Like position and recorded_at, appended_by of an event read back is the source store's
    record: building the event to append drops it."""
    data = make_event("OrderPlaced").to_dict() | {"appended_by": "postgres", "position": 7}
    assert "appended_by" not in Event.from_dict(data).to_dict()
