"""Tamper evidence: `seal` (with `--export` to keep a seal outside the database), `prove` (an
inclusion or consistency proof) and `check-proof` (checks them with no database). `verify
--against` (ops.py) checks the log against an exported seal through `check_exported`."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from pathlib import Path
from typing import Any

import click

from pyevents.cli import output
from pyevents.cli.options import EXIT_BAD_INPUT, EXIT_FAILURE, CliError, dsn_option, format_option, open_store
from pyevents.errors import PyEventsError
from pyevents.sealing import (
    DEFAULT_SEAL_EVENTS,
    MAX_SEAL_EVENTS,
    SealingStore,
    check_against,
    prove_consistency,
    prove_inclusion,
)
from pyevents.seals import ProofError, Seal, check_document, load_document, sign
from pyevents.store import EventStore

log = logging.getLogger("pyevents.seal")
key_file = click.Path(exists=True, dir_okay=False, path_type=Path)


def sealable(store: EventStore) -> SealingStore:
    """The store, when it keeps seals."""
    if not isinstance(store, SealingStore):
        raise CliError(f"this {store.backend_name} store keeps no seals", EXIT_BAD_INPUT)
    return store


class PeriodicSealer:
    """Seals every `every` seconds in a thread until closed (`serve --seal-every`). A seal that
    fails (the database restarting, say) is logged and tried again at the next tick."""

    def __init__(self, store: SealingStore, every: float) -> None:
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(store, every), name="pyevents-sealer", daemon=True)
        self._thread.start()

    def _run(self, store: SealingStore, every: float) -> None:
        while not self._stopping.wait(every):
            try:
                for sealed in store.seal():
                    log.info("seal %s: positions %s to %s", sealed.seal, sealed.first_position, sealed.last_position)
            except PyEventsError as exc:
                log.warning("sealing failed, trying again in %g s: %s", every, exc)

    def close(self) -> None:
        self._stopping.set()
        self._thread.join()


def _write(path: Path, document: dict[str, Any]) -> None:
    """Write the document whole or not at all: a reader never sees half of it."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(output.dumps(document) + "\n")
    os.replace(temp, path)


@click.command()
@click.option(
    "--max-events",
    type=click.IntRange(1, MAX_SEAL_EVENTS),
    default=DEFAULT_SEAL_EVENTS,
    show_default=True,
    help="At most this many events per seal (a backlog becomes several seals).",
)
@click.option(
    "--export",
    "export_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the newest seal to FILE (JSON), to keep outside the database.",
)
@click.option("--signing-key", type=key_file, help="Sign the exported seal with this Ed25519 private key (PEM).")
@format_option("table", "json")
@dsn_option
def seal(
    max_events: int, export_path: Path | None, signing_key: Path | None, output_format: str, dsn: str | None
) -> None:
    """Seal the events that are final since the last seal: their checksums join the log's
    Merkle tree and a chained seal records its root. Writers never wait for it; run it from
    cron, pg_cron (CALL pyevents.seal_maintenance()) or `serve`.

    \b
    Examples:
      pyevents seal
      pyevents seal --export seal.json --signing-key seal-key.pem
    """
    if signing_key is not None and export_path is None:
        raise CliError("--signing-key signs the exported seal: give --export FILE too", EXIT_BAD_INPUT)
    with open_store(dsn) as store:
        keeper = sealable(store)
        sealed = keeper.seal(max_events)
        newest = sealed[-1] if sealed else next(iter(reversed(keeper.seals())), None)
    if export_path is not None:
        if newest is None:
            raise CliError("there is no seal to export: the store holds no events yet")
        document = newest.to_document()
        if signing_key is not None:
            try:
                document = sign(document, signing_key.read_bytes())
            except ProofError as exc:
                raise CliError(f"{signing_key}: {exc}", EXIT_BAD_INPUT) from None
        _write(export_path, document)
    if output_format == "json":
        click.echo(output.dumps({"sealed": [item.to_document() for item in sealed]}))
        return
    for item in sealed:
        click.echo(
            f"seal {item.seal}: positions {item.first_position} to {item.last_position},"
            f" {item.tree_size} events sealed, root {item.root.hex()}"
        )
    if not sealed:
        click.echo("nothing new to seal")
    if export_path is not None and newest is not None:
        click.echo(f"exported seal {newest.seal} to {export_path}")


