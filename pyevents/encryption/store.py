"""AES-256-GCM of payloads at the store boundary, the same for every backend.

`EncryptedEventStore` wraps any EventStore: it encrypts each payload before the backend sees it
and decrypts on every read, so backends store and index only the stored form, a JSON object:

    {"$encrypted": {"kid": "<key id>", "nonce": "<base64, 12 bytes>", "ct": "<base64>"}}

`ct` is the ciphertext of the payload's compact JSON followed by the 16-byte GCM tag. The
associated data binds the ciphertext to its event id and key id, so a ciphertext copied onto
another event, or relabelled with another key id, fails to decrypt.

The nonce is derived, not random: HMAC-SHA256(nonce key, associated data + plaintext), cut to
12 bytes (a synthetic IV, as in SIV modes). The same event under the same key therefore always
encrypts to the same bytes, which keeps a retried append idempotent, while two different
plaintexts get the same nonce only by a 96-bit collision, the same odds as random nonces. The
ciphertext reveals that two events are identical only when they are the same event (same id).
The AES key and the nonce key are derived from each configured key with HKDF-SHA256.

Metadata, tags and every other field stay in clear: filters and DCB queries work on them;
nothing can filter on payload contents.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pyevents.errors import ConfigError, DuplicateEventError, IntegrityError
from pyevents.metrics import PoolMetrics, StorageMetrics
from pyevents.model import (
    AppendCondition,
    Event,
    EventPage,
    HealthStatus,
    Query,
    QueryOptions,
    RecordedEvent,
    Snapshot,
)
from pyevents.store import EventStore
from pyevents.streams import Follower

ENVELOPE = "$encrypted"
KEY_BYTES = 32
NONCE_BYTES = 12
_AAD_PREFIX = b"pyevents payload v1\x00"
REENCRYPTED_EVENT_TYPE = "pyevents.store.reencrypted"

E = TypeVar("E", bound=Event)


class DecryptionError(IntegrityError):
    """A payload cannot be decrypted: unknown key id, wrong key, or altered or moved ciphertext."""


def generate_key() -> str:
    """A new random key, base64-encoded, for `KEY_ID:KEY` in the configuration."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=b"pyevents " + purpose).derive(secret)


class DataKey:
    """One configured key: its id and the AES and nonce keys derived from it."""

    def __init__(self, key_id: str, secret: bytes) -> None:
        self.key_id = key_id
        self._aead = AESGCM(_derive(secret, b"aes-256-gcm"))
        self._nonce_key = _derive(secret, b"gcm nonce")

    def __repr__(self) -> str:
        return f"DataKey({self.key_id!r})"

    def _associated_data(self, event_id: uuid.UUID) -> bytes:
        return _AAD_PREFIX + event_id.bytes + self.key_id.encode()

    def seal(self, event_id: uuid.UUID, plaintext: bytes) -> dict[str, str]:
        aad = self._associated_data(event_id)
        nonce = hmac.new(self._nonce_key, aad + plaintext, hashlib.sha256).digest()[:NONCE_BYTES]
        ciphertext = self._aead.encrypt(nonce, plaintext, aad)
        return {"kid": self.key_id, "nonce": _b64(nonce), "ct": _b64(ciphertext)}

    def open(self, event_id: uuid.UUID, nonce: bytes, ciphertext: bytes) -> bytes:
        return self._aead.decrypt(nonce, ciphertext, self._associated_data(event_id))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _check_key_id(key_id: str, source: str) -> str:
    if not key_id or len(key_id) > 64 or any(ch.isspace() or ch in ",:" or ord(ch) < 32 for ch in key_id):
        raise ConfigError(f"{source}: key id {key_id!r} must be 1 to 64 characters without spaces, ',' or ':'")
    return key_id


