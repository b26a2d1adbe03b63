"""Moving events between stores and files: export, import and copy, in bounded memory.

An export is JSON Lines (gzip by default), one event a line in position order, beside a
manifest (`<export>.manifest.json`) with the counts and a checksum. The checksum is a SHA-256
over the canonical encoding of each event, one line each, in order: the event's own fields
(everything but `position`, `recorded_at` and `appended_by`, which belong to the store that
holds it: an import records its own login as `appended_by`) as JSON
with sorted keys and no whitespace, UTF-8, the timestamp in UTC with microseconds. Two stores
holding the same events in the same order have equal checksums, whatever their backends.

An export made with redaction (`export --redact`) holds "[REDACTED]" where the sensitive values
were, and its manifest lists the masked paths (`redacted`): import refuses it unless told that
storing the masked events is meant.

Imports append in batches; appends are idempotent by `event_id`, so an interrupted import run
again stores only what is missing, after what it stored before, in the file's order.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from pyevents.errors import ValidationError
from pyevents.json_input import loads
from pyevents.limits import MAX_BATCH_SIZE
from pyevents.model import EVENT_FIELDS, Event, JSONObject, QueryOptions, RecordedEvent
from pyevents.store import EventStore

EXPORT_FORMAT = "pyevents-export"
EXPORT_VERSION = 1
MANIFEST_SUFFIX = ".manifest.json"
CHECKSUM_ALGORITHM = "sha256"
CANONICAL_ENCODING = (
    "one line per event in position order: the event's fields except position, recorded_at and appended_by, "
    "as JSON with sorted keys and no whitespace, UTF-8, timestamp in UTC as YYYY-MM-DDTHH:MM:SS.ffffffZ"
)
DEFAULT_BATCH_SIZE = 1000
READ_PAGE_SIZE = 1000
GZIP_MAGIC = b"\x1f\x8b"

Progress = Callable[[int], None]


def _no_progress(_done: int) -> None:
    return None


def canonical(event: Event) -> bytes:
    """The canonical encoding of an event's content (see the module docstring)."""
    document = {
        "actor_id": event.actor_id,
        "actor_type": event.actor_type,
        "causation_id": None if event.causation_id is None else str(event.causation_id),
        "correlation_id": str(event.correlation_id),
        "event_id": str(event.event_id),
        "event_type": event.event_type,
        "metadata": event.metadata,
        "payload": event.payload,
        "schema_version": event.schema_version,
        "timestamp": event.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


@dataclass
class Digest:
    """Counts and the running checksum of a sequence of events."""

    count: int = 0
    counts_by_type: dict[str, int] = field(default_factory=dict)
    first_position: int | None = None
    last_position: int | None = None
    _hash: Any = field(default_factory=hashlib.sha256, repr=False)

    def add(self, event: Event) -> None:
        self.count += 1
        self.counts_by_type[event.event_type] = self.counts_by_type.get(event.event_type, 0) + 1
        self._hash.update(canonical(event) + b"\n")
        if isinstance(event, RecordedEvent):
            if self.first_position is None:
                self.first_position = event.position
            self.last_position = event.position

    @property
    def checksum(self) -> str:
        return f"{CHECKSUM_ALGORITHM}:{self._hash.hexdigest()}"


@dataclass(frozen=True)
class Manifest:
    """What an export holds: written beside it, checked by import."""

    count: int
    checksum: str
    counts_by_type: dict[str, int]
    first_position: int | None = None
    last_position: int | None = None
    source_backend: str | None = None
    filters: JSONObject = field(default_factory=dict)
    compression: str = "gzip"
    created_at: str = ""
    # Paths masked as "[REDACTED]" (export --redact): such an export is a view, not a backup.
    redacted: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, digest: Digest, **extra: Any) -> Manifest:
        return cls(
            count=digest.count,
            checksum=digest.checksum,
            counts_by_type=dict(sorted(digest.counts_by_type.items())),
            first_position=digest.first_position,
            last_position=digest.last_position,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            **extra,
        )

    def to_json(self) -> JSONObject:
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            **dataclasses.asdict(self),
            "checksum_encoding": CANONICAL_ENCODING,
        }

    def write(self, path: Path) -> None:
        """Written whole to a temporary name, then renamed: a manifest is never half there."""
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(temporary, path)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValidationError(f"cannot read the manifest {path}: {exc}") from None
        if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
            raise ValidationError(f"{path} is not a pyevents export manifest")
        if document.get("version") != EXPORT_VERSION:
            raise ValidationError(f"{path}: manifest version {document.get('version')!r} is not supported")
        names = {f.name for f in dataclasses.fields(cls)}
        values = {key: value for key, value in document.items() if key in names}
        if not isinstance(values.get("count"), int) or not isinstance(values.get("checksum"), str):
            raise ValidationError(f"{path}: the manifest lacks count or checksum")
        return cls(**values)


