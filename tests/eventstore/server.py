"""An in-process EventStoreDB/KurrentDB test server: the generated gRPC servicers that ship in
the kurrentdbclient wheel, implemented over an in-memory log, served on 127.0.0.1.

It implements the subset the backend uses, with the server's conventions where they matter:
- Append and BatchAppend with expected revisions (exact, no stream, any, exists); a wrong one is
  answered in-band (AppendResp.wrong_expected_version; BatchAppendResp.error, a google.rpc
  Status whose details pack a WrongExpectedVersion); a batch is stored whole or not at all; a
  retried append of the same event ids at the same expected revision succeeds without storing.
- Read of a stream (forwards/backwards from a revision, start or end; StreamNotFound in-band)
  and of `$all` (from a position, start or end; forwards from P includes P, backwards excludes it).
- Filters on event type or stream name: regexes searched unanchored (the client anchors them
  itself), or prefixes; filtered subscriptions send checkpoints every max x multiplier events.
- Catch-up subscriptions: confirmation first, then history after the requested point, then
  caught-up, then live events until the client cancels.
- Event metadata carries `type`, `content-type` and `created` (100 ns ticks since the epoch);
  commit positions are byte offsets of a growing log (not dense, like a real log).
- Gossip: one member at the server's own address: the leader, or (to test health) a follower.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import any_pb2, empty_pb2
from kurrentdbclient.protos.google.rpc import code_pb2
from kurrentdbclient.protos.v1 import gossip_pb2, gossip_pb2_grpc, shared_pb2, status_pb2, streams_pb2, streams_pb2_grpc

FIRST_POSITION = 4096  # a real log starts after its own system records
MAX_APPEND_SIZE = 1_048_576  # the server's default MaxAppendSize: data and metadata of one write
TICKS_PER_SECOND = 10_000_000
Options = streams_pb2.ReadReq.Options


@dataclass(frozen=True)
class Record:
    id: str
    stream: str
    revision: int
    position: int
    type: str
    content_type: str
    created: int
    data: bytes
    custom_metadata: bytes

    def to_read_resp(self) -> streams_pb2.ReadResp:
        recorded = streams_pb2.ReadResp.ReadEvent.RecordedEvent(
            id=shared_pb2.UUID(string=self.id),
            stream_identifier=shared_pb2.StreamIdentifier(stream_name=self.stream.encode()),
            stream_revision=self.revision,
            prepare_position=self.position,
            commit_position=self.position,
            metadata={"type": self.type, "content-type": self.content_type, "created": str(self.created)},
            custom_metadata=self.custom_metadata,
            data=self.data,
        )
        return streams_pb2.ReadResp(event=streams_pb2.ReadResp.ReadEvent(event=recorded, commit_position=self.position))


@dataclass(frozen=True)
class Proposed:
    id: str
    type: str
    content_type: str
    data: bytes
    custom_metadata: bytes


class WrongExpectedVersion(Exception):
    def __init__(self, current: int | None) -> None:
        super().__init__(current)
        self.current = current  # None: the stream does not exist


class MaximumAppendSizeExceeded(Exception):
    pass


class Log:
    """The server's transaction log: every record in position order, and the streams' indexes."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.streams: dict[str, list[Record]] = {}
        self.end = FIRST_POSITION
        self.changed = threading.Condition()

    def append(self, stream: str, expected: int | str, proposed: list[Proposed]) -> tuple[int, int]:
        """Store `proposed` atomically; returns (current revision, commit position of the last)."""
        if sum(len(message.data) + len(message.custom_metadata) for message in proposed) > MAX_APPEND_SIZE:
            raise MaximumAppendSizeExceeded
        with self.changed:
            existing = self.streams.get(stream, [])
            current = len(existing) - 1
            replay = self._idempotent(existing, expected, proposed)
            if replay is not None:
                return replay
            if (expected == "no_stream" and existing) or (expected == "exists" and not existing):
                raise WrongExpectedVersion(current if existing else None)
            if isinstance(expected, int) and expected != current:
                raise WrongExpectedVersion(current if existing else None)
            created = time.time_ns() // 100
            for message in proposed:
                size = 64 + len(stream) + len(message.type) + len(message.data) + len(message.custom_metadata)
                record = Record(
                    message.id,
                    stream,
                    len(existing),
                    self.end,
                    message.type,
                    message.content_type,
                    created,
                    message.data,
                    message.custom_metadata,
                )
                self.end += size
                existing.append(record)
                self.records.append(record)
            self.streams[stream] = existing
            self.changed.notify_all()
            return len(existing) - 1, existing[-1].position

    @staticmethod
    def _idempotent(existing: list[Record], expected: int | str, proposed: list[Proposed]) -> tuple[int, int] | None:
        """A retry of an append that was stored: the same ids right after the expected revision."""
        if isinstance(expected, int):
            first = expected + 1
        elif expected == "no_stream":
            first = 0
        else:  # any or exists: wherever the first id is
            first = next((r.revision for r in existing if proposed and r.id == proposed[0].id), len(existing))
        if not proposed or first + len(proposed) > len(existing):
            return None
        stored = existing[first : first + len(proposed)]
        if [record.id for record in stored] != [message.id for message in proposed]:
            return None
        return len(existing) - 1, stored[-1].position


