"""Seals on PostgreSQL: the log's checksums in an RFC 6962 tree, chained seals that only cover
final positions, and every change a superuser makes behind the triggers (the checksum changed
to match) found and named by position, also against an exported seal when the seals in the
database were rewritten as well."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from pyevents import Event, merkle
from pyevents.backends.postgres import PostgresEventStore
from pyevents.errors import ValidationError
from pyevents.model import utc_now
from pyevents.retention import RetentionPolicy
from pyevents.sealing import check_against, prove_inclusion
from pyevents.seals import ProofError, check_document
from tests.cli.helpers import invoke
from tests.monitoring.conftest import Served, wait_for
from tests.postgres.test_verify import as_superuser_without_triggers, data_problems

RECOMPUTE_CHECKSUMS = (
    "UPDATE pyevents.events SET checksum = pyevents.event_checksum(position, event_id, timestamp, event_type,"
    " actor_type, actor_id, correlation_id, causation_id, schema_version, payload, metadata, appended_by)"
)
APPEND_ONE = (
    "SELECT pyevents.append_event(gen_random_uuid(), now(), 'late', 'svc', 'a', gen_random_uuid(), NULL, '1',"
    " '{}', '{}')"
)


def events(count: int, **fields: object) -> list[Event]:
    return [Event(event_type="t", actor_type="svc", actor_id="a", payload={"n": n}, **fields) for n in range(count)]  # type: ignore[arg-type]


def checksums(dsn: str) -> list[bytes]:
    with psycopg.connect(dsn) as conn:
        return [bytes(row[0]) for row in conn.execute("SELECT checksum FROM pyevents.events ORDER BY position")]


@pytest.fixture
def sealed(pg_dsn: str) -> Iterator[PostgresEventStore]:
    """Events 1-5, position 6 drawn and never used (a rolled-back draw), events 7-11, sealed in
    seals of at most 4 events."""
    with PostgresEventStore(pg_dsn) as store:
        store.append_batch(events(5))
        with psycopg.connect(pg_dsn) as conn:
            conn.execute("SELECT nextval('pyevents.events_position_seq')")
        store.append_batch(events(5))
        store.seal(max_events=4)
        yield store


def test_seals_chain_the_rfc6962_roots_of_the_checksums(sealed: PostgresEventStore) -> None:
    seals = sealed.seals()
    assert [(s.first_position, s.last_position, s.gaps, s.tree_size) for s in seals] == [
        (1, 4, (), 4),
        (5, 9, ((6, 6),), 8),  # the draw at 6 had ended before the first seal looked
        (10, 11, (), 10),
    ]
    leaves = [merkle.leaf_hash(checksum) for checksum in checksums(sealed.dsn)]
    assert [s.root for s in seals] == [merkle.tree_root(leaves[: s.tree_size]) for s in seals]
    assert [s.previous_hash for s in seals] == [None, *(s.seal_hash for s in seals[:-1])]
    assert all(s.computed_hash() == s.seal_hash for s in seals)  # the client hashes as the server does
    assert sealed.seal() == []
    assert sealed.verify() == []
    with pytest.raises(ValidationError, match="a seal holds 1 to 1,000,000 events, got 0"):
        sealed.seal(max_events=0)


def test_the_seals_are_append_only(sealed: PostgresEventStore) -> None:
    with psycopg.connect(sealed.dsn) as conn:
        for statement in [
            "UPDATE pyevents.seals SET root = root",
            "DELETE FROM pyevents.seals",
            "TRUNCATE pyevents.seals",
        ]:
            with pytest.raises(psycopg.Error, match="is not allowed: pyevents is append-only"):
                conn.execute(statement)
            conn.rollback()


def test_seals_whose_triggers_were_switched_off_and_on_are_named(sealed: PostgresEventStore) -> None:
    with psycopg.connect(sealed.dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE pyevents.seals DISABLE TRIGGER ALL")
        conn.execute("ALTER TABLE pyevents.seals ENABLE TRIGGER seals_forbid_change")  # not ALWAYS
    try:
        assert [problem for problem in sealed.verify() if "seal" in problem] == [
            f"table pyevents.seals lacks trigger {name} or it is not ENABLE ALWAYS"
            for name in ("seals_forbid_change", "seals_forbid_truncate")
        ]
    finally:
        with psycopg.connect(sealed.dsn, autocommit=True) as conn:
            for name in ("seals_forbid_change", "seals_forbid_truncate"):
                conn.execute(f"ALTER TABLE pyevents.seals ENABLE ALWAYS TRIGGER {name}")
    assert sealed.verify() == []


# A change a superuser makes with the triggers off (and every checksum recomputed to match):
# the positions the seals must name.
CHANGES = {
    "payload": ("UPDATE pyevents.events SET payload = '{\"n\": 99}' WHERE position = 3", [3]),
    "metadata": ('UPDATE pyevents.events SET metadata = \'{"tags": ["x"]}\' WHERE position = 3', [3]),
    "type": ("UPDATE pyevents.events SET event_type = 'forged' WHERE position = 8", [8]),
    "timestamp": (
        "UPDATE pyevents.events SET timestamp = timestamp - interval '1 microsecond' WHERE position = 3",
        [3],
    ),
    "position": ("UPDATE pyevents.events SET position = 12 WHERE position = 3", [3]),
    "order": (
        "UPDATE pyevents.events SET position = -position WHERE position IN (7, 8);"
        " UPDATE pyevents.events SET position = 15 + position WHERE position IN (-7, -8)",
        [7, 8],
    ),
    "deleted row": ("DELETE FROM pyevents.events WHERE position = 9", [9]),
    "inserted row": (
        "INSERT INTO pyevents.events SELECT 6, gen_random_uuid(), timestamp, event_type, actor_type, actor_id,"
        " correlation_id, causation_id, schema_version, payload, metadata, recorded_at, transaction_id,"
        " appended_by, checksum FROM pyevents.events WHERE position = 7",
        [6],
    ),
}


@pytest.mark.parametrize("change", CHANGES)
def test_any_change_behind_the_triggers_is_named_by_position(sealed: PostgresEventStore, change: str) -> None:
    statement, positions = CHANGES[change]
    as_superuser_without_triggers(sealed.dsn, f"{statement}; {RECOMPUTE_CHECKSUMS}")
    problems = [problem for problem in data_problems(sealed) if "seal" in problem]
    assert problems, "the seals did not notice"
    assert sorted(int(re.search(r"position (\d+)", problem)[1]) for problem in problems) == positions  # type: ignore[index]
    exported = sealed.seals()[-1]
    assert check_against(exported, exported, sealed.sealed_leaves(exported.seal))


def test_seals_rewritten_to_match_are_caught_by_an_exported_seal(sealed: PostgresEventStore, tmp_path: Path) -> None:
    exported = tmp_path / "seal.json"
    invoke(["seal", "--dsn", sealed.dsn, "--export", str(exported)])
    invoke(["verify", "--dsn", sealed.dsn, "--against", str(exported)])
    # The superuser changes an event and its checksum, then seals the history again from scratch.
    as_superuser_without_triggers(
        sealed.dsn,
        "UPDATE pyevents.events SET payload = '{\"n\": 99}' WHERE position = 3;"
        f" {RECOMPUTE_CHECKSUMS}; ALTER TABLE pyevents.seals DISABLE TRIGGER ALL; DELETE FROM pyevents.seals;"
        " ALTER TABLE pyevents.seals ENABLE ALWAYS TRIGGER seals_forbid_change;"
        " ALTER TABLE pyevents.seals ENABLE ALWAYS TRIGGER seals_forbid_truncate;"
        " UPDATE pyevents.seal_mark SET pending_max = NULL",
    )
    sealed.seal(max_events=4)
    assert [p for p in data_problems(sealed) if "seal" in p] == []  # consistent inside the database
    result = invoke(["verify", "--dsn", sealed.dsn, "--against", str(exported), "--format", "json"], code=1)
    problems = json.loads(result.stdout)["problems"]
    assert "seal 3 in the database is not the exported one" in " ".join(problems)
    assert any("not the exported seal 3's 10 events" in p and "the history was changed" in p for p in problems)


def test_retention_keeps_the_leaves_and_a_removal_is_not_a_deletion(pg_dsn: str, tmp_path: Path) -> None:
    old = utc_now() - timedelta(days=120)
    with PostgresEventStore(pg_dsn) as store:
        store.append_batch([*events(3, timestamp=old), *events(3)])
        store.seal()
        exported = store.seals()[-1]
        kept = store.get_events().events[3]
        policy = RetentionPolicy.from_section({"default_policy": "time", "time_policy": {"retain_days": 60}})
        assert store.apply_retention(policy=policy).removed == 3
        assert store.verify() == []
        assert check_against(exported, store.seals()[-1], store.sealed_leaves(exported.seal)) == []
        check_document(prove_inclusion(kept.event_id, exported, store.sealed_leaves(exported.seal)))
        removed = [leaf for leaf in store.sealed_leaves() if leaf.removed]
        assert [leaf.position for leaf in removed] == [1, 2, 3]
        assert removed[0].checksum is None and removed[0].sealed_leaf is not None
        as_superuser_without_triggers(pg_dsn, f"DELETE FROM pyevents.events WHERE position = {kept.position}")
        assert [p for p in data_problems(store) if "seal" in p] == [
            f"the event at position {kept.position}, sealed by seal 1, is gone, and no retention run removed it"
        ]
        assert check_against(exported, store.seals()[-1], store.sealed_leaves(exported.seal))


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_a_late_commit_is_never_left_out_of_or_wrongly_inside_a_seal(pg_dsn: str, outcome: str) -> None:
    with PostgresEventStore(pg_dsn) as store:
        store.append_batch(events(2))
        with psycopg.connect(pg_dsn) as late:
            late.execute(APPEND_ONE)  # draws position 3 and stays open
            store.append_batch(events(1))  # position 4 commits first
            assert [(s.first_position, s.last_position) for s in store.seal()] == [(1, 2)]
            assert store.seal() == []  # 3 may still commit: nothing past it is final
            getattr(late, outcome)()
        (after,) = store.seal()
        assert store.verify() == []
    if outcome == "commit":
        assert (after.first_position, after.last_position, after.gaps, after.tree_size) == (3, 4, (), 4)
    else:
        assert (after.first_position, after.last_position, after.gaps, after.tree_size) == (3, 4, ((3, 3),), 3)
    leaves = [merkle.leaf_hash(checksum) for checksum in checksums(pg_dsn)]
    assert after.root == merkle.tree_root(leaves)


def test_sealing_runs_beside_writers_and_covers_every_event(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as writer, PostgresEventStore(pg_dsn) as store:
        for _ in range(30):
            writer.execute(APPEND_ONE)
            with writer.transaction():
                writer.execute(APPEND_ONE)
                store.seal()  # while a draw is open
            store.seal()
        store.seal()
        assert store.seals()[-1].tree_size == 60
        assert store.verify() == []
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("CALL pyevents.seal_maintenance()")  # pg_cron's form: nothing left to seal


def test_the_cli_seals_exports_signed_seals_and_proves(sealed: PostgresEventStore, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    private, public, other = tmp_path / "seal-key.pem", tmp_path / "seal-key.pub", tmp_path / "other.pub"
    private.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    other.write_bytes(
        Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    dsn = sealed.dsn
    monday, friday = tmp_path / "monday.json", tmp_path / "friday.json"
    invoke(["seal", "--dsn", dsn, "--export", str(monday), "--signing-key", str(private)])
    sealed.append_batch(events(7))
    result = invoke(["seal", "--dsn", dsn, "--export", str(friday), "--signing-key", str(private)])
    assert "seal 4: positions 12 to 18, 17 events sealed" in result.stdout
    invoke(["verify", "--dsn", dsn, "--against", str(monday), "--public-key", str(public)])
    refused = invoke(["verify", "--dsn", dsn, "--against", str(monday), "--public-key", str(other)], code=2)
    assert "not valid for this public key" in refused.stderr

    event = sealed.get_events().events[4]
    proof = tmp_path / "proof.json"
    invoke(["prove", str(event.event_id), "--dsn", dsn, "--under", str(monday), "--output", str(proof)])
    checked = invoke(["check-proof", str(proof), "--public-key", str(public)])
    assert f"event {event.event_id} at position {event.position}" in checked.stdout
    consistency = tmp_path / "consistency.json"
    invoke(["prove", "--from", str(monday), "--to", str(friday), "--dsn", dsn, "--output", str(consistency)])
    invoke(["check-proof", str(consistency), str(friday), "--public-key", str(public)])

    forged = json.loads(proof.read_text())
    forged["leaf_index"] += 1
    proof.write_text(json.dumps(forged))
    failed = invoke(["check-proof", str(proof)], code=1)
    assert "FAILED: the proof does not show event" in failed.stderr


def test_a_proof_of_a_changed_event_is_refused(sealed: PostgresEventStore) -> None:
    event = sealed.get_events().events[2]
    as_superuser_without_triggers(
        sealed.dsn, f"UPDATE pyevents.events SET payload = '{{}}' WHERE position = {event.position}"
    )
    seal = sealed.seals()[-1]
    with pytest.raises(ProofError, match=f"position {event.position} is not what seal 1 sealed"):
        prove_inclusion(event.event_id, seal, sealed.sealed_leaves(seal.seal))


def test_serve_seals_as_it_goes(sealed: PostgresEventStore) -> None:
    sealed.append_batch(events(3))
    served = Served(["--dsn", sealed.dsn, "--seal-every", "0.2"], [])
    try:
        wait_for(lambda: sealed.seals()[-1].last_position == 14, "serve to seal the new events")
    finally:
        served.stop()