def manifest_path(export: Path) -> Path:
    return export.with_name(export.name + MANIFEST_SUFFIX)


# -- reading stores -------------------------------------------------------------------------------
def store_events(store: EventStore, options: QueryOptions | None = None) -> Iterator[RecordedEvent]:
    """Every event matching `options` (its filters; order by position), page by page."""
    options = dataclasses.replace(
        options or QueryOptions(), limit=READ_PAGE_SIZE, offset=0, order_by="position", order_direction="asc"
    )
    while True:
        page = store.get_events(options)
        yield from page.events
        if not page.has_more:
            return
        options = dataclasses.replace(options, cursor=page.next_cursor)


def head(store: EventStore) -> int:
    """The last position of a store, 0 when it is empty."""
    page = store.get_events(QueryOptions(limit=1, order_direction="desc"))
    return page.events[0].position if page.events else 0


def store_digest(store: EventStore, *, up_to: int | None = None, progress: Progress = _no_progress) -> Digest:
    """The digest of a whole store (up to a position), as its export's manifest would give it."""
    digest = Digest()
    for event in store_events(store):
        if up_to is not None and event.position > up_to:
            break
        digest.add(event)
        progress(event.position)
    return digest


# -- export ---------------------------------------------------------------------------------------
def export_events(
    store: EventStore,
    output: IO[bytes],
    options: QueryOptions | None = None,
    *,
    progress: Progress = _no_progress,
    redaction: Callable[[RecordedEvent], RecordedEvent] | None = None,
) -> Digest:
    """Write every matching event as JSON Lines to `output` (already compressed or not), each
    passed through `redaction` when given; returns the digest (of what was written) for the
    manifest."""
    digest = Digest()
    for recorded in store_events(store, options):
        event = recorded if redaction is None else redaction(recorded)
        output.write(json.dumps(event.to_dict(), ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
        digest.add(event)
        progress(event.position)
    return digest


@contextmanager
def export_file(path: Path, *, compress: bool) -> Iterator[IO[bytes]]:
    """A file written under a temporary name and renamed into place when complete, so a failed
    export never leaves a file that looks whole."""
    temporary = path.with_name(f".{path.name}.partial")
    try:
        with open(temporary, "wb") as raw:
            if compress:
                with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as zipped:
                    yield zipped  # type: ignore[misc]
            else:
                yield raw
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


# -- import ---------------------------------------------------------------------------------------
def open_events_file(path: Path) -> IO[bytes]:
    """An export or JSON Lines file for reading, gzip detected by its first bytes."""
    try:
        with open(path, "rb") as probe:
            compressed = probe.read(2) == GZIP_MAGIC
        return gzip.open(path, "rb") if compressed else open(path, "rb")  # type: ignore[return-value]
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}") from None


def read_events(path: Path, source: str | None = None, *, require: tuple[str, ...] = ()) -> Iterator[Event]:
    """The events of a JSON Lines file (gzip or not), one at a time; errors name the line.
    Fields in `require` must be given (imports need ids and timestamps to be idempotent)."""
    source = source or str(path)
    with open_events_file(path) as lines:
        number = 0
        try:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    item = loads(line, f"{source}: line {number}")
                except UnicodeDecodeError as exc:
                    raise ValidationError(f"{source}: line {number} is not UTF-8 (byte {exc.start})") from None
                except json.JSONDecodeError as exc:
                    raise ValidationError(
                        f"{source}: line {number} is not valid JSON: {exc.msg} (column {exc.colno})"
                    ) from None
                if not isinstance(item, dict):
                    raise ValidationError(f"{source}: line {number}: an event must be a JSON object")
                missing = [name for name in require if item.get(name) is None]
                if missing:
                    raise ValidationError(
                        f"{source}: line {number}: {missing[0]} is required to import (without it, importing "
                        "again would store the event twice)",
                        field=missing[0],
                    )
                try:
                    yield Event.from_dict(item)
                except ValidationError as exc:
                    raise ValidationError(f"{source}: line {number}: {exc}", field=exc.field) from None
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise ValidationError(f"{source}: cannot be read after line {number}: {exc}") from None


IMPORT_REQUIRES = ("event_id", "timestamp", "correlation_id")


def check_file(
    path: Path,
    manifest: Manifest | None,
    *,
    source: str | None = None,
    require: tuple[str, ...] = (),
) -> Digest:
    """Validate every event of a file (and its manifest, when there is one) before anything is
    written; returns its digest."""
    source = source or str(path)
    digest = Digest()
    for event in read_events(path, source, require=require):
        digest.add(event)
    if digest.count == 0:
        raise ValidationError(f"no events in {source}")
    if manifest is not None:
        if manifest.count != digest.count:
            raise ValidationError(
                f"{source} holds {digest.count} events but its manifest says {manifest.count}: "
                "the export is incomplete or was changed"
            )
        if manifest.checksum != digest.checksum:
            raise ValidationError(
                f"{source} does not match the checksum of its manifest ({manifest.checksum}): "
                "the export was changed or damaged"
            )
    return digest


def batches(events: Iterator[Event], size: int) -> Iterator[list[Event]]:
    batch: list[Event] = []
    for event in events:
        batch.append(event)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class ImportReport:
    count: int = 0  # events in the file
    stored: int = 0  # newly stored by this run
    first_position: int | None = None
    last_position: int | None = None


def import_events(
    store: EventStore,
    events: Iterator[Event],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress = _no_progress,
    on_batch: Callable[[list[Event], list[int]], None] | None = None,
) -> ImportReport:
    """Append events in batches, in order. Already stored events (same id and content) are not
    stored again, so running an interrupted import again completes it."""
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValidationError(f"batch size must be from 1 to {MAX_BATCH_SIZE}", field="batch_size")
    report = ImportReport()
    before = head(store)
    for batch in batches(events, batch_size):
        positions = store.append_batch(batch)
        report.count += len(batch)
        report.stored += sum(1 for position in positions if position > before)
        if report.first_position is None:
            report.first_position = positions[0]
        report.last_position = positions[-1]
        if on_batch is not None:
            on_batch(batch, positions)
        progress(report.count)
    return report


@contextmanager
def seekable_copy(stream: IO[bytes]) -> Iterator[Path]:
    """A pipe spooled to a temporary file, so it can be validated before it is imported."""
    with tempfile.NamedTemporaryFile(prefix="pyevents-import-", suffix=".jsonl") as spool:
        shutil.copyfileobj(stream, spool)
        spool.flush()
        yield Path(spool.name)


# -- copy -----------------------------------------------------------------------------------------
@dataclass
class CopyReport:
    source: Digest
    target: Digest
    stored: int


def copy_events(
    source: EventStore,
    target: EventStore,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress = _no_progress,
    verify_progress: Progress = _no_progress,
) -> CopyReport:
    """Copy every event of `source` (up to its head when the copy starts) into `target`, in
    order, then check both by count and checksum. The target must be empty or hold the start
    of the same log (a copy that was interrupted)."""
    up_to = head(source)
    target_first = target.get_events(QueryOptions(limit=1)).events
    if target_first:
        source_first = source.get_events(QueryOptions(limit=1)).events
        if not source_first or source_first[0].event_id != target_first[0].event_id:
            raise ValidationError(
                "the target store already holds other events; copy needs an empty target "
                "(or one an interrupted copy of the same source began)"
            )
    source_digest = Digest()

    def source_events() -> Iterator[Event]:
        for event in store_events(source):
            if event.position > up_to:
                return
            source_digest.add(event)
            # A fresh Event: validated again, and encoded for the target as any append is.
            yield Event(**{name: getattr(event, name) for name in EVENT_FIELDS})

    report = import_events(
        target, source_events(), batch_size=batch_size, progress=lambda _n: progress(source_digest.last_position or 0)
    )
    target_digest = store_digest(target, progress=verify_progress)
    return CopyReport(source_digest, target_digest, report.stored)
