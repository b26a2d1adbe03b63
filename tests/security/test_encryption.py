"""Payloads encrypted at the store boundary: unreadable where they are stored, readable with the
right key, refused with a clear error otherwise, and rotated without rewriting events."""

from __future__ import annotations

import base64
import copy
import dataclasses
import os
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

import pyevents
from pyevents import ConfigError, DuplicateEventError, Event, Query, QueryItem, QueryOptions, StreamOptions
from pyevents.encryption.store import DecryptionError, EncryptedEventStore, generate_key, reencrypt

SECRET = "correct horse battery staple"
OLD_KEY, NEW_KEY, OTHER_KEY = generate_key(), generate_key(), generate_key()


def with_keys(config: dict[str, Any], keys: str) -> dict[str, Any]:
    return {**copy.deepcopy(config), "security": {"encryption": {"keys": keys}}}


def secret_event(**fields: Any) -> Event:
    return Event(
        event_type="card.added",
        actor_type="user",
        actor_id="alice",
        payload={"card": SECRET, "nested": {"pin": "0000"}},
        metadata={"tags": ["customer:7"]},
        **fields,
    )


def stored_payloads(config: dict[str, Any]) -> list[str]:
    """The payloads exactly as the backend holds them: raw jsonb text, or raw segment bytes."""
    if config["backend"] == "postgresql":
        with psycopg.connect(config["postgresql"]["dsn"]) as conn:
            return [row[0] for row in conn.execute("SELECT payload::text FROM pyevents.events ORDER BY position")]
    directory = Path(config["file"]["data_directory"])
    raw = b"".join(path.read_bytes() for path in sorted(directory.glob("events-*")))
    return [raw.decode("utf-8", errors="replace")]


def test_payloads_are_unreadable_where_stored_and_read_back_in_clear(backend_config: dict[str, Any]) -> None:
    config = with_keys(backend_config, f"k1:{OLD_KEY}")
    event = secret_event()
    with pyevents.open_store(config=config) as store:
        assert isinstance(store, EncryptedEventStore)
        position = store.append(event)
        read = store.get_event(event.event_id)
        assert read is not None and read.position == position and read.same_content(event)
        assert store.get_events().events[0].payload == event.payload
        assert store.read(Query([QueryItem(tags=["customer:7"])])).events[0].payload == event.payload
        assert store.get_events(QueryOptions(tags=["customer:7"])).events[0].payload == event.payload
        assert [found.payload for found in store.stream_events(StreamOptions(follow=False))] == [event.payload]
        assert store.verify() == []
    stored = stored_payloads(backend_config)
    assert all(SECRET not in text and "0000" not in text for text in stored)
    assert any('"$encrypted"' in text and '"kid": "k1"' in text.replace('":"', '": "') for text in stored)
    # Without keys the store hands out the stored form, never the plaintext.
    with pyevents.open_store(config=backend_config) as plain:
        envelope = plain.get_events().events[0].payload["$encrypted"]
        assert set(envelope) == {"kid", "nonce", "ct"} and envelope["kid"] == "k1"


def test_idempotent_retry_and_duplicate_detection(backend_config: dict[str, Any]) -> None:
    event = secret_event()
    with pyevents.open_store(config=with_keys(backend_config, f"k1:{OLD_KEY}")) as store:
        position = store.append(event)
        assert store.append(event) == position
        changed = dataclasses.replace(event, payload={"card": "other"})
        with pytest.raises(DuplicateEventError):
            store.append(changed)
        assert len(store.get_events().events) == 1


def test_wrong_key_fails_naming_event_and_key(backend_config: dict[str, Any]) -> None:
    event = secret_event()
    with pyevents.open_store(config=with_keys(backend_config, f"k1:{OLD_KEY}")) as store:
        store.append(event)
    with pyevents.open_store(config=with_keys(backend_config, f"k1:{OTHER_KEY}")) as store:
        with pytest.raises(DecryptionError, match=f"event {event.event_id} does not decrypt with key 'k1'"):
            store.get_event(event.event_id)
        problems = store.verify()
        assert len(problems) == 1 and str(event.event_id) in problems[0]
    with (
        pyevents.open_store(config=with_keys(backend_config, f"k2:{NEW_KEY}")) as store,
        pytest.raises(DecryptionError, match=f"event {event.event_id} is encrypted with key id 'k1'"),
    ):
        store.get_events()


def test_ciphertext_moved_to_another_event_fails(backend_config: dict[str, Any]) -> None:
    """Records are checksummed and the tables immutable, so a ciphertext can only move by being
    written as another event's payload (by someone without the keys): that event fails to decrypt."""
    config = with_keys(backend_config, f"k1:{OLD_KEY}")
    original = secret_event()
    with pyevents.open_store(config=config) as store:
        store.append(original)
    with pyevents.open_store(config=backend_config) as plain:
        stolen = plain.get_event(original.event_id)
        assert stolen is not None
        replay = Event(event_type="card.added", actor_type="user", actor_id="mallory", payload=stolen.payload)
        plain.append(replay)
        relabelled = copy.deepcopy(stolen.payload)
        relabelled["$encrypted"]["kid"] = "k2"
        relabel = Event(event_type="card.added", actor_type="user", actor_id="mallory", payload=relabelled)
        plain.append(relabel)
    with pyevents.open_store(config=with_keys(backend_config, f"k1:{OLD_KEY},k2:{NEW_KEY}")) as store:
        assert store.get_event(original.event_id).payload == original.payload  # type: ignore[union-attr]
        with pytest.raises(DecryptionError, match=f"event {replay.event_id} does not decrypt with key 'k1'"):
            store.get_event(replay.event_id)
        with pytest.raises(DecryptionError, match=f"event {relabel.event_id} does not decrypt with key 'k2'"):
            store.get_event(relabel.event_id)