@click.command()
@click.argument("event_id", required=False)
@click.option(
    "--under",
    "under_path",
    type=key_file,
    help="Prove under this exported seal, kept in the proof with its signature (default: the newest seal).",
)
@click.option("--from", "old_path", type=key_file, help="Consistency: an exported seal that the newer one must extend.")
@click.option("--to", "new_path", type=key_file, help="Consistency: the newer exported seal (default: the newest).")
@click.option(
    "--output", "output_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the proof to FILE."
)
@dsn_option
def prove(
    event_id: str | None,
    under_path: Path | None,
    old_path: Path | None,
    new_path: Path | None,
    output_path: Path | None,
    dsn: str | None,
) -> None:
    """Print a proof that anyone can check without the database (`pyevents check-proof`, or
    `python -m pyevents.seals`): that EVENT_ID is in the sealed history, or with --from that a
    newer seal's history begins with an older one's.

    \b
    Examples:
      pyevents prove 0f8fad5b-d9cb-469f-a165-70867728950e --under seal.json --output proof.json
      pyevents prove --from seal-monday.json --to seal-friday.json
    """
    if (event_id is None) == (old_path is None):
        raise CliError("give an EVENT_ID, or --from OLD_SEAL for a consistency proof", EXIT_BAD_INPUT)
    if new_path is not None and old_path is None:
        raise CliError("--to goes with --from", EXIT_BAD_INPUT)
    if under_path is not None and event_id is None:
        raise CliError("--under goes with an EVENT_ID", EXIT_BAD_INPUT)
    with open_store(dsn) as store:
        keeper = sealable(store)
        seals = {item.seal: item for item in keeper.seals()}
        if not seals:
            raise CliError("the store holds no seal yet: run pyevents seal first")
        if old_path is not None:
            old = _exported(old_path, seals)
            new = _exported(new_path, seals) if new_path is not None else seals[max(seals)].to_document()
            document = prove_consistency(old, new, keeper.sealed_leaves(new["seal"]))
        else:
            assert event_id is not None
            try:
                wanted = uuid.UUID(event_id)
            except ValueError:
                raise CliError(f"EVENT_ID must be a UUID, got {event_id!r}", EXIT_BAD_INPUT) from None
            under = _exported(under_path, seals) if under_path is not None else seals[max(seals)].to_document()
            seal = seals[under["seal"]]
            document = prove_inclusion(wanted, seal, keeper.sealed_leaves(seal.seal), under)
    if output_path is not None:
        _write(output_path, document)
        click.echo(f"wrote the proof to {output_path}")
    else:
        click.echo(output.dumps(document))


def _exported(path: Path, seals: dict[int, Seal]) -> dict[str, Any]:
    """The seal document exported to `path`, which must be the database's seal of its number."""
    document = load_document(path)
    try:
        exported = Seal.from_document(document)
    except ProofError as exc:
        raise CliError(f"{path}: {exc}", EXIT_BAD_INPUT) from None
    stored = seals.get(exported.seal)
    if stored is None or stored.seal_hash != exported.seal_hash:
        raise CliError(
            f"{path}: exported seal {exported.seal} is not the database's seal {exported.seal}:"
            " run pyevents verify --against it"
        )
    return dict(document)


@click.command("check-proof")
@click.argument("documents", nargs=-1, required=True, type=key_file)
@click.option("--public-key", type=key_file, help="Require every seal to be signed by this Ed25519 public key (PEM).")
def check_proof(documents: tuple[Path, ...], public_key: Path | None) -> None:
    """Check seals and proofs written by `pyevents seal --export` and `pyevents prove`, with no
    database: exit 0 when every one holds, 1 when one does not.

    \b
    Examples:
      pyevents check-proof proof.json
      pyevents check-proof seal.json --public-key seal-key.pub
    """
    key = public_key.read_bytes() if public_key is not None else None
    failed = 0
    for path in documents:
        try:
            click.echo(f"{path}: ok: {check_document(load_document(path), key)}")
        except ProofError as exc:
            click.echo(f"{path}: FAILED: {exc}", err=True)
            failed += 1
    if failed:
        raise CliError(f"{failed} of {len(documents)} documents did not hold", EXIT_FAILURE)


def check_exported(store: EventStore, path: Path, public_key: Path | None) -> list[str]:
    """The problems found checking the log against the seal exported to `path` (verify --against)."""
    document = load_document(path)
    try:
        exported = Seal.from_document(document)
        if public_key is not None:
            check_document(document, public_key.read_bytes())
    except ProofError as exc:
        raise CliError(f"{path}: {exc}", EXIT_BAD_INPUT) from None
    keeper = sealable(store)
    stored = {item.seal: item for item in keeper.seals()}.get(exported.seal)
    return check_against(exported, stored, keeper.sealed_leaves(exported.seal))