def _expected(options: Any, exact_field: str) -> int | str:
    kind = options.WhichOneof("expected_stream_revision" if exact_field == "revision" else "expected_stream_position")
    if kind == exact_field:
        return int(getattr(options, exact_field))
    return {"no_stream": "no_stream", "any": "any", "stream_exists": "exists"}[kind]


class _Filter:
    def __init__(self, options: Options) -> None:
        self.field: str | None = None
        self.regex: re.Pattern[str] | None = None
        self.prefixes: tuple[str, ...] = ()
        self.checkpoint_every = 0
        if options.WhichOneof("filter_option") == "filter":
            spec = options.filter
            self.field = spec.WhichOneof("filter") or "event_type"
            expression = getattr(spec, self.field)
            self.regex = re.compile(expression.regex) if expression.regex else None
            self.prefixes = tuple(expression.prefix)
            self.checkpoint_every = max(1, spec.max) * max(1, spec.checkpointIntervalMultiplier)

    def matches(self, record: Record) -> bool:
        if self.field is None:
            return True
        value = record.stream if self.field == "stream_identifier" else record.type
        if self.regex is not None and self.regex.search(value) is None:  # unanchored, like the server
            return False
        return not self.prefixes or value.startswith(self.prefixes)


class Streams(streams_pb2_grpc.StreamsServicer):
    def __init__(self, log: Log) -> None:
        self.log = log

    # -- writing -------------------------------------------------------------------------------
    def Append(self, request_iterator: Iterator[streams_pb2.AppendReq], context: grpc.ServicerContext) -> Any:
        requests = list(request_iterator)
        options = requests[0].options
        expected = _expected(options, "revision")
        proposed = [_proposed(request.proposed_message) for request in requests[1:]]
        try:
            current, position = self.log.append(options.stream_identifier.stream_name.decode(), expected, proposed)
        except MaximumAppendSizeExceeded:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"Maximum Append Size of {MAX_APPEND_SIZE} Exceeded.")
        except WrongExpectedVersion as wrong:
            version = streams_pb2.AppendResp.WrongExpectedVersion()
            if wrong.current is None:
                version.current_no_stream.CopyFrom(shared_pb2.Empty())
            else:
                version.current_revision = wrong.current
            return streams_pb2.AppendResp(wrong_expected_version=version)
        position_message = streams_pb2.AppendResp.Position(commit_position=position, prepare_position=position)
        return streams_pb2.AppendResp(
            success=streams_pb2.AppendResp.Success(current_revision=current, position=position_message)
        )

    def BatchAppend(self, request_iterator: Iterator[streams_pb2.BatchAppendReq], context: grpc.ServicerContext) -> Any:
        pending: dict[str, tuple[Any, list[Proposed]]] = {}
        for request in request_iterator:
            key = request.correlation_id.string
            options, proposed = pending.get(key, (request.options, []))
            proposed += [_proposed(message) for message in request.proposed_messages]
            pending[key] = (options, proposed)
            if request.is_final:
                del pending[key]
                yield self._batch(request.correlation_id, options, proposed)

    def _batch(self, correlation_id: shared_pb2.UUID, options: Any, proposed: list[Proposed]) -> Any:
        stream = options.stream_identifier.stream_name.decode()
        response = streams_pb2.BatchAppendResp(
            correlation_id=correlation_id, stream_identifier=options.stream_identifier
        )
        try:
            current, position = self.log.append(stream, _expected(options, "stream_position"), proposed)
        except WrongExpectedVersion as wrong:
            details = shared_pb2.WrongExpectedVersion()
            if wrong.current is None:
                details.current_no_stream.CopyFrom(empty_pb2.Empty())
            else:
                details.current_stream_revision = wrong.current
            return _failed(response, code_pb2.FAILED_PRECONDITION, "WrongExpectedVersion", details)
        except MaximumAppendSizeExceeded:
            too_big = shared_pb2.MaximumAppendSizeExceeded(maxAppendSize=MAX_APPEND_SIZE)
            return _failed(response, code_pb2.INVALID_ARGUMENT, "MaximumAppendSizeExceeded", too_big)
        response.success.current_revision = current
        response.success.position.CopyFrom(
            shared_pb2.AllStreamPosition(commit_position=position, prepare_position=position)
        )
        return response

    # -- reading -------------------------------------------------------------------------------
    def Read(self, request: streams_pb2.ReadReq, context: grpc.ServicerContext) -> Iterator[streams_pb2.ReadResp]:
        options = request.options
        matcher = _Filter(options)
        backwards = options.read_direction == Options.Backwards
        if options.WhichOneof("count_option") == "subscription":
            yield from self._subscribe(options, matcher, context)
            return
        if options.WhichOneof("stream_option") == "stream":
            stream = options.stream.stream_identifier.stream_name.decode()
            with self.log.changed:
                records = list(self.log.streams.get(stream, []))
            if not records:
                yield streams_pb2.ReadResp(
                    stream_not_found=streams_pb2.ReadResp.StreamNotFound(
                        stream_identifier=options.stream.stream_identifier
                    )
                )
                return
            selected = _from_revision(records, options.stream, backwards)
        else:
            with self.log.changed:
                records = list(self.log.records)
            selected = _from_position(records, options.all, backwards)
        sent = 0
        for record in selected:
            if sent >= options.count:
                return
            if matcher.matches(record):
                sent += 1
                yield record.to_read_resp()

    def _subscribe(
        self, options: Options, matcher: _Filter, context: grpc.ServicerContext
    ) -> Iterator[streams_pb2.ReadResp]:
        with self.log.changed:
            records = list(self.log.records)
        which = options.all.WhichOneof("all_option")
        if which == "end":
            index = len(records)
        elif which == "position":
            after = options.all.position.commit_position
            index = next((i for i, record in enumerate(records) if record.position > after), len(records))
        else:
            index = 0
        # Confirmed once its starting point is fixed: whatever is appended later is delivered.
        yield streams_pb2.ReadResp(
            confirmation=streams_pb2.ReadResp.SubscriptionConfirmation(subscription_id=str(uuid.uuid4()))
        )
        scanned = 0
        caught_up = False
        while context.is_active():
            with self.log.changed:
                if index >= len(self.log.records) and caught_up:
                    self.log.changed.wait(0.05)
                batch = self.log.records[index:]
                last = self.log.records[-1].position if self.log.records else 0
            if not batch and not caught_up:
                caught_up = True
                position = streams_pb2.ReadResp.Position(commit_position=last, prepare_position=last)
                yield streams_pb2.ReadResp(caught_up=streams_pb2.ReadResp.CaughtUp(position=position))
            for record in batch:
                index += 1
                scanned += 1
                if matcher.matches(record):
                    yield record.to_read_resp()
                if matcher.checkpoint_every and scanned % matcher.checkpoint_every == 0:
                    yield streams_pb2.ReadResp(
                        checkpoint=streams_pb2.ReadResp.Checkpoint(
                            commit_position=record.position, prepare_position=record.position
                        )
                    )


