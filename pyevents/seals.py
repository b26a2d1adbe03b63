"""Seals and proofs as documents kept and checked outside the database.

A seal records the root of the Merkle tree (pyevents.merkle) whose leaves are the log's events
in position order, each leaf SHA-256 of 0x00 and the event's checksum. Seals are chained: each
holds the hash of the one before. Three JSON documents leave the store:

* a seal (`pyevents seal --export`), optionally signed with an Ed25519 key;
* an inclusion proof (`pyevents prove EVENT_ID`): the event's checksum, its leaf index and the
  sibling hashes up to the root of a seal;
* a consistency proof (`pyevents prove --from OLD --to NEW`): the hashes that show the tree of
  an older seal is a prefix of a newer one's, so the newer history extends the older.

`check_document` checks any of them with the standard library alone (signatures need the
`cryptography` package and the signer's public key), and needs no database:

    python -m pyevents.seals proof.json [--public-key key.pub]

An event's checksum is SHA-256 over its stored fields, position included; an auditor recomputes
it in psql with `pyevents.event_checksum(...)` (docs/audit-queries.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyevents import merkle
from pyevents.errors import PyEventsError

SEAL_FORMAT = "pyevents.seal"
INCLUSION_FORMAT = "pyevents.inclusion-proof"
CONSISTENCY_FORMAT = "pyevents.consistency-proof"
VERSION = 1
HASH_DOMAIN = "pyevents seal 1"  # the first field of every seal hash (sql/functions/seal_hash.sql)


class ProofError(PyEventsError, ValueError):
    """A document that does not prove what it claims, or is not a document of this kind."""


@dataclass(frozen=True)
class Seal:
    """One row of pyevents.seals, without its leaves. `gaps` are the [first, last] runs of
    positions in its range that held no event."""

    seal: int
    first_position: int
    last_position: int
    gaps: tuple[tuple[int, int], ...]
    tree_size: int
    root: bytes
    previous_hash: bytes | None
    sealed_at: datetime
    seal_hash: bytes

    def computed_hash(self) -> bytes:
        """The hash of the seal's fields, as pyevents.seal_hash() computes it."""
        fields = [
            HASH_DOMAIN,
            str(self.seal),
            str(self.first_position),
            str(self.last_position),
            ",".join(str(position) for gap in self.gaps for position in gap),
            str(self.tree_size),
            self.root.hex(),
            self.previous_hash.hex() if self.previous_hash else "",
            self.sealed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        ]
        return hashlib.sha256("\x1f".join(fields).encode()).digest()

    def to_document(self) -> dict[str, Any]:
        return {
            "format": SEAL_FORMAT,
            "version": VERSION,
            "seal": self.seal,
            "first_position": self.first_position,
            "last_position": self.last_position,
            "gaps": [list(gap) for gap in self.gaps],
            "tree_size": self.tree_size,
            "root": self.root.hex(),
            "previous_hash": self.previous_hash.hex() if self.previous_hash else None,
            "sealed_at": self.sealed_at.astimezone(UTC).isoformat(),
            "seal_hash": self.seal_hash.hex(),
        }

    @classmethod
    def from_document(cls, document: Any, *, check_hash: bool = True) -> Seal:
        """The seal a document describes; ProofError names what is missing or malformed. The
        hash is checked (unless `check_hash` is false, for a check that reports it): a seal whose
        fields were changed is refused."""
        _expect_format(document, SEAL_FORMAT)
        try:
            gaps = tuple((int(first), int(last)) for first, last in document["gaps"])
            seal = cls(
                seal=_integer(document, "seal"),
                first_position=_integer(document, "first_position"),
                last_position=_integer(document, "last_position"),
                gaps=gaps,
                tree_size=_integer(document, "tree_size"),
                root=_hash(document, "root"),
                previous_hash=None if document["previous_hash"] is None else _hash(document, "previous_hash"),
                sealed_at=datetime.fromisoformat(document["sealed_at"]),
                seal_hash=_hash(document, "seal_hash"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ProofError):
                raise
            raise ProofError(f"not a seal document: {exc!r}") from None
        if seal.sealed_at.tzinfo is None:
            raise ProofError("not a seal document: sealed_at has no time zone")
        if check_hash and seal.computed_hash() != seal.seal_hash:
            raise ProofError(f"seal {seal.seal} does not match its seal_hash: the document was changed")
        return seal


def _expect_format(document: Any, expected: str) -> None:
    if not isinstance(document, dict) or document.get("format") != expected:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise ProofError(f"expected a {expected} document, got {found!r}")
    if document.get("version") != VERSION:
        raise ProofError(
            f"{expected} version {document.get('version')!r} is not supported (this release reads {VERSION})"
        )


def _integer(document: dict[str, Any], key: str) -> int:
    value = document[key]
    if type(value) is not int or value < 0:
        raise ProofError(f"{key} must be a non-negative integer, got {value!r}")
    return value


def _hash(document: dict[str, Any], key: str) -> bytes:
    value = document[key]
    try:
        digest = bytes.fromhex(value)
    except (TypeError, ValueError):
        digest = b""
    if len(digest) != 32:
        raise ProofError(f"{key} must be a SHA-256 hash in hex (64 digits), got {value!r}")
    return digest


def _hashes(document: dict[str, Any], key: str) -> list[bytes]:
    values = document.get(key)
    if not isinstance(values, list):
        raise ProofError(f"{key} must be a list of SHA-256 hashes in hex")
    return [_hash({key: value}, key) for value in values]


# -- signatures --------------------------------------------------------------------------------
def _need_cryptography() -> None:
    try:
        import cryptography  # noqa: F401
    except ModuleNotFoundError:
        raise ProofError(
            "Ed25519 signatures need the cryptography package: pip install 'pyevents[encryption]'"
        ) from None


def sign(document: dict[str, Any], private_key_pem: bytes) -> dict[str, Any]:
    """The seal document with an Ed25519 signature over its seal hash (needs `cryptography`)."""
    _need_cryptography()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key

    seal = Seal.from_document(document)
    try:
        key = load_pem_private_key(private_key_pem, password=None)
    except (TypeError, ValueError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise ProofError("the signing key is not an unencrypted Ed25519 private key in PEM")
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        **document,
        "signature": {"algorithm": "ed25519", "public_key": public.hex(), "value": key.sign(seal.seal_hash).hex()},
    }


def check_signature(document: dict[str, Any], public_key_pem: bytes) -> None:
    """ProofError unless the seal document is signed by the key of `public_key_pem`. A signature
    is only worth the key it is checked against, so the key comes from the caller, never from
    the document."""
    _need_cryptography()
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    seal = Seal.from_document(document)
    try:
        key = load_pem_public_key(public_key_pem)
    except (TypeError, ValueError):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise ProofError("the public key is not an Ed25519 public key in PEM")
    signature = document.get("signature")
    if not isinstance(signature, dict) or signature.get("algorithm") != "ed25519":
        raise ProofError(f"seal {seal.seal} carries no Ed25519 signature")
    try:
        key.verify(bytes.fromhex(signature["value"]), seal.seal_hash)
    except (InvalidSignature, KeyError, TypeError, ValueError):
        raise ProofError(f"the signature of seal {seal.seal} is not valid for this public key") from None


# -- proofs ------------------------------------------------------------------------------------
def inclusion_document(
    seal: dict[str, Any], event_id: str, position: int, checksum: bytes, leaf_index: int, proof: Sequence[bytes]
) -> dict[str, Any]:
    """An inclusion proof under the seal document `seal` (an exported one keeps its signature)."""
    return {
        "format": INCLUSION_FORMAT,
        "version": VERSION,
        "event_id": event_id,
        "position": position,
        "checksum": checksum.hex(),
        "leaf_index": leaf_index,
        "proof": [step.hex() for step in proof],
        "seal": seal,
    }


def consistency_document(old: dict[str, Any], new: dict[str, Any], proof: Sequence[bytes]) -> dict[str, Any]:
    """A consistency proof between the seal documents `old` and `new`."""
    return {
        "format": CONSISTENCY_FORMAT,
        "version": VERSION,
        "old": old,
        "new": new,
        "proof": [step.hex() for step in proof],
    }


def check_document(document: Any, public_key_pem: bytes | None = None) -> str:
    """What the document proves, in a sentence; ProofError when it does not prove it. With a
    public key, every seal in it must also carry a valid signature of that key."""
    kind = document.get("format") if isinstance(document, dict) else None
    if kind == SEAL_FORMAT:
        seal = Seal.from_document(document)
        _check_signatures([document], public_key_pem)
        return f"seal {seal.seal} is intact: {seal.tree_size} events, root {seal.root.hex()}"
    if kind == INCLUSION_FORMAT:
        _expect_format(document, INCLUSION_FORMAT)
        seal = Seal.from_document(document.get("seal"))
        _check_signatures([document["seal"]], public_key_pem)
        checksum = _hash(document, "checksum")
        index = _integer(document, "leaf_index")
        if not merkle.verify_inclusion(
            merkle.leaf_hash(checksum), index, seal.tree_size, _hashes(document, "proof"), seal.root
        ):
            raise ProofError(
                f"the proof does not show event {document.get('event_id')} (checksum {checksum.hex()}) as leaf"
                f" {index} of seal {seal.seal}"
            )
        return (
            f"event {document.get('event_id')} at position {document.get('position')} with checksum {checksum.hex()}"
            f" is leaf {index} of the {seal.tree_size} events under seal {seal.seal} (root {seal.root.hex()})"
        )
    if kind == CONSISTENCY_FORMAT:
        _expect_format(document, CONSISTENCY_FORMAT)
        old = Seal.from_document(document.get("old"))
        new = Seal.from_document(document.get("new"))
        _check_signatures([document["old"], document["new"]], public_key_pem)
        if not merkle.verify_consistency(old.tree_size, new.tree_size, old.root, new.root, _hashes(document, "proof")):
            raise ProofError(
                f"the proof does not show the {old.tree_size} events of seal {old.seal} as the start of the"
                f" {new.tree_size} events of seal {new.seal}"
            )
        return (
            f"the {new.tree_size} events under seal {new.seal} begin with the {old.tree_size} events under seal"
            f" {old.seal}, unchanged"
        )
    raise ProofError(f"expected a {SEAL_FORMAT}, {INCLUSION_FORMAT} or {CONSISTENCY_FORMAT} document, got {kind!r}")


def _check_signatures(documents: list[dict[str, Any]], public_key_pem: bytes | None) -> None:
    if public_key_pem is not None:
        for document in documents:
            check_signature(document, public_key_pem)


def load_document(path: Path) -> Any:
    """The JSON document in `path`; ProofError when it is not JSON."""
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProofError(f"{path} cannot be read as a JSON document: {exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pyevents.seals",
        description="Check pyevents seals and proofs without a database. Exit 0 when every document holds.",
    )
    parser.add_argument("documents", nargs="+", type=Path, help="seal, inclusion or consistency proof (JSON)")
    parser.add_argument("--public-key", type=Path, help="the signer's Ed25519 public key (PEM): require signatures")
    arguments = parser.parse_args(argv)
    public_key = arguments.public_key.read_bytes() if arguments.public_key else None
    failed = False
    for path in arguments.documents:
        try:
            print(f"{path}: ok: {check_document(load_document(path), public_key)}")
        except ProofError as exc:
            print(f"{path}: FAILED: {exc}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
