"""The async client under the conformance suite: BlockingClient presents an AsyncEventStore as
the blocking interface the suite calls, running every coroutine on an event loop of its own
(one thread per client), so the same tests hold both clients to the same promises."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

from pyevents import AsyncEventStore, AsyncEventStream, RecordedEvent
from pyevents.config import Config

T = TypeVar("T")


class EventLoopThread:
    """An event loop running on a daemon thread; `run` waits for a coroutine from any thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="pyevents-test-loop", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class BlockingStream(Iterator[RecordedEvent]):
    def __init__(self, stream: AsyncEventStream, loop: EventLoopThread) -> None:
        self._stream = stream
        self._loop = loop

    def __next__(self) -> RecordedEvent:
        try:
            return self._loop.run(self._stream.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def __getattr__(self, name: str) -> Any:
        return _blocking(getattr(self._stream, name), self._loop)

    def __enter__(self) -> BlockingStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.run(self._stream.close())


class BlockingClient:
    """Every coroutine method of the async store, called and waited for; streams as iterators."""

    def __init__(self, config: dict[str, Any] | Config) -> None:
        from pyevents import open_async_store

        self._loop = EventLoopThread()
        self.async_store: AsyncEventStore = self._loop.run(open_async_store(config=config))

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.async_store, name)
        if name in ("stream_events", "stream_events_since"):
            return lambda *args, **kwargs: BlockingStream(attribute(*args, **kwargs), self._loop)
        return _blocking(attribute, self._loop)

    def close(self) -> None:
        if self._loop.loop.is_closed():
            return
        self._loop.run(self.async_store.close())
        self._loop.stop()

    def __enter__(self) -> BlockingClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _blocking(attribute: Any, loop: EventLoopThread) -> Any:
    if inspect.iscoroutinefunction(attribute):
        return lambda *args, **kwargs: loop.run(attribute(*args, **kwargs))
    return attribute
