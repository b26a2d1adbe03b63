"""Seals on the file backend: the same tree, chain and proofs as on PostgreSQL, kept in
seals.sqlite beside the segments, and every edit of a segment (its CRC-32 recomputed to match)
found and named by position, also against an exported seal when the seals were rewritten too."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from pyevents import merkle
from pyevents.backends.file import FileEventStore
from pyevents.backends.file.sealing import FILE_NAME
from pyevents.errors import ValidationError
from pyevents.retention import RetentionPolicy
from pyevents.sealing import check_against, field_checksum, prove_inclusion
from pyevents.seals import ProofError, check_document
from tests.cli.helpers import invoke
from tests.file.conftest import event, everything, segment_files

Record = dict[str, Any]


def _lines(directory: Path) -> tuple[Path, list[Record]]:
    """The one plain segment of `directory` and its records, without their CRC-32."""
    (name,) = segment_files(directory)
    path = directory / name
    records = [json.loads(line) for line in path.read_bytes().splitlines()]
    for record in records:
        del record["crc32"]
    return path, records


def _write(path: Path, records: list[Record]) -> None:
    """The records as lines with a valid CRC-32, as an editor of the files would leave them."""
    lines = []
    for record in records:
        prefix = json.dumps(record, separators=(",", ":")).encode()[:-1] + b","
        lines.append(prefix + b'"crc32":"%08x"}\n' % zlib.crc32(prefix))
    path.write_bytes(b"".join(lines))


def _edit(directory: Path, change: Callable[[list[Record]], None]) -> None:
    """Change the segment's records in place, and drop the index so that it is rebuilt from them."""
    path, records = _lines(directory)
    change(records)
    _write(path, records)
    for index in directory.glob("index-*.sqlite*"):
        index.unlink()


def _at(records: list[Record], position: int) -> Record:
    return next(record for record in records if record["position"] == position)


@pytest.fixture
def sealed(directory: Path) -> Iterator[FileEventStore]:
    """Events 1-10 in one plain segment, sealed in seals of at most 4 events."""
    with FileEventStore(directory, compression="none") as store:
        store.append_batch([event(payload={"n": n}) for n in range(5)])
        store.append_batch([event(payload={"n": n}) for n in range(5, 10)])
        store.seal(max_events=4)
        yield store


def seal_problems(store: FileEventStore) -> list[str]:
    return [problem for problem in store.verify() if "seal" in problem]


def test_seals_chain_the_rfc6962_roots_of_the_checksums(sealed: FileEventStore, directory: Path) -> None:
    seals = sealed.seals()
    assert [(s.first_position, s.last_position, s.gaps, s.tree_size) for s in seals] == [
        (1, 4, (), 4),
        (5, 8, (), 8),
        (9, 10, (), 10),
    ]
    leaves = [merkle.leaf_hash(field_checksum(stored)) for stored in everything(sealed)]
    assert [s.root for s in seals] == [merkle.tree_root(leaves[: s.tree_size]) for s in seals]
    assert [s.previous_hash for s in seals] == [None, *(s.seal_hash for s in seals[:-1])]
    assert all(s.computed_hash() == s.seal_hash for s in seals)
    assert sealed.seal() == []
    assert sealed.verify() == []
    with pytest.raises(ValidationError, match="a seal holds 1 to 1,000,000 events, got 0"):
        sealed.seal(max_events=0)

    sealed.close()
    with FileEventStore(directory) as reopened:  # the seals are kept in the directory
        reopened.append_batch([event() for _ in range(3)])
        reopened.rotate()  # gzip: the records' bytes move, their checksums do not
        assert any(directory.glob("*.jsonl.gz"))
        (fourth,) = reopened.seal()
        assert (fourth.seal, fourth.first_position, fourth.tree_size) == (4, 11, 13)
        assert fourth.previous_hash == seals[-1].seal_hash
        assert reopened.verify() == []


def test_the_seals_are_append_only(sealed: FileEventStore, directory: Path) -> None:
    with closing(sqlite3.connect(directory / FILE_NAME)) as conn:  # sqlite3's own `with` does not close
        for statement in ["UPDATE seals SET root = root", "DELETE FROM seals"]:
            with pytest.raises(sqlite3.DatabaseError, match="seals are append-only"):
                conn.execute(statement)


