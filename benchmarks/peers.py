"""Peers, each in its own database on the same cluster, driven through their own public APIs:

* `eventsourcing` (the `bench` dependency group of the lock, which `make bench` installs):
  `PostgresApplicationRecorder.insert_events`
  and `select_notifications`; its DCB recorder `PostgresDCBRecorderTT` (`eventsourcing.dcb`)
  for conditional appends, when the installed version has one.
* message-db (npm `@eventide/message-db`, unpacked into a temporary directory, never installed):
  its own `database/install.sh` applies its SQL files in the documented order; then
  `message_store.write_message` and `get_category_messages`.

A peer that cannot be installed is reported as such (`PeerStatus.reason`), never left out silently.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import random
import shutil
import subprocess
import tarfile
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.types.json import Jsonb

from benchmarks.clients import CONFLICT
from benchmarks.cluster import BenchCluster
from benchmarks.data import EventPool, peer_state
from benchmarks.targets import dcb_tags

EVENTSOURCING = "eventsourcing"
MESSAGE_DB = "message-db"
MESSAGE_DB_PACKAGE = "@eventide/message-db"


@dataclass
class PeerStatus:
    name: str
    available: bool
    version: str = ""
    reason: str = ""
    dcb: bool = False  # has a conditional-append API we can drive
    install_dir: str = ""


# -- eventsourcing ---------------------------------------------------------------------------
def find_eventsourcing() -> PeerStatus:
    """eventsourcing[postgres] as installed from the lock's `bench` group (nothing is installed
    at run time)."""
    try:
        version = importlib.metadata.version("eventsourcing")
    except importlib.metadata.PackageNotFoundError:
        return PeerStatus(EVENTSOURCING, False, reason="not installed: `make bench` installs the bench group")
    try:
        importlib.import_module("eventsourcing.postgres")
    except ImportError as exc:
        return PeerStatus(EVENTSOURCING, False, version, reason=f"eventsourcing.postgres cannot be imported: {exc}")
    try:
        importlib.import_module("eventsourcing.dcb.postgres_tt")
        dcb = True
    except ImportError:
        dcb = False
    return PeerStatus(EVENTSOURCING, True, version, dcb=dcb)


def _datastore(dsn: str, pool_size: int = 1) -> Any:
    from eventsourcing.postgres import PostgresDatastore

    params = conninfo_to_dict(dsn)
    return PostgresDatastore(
        dbname=str(params.get("dbname", "postgres")),
        host=str(params.get("host", "127.0.0.1")),
        port=str(params.get("port", "5432")),
        user=str(params.get("user", "postgres")),
        password=str(params.get("password", "")),
        pool_size=pool_size,
    )


def create_eventsourcing_tables(dsn: str, dcb: bool) -> None:
    from eventsourcing.postgres import PostgresApplicationRecorder

    datastore = _datastore(dsn)
    try:
        PostgresApplicationRecorder(datastore).create_table()
        if dcb:
            from eventsourcing.dcb.postgres_tt import PostgresDCBRecorderTT

            PostgresDCBRecorderTT(datastore).create_table()
    finally:
        datastore.close()


class EventsourcingAppend:
    """`PostgresApplicationRecorder.insert_events`: one new aggregate per event (batch 1), or
    one aggregate's versions 1..n in one call (batch n)."""

    def __init__(self, dsn: str, client: int, params: dict[str, Any]) -> None:
        self.dsn = dsn
        self.batch = int(params.get("batch", 1))
        self.pool = EventPool.for_appends(params, client)
        self.datastore: Any = None
        self.recorder: Any = None

    def setup(self) -> None:
        from eventsourcing.postgres import PostgresApplicationRecorder

        self.datastore = _datastore(self.dsn)
        self.recorder = PostgresApplicationRecorder(self.datastore)

    def op(self) -> int:
        from eventsourcing.persistence import StoredEvent

        originator = uuid.uuid4()
        stored = [
            StoredEvent(
                originator_id=originator, originator_version=version, topic=f"bench:{e.event_type}", state=peer_state(e)
            )
            for version, e in enumerate(self.pool.batch(self.batch), start=1)
        ]
        self.recorder.insert_events(stored)
        return self.batch

    def close(self) -> None:
        if self.datastore is not None:
            self.datastore.close()