class Keyring:
    """The configured keys, oldest first; the newest encrypts, any of them decrypts."""

    def __init__(self, keys: Sequence[tuple[str, bytes]], *, source: str = "keys") -> None:
        if not keys:
            raise ConfigError(f"{source} holds no keys")
        self._keys: dict[str, DataKey] = {}
        for key_id, secret in keys:
            _check_key_id(key_id, source)
            if key_id in self._keys:
                raise ConfigError(f"{source}: key id {key_id!r} appears twice")
            if len(secret) != KEY_BYTES:
                raise ConfigError(
                    f"{source}: key {key_id!r} is {len(secret)} bytes; AES-256 needs {KEY_BYTES} random bytes"
                )
            self._keys[key_id] = DataKey(key_id, secret)
        self.newest = self._keys[keys[-1][0]]

    @classmethod
    def parse(cls, text: str, source: str) -> Keyring:
        """`KEY_ID:BASE64` entries separated by commas or lines; `#` starts a comment line."""
        pairs: list[tuple[str, bytes]] = []
        for line in text.splitlines():
            if line.strip().startswith("#"):
                continue
            for entry in line.split(","):
                if not entry.strip():
                    continue
                key_id, colon, encoded = entry.strip().partition(":")
                if not colon:
                    raise ConfigError(f"{source}: an entry is not KEY_ID:BASE64 (no ':' after {key_id[:8]!r}...)")
                _check_key_id(key_id, source)
                try:
                    secret = base64.b64decode(encoded.strip(), validate=True)
                except (binascii.Error, ValueError):
                    raise ConfigError(f"{source}: key {key_id!r} is not valid base64") from None
                pairs.append((key_id, secret))
        return cls(pairs, source=source)

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def __repr__(self) -> str:
        return f"Keyring(key_ids={self.key_ids!r}, newest={self.newest.key_id!r})"

    def seal(self, event: E, key: DataKey | None = None) -> E:
        """The event with its payload encrypted (by the newest key unless one is given)."""
        key = key or self.newest
        envelope = key.seal(event.event_id, event.payload_json.encode())
        return dataclasses.replace(event, payload={ENVELOPE: envelope})

    def open(self, event: E) -> E:
        """The event with its payload decrypted; a payload that is not encrypted is returned as is."""
        envelope = encrypted_envelope(event.payload)
        if envelope is None:
            return event
        key_id, nonce, ciphertext = self._parts(event, envelope)
        key = self._keys.get(key_id)
        if key is None:
            raise DecryptionError(
                f"event {event.event_id} is encrypted with key id {key_id!r}, which is not configured "
                f"(configured: {', '.join(self.key_ids)})"
            )
        try:
            plaintext = key.open(event.event_id, nonce, ciphertext)
        except InvalidTag:
            raise DecryptionError(
                f"the payload of event {event.event_id} does not decrypt with key {key_id!r}: the key is "
                f"wrong, or the ciphertext was altered or belongs to another event"
            ) from None
        return dataclasses.replace(event, payload=json.loads(plaintext))

    @staticmethod
    def _parts(event: Event, envelope: dict[str, Any]) -> tuple[str, bytes, bytes]:
        key_id, nonce, ciphertext = envelope.get("kid"), envelope.get("nonce"), envelope.get("ct")
        if not (isinstance(key_id, str) and isinstance(nonce, str) and isinstance(ciphertext, str)):
            raise DecryptionError(f"event {event.event_id} has a malformed encrypted payload (needs kid, nonce, ct)")
        try:
            return key_id, base64.b64decode(nonce, validate=True), base64.b64decode(ciphertext, validate=True)
        except (binascii.Error, ValueError):
            raise DecryptionError(f"event {event.event_id} has a malformed encrypted payload (not base64)") from None

    def key_of(self, event: Event) -> DataKey | None:
        """The configured key an event's payload is stored under, if it is encrypted and known."""
        envelope = encrypted_envelope(event.payload)
        return None if envelope is None else self._keys.get(str(envelope.get("kid")))


