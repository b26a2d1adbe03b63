"""Events read back may carry payload and metadata encoded: decoded on first access, exactly,
and indistinguishable from events built decoded (equality, copies, pickling, threads)."""

from __future__ import annotations

import copy
import pickle
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from pyevents.model import RecordedEvent

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def stored(**encoded: object) -> RecordedEvent:
    fields = {
        "position": 7,
        "event_id": uuid.UUID(int=1),
        "timestamp": NOW,
        "event_type": "t",
        "actor_type": "user",
        "actor_id": "u",
        "correlation_id": uuid.UUID(int=2),
        "causation_id": None,
        "schema_version": "1.0",
        "recorded_at": NOW,
        "appended_by": "app",
        **encoded,
    }
    return RecordedEvent.from_stored(fields.items())


def decoded() -> RecordedEvent:
    return RecordedEvent(
        position=7,
        event_id=uuid.UUID(int=1),
        timestamp=NOW,
        event_type="t",
        actor_type="user",
        actor_id="u",
        correlation_id=uuid.UUID(int=2),
        recorded_at=NOW,
        appended_by="app",
        payload={"n": 1, "big": 1.0e18},
        metadata={"tags": ["a"]},
    )


def lazy() -> RecordedEvent:
    return stored(_encoded_payload=b'{"n": 1, "big": 1000000000000000000.0}', _encoded_metadata='{"tags": ["a"]}')


def test_an_encoded_payload_is_decoded_on_first_access_exactly() -> None:
    event = lazy()
    assert "payload" not in event.__dict__
    assert event.payload == {"n": 1, "big": 1.0e18} and isinstance(event.payload["big"], float)
    assert "_encoded_payload" not in event.__dict__ and "_encoded_metadata" in event.__dict__
    assert event.tags == ["a"]
    assert event == decoded() and event.to_dict() == decoded().to_dict()


def test_integers_beyond_64_bits_stored_earlier_still_read_back() -> None:
    event = stored(_encoded_payload='{"n": 123456789012345678901234567890}', _encoded_metadata="{}")
    assert event.payload == {"n": 123456789012345678901234567890}


def test_copies_and_pickles_of_undecoded_events_decode_alike() -> None:
    for clone in (copy.copy(lazy()), copy.deepcopy(lazy()), pickle.loads(pickle.dumps(lazy()))):
        assert clone == decoded()


def test_threads_decoding_one_event_at_once_all_see_it() -> None:
    event = lazy()
    with ThreadPoolExecutor(8) as pool:
        seen = list(pool.map(lambda _: event.payload, range(64)))
    assert all(value == {"n": 1, "big": 1.0e18} for value in seen)


def test_other_missing_attributes_still_raise() -> None:
    with pytest.raises(AttributeError, match="no_such_field"):
        lazy().no_such_field  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(AttributeError, match="payload"):
        stored().payload  # noqa: B018