class EventsourcingConditional:
    """`PostgresDCBRecorderTT.append(events, DCBAppendCondition(...))`, same cycle as pyevents'."""

    def __init__(self, dsn: str, client: int, params: dict[str, Any]) -> None:
        self.dsn = dsn
        self.mode = str(params.get("mode", "disjoint"))
        self.tags = dcb_tags(self.mode, client, str(params.get("run", "r")))
        self.rng = random.Random(int(params.get("seed", 42)) * 31 + client)
        self.pool = EventPool.for_dcb(params, client)
        self.known: dict[str, int | None] = dict.fromkeys(self.tags)
        self.datastore: Any = None
        self.recorder: Any = None
        self.count = 0

    def setup(self) -> None:
        from eventsourcing.dcb.postgres_tt import PostgresDCBRecorderTT

        self.datastore = _datastore(self.dsn)
        self.recorder = PostgresDCBRecorderTT(self.datastore)

    def op(self) -> int:
        from eventsourcing.dcb.api import DCBAppendCondition, DCBEvent, DCBQuery, DCBQueryItem
        from eventsourcing.persistence import IntegrityError

        tag = self.tags[self.count % len(self.tags)] if self.mode == "disjoint" else self.rng.choice(self.tags)
        self.count += 1
        query = DCBQuery(items=[DCBQueryItem(tags=[tag])])
        after = self.known[tag]
        if self.mode != "disjoint":
            response = self.recorder.read(query, after=after)
            for _ in response:
                pass
            after = response.head if response.head is not None else after
        event = self.pool.take()
        try:
            position = self.recorder.append(
                [DCBEvent(type=event.event_type, data=peer_state(event), tags=[tag])],
                DCBAppendCondition(fail_if_events_match=query, after=after),
            )
        except IntegrityError:
            return CONFLICT
        self.known[tag] = int(position)
        return 1

    def close(self) -> None:
        if self.datastore is not None:
            self.datastore.close()


# -- message-db ------------------------------------------------------------------------------
def fetch_message_db(directory: Path) -> PeerStatus:
    """`npm pack @eventide/message-db` into `directory` and unpack it (no global install)."""
    if shutil.which("npm") is None:
        return PeerStatus(MESSAGE_DB, False, reason="npm is not installed on this machine")
    result = subprocess.run(
        ["npm", "pack", MESSAGE_DB_PACKAGE, "--silent"], cwd=directory, capture_output=True, text=True
    )
    tarballs = sorted(directory.glob("*.tgz"))
    if result.returncode != 0 or not tarballs:
        return PeerStatus(
            MESSAGE_DB, False, reason=f"npm pack {MESSAGE_DB_PACKAGE} failed: {result.stderr.strip()[-300:]}"
        )
    with tarfile.open(tarballs[-1]) as archive:
        archive.extractall(directory, filter="data")
    package = directory / "package"
    version = json.loads((package / "package.json").read_text()).get("version", "?")
    return PeerStatus(MESSAGE_DB, True, str(version), dcb=True, install_dir=str(package / "database"))