def _moved(records: list[Record]) -> None:
    _at(records, 3)["position"] = 12
    records.sort(key=lambda record: record["position"])


def _swapped(records: list[Record]) -> None:
    seventh, eighth = _at(records, 7), _at(records, 8)
    seventh["position"], eighth["position"] = 8, 7
    records.sort(key=lambda record: record["position"])


def _inserted(records: list[Record]) -> None:
    """A record inserted at position 7, the ones after it moved up to make room."""
    forged = {**_at(records, 7), "event_id": "00000000-0000-4000-8000-000000000007"}
    for record in records[6:]:
        record["position"] += 1
    records.insert(6, forged)


# An edit of the segment (its CRC-32 recomputed): the positions the seals must name.
CHANGES: dict[str, tuple[Callable[[list[Record]], None], list[int]]] = {
    "payload": (lambda records: _at(records, 3).update(payload={"n": 99}), [3]),
    "metadata": (lambda records: _at(records, 3).update(metadata={"tags": ["x"]}), [3]),
    "type": (lambda records: _at(records, 8).update(event_type="forged"), [8]),
    "timestamp": (
        lambda records: _at(records, 3).update(timestamp=_at(records, 3)["timestamp"].replace("+00:00", "+00:01")),
        [3],
    ),
    "position": (_moved, [3]),
    "order": (_swapped, [7, 8]),
    "deleted record": (lambda records: records.remove(_at(records, 9)), [9]),
    "inserted record": (_inserted, [7, 8, 9, 10]),
}


@pytest.mark.parametrize("change", CHANGES)
def test_any_edit_of_a_segment_is_named_by_position(sealed: FileEventStore, directory: Path, change: str) -> None:
    edit, positions = CHANGES[change]
    exported = sealed.seals()[-1]
    sealed.close()
    _edit(directory, edit)
    with FileEventStore(directory, compression="none") as store:
        problems = seal_problems(store)
        assert problems, "the seals did not notice"
        assert sorted(int(re.search(r"position (\d+)", problem)[1]) for problem in problems) == positions  # type: ignore[index]
        assert check_against(exported, store.seals()[-1], store.sealed_leaves(exported.seal))


def test_seals_rewritten_to_match_are_caught_by_an_exported_seal(sealed: FileEventStore, directory: Path) -> None:
    exported = directory.parent / "seal.json"
    config = directory.parent / "pyevents.toml"
    config.write_text(f'backend = "file"\n[file]\ndata_directory = "{directory}"\n')
    invoke(["--config", str(config), "seal", "--export", str(exported)])
    sealed.close()
    _edit(directory, lambda records: _at(records, 2).update(payload={"n": "forged"}))
    for seals in directory.glob(FILE_NAME + "*"):  # the seals made anew, to fit the changed event
        seals.unlink()
    with FileEventStore(directory) as store:
        store.seal(max_events=4)
        assert store.verify() == []
    failed = invoke(["--config", str(config), "verify", "--against", str(exported)], code=1)
    assert "the seals were rewritten" in failed.stdout + failed.stderr
    assert "the history was changed" in failed.stdout + failed.stderr


def test_retention_keeps_the_leaves_and_a_removal_is_not_a_deletion(directory: Path) -> None:
    with FileEventStore(directory, compression="none") as store:
        store.append_batch([event(payload={"n": n}) for n in range(3)])
        store.rotate()
        store.append_batch([event(payload={"n": n}) for n in range(3, 8)])
        store.seal()
        report = store.apply_retention(policy=RetentionPolicy(default_policy="count", retain_events=5))
        assert report.removed == 3
        assert store.verify() == []
        leaves = store.sealed_leaves()
        assert [(leaf.position, leaf.removed) for leaf in leaves if leaf.checksum is None] == [
            (n, True) for n in (1, 2, 3)
        ]
        exported = store.seals()[-1]
        assert check_against(exported, exported, leaves) == []
        kept = everything(store)[2]
        checked = check_document(prove_inclusion(kept.event_id, exported, leaves))
        assert checked.startswith(f"event {kept.event_id} at position 6 ")
        (record,) = store.seal()  # the retention run's own record
        assert (record.first_position, record.last_position) == (9, 9)
        assert store.verify() == []
        store.get_events()  # the index is rebuilt as it was


