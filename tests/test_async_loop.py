"""The asyncio client never blocks its event loop: 8 tasks append while a stream follows, in
asyncio's debug mode, whose warnings of a callback that held the loop too long fail the test.
The loop's lag (how late a 10 ms sleep wakes) is reported as the test's property, not judged."""

from __future__ import annotations

import asyncio
import gc
import logging
from pathlib import Path
from typing import Any

import pytest

import pyevents
from pyevents import StreamOptions

from .conformance.events import make_event

WRITERS = 8
EVENTS_EACH = 25


def config_for(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    if backend == "postgresql":
        dsn = request.getfixturevalue("pg_dsn")
        return {"backend": "postgresql", "postgresql": {"dsn": dsn, "pool_size": WRITERS}}
    return {"backend": "file", "file": {"data_directory": str(tmp_path / "events")}}


async def appends_beside_a_follower(config: dict[str, Any]) -> tuple[list[int], list[float]]:
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            started = loop.time()
            await asyncio.sleep(0.01)
            lags.append(loop.time() - started - 0.01)

    async with await pyevents.open_async_store(config=config) as store:
        received: list[int] = []

        async def follow() -> None:
            async with store.stream_events(StreamOptions(follow=True, poll_interval=0.05)) as stream:
                async for event in stream:
                    received.append(event.position)
                    if len(received) == WRITERS * EVENTS_EACH:
                        return

        async def write(writer: int) -> None:
            for _ in range(EVENTS_EACH):
                await store.append(make_event("Ticked", actor_id=f"writer-{writer}"))

        ticking = asyncio.create_task(ticker())
        following = asyncio.create_task(follow())
        await asyncio.gather(*(write(writer) for writer in range(WRITERS)))
        await asyncio.wait_for(following, timeout=60)
        done.set()
        await ticking
    return received, lags


@pytest.mark.parametrize("backend", ["postgresql", "file"])
def test_appends_and_a_live_stream_never_block_the_event_loop(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = config_for(backend, request, tmp_path)
    # A full collection of the heap that earlier tests left behind is charged to whichever step
    # it interrupts and, late in the suite, can by itself exceed the slow-callback threshold:
    # freeze that heap so the collector scans only what this run allocates.
    gc.collect()
    gc.freeze()
    try:
        with caplog.at_level(logging.WARNING, logger="asyncio"):
            received, lags = asyncio.run(appends_beside_a_follower(config), debug=True)
    finally:
        gc.unfreeze()
    held = [record.getMessage() for record in caplog.records if record.name == "asyncio"]
    assert not held, held
    assert received == sorted(set(received)) and len(received) == WRITERS * EVENTS_EACH
    lags.sort()
    request.node.user_properties.append(("loop lag p99 ms", round(1000 * lags[int(0.99 * (len(lags) - 1))], 2)))