def install_message_db(cluster: BenchCluster, database: str, status: PeerStatus) -> PeerStatus:
    """Run message-db's own install.sh (its documented order of SQL files) into `database`."""
    if not status.available:
        return status
    if shutil.which("psql") is None:
        return PeerStatus(MESSAGE_DB, False, status.version, reason="psql is not installed")
    env = cluster.libpq_env()
    env.update({"DATABASE_NAME": database, "CREATE_DATABASE": "off", "PGOPTIONS": "-c client_min_messages=warning"})
    cluster.create_database(database)
    result = subprocess.run(
        ["bash", str(Path(status.install_dir) / "install.sh")], env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        return PeerStatus(
            MESSAGE_DB, False, status.version, reason=f"install.sh failed: {result.stderr.strip()[-300:]}"
        )
    return status


def ensure_message_db(cluster: BenchCluster, database: str) -> tuple[PeerStatus, Path | None]:
    directory = Path(tempfile.mkdtemp(prefix="pyevents-bench-mdb-"))
    try:
        status = fetch_message_db(directory)
        status = install_message_db(cluster, database, status)
    except (OSError, subprocess.SubprocessError, tarfile.TarError, psycopg.Error) as exc:
        status = PeerStatus(MESSAGE_DB, False, reason=f"{type(exc).__name__}: {exc}")
    return status, directory


def message_db_dsn(dsn: str) -> str:
    """message-db's functions call each other unqualified: they need its schema on the path."""
    return make_conninfo(dsn, options="-c search_path=message_store,public")


WRITE_SQL = "SELECT message_store.write_message(%s, %s, %s, %s, %s, %s)"


class MessageDbAppend:
    """`write_message` into streams of category `order`: batch 1 is one call per transaction;
    batch n is n calls in one transaction (pipelined), message-db's way to write a batch."""

    def __init__(self, dsn: str, client: int, params: dict[str, Any]) -> None:
        self.dsn = message_db_dsn(dsn)
        self.batch = int(params.get("batch", 1))
        self.pool = EventPool.for_appends(params, client)
        self.conn: psycopg.Connection[tuple[Any, ...]] | None = None

    def setup(self) -> None:
        self.conn = psycopg.connect(self.dsn, autocommit=True, application_name="message-db-bench")

    def op(self) -> int:
        assert self.conn is not None
        events = self.pool.batch(self.batch)
        rows = [
            (str(e.event_id), f"order-{e.correlation_id.hex}", e.event_type, Jsonb(e.payload), Jsonb(e.metadata), None)
            for e in events
        ]
        if self.batch == 1:
            self.conn.execute(WRITE_SQL, rows[0])
        else:
            with self.conn.transaction(), self.conn.cursor() as cur:
                cur.executemany(WRITE_SQL, rows)
        return self.batch

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


class MessageDbConditional:
    """message-db's optimistic concurrency, its analogue of a conditional append: one stream per
    tag, `write_message(..., expected_version)`. Disjoint: each client its own category (message-db
    locks per category); overlapping: shared streams, version read with `stream_version` first."""

    def __init__(self, dsn: str, client: int, params: dict[str, Any]) -> None:
        self.dsn = message_db_dsn(dsn)
        self.mode = str(params.get("mode", "disjoint"))
        run = str(params.get("run", "r"))
        if self.mode == "disjoint":
            self.streams = [f"account{run}x{client}-{k}" for k in range(100)]
        else:
            self.streams = [f"account{run}-shared{k}" for k in range(4)]
        self.rng = random.Random(int(params.get("seed", 42)) * 31 + client)
        self.pool = EventPool.for_dcb(params, client)
        self.known: dict[str, int] = dict.fromkeys(self.streams, -1)
        self.conn: psycopg.Connection[tuple[Any, ...]] | None = None
        self.count = 0

    def setup(self) -> None:
        self.conn = psycopg.connect(self.dsn, autocommit=True, application_name="message-db-bench")

    def op(self) -> int:
        assert self.conn is not None
        stream = (
            self.streams[self.count % len(self.streams)] if self.mode == "disjoint" else self.rng.choice(self.streams)
        )
        self.count += 1
        expected = self.known[stream]
        if self.mode != "disjoint":
            row = self.conn.execute("SELECT message_store.stream_version(%s)", (stream,)).fetchone()
            expected = -1 if row is None or row[0] is None else int(row[0])
        e = self.pool.take()
        try:
            self.conn.execute(
                WRITE_SQL, (str(e.event_id), stream, e.event_type, Jsonb(e.payload), Jsonb(e.metadata), expected)
            )
        except psycopg.errors.RaiseException as exc:
            if "Wrong expected version" in str(exc):
                return CONFLICT
            raise
        self.known[stream] = expected + 1
        return 1

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def dcb_tags_for(mode: str, client: int, run: str) -> list[str]:
    return dcb_tags(mode, client, run)