def encrypted_envelope(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The `$encrypted` object of a stored payload, or None for a payload in clear."""
    envelope = payload.get(ENVELOPE) if len(payload) == 1 else None
    return envelope if isinstance(envelope, dict) else None


class EncryptedEventStore(EventStore):
    """Any EventStore with payloads encrypted before they are stored and decrypted when read.
    Attributes it does not define (a backend's own, such as `path`) come from the wrapped store."""

    def __init__(self, inner: EventStore, keyring: Keyring) -> None:
        super().__init__(max_payload_size=inner.max_payload_size)
        self.inner = inner
        self.keyring = keyring
        self.backend_name = inner.backend_name

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (while unpickling): no recursion through self.inner
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"EncryptedEventStore({self.inner!r}, {self.keyring!r})"

    def _append_batch(self, events: list[Event], condition: AppendCondition | None) -> list[int]:
        # The size limit was checked on the plaintext; the backend checks the stored form again.
        sealed = [self.keyring.seal(event) for event in events]
        try:
            return self.inner.append_batch(sealed, condition)
        except DuplicateEventError:
            resealed = self._as_stored(events, sealed)
            if resealed is None:
                raise
            return self.inner.append_batch(resealed, condition)

    def _as_stored(self, events: list[Event], sealed: list[Event]) -> list[Event] | None:
        """A retry of events stored under an older key: each sealed with the key it is stored
        under (identical bytes exactly when the content is identical), or None if none is."""
        changed = False
        result = list(sealed)
        for index, event in enumerate(events):
            stored = self.inner.get_event(event.event_id)
            key = None if stored is None else self.keyring.key_of(stored)
            if key is not None and key is not self.keyring.newest:
                result[index] = self.keyring.seal(event, key)
                changed = True
        return result if changed else None

    def _get_events(self, options: QueryOptions) -> EventPage:
        page = self.inner.get_events(options)
        return EventPage([self.keyring.open(event) for event in page.events], page.next_cursor, page.has_more)

    def get_event(self, event_id: uuid.UUID | str) -> RecordedEvent | None:
        event = self.inner.get_event(event_id)
        return None if event is None else self.keyring.open(event)

    def _read(self, query: Query, after: int | None, limit: int | None) -> list[RecordedEvent]:
        return [self.keyring.open(event) for event in self.inner.read(query, after, limit).events]

    def _open_follower(self) -> Follower:
        return self.inner._open_follower()

    def _load_checkpoint(self, subscription: str) -> int | None:
        return self.inner._load_checkpoint(subscription)

    def _save_checkpoint(self, subscription: str, position: int) -> None:
        self.inner._save_checkpoint(subscription, position)

    def _create_snapshot(self, correlation_id: uuid.UUID, encoded: str, position: int | None) -> Snapshot:
        state = json.loads(encoded)
        sealed = self.keyring.seal(_snapshot_carrier(correlation_id, state))
        return dataclasses.replace(self.inner.create_snapshot(correlation_id, sealed.payload, position), state=state)

    def _get_snapshot(self, correlation_id: uuid.UUID) -> Snapshot | None:
        stored = self.inner.get_snapshot(correlation_id)
        if stored is None:
            return None
        opened = self.keyring.open(_snapshot_carrier(correlation_id, stored.state))
        return dataclasses.replace(stored, state=opened.payload)

    def _storage_metrics(self) -> StorageMetrics:
        return self.inner._storage_metrics()

    def _pool_metrics(self) -> PoolMetrics | None:
        return self.inner._pool_metrics()

    def health_check(self) -> HealthStatus:
        status = self.inner.health_check()
        encryption = {"key_ids": self.keyring.key_ids, "encrypting_with": self.keyring.newest.key_id}
        return dataclasses.replace(status, details={**status.details, "encryption": encryption})

    def verify(self, progress: Callable[[int], None] | None = None) -> list[str]:
        """The backend's checks, then every encrypted payload decrypted with the configured keys."""
        problems = self.inner.verify(progress)
        for event in _every_event(self.inner):
            try:
                self.keyring.open(event)
            except DecryptionError as exc:
                problems.append(f"position {event.position}: {exc}")
        return problems

    def close(self) -> None:
        self.inner.close()


def _snapshot_carrier(correlation_id: uuid.UUID, state: dict[str, Any]) -> Event:
    """Snapshot state sealed and opened as a payload is, bound to its correlation id (the id
    the cipher's associated data names), so a snapshot cannot be moved to another correlation."""
    return Event(
        event_id=correlation_id, event_type="snapshot", actor_type="pyevents", actor_id="snapshot", payload=state
    )


def _every_event(store: EventStore) -> Iterator[RecordedEvent]:
    after = 0
    while True:
        page = store.get_events(QueryOptions(after_position=after, limit=1000))
        yield from page.events
        if not page.has_more:
            return
        after = page.events[-1].position


def reencrypt(source: EventStore, target: EncryptedEventStore, *, actor_id: str) -> int:
    """Copy every event of `source` (read through its keys) into `target`, encrypted with the
    target's newest key, then record the copy as a `pyevents.store.reencrypted` event in the
    target. Events are immutable, so this builds a new store: ids, timestamps and content are
    kept; positions are the target's. A rerun after an interruption appends nothing twice.
    Returns the number of events copied."""
    copied = 0
    last_position: int | None = None
    batch: list[Event] = []

    def flush() -> None:
        if batch:
            target.append_batch(batch)
            batch.clear()

    for event in _every_event(source):
        batch.append(Event(**{name: getattr(event, name) for name in _EVENT_FIELDS}))
        copied += 1
        last_position = event.position
        if len(batch) == 500:
            flush()
    flush()
    record = Event(
        event_type=REENCRYPTED_EVENT_TYPE,
        actor_type="operator",
        actor_id=actor_id,
        payload={
            "events": copied,
            "source": source.backend_name,
            "source_last_position": last_position,
            "key_id": target.keyring.newest.key_id,
        },
    )
    target.append(record)
    return copied


_EVENT_FIELDS = [field.name for field in dataclasses.fields(Event) if field.init]