def _failed(response: Any, code: code_pb2.Code.ValueType, message: str, details: Any) -> Any:
    """An error answered in-band: a google.rpc Status in the response, its details packed."""
    packed = any_pb2.Any()
    packed.Pack(details)
    response.error.CopyFrom(status_pb2.Status(code=code, message=message, details=packed))
    return response


def _proposed(message: Any) -> Proposed:
    return Proposed(
        message.id.string,
        message.metadata["type"],
        message.metadata["content-type"],
        message.data,
        message.custom_metadata,
    )


def _from_revision(records: list[Record], options: Any, backwards: bool) -> Iterable[Record]:
    which = options.WhichOneof("revision_option")
    if backwards:
        last = len(records) - 1 if which == "end" else min(options.revision, len(records) - 1)
        return reversed(records[: last + 1])
    first = 0 if which == "start" else len(records) if which == "end" else options.revision
    return records[first:]


def _from_position(records: list[Record], options: Any, backwards: bool) -> Iterable[Record]:
    which = options.WhichOneof("all_option")
    if which == "position":
        position = options.position.commit_position
        if backwards:
            return reversed([record for record in records if record.position < position])
        return [record for record in records if record.position >= position]
    if backwards:
        return reversed(records) if which == "end" else []
    return records if which == "start" else []


class Gossip(gossip_pb2_grpc.GossipServicer):
    def __init__(self, port: int, *, leader: bool) -> None:
        self.port = port
        self.state = gossip_pb2.MemberInfo.VNodeState.Leader if leader else gossip_pb2.MemberInfo.VNodeState.Follower
        self.instance = str(uuid.uuid4())

    def Read(self, request: Any, context: grpc.ServicerContext) -> gossip_pb2.ClusterInfo:
        member = gossip_pb2.MemberInfo(
            instance_id=shared_pb2.UUID(string=self.instance),
            time_stamp=time.time_ns() // 100,
            state=self.state,
            is_alive=True,
            http_end_point=gossip_pb2.EndPoint(address="127.0.0.1", port=self.port),
        )
        return gossip_pb2.ClusterInfo(members=[member])


class TestServer:
    """The server on a free port of 127.0.0.1; `uri` is the connection string for clients."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, *, leader: bool = True) -> None:
        self.log = Log()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
        streams_pb2_grpc.add_StreamsServicer_to_server(Streams(self.log), self._server)  # type: ignore[no-untyped-call]
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        gossip_pb2_grpc.add_GossipServicer_to_server(Gossip(self.port, leader=leader), self._server)  # type: ignore[no-untyped-call]
        self._server.start()

    @property
    def uri(self) -> str:
        return f"kurrentdb://127.0.0.1:{self.port}?Tls=false"

    def stop(self) -> None:
        self._server.stop(grace=None).wait(5)