def test_an_event_gone_without_retention_and_one_inserted_into_a_gap_are_named(directory: Path) -> None:
    with FileEventStore(directory, compression="none") as store:
        store.append_batch([event(payload={"n": n}) for n in range(3)])
        store.rotate()
        store.append_batch([event(payload={"n": n}) for n in range(3, 8)])
        store.apply_retention(policy=RetentionPolicy(default_policy="count", retain_events=5))
        (seal,) = store.seal()
        assert (seal.first_position, seal.gaps) == (1, ((1, 3),))  # removed before any seal covered them
        assert store.verify() == []
    inserted = {**_at_first(directory), "position": 2, "event_id": "00000000-0000-4000-8000-000000000002"}
    _edit(directory, lambda records: records.insert(0, inserted))
    with FileEventStore(directory, compression="none") as store:
        assert seal_problems(store) == [
            f"event {inserted['event_id']} at position 2 was inserted after seal 1, which holds no event there"
        ]

    def without_the_inserted_and_the_fifth(records: list[Record]) -> None:
        records[:] = [record for record in records if record["position"] not in (2, 5)]

    _edit(directory, without_the_inserted_and_the_fifth)
    with FileEventStore(directory, compression="none") as store:
        assert seal_problems(store) == [
            "the event at position 5, sealed by seal 1, is gone, and no retention run removed it"
        ]


def _at_first(directory: Path) -> Record:
    return _lines(directory)[1][0]


def test_the_cli_seals_proves_and_checks_with_the_file_backend(sealed: FileEventStore, directory: Path) -> None:
    config = directory.parent / "pyevents.toml"
    config.write_text(f'backend = "file"\n[file]\ndata_directory = "{directory}"\n')
    sealed.append_batch([event() for _ in range(2)])
    exported, proof = directory.parent / "seal.json", directory.parent / "proof.json"
    result = invoke(["--config", str(config), "seal", "--export", str(exported)])
    assert "seal 4: positions 11 to 12, 12 events sealed" in result.stdout
    invoke(["--config", str(config), "verify", "--against", str(exported)])
    target = everything(sealed)[5]
    invoke(["--config", str(config), "prove", str(target.event_id), "--output", str(proof)])
    assert f"event {target.event_id} at position 6" in invoke(["check-proof", str(proof)]).stdout


def test_a_proof_of_a_changed_event_is_refused(sealed: FileEventStore, directory: Path) -> None:
    target = everything(sealed)[2]
    sealed.close()
    _edit(directory, lambda records: _at(records, 3).update(payload={}))
    with FileEventStore(directory) as store:
        seal = store.seals()[-1]
        with pytest.raises(ProofError, match="position 3 is not what seal 1 sealed"):
            prove_inclusion(target.event_id, seal, store.sealed_leaves(seal.seal))


def test_a_seal_begun_while_verify_runs_never_waits_for_it(directory: Path) -> None:
    store = FileEventStore(directory, compression="none")
    store.append_batch([event() for _ in range(10)])
    sealing = threading.Thread(target=store.seal, daemon=True)  # daemons: a test that hangs still ends
    checked: list[list[str]] = []

    def progress(_done: int) -> None:  # called while verify holds the store
        if sealing.ident is None:
            sealing.start()
            time.sleep(0.5)  # the seal takes the seal book, then waits to read the events

    verifying = threading.Thread(target=lambda: checked.append(store.verify(progress)), daemon=True)
    verifying.start()
    verifying.join(timeout=30)
    sealing.join(timeout=30)
    assert not verifying.is_alive() and not sealing.is_alive(), "verify and a seal wait for each other"
    store.close()  # only once they ended: closing takes the store too
    assert checked == [[]]
    with FileEventStore(directory) as reopened:
        assert reopened.seals()[-1].tree_size == 10
