"""The Bedrock wire keeps the request deadline: per network read, and again before each event a read carried."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import anyio
import pytest

from pennyworth.llm.bedrock.wire import EventStream
from pennyworth.llm.types import DeadlineReached
from pennyworth_dev.eventstream import event_frame


def delta(i: int) -> bytes:
    payload = {"contentBlockIndex": 0, "delta": {"text": f"w{i} "}}
    return event_frame("contentBlockDelta", json.dumps(payload).encode())


async def reads(*chunks: bytes, pause: float = 0.0) -> AsyncIterator[bytes]:
    for chunk in chunks:
        await anyio.sleep(pause)
        yield chunk


async def relayed(stream: EventStream, deadline: float | None, per_event: float) -> tuple[int, bool]:
    """How many events a consumer taking `per_event` seconds each got, and whether the deadline ended them."""
    count = 0
    try:
        async for _ in stream.events(deadline):
            count += 1
            await anyio.sleep(per_event)
    except DeadlineReached:
        return count, True
    return count, False


def test_one_large_read_is_not_relayed_past_the_deadline() -> None:
    big_read = b"".join(delta(i) for i in range(200))  # one network read carrying 200 events
    stream = EventStream(reads(big_read), lambda: None)
    count, cut = anyio.run(relayed, stream, time.monotonic() + 0.2, 0.01)
    assert cut and 5 <= count < 200


def test_a_read_that_waits_is_cut_at_the_deadline() -> None:
    stream = EventStream(reads(delta(0), delta(1), pause=5), lambda: None)
    started = time.monotonic()
    count, cut = anyio.run(relayed, stream, started + 0.2, 0.0)
    assert cut and count == 0 and time.monotonic() - started < 2


def test_without_a_deadline_every_event_comes_through() -> None:
    stream = EventStream(reads(*(delta(i) for i in range(50))), lambda: None)
    assert anyio.run(relayed, stream, None, 0.0) == (50, False)


@pytest.mark.parametrize("late", [0.0, -1.0])
def test_a_deadline_already_passed_reads_nothing(late: float) -> None:
    stream = EventStream(reads(delta(0)), lambda: None)
    assert anyio.run(relayed, stream, time.monotonic() + late, 0.0) == (0, True)
