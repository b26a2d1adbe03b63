"""The documents that leave the store (pyevents.seals), checked with no database: genuine seals
and proofs hold, and every forgery of them (a changed field, proof step, index, checksum or
root, a truncated proof, another key's signature) is refused."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from pyevents import merkle
from pyevents.seals import (
    ProofError,
    Seal,
    check_document,
    check_signature,
    consistency_document,
    inclusion_document,
    main,
    sign,
)

CHECKSUMS = [hashlib.sha256(f"event {n}".encode()).digest() for n in range(1, 41)]
LEAVES = [merkle.leaf_hash(checksum) for checksum in CHECKSUMS]


def make_seal(number: int, size: int, previous: Seal | None = None) -> Seal:
    first = previous.last_position + 1 if previous else 1
    fields: dict[str, Any] = {
        "seal": number,
        "first_position": first,
        "last_position": size + 1,  # one rolled-back position below: a gap
        "gaps": ((2, 2),) if previous is None else (),
        "tree_size": size,
        "root": merkle.tree_root(LEAVES[:size]),
        "previous_hash": previous.seal_hash if previous else None,
        "sealed_at": datetime(2026, 12, 7, 10, number, 0, 123456, tzinfo=UTC),
        "seal_hash": b"",
    }
    draft = Seal(**fields)
    return Seal(**{**fields, "seal_hash": draft.computed_hash()})


OLD = make_seal(1, 13)
NEW = make_seal(2, 40, OLD)


def inclusion(index: int = 6) -> dict[str, Any]:
    proof = merkle.inclusion_proof(LEAVES[: NEW.tree_size], index)
    return inclusion_document(NEW.to_document(), "e-6", index + 2, CHECKSUMS[index], index, proof)


def consistency() -> dict[str, Any]:
    return consistency_document(
        OLD.to_document(), NEW.to_document(), merkle.consistency_proof(LEAVES[: NEW.tree_size], OLD.tree_size)
    )


def keys() -> tuple[bytes, bytes]:
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    public = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return private, public


def test_a_seal_document_round_trips_and_its_hash_covers_every_field() -> None:
    document = NEW.to_document()
    assert Seal.from_document(json.loads(json.dumps(document))) == NEW
    for key, forged in [
        ("seal", 3),
        ("first_position", 16),
        ("last_position", 40),
        ("gaps", [[20, 21]]),
        ("tree_size", 39),
        ("root", "00" * 32),
        ("previous_hash", None),
        ("sealed_at", "2026-12-07T10:02:00.123457+00:00"),
    ]:
        with pytest.raises(ProofError, match="does not match its seal_hash"):
            Seal.from_document({**document, key: forged})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "pyevents.event"}, "expected a pyevents.seal document"),
        ({"version": 2}, "version 2 is not supported"),
        ({"root": "abc"}, "root must be a SHA-256 hash"),
        ({"tree_size": -1}, "tree_size must be a non-negative integer"),
        ({"tree_size": "40"}, "tree_size must be a non-negative integer"),
        ({"sealed_at": "2026-12-07T10:02:00"}, "sealed_at has no time zone"),
        ({"gaps": "none"}, "not a seal document"),
    ],
)
def test_a_malformed_seal_document_is_refused_by_name(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ProofError, match=message):
        Seal.from_document({**NEW.to_document(), **change})


def test_genuine_proofs_hold() -> None:
    assert "is leaf 6 of the 40 events under seal 2" in check_document(inclusion())
    assert "begin with the 13 events under seal 1, unchanged" in check_document(consistency())
    for index in range(NEW.tree_size):
        check_document(inclusion(index))


def _forged_inclusions() -> list[tuple[str, dict[str, Any]]]:
    forged = []
    document = inclusion()
    step = copy.deepcopy(document)
    step["proof"][2] = "ff" + step["proof"][2][2:]
    forged.append(("a proof step changed", step))
    forged.append(("another leaf index", {**document, "leaf_index": 7}))
    forged.append(("another checksum", {**document, "checksum": CHECKSUMS[7].hex()}))
    forged.append(("a truncated proof", {**document, "proof": document["proof"][:-1]}))
    forged.append(("a step too many", {**document, "proof": [*document["proof"], "00" * 32]}))
    forged.append(("a leaf beyond the tree", {**document, "leaf_index": 40}))
    # A seal whose root is replaced and whose hash is recomputed to match: it is self-consistent,
    # but the path no longer leads to its root.
    rooted = Seal(**{**NEW.__dict__, "root": merkle.tree_root(LEAVES[:39])})
    rehashed = Seal(**{**rooted.__dict__, "seal_hash": rooted.computed_hash()})
    forged.append(("a forged root", {**document, "seal": rehashed.to_document()}))
    # The same path shape holds for another tree size: the size is bound by the seal's hash.
    resized = copy.deepcopy(document)
    resized["seal"]["tree_size"] = 39
    forged.append(("a truncated tree size", resized))
    return forged


@pytest.mark.parametrize(("what", "forged"), _forged_inclusions(), ids=[what for what, _ in _forged_inclusions()])
def test_a_forged_inclusion_proof_is_refused(what: str, forged: dict[str, Any]) -> None:
    with pytest.raises(ProofError):
        check_document(forged)


def test_a_forged_consistency_proof_is_refused() -> None:
    document = consistency()
    step = copy.deepcopy(document)
    step["proof"][0] = "00" * 32
    forgeries = [
        step,
        {**document, "proof": document["proof"][1:]},
        {**document, "old": document["new"], "new": document["old"]},
    ]
    # An old seal over different events, hashed to match: the new history does not extend it.
    other = Seal(**{**OLD.__dict__, "root": merkle.tree_root(LEAVES[1:14])})
    forgeries.append({**document, "old": Seal(**{**other.__dict__, "seal_hash": other.computed_hash()}).to_document()})
    for forged in forgeries:
        with pytest.raises(ProofError):
            check_document(forged)


def test_signatures_hold_only_for_the_signer_and_the_signed_seal() -> None:
    private, public = keys()
    _, other_public = keys()
    signed = sign(NEW.to_document(), private)
    check_signature(signed, public)
    assert "seal 2 is intact" in check_document(signed, public)
    with pytest.raises(ProofError, match="not valid for this public key"):
        check_signature(signed, other_public)
    with pytest.raises(ProofError, match="carries no Ed25519 signature"):
        check_signature(NEW.to_document(), public)
    with pytest.raises(ProofError, match="not an unencrypted Ed25519 private key in PEM"):
        sign(NEW.to_document(), public)
    with pytest.raises(ProofError, match="not an Ed25519 public key in PEM"):
        check_signature(signed, b"-----BEGIN PUBLIC KEY-----\nnonsense\n-----END PUBLIC KEY-----\n")
    # The signature of one seal does not carry over to another.
    with pytest.raises(ProofError, match="not valid for this public key"):
        check_signature({**OLD.to_document(), "signature": signed["signature"]}, public)
    with pytest.raises(ProofError, match="not valid for this public key"):
        check_document({**inclusion(), "seal": {**NEW.to_document(), "signature": signed["signature"]}}, other_public)


def test_the_checker_runs_without_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "proof.json"
    good.write_text(json.dumps(inclusion()))
    bad = tmp_path / "forged.json"
    bad.write_text(json.dumps({**inclusion(), "leaf_index": 5}))
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert main([str(good)]) == 0
    assert main([str(good), str(bad), str(broken)]) == 1
    out, err = capsys.readouterr()
    assert f"{good}: ok: event e-6" in out
    assert f"{bad}: FAILED: the proof does not show event e-6" in err
    assert f"{broken}: FAILED: " in err and "cannot be read as a JSON document" in err