def test_rotation_new_events_use_the_newest_key_old_ones_still_decrypt(backend_config: dict[str, Any]) -> None:
    before, after = secret_event(), secret_event()
    with pyevents.open_store(config=with_keys(backend_config, f"k1:{OLD_KEY}")) as store:
        store.append(before)
    with pyevents.open_store(config=with_keys(backend_config, f"k1:{OLD_KEY},k2:{NEW_KEY}")) as store:
        assert store.append(before) == 1  # a retry of an event stored under the older key
        store.append(after)
        assert [event.payload for event in store.get_events().events] == [before.payload, after.payload]
    with pyevents.open_store(config=backend_config) as plain:
        key_ids = [event.payload["$encrypted"]["kid"] for event in plain.get_events().events]
    assert key_ids == ["k1", "k2"]


def test_reencryption_copies_into_a_new_store_and_records_it(backend_config: dict[str, Any], tmp_path: Path) -> None:
    events = [secret_event(), secret_event()]
    with pyevents.open_store(config=with_keys(backend_config, f"k1:{OLD_KEY}")) as source:
        source.append_batch(events)
        target_config = {"backend": "file", "file": {"data_directory": str(tmp_path / "reencrypted")}}
        with pyevents.open_store(config=with_keys(target_config, f"k2:{NEW_KEY}")) as target:
            assert isinstance(target, EncryptedEventStore)
            assert reencrypt(source, target, actor_id="ops") == 2
            assert reencrypt(source, target, actor_id="ops") == 2  # a rerun appends no event twice
            copied = target.get_events().events
    assert [event.event_id for event in copied[:2]] == [event.event_id for event in events]
    assert [event.payload for event in copied[:2]] == [event.payload for event in events]
    assert [event.event_type for event in copied[2:]] == ["pyevents.store.reencrypted"] * 2
    assert copied[2].payload["key_id"] == "k2" and copied[2].payload["events"] == 2
    with pyevents.open_store(config=target_config) as plain:
        assert {event.payload["$encrypted"]["kid"] for event in plain.get_events().events} == {"k2"}


def test_keys_from_a_key_file_owner_only(tmp_path: Path) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text(f"# rotated 2026-11\nk1:{OLD_KEY}\nk2:{NEW_KEY}\n")
    os.chmod(key_file, 0o644)
    config = {
        "file": {"data_directory": str(tmp_path / "events")},
        "security": {"encryption": {"key_file": str(key_file)}},
    }
    with pytest.raises(ConfigError, match=r"key file .* is accessible to group or others \(mode 644\)"):
        pyevents.open_store(config=config)
    assert not (tmp_path / "events").exists()
    os.chmod(key_file, 0o600)
    with pyevents.open_store(config=config) as store:
        store.append(secret_event())
        assert store.health_check().details["encryption"] == {"key_ids": ["k1", "k2"], "encrypting_with": "k2"}


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("k1", "an entry is not KEY_ID:BASE64"),
        ("k1:***", "key 'k1' is not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "key 'k1' is 5 bytes; AES-256 needs 32"),
        (f"k1:{OLD_KEY},k1:{NEW_KEY}", "key id 'k1' appears twice"),
        (f"bad key:{OLD_KEY}", "key id 'bad key' must be"),
        (" , ", "holds no keys"),
    ],
)
def test_bad_keys_are_refused_without_showing_them(keys: str, message: str, tmp_path: Path) -> None:
    config = {"file": {"data_directory": str(tmp_path)}, "security": {"encryption": {"keys": keys}}}
    with pytest.raises(ConfigError, match=message) as caught:
        pyevents.open_store(config=config)
    assert OLD_KEY not in str(caught.value) and NEW_KEY not in str(caught.value)


def test_keys_are_masked_and_taken_from_the_environment(tmp_path: Path) -> None:
    environ = {"PYEVENTS_SECURITY__ENCRYPTION__KEYS": f"k1:{OLD_KEY}"}
    config = pyevents.Config.load(config={"file": {"data_directory": str(tmp_path)}}, environ=environ)
    assert OLD_KEY not in repr(config) and OLD_KEY not in str(config.masked())
    with pyevents.open_store(config=config) as store:
        assert isinstance(store, EncryptedEventStore) and OLD_KEY not in repr(store)
        event_id = uuid.uuid4()
        store.append(Event(event_id=event_id, event_type="t", actor_type="u", actor_id="a", payload={"v": SECRET}))
        assert store.get_event(event_id).payload == {"v": SECRET}  # type: ignore[union-attr]
